// UDP between two stacks over memlink: echo of every size (fragmented where
// needed), zero-copy echo of the received chain, the same under loss,
// reordering and duplication, port unreachable back to the sender's socket,
// and the ICMP error rate limit.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include "proto/two_stacks.h"
#include "proto/udp_apps.h"

namespace ustack {
namespace {

using testing::kAddrA;
using testing::kAddrB;
using testing::TwoStacks;

// Sends every datagram straight back to where it came from, zero copy.
struct EchoServer : UdpHandler {
  void on_datagram(UdpSocket& s, UdpDatagram& d) override {
    ++echoed;
    s.send_to(d.src, d.src_port, d.payload);
  }
  int echoed = 0;
};

using Client = testing::UdpCollector;

std::vector<std::byte> pattern(std::size_t n, std::uint32_t salt) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<std::uint8_t>(i * 31 + salt));
  return v;
}

struct UdpPair {
  TwoStacks t;
  EchoServer server;
  Client client;
  UdpSocket* srv = nullptr;
  UdpSocket* cli = nullptr;
  explicit UdpPair(const testing::LinkOptions& o = testing::LinkOptions{}) : t(o) {
    std::string err;
    srv = t.b.stack->udp().open(server, 7, &err);
    cli = t.a.stack->udp().open(client, 0, &err);
    EXPECT_TRUE(srv && cli) << err;
  }
  // Sends `data` and waits for its echo, resending up to `tries` times.
  bool echo(const std::vector<std::byte>& data, int tries = 1) {
    for (int i = 0; i < tries; ++i) {
      client.got.clear();
      t.sync();
      if (cli->send_to(IpAddr::v4(kAddrB), 7, data) != SendResult::kOk) return false;
      if (t.run_until([&] { return !client.got.empty(); }, 2000)) return client.got[0] == data;
    }
    return false;
  }
};

TEST(Udp, EchoSmallAndFragmentedSizes) {
  UdpPair p;
  for (std::size_t n :
       {0u, 1u, 7u, 8u, 100u, 1471u, 1472u, 1473u, 1480u, 2961u, 9000u, 30000u, 65506u, 65507u}) {
    ASSERT_TRUE(p.echo(pattern(n, static_cast<std::uint32_t>(n)))) << "size " << n;
  }
  EXPECT_EQ(p.server.echoed, 14);
  EXPECT_EQ(p.t.b.counter("udp.drop.bad_checksum"), 0u);
}

TEST(Udp, TooLargeDatagramIsRefused) {
  UdpPair p;
  p.t.sync();
  EXPECT_EQ(p.cli->send_to(IpAddr::v4(kAddrB), 7, pattern(65508, 0)), SendResult::kTooBig);
}

// Records the payload mbuf it is handed.
struct PointerClient : UdpHandler {
  void on_datagram(UdpSocket&, UdpDatagram& d) override {
    got = d.payload;
    mbuf_free(d.payload);
  }
  const Mbuf* got = nullptr;
};

TEST(Udp, EchoIsZeroCopyEndToEnd) {
  // A's datagram crosses the link, is delivered to B's server and sent back
  // as the same mbuf: headers are prepended in its headroom every time.
  UdpPair p;
  ASSERT_TRUE(p.echo(pattern(10, 1)));  // ARP settled both ways
  PointerClient pc;
  std::string err;
  UdpSocket* s = p.t.a.stack->udp().open(pc, 4000, &err);
  ASSERT_NE(s, nullptr) << err;
  Mbuf* m = p.t.a.pool->alloc();
  std::memset(m->append(100), 0x5a, 100);
  p.t.sync();
  ASSERT_EQ(s->send_to(IpAddr::v4(kAddrB), 7, m), SendResult::kOk);
  ASSERT_TRUE(p.t.run_until([&] { return pc.got != nullptr; }));
  EXPECT_EQ(pc.got, m) << "the echo is the very mbuf that was sent";
  EXPECT_EQ(p.t.b.pool->in_use(), 0u);
}

TEST(Udp, PortUnreachableReachesTheSendingSocket) {
  UdpPair p;
  p.t.sync();
  p.cli->send_to(IpAddr::v4(kAddrB), 9999, pattern(10, 0));
  ASSERT_TRUE(p.t.run_until([&] { return !p.client.errors.empty(); }));
  const IcmpError& e = p.client.errors[0];
  EXPECT_EQ(e.type, 3);
  EXPECT_EQ(e.code, 3);
  EXPECT_EQ(e.dst, IpAddr::v4(kAddrB));
  EXPECT_EQ(e.dst_port, 9999);
  EXPECT_EQ(e.src_port, p.cli->local_port());
  EXPECT_EQ(p.t.b.counter("udp.drop.no_socket"), 1u);
  EXPECT_EQ(p.t.b.counter("icmp.tx.dest_unreachable"), 1u);
}

TEST(Udp, IcmpErrorsAreRateLimitedWithJitter) {
  UdpPair p;
  ASSERT_TRUE(p.echo(pattern(1, 1)));  // ARP settled
  p.t.sync();
  for (int i = 0; i < 500; ++i) p.cli->send_to(IpAddr::v4(kAddrB), 9, pattern(1, 0));
  p.t.run_until([] { return false; }, 200, std::chrono::nanoseconds(1));
  const auto sent = p.t.b.counter("icmp.tx.dest_unreachable");
  // Burst of 50 tokens at 0, 1 or 2 tokens per error: about 50, never 500.
  EXPECT_GT(sent, 20u);
  EXPECT_LT(sent, 120u);
  EXPECT_EQ(sent + p.t.b.counter("icmp.rate_limited"), 500u);
}

TEST(Udp, PortInUseAndEphemeralPorts) {
  UdpPair p;
  std::string err;
  Client other;
  EXPECT_EQ(p.t.b.stack->udp().open(other, 7, &err), nullptr);
  EXPECT_EQ(err, "UDP port 7 is in use");
  UdpSocket* e = p.t.a.stack->udp().open(other, 0, &err);
  ASSERT_NE(e, nullptr);
  EXPECT_GE(e->local_port(), 32768);
  EXPECT_LE(e->local_port(), 60999);
  EXPECT_NE(e->local_port(), p.cli->local_port());
  e->close();
  EXPECT_EQ(p.t.a.stack->udp().sockets(), 1u);
}

TEST(Udp, ConnectedSocketFiltersOtherPeers) {
  UdpPair p;
  Client c2;
  std::string err;
  UdpSocket* s = p.t.b.stack->udp().open(c2, 53, &err);
  s->connect(IpAddr::v4(kAddrA), 5353);  // not the client's port
  p.t.sync();
  p.cli->send_to(IpAddr::v4(kAddrB), 53, pattern(4, 0));
  p.t.run_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(c2.got.empty());
  EXPECT_EQ(p.t.b.counter("udp.drop.not_connected_peer"), 1u);
}

TEST(Udp, EchoUnderLossReorderingAndDuplication) {
  testing::LinkOptions o;
  for (FaultConfig* f : {&o.a_to_b, &o.b_to_a}) {
    f->loss = 0.01;
    f->reorder = 0.05;
    f->reorder_depth = 8;
    f->duplicate = 0.01;
  }
  o.b_to_a.seed = 2;
  UdpPair p(o);
  // Sizes across the fragment counts; each retried until an intact echo.
  int ok = 0;
  for (std::size_t n = 0; n <= 65507; n += 2039) {
    if (p.echo(pattern(n, static_cast<std::uint32_t>(n)), 40)) ++ok;
  }
  EXPECT_EQ(ok, 33);
  // Partial datagrams time out of reassembly and are freed.
  p.t.run_for(std::chrono::seconds(31), std::chrono::milliseconds(50));
  EXPECT_EQ(p.t.a.stack->ipv4().reassembler().datagrams(), 0u);
  EXPECT_EQ(p.t.b.stack->ipv4().reassembler().datagrams(), 0u);
}

// Every size from 0 to 65507 bytes (suite udp, not the sanitizer run: it
// moves about 4 GB through both stacks).
TEST(UdpSweep, EchoEverySizeFrom0To65507) {
  UdpPair p;
  std::vector<std::byte> data = pattern(65507, 77);
  for (std::size_t n = 0; n <= 65507; ++n) {
    p.client.got.clear();
    p.t.sync();
    ASSERT_EQ(p.cli->send_to(IpAddr::v4(kAddrB), 7, std::span(data).first(n)), SendResult::kOk);
    ASSERT_TRUE(p.t.run_until([&] { return !p.client.got.empty(); }, 100)) << "size " << n;
    ASSERT_EQ(p.client.got[0].size(), n);
    ASSERT_EQ(std::memcmp(p.client.got[0].data(), data.data(), n), 0) << "size " << n;
  }
}

}  // namespace
}  // namespace ustack
