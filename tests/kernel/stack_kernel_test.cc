// ustack against the Linux stack on every driver: ARP both ways, ping both
// ways (plain and fragmented), UDP echo both ways up to 65507 bytes, and
// ICMP port unreachable that the kernel's own UDP socket understands.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernel/kernel_host.h"

namespace ustack {
namespace {

using std::chrono::seconds;
using testing::KernelHost;
using testing::kKernelAddr;
using testing::kUstackAddr;
using testing::NetnsPair;

const std::string kPeers = std::string(USTACK_TEST_DIR) + "/kernel/peers/";
const std::string kPython = "/usr/bin/python3 ";

using StackKernel = testing::KernelPeerTest;

struct Replies : EchoListener {
  void on_echo_reply(const EchoReply& r) override { got.push_back(r); }
  std::vector<EchoReply> got;
};

TEST_P(StackKernel, KernelPingsUstack) {
  std::string out;
  const int rc = host_->run_while_polling(
      pair_->in_b("ping -n -c 5 -i 0.2 -W 2 " + kUstackAddr.to_string()), seconds(20), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("5 received"), std::string::npos) << out;
  EXPECT_EQ(host_->counter("icmp.tx.echo_reply"), 5u);
  EXPECT_GE(host_->counter("arp.tx.reply"), 1u) << "the kernel resolved us";
}

TEST_P(StackKernel, KernelPingsUstackWithFragments) {
  std::string out;
  const int rc = host_->run_while_polling(
      pair_->in_b("ping -n -c 3 -i 0.2 -W 2 -s 8000 " + kUstackAddr.to_string()), seconds(20),
      &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("3 received"), std::string::npos) << out;
  EXPECT_EQ(host_->counter("ipv4.reasm.ok"), 3u);
}

TEST_P(StackKernel, UstackPingsKernel) {
  Replies r;
  host_->stack().icmp().set_echo_listener(&r);
  for (std::uint16_t seq = 1; seq <= 5; ++seq) {
    host_->sync();
    ASSERT_EQ(host_->stack().icmp().send_echo_request(kKernelAddr, 0x4242, seq), SendResult::kOk);
    ASSERT_TRUE(host_->poll_until([&] { return r.got.size() == seq; }, seconds(5)))
        << "no reply to seq " << seq;
  }
  EXPECT_EQ(r.got.back().from, IpAddr::v4(kKernelAddr));
  EXPECT_EQ(r.got.back().ttl, 64);
  EXPECT_TRUE(r.got.back().rtt_valid);
  EXPECT_EQ(host_->counter("arp.tx.request"), 1u) << "we resolved the kernel once";
  // A large echo, fragmented by us and reassembled by the kernel and back.
  host_->sync();
  ASSERT_EQ(host_->stack().icmp().send_echo_request(kKernelAddr, 0x4242, 6, 20000),
            SendResult::kOk);
  ASSERT_TRUE(host_->poll_until([&] { return r.got.size() == 6; }, seconds(5)));
  EXPECT_EQ(r.got.back().bytes, 20008u);
}

struct UdpCollector : UdpHandler {
  void on_datagram(UdpSocket&, UdpDatagram& d) override {
    std::vector<std::byte> bytes(d.payload->pkt_len);
    mbuf_read(d.payload, 0, bytes);
    mbuf_free(d.payload);
    got.push_back(std::move(bytes));
  }
  void on_error(UdpSocket&, const IcmpError&) override { ++errors; }
  std::vector<std::vector<std::byte>> got;
  int errors = 0;
};

TEST_P(StackKernel, UdpEchoAgainstKernelServer) {
  const std::vector<std::size_t> sizes = {0, 1, 100, 1472, 1473, 4000, 9000, 30000, 65507};
  std::atomic<int> server_rc{-2};
  std::string server_out;
  std::thread server([&] {
    server_rc = testing::sh(pair_->in_b(kPython + kPeers + "udp_echo_server.py 10.0.0.2 7007 " +
                                        std::to_string(sizes.size()) + " 20"),
                            &server_out);
  });
  UdpCollector c;
  std::string err;
  UdpSocket* s = host_->stack().udp().open(c, 0, &err);
  ASSERT_NE(s, nullptr) << err;
  for (std::size_t n : sizes) {
    std::vector<std::byte> data(n);
    for (std::size_t i = 0; i < n; ++i) data[i] = std::byte(static_cast<std::uint8_t>(i * 13 + n));
    bool ok = false;
    // The server may still be starting (port unreachable): retry.
    for (int attempt = 0; attempt < 20 && !ok; ++attempt) {
      c.got.clear();
      host_->sync();
      ASSERT_EQ(s->send_to(IpAddr::v4(kKernelAddr), 7007, data), SendResult::kOk);
      ok = host_->poll_until([&] { return !c.got.empty(); }, std::chrono::milliseconds(500));
    }
    ASSERT_TRUE(ok) << "no echo of " << n << " bytes";
    EXPECT_EQ(c.got[0], data) << "echo of " << n << " bytes differs";
  }
  server.join();
  EXPECT_EQ(server_rc.load(), 0) << server_out;
}

// Echoes every datagram back, zero copy.
struct UdpEcho : UdpHandler {
  void on_datagram(UdpSocket& s, UdpDatagram& d) override {
    s.send_to(d.src, d.src_port, d.payload);
  }
};

TEST_P(StackKernel, UdpEchoServerForKernelClient) {
  UdpEcho echo;
  std::string err;
  ASSERT_NE(host_->stack().udp().open(echo, 7, &err), nullptr) << err;
  std::string out;
  const int rc = host_->run_while_polling(
      pair_->in_b(kPython + kPeers +
                  "udp_echo_client.py 10.0.0.1 7 0 1 100 1472 1473 4000 9000 30000 65507"),
      seconds(60), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_GE(host_->counter("ipv4.reasm.ok"), 5u);
}

TEST_P(StackKernel, ClosedPortGivesTheKernelConnectionRefused) {
  // The kernel's connected UDP socket turns our ICMP port unreachable into
  // ECONNREFUSED only if the error is well formed and quotes its datagram.
  const std::string script =
      "import socket,sys\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(1)\n"
      "s.connect(('10.0.0.1',9))\n"
      "for _ in range(5):\n"
      "  s.send(b'x')\n"
      "  try: s.recv(10)\n"
      "  except ConnectionRefusedError: sys.exit(0)\n"
      "  except socket.timeout: pass\n"
      "sys.exit(1)\n";
  std::string out;
  const int rc =
      host_->run_while_polling(pair_->in_b(kPython + "-c \"" + script + "\""), seconds(20), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_GE(host_->counter("icmp.tx.dest_unreachable"), 1u);
}

INSTANTIATE_TEST_SUITE_P(Drivers, StackKernel, ::testing::ValuesIn(testing::kernel_drivers()),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace ustack
