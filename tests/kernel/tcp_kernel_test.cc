// TCP against the Linux stack on every driver: the seed's 20 KB echo both
// ways (ustack client to a kernel echo server, kernel client to a ustack
// echo server), and bulk transfers both ways checked with SHA-256.
#include <gtest/gtest.h>

#include "kernel/kernel_echo.h"
#include "kernel/kernel_host.h"
#include "proto/tcp_apps.h"

namespace ustack {
namespace {

using std::chrono::seconds;
using testing::EchoClient;
using testing::EchoServer;
using testing::KernelHost;
using testing::kKernelAddr;
using testing::NetnsPair;

const std::string kPeers = std::string(USTACK_TEST_DIR) + "/kernel/peers/";
const std::string kPython = "/usr/bin/python3 ";

using TcpKernel = testing::KernelPeerTest;

TEST_P(TcpKernel, UstackClientTwentyKilobyteEcho) {
  testing::ustack_client_echo_20k(*host_, *pair_, IpAddr::v4(kKernelAddr));
}

TEST_P(TcpKernel, KernelClientTwentyKilobyteEcho) {
  EchoServer server;
  std::string err;
  ASSERT_NE(host_->stack().tcp().listen(8888, server, &err), nullptr) << err;
  testing::kernel_client_echo_20k(*host_, *pair_, "10.0.0.1", 8888);
  EXPECT_EQ(server.echoed, 20000u);
  EXPECT_TRUE(host_->poll_until([&] { return server.closed == 1; }, seconds(5)));
}

// Receives everything, hashing nothing (the kernel side prints the hash of
// what it sent; we compare bytes as they arrive against the same generator).
struct PatternSink : TcpListenHandler, TcpHandler {
  TcpHandler* on_accept(TcpConn&) override { return this; }
  void on_readable(TcpConn& c) override {
    std::byte buf[65536];
    for (std::size_t n; (n = c.read(buf)) > 0;) {
      for (std::size_t i = 0; i < n; ++i, ++total)
        if (buf[i] != std::byte(static_cast<std::uint8_t>((total % 65536) * 131))) ++mismatches;
    }
  }
  void on_peer_closed(TcpConn& c) override { c.close(); }
  void on_closed(TcpConn&, TcpCloseReason) override { closed = true; }
  std::uint64_t total = 0;
  std::uint64_t mismatches = 0;
  bool closed = false;
};

TEST_P(TcpKernel, KernelSendsBulkToUstack) {
  PatternSink sink;
  std::string err;
  ASSERT_NE(host_->stack().tcp().listen(9000, sink, &err), nullptr) << err;
  const std::uint64_t bytes = 1ull << 30;  // 1 GiB
  std::string out;
  const int rc = host_->run_while_polling(
      pair_->in_b(kPython + kPeers + "tcp_client.py 10.0.0.1 9000 send " + std::to_string(bytes)),
      seconds(120), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(sink.total, bytes);
  EXPECT_EQ(sink.mismatches, 0u);
}

// Sends `bytes` of the same pattern and closes.
struct PatternSource : TcpListenHandler, TcpHandler {
  explicit PatternSource(std::uint64_t n) : bytes(n) {}
  TcpHandler* on_accept(TcpConn& c) override {
    conn = &c;
    return this;
  }
  void on_connected(TcpConn& c) override { push(c); }
  void on_writable(TcpConn& c) override { push(c); }
  void on_closed(TcpConn&, TcpCloseReason) override { closed = true; }
  void push(TcpConn& c) {
    std::byte block[65536];
    for (std::size_t i = 0; i < sizeof block; ++i)
      block[i] = std::byte(static_cast<std::uint8_t>(i * 131));
    while (sent < bytes) {
      const std::size_t off = sent % 65536;
      const std::size_t n = std::min<std::uint64_t>(65536 - off, bytes - sent);
      const std::uint32_t k = c.send(std::span<const std::byte>(block + off, n));
      if (k == 0) return;
      sent += k;
    }
    c.close();
  }
  std::uint64_t bytes;
  std::uint64_t sent = 0;
  TcpConn* conn = nullptr;
  bool closed = false;
};

TEST_P(TcpKernel, UstackSendsBulkToKernel) {
  const std::uint64_t bytes = 1ull << 30;  // 1 GiB
  PatternSource source(bytes);
  std::string err;
  ASSERT_NE(host_->stack().tcp().listen(9001, source, &err), nullptr) << err;
  std::string out;
  const int rc = host_->run_while_polling(
      pair_->in_b(kPython + kPeers + "tcp_client.py 10.0.0.1 9001 recv " + std::to_string(bytes)),
      seconds(120), &out);
  EXPECT_EQ(rc, 0) << out;
  // The kernel's hash of what it received must be the hash of the pattern.
  std::string expect;
  testing::sh(
      "/usr/bin/python3 -c \"import hashlib;b=bytes((i*131)&255 for i in range(65536));"
      "h=hashlib.sha256();n=" +
          std::to_string(bytes) +
          "\nwhile n>0:\n  k=min(n,65536);h.update(b[:k]);n-=k\nprint(h.hexdigest())\"",
      &expect);
  EXPECT_NE(out.find(expect.substr(0, 64)), std::string::npos) << out << " vs " << expect;
}

INSTANTIATE_TEST_SUITE_P(Drivers, TcpKernel, ::testing::ValuesIn(testing::kernel_drivers()),
                         [](const auto& p) { return p.param; });

// The same transfers with 1 % of the frames lost each way between ustack
// and the kernel (ImpairPort): both ends' SACK-based recovery (RFC 2018,
// RFC 6675) and congestion control (ustack's CUBIC, the kernel's CUBIC)
// run against each other. The kernel's own counters (nstat, in its
// namespace) show it recovered with the SACK blocks ustack sent.
class TcpKernelLossy : public testing::KernelPeerTest {
 protected:
  void SetUp() override {
    std::string why;
    if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
    NetnsPair::Options o;
    o.veth = !KernelHost::makes_own_link(GetParam());
    pair_ = NetnsPair::create(o, &why);
    ASSERT_NE(pair_, nullptr) << why;
    const ImpairConfig impair{.rx_loss = 0.01, .tx_loss = 0.01, .seed = 7};
    host_ = KernelHost::open(*pair_, GetParam(), &why, &impair);
    ASSERT_NE(host_, nullptr) << why;
  }
  // A kernel TCP counter in namespace B (nstat prints "Name value rate").
  std::uint64_t kernel_counter(const std::string& name) {
    std::string out;
    testing::sh(pair_->in_b("nstat -az " + name), &out);
    const auto at = out.find(name);
    if (at == std::string::npos) return 0;
    return std::strtoull(out.c_str() + at + name.size(), nullptr, 10);
  }
};

constexpr std::uint64_t kLossyBytes = 64ull << 20;

TEST_P(TcpKernelLossy, KernelSendsToUstack) {
  PatternSink sink;
  std::string err;
  ASSERT_NE(host_->stack().tcp().listen(9000, sink, &err), nullptr) << err;
  std::string out;
  const int rc =
      host_->run_while_polling(pair_->in_b(kPython + kPeers + "tcp_client.py 10.0.0.1 9000 send " +
                                           std::to_string(kLossyBytes) + " 60"),
                               seconds(120), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(sink.total, kLossyBytes);
  EXPECT_EQ(sink.mismatches, 0u);
  EXPECT_GT(host_->impair()->rx_lost(), 0u);
  EXPECT_GT(kernel_counter("TcpExtTCPSackRecovery"), 0u)
      << "the kernel recovered with our SACK blocks";
}

TEST_P(TcpKernelLossy, UstackSendsToKernel) {
  PatternSource source(kLossyBytes);
  std::string err;
  ASSERT_NE(host_->stack().tcp().listen(9001, source, &err), nullptr) << err;
  std::string out;
  const int rc =
      host_->run_while_polling(pair_->in_b(kPython + kPeers + "tcp_client.py 10.0.0.1 9001 recv " +
                                           std::to_string(kLossyBytes) + " 60"),
                               seconds(120), &out);
  EXPECT_EQ(rc, 0) << out;
  std::string expect;
  testing::sh(
      "/usr/bin/python3 -c \"import hashlib;b=bytes((i*131)&255 for i in range(65536));"
      "h=hashlib.sha256();n=" +
          std::to_string(kLossyBytes) +
          "\nwhile n>0:\n  k=min(n,65536);h.update(b[:k]);n-=k\nprint(h.hexdigest())\"",
      &expect);
  EXPECT_NE(out.find(expect.substr(0, 64)), std::string::npos) << out << " vs " << expect;
  EXPECT_GT(host_->impair()->tx_lost(), 0u);
  EXPECT_GT(host_->counter("tcp.sack.recoveries"), 0u) << "recovered with the kernel's SACK blocks";
  std::printf(
      "ustack sender, 1%% loss each way: %llu lost by us, %llu retransmits, %llu SACK "
      "recoveries, %llu fast retransmits, %llu undone, %llu tail loss probes, %llu "
      "retransmission timeouts\n",
      static_cast<unsigned long long>(host_->impair()->tx_lost()),
      static_cast<unsigned long long>(host_->counter("tcp.tx.retransmits")),
      static_cast<unsigned long long>(host_->counter("tcp.sack.recoveries")),
      static_cast<unsigned long long>(host_->counter("tcp.fast_retransmits")),
      static_cast<unsigned long long>(host_->counter("tcp.sack.spurious_undone")),
      static_cast<unsigned long long>(host_->counter("tcp.tlp.probes")),
      static_cast<unsigned long long>(host_->counter("tcp.rto_fired")));
}

INSTANTIATE_TEST_SUITE_P(Drivers, TcpKernelLossy,
                         ::testing::Values("af_packet", "af_packet_v2", "uring_tap"),
                         [](const auto& p) { return p.param; });

}  // namespace
// The kernel peer with its default offloads (TSO, GSO): over a veth its TCP
// hands over super-frames of up to 64 KiB. V3 blocks hold them; V2 slots
// (2 KiB) do not, and the port reads each whole from the socket
// (PACKET_COPY_THRESH, TP_STATUS_COPY). Either way none is dropped: a
// dropped one used to cost a retransmission timeout, about 900 ms for the
// 20 KB echo.
class TcpKernelSuperFrames : public testing::KernelPeerTest {
 protected:
  void SetUp() override {
    std::string why;
    if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
    NetnsPair::Options o;
    o.offloads_off = false;
    pair_ = NetnsPair::create(o, &why);
    ASSERT_NE(pair_, nullptr) << why;
    host_ = KernelHost::open(*pair_, GetParam(), &why);
    ASSERT_NE(host_, nullptr) << why;
  }
};

TEST_P(TcpKernelSuperFrames, KernelSendsToUstackInFramesOverTheMtu) {
  EchoServer echo;
  PatternSink sink;
  std::string err;
  ASSERT_NE(host_->stack().tcp().listen(8888, echo, &err), nullptr) << err;
  ASSERT_NE(host_->stack().tcp().listen(9000, sink, &err), nullptr) << err;
  const QueueStatsSnapshot before = host_->port().total_stats();
  testing::kernel_client_echo_20k(*host_, *pair_, "10.0.0.1", 8888);
  EXPECT_EQ(echo.echoed, 20000u);
  constexpr std::uint64_t kBytes = 16ull << 20;
  std::string out;
  const int rc = host_->run_while_polling(
      pair_->in_b(kPython + kPeers + "tcp_client.py 10.0.0.1 9000 send " + std::to_string(kBytes)),
      seconds(60), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(host_->poll_until([&] { return sink.closed; }, seconds(5)));
  EXPECT_EQ(sink.total, kBytes);
  EXPECT_EQ(sink.mismatches, 0u);
  const QueueStatsSnapshot after = host_->port().total_stats();
  const std::uint64_t frames = after.rx_packets - before.rx_packets;
  const std::uint64_t bytes = after.rx_bytes - before.rx_bytes;
  EXPECT_EQ(after.rx_dropped - before.rx_dropped, 0u) << "super-frames were dropped";
  ASSERT_GT(frames, 0u);
  // 16 MiB in frames of at most 1514 bytes would be over 11,000 frames.
  EXPECT_GT(bytes / frames, 1514u) << "no super-frame came: " << frames << " frames, " << bytes
                                   << " bytes (the test proves nothing)";
  std::printf("%llu frames, %llu bytes on average\n", static_cast<unsigned long long>(frames),
              static_cast<unsigned long long>(bytes / frames));
}

INSTANTIATE_TEST_SUITE_P(Drivers, TcpKernelSuperFrames,
                         ::testing::Values("af_packet", "af_packet_v2"),
                         [](const auto& p) { return p.param; });

}  // namespace ustack
