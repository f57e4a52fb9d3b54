// ustack against the Linux stack on every driver: ARP both ways, ping both
// ways (plain and fragmented), UDP echo both ways up to 65507 bytes, and
// ICMP port unreachable that the kernel's own UDP socket understands.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernel/kernel_echo.h"
#include "kernel/kernel_host.h"
#include "proto/udp_apps.h"

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

using testing::UdpCollector;

TEST_P(StackKernel, UdpEchoAgainstKernelServer) {
  testing::udp_echo_against_kernel(*host_, *pair_, IpAddr::v4(kKernelAddr),
                                   {0, 1, 100, 1472, 1473, 4000, 9000, 30000, 65507});
}

using testing::UdpEcho;

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
