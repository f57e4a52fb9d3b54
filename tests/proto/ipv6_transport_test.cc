// UDP and TCP over IPv6 between two stacks over memlink, with the same API
// as IPv4 (addresses as IpAddr): the 20 KB echo and a bulk echo under loss,
// the MSS of an IPv6 segment (RFC 8200 §8.3), resets and refusals, both
// families through one listener at once (the connection table keyed on
// either family), UDP echo with the IPv6 pseudo-header checksum, the zero
// checksum refused (RFC 8200 §8.1), and ICMPv6 port unreachable reaching
// the socket.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "proto/tcp_apps.h"
#include "proto/tcp_pair.h"
#include "proto/two_stacks.h"
#include "proto/udp_apps.h"
#include "proto/wire/checksum.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/ipv4.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/ipv6_ethernet.h"

namespace ustack {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::EchoClient;
using testing::EchoServer;
using testing::kAddr6A;
using testing::kAddr6B;
using testing::kAddrB;
using testing::LinkOptions;
using testing::random_bytes;
using testing::TwoStacks;

LinkOptions v6() {
  LinkOptions o;
  o.ipv6 = true;
  o.dad_transmits = 0;  // DAD has its own tests (ipv6_test.cc)
  return o;
}

// tcp_test.cc's fixture, connecting to B's IPv6 address.
struct Pair6 : testing::TcpEchoPair {
  explicit Pair6(const LinkOptions& o = v6()) : TcpEchoPair(o, IpAddr::v6(kAddr6B)) {}
};

TEST(TcpIpv6, TwentyKilobyteEchoAndCleanClose) {
  Pair6 p;
  EchoClient c(random_bytes(20000, 7));
  TcpConn* conn = p.connect(c);
  ASSERT_TRUE(p.t.run_until([&] { return c.connected; }));
  EXPECT_EQ(conn->mss(), 1500u - 40 - 20 - 12) << "MTU less IPv6, TCP and timestamps";
  EXPECT_TRUE(conn->key().local.is_v6());
  EXPECT_EQ(conn->key().local, IpAddr::v6(kAddr6A));
  ASSERT_TRUE(p.t.run_until([&] { return c.closed; }, 200000));
  EXPECT_EQ(c.got, c.data());
  EXPECT_EQ(c.reason, TcpCloseReason::kNormal);
  EXPECT_EQ(p.server.closed, 1);
  EXPECT_EQ(p.t.a.counter("tcp.tx.retransmits"), 0u);
  EXPECT_EQ(p.t.b.counter("tcp.drop.bad_checksum"), 0u);
  EXPECT_GT(p.t.a.counter("ipv6.tx"), 10u);
  EXPECT_EQ(p.t.a.counter("ipv4.tx"), 0u) << "nothing went over IPv4";
  p.t.run_for(seconds(61), milliseconds(100));
  EXPECT_EQ(p.t.a.stack->tcp().connections(), 0u);
  EXPECT_EQ(p.t.b.stack->tcp().connections(), 0u);
}

TEST(TcpIpv6, LinkLocalPeer) {
  Pair6 p;
  EchoClient c(random_bytes(3000, 3));
  p.connect(c, IpAddr::v6(wire::link_local_from_mac(p.t.link->b().mac())));
  ASSERT_TRUE(p.t.run_until([&] { return c.closed; }, 200000));
  EXPECT_EQ(c.got, c.data());
}

TEST(TcpIpv6, BulkEchoUnderLossAndReordering) {
  LinkOptions o = v6();
  for (FaultConfig* f : {&o.a_to_b, &o.b_to_a}) {
    f->loss = 0.01;
    f->reorder = 0.05;
    f->reorder_depth = 10;
  }
  o.b_to_a.seed = 77;
  Pair6 p(o);
  EchoClient c(random_bytes(1 << 20, 11));
  p.connect(c);
  ASSERT_TRUE(p.t.run_until([&] { return c.closed; }, 5'000'000));
  EXPECT_EQ(c.got, c.data());
  EXPECT_GT(p.t.a.counter("tcp.tx.retransmits"), 0u);
}

TEST(TcpIpv6, BothFamiliesThroughOneListenerAtOnce) {
  Pair6 p;
  EchoClient c4(random_bytes(5000, 4)), c6(random_bytes(5000, 6));
  p.connect(c4, IpAddr::v4(kAddrB));
  p.connect(c6);
  ASSERT_TRUE(p.t.run_until([&] { return c4.closed && c6.closed; }, 200000));
  EXPECT_EQ(c4.got, c4.data());
  EXPECT_EQ(c6.got, c6.data());
  EXPECT_EQ(p.server.accepted, 2);
}

TEST(TcpIpv6, RefusedWithResetAndUnreachableAddress) {
  TwoStacks t(v6());
  EchoClient c(random_bytes(10, 1));
  std::string err;
  t.sync();
  ASSERT_NE(t.a.stack->tcp().connect(IpAddr::v6(kAddr6B), 9999, c, &err), nullptr) << err;
  ASSERT_TRUE(t.run_until([&] { return c.closed; }));
  EXPECT_EQ(c.reason, TcpCloseReason::kRefused);
  EXPECT_EQ(t.b.counter("tcp.tx.rst"), 1u);
  // Without a route (no IPv6 default router) the SYN goes nowhere.
  EchoClient far(random_bytes(10, 1));
  t.sync();
  ASSERT_NE(t.a.stack->tcp().connect(*IpAddr::parse("2001:db8::1"), 80, far, &err), nullptr);
  EXPECT_GE(t.a.counter("ipv6.drop.no_route"), 1u);
}

TEST(TcpIpv6, ConnectWithoutIpv6IsAnError) {
  TwoStacks t;  // IPv4 only
  EchoClient c(random_bytes(10, 1));
  std::string err;
  t.sync();
  EXPECT_EQ(t.a.stack->tcp().connect(IpAddr::v6(kAddr6B), 80, c, &err), nullptr);
  EXPECT_NE(err.find("no usable IPv6 address"), std::string::npos) << err;
}

using UdpCollect = testing::UdpCollector;
using testing::UdpEcho;

// Two IPv6 stacks and a UDP socket on A (ephemeral port) collecting what
// comes back.
struct UdpPair6 {
  TwoStacks t{v6()};
  UdpCollect client;
  UdpSocket* s = nullptr;
  UdpPair6() {
    std::string err;
    s = t.a.stack->udp().open(client, 0, &err);
    EXPECT_NE(s, nullptr) << err;
  }
  SendResult send(std::uint16_t port, std::size_t n) {
    t.sync();
    return s->send_to(IpAddr::v6(kAddr6B), port, random_bytes(n, n));
  }
};

TEST(UdpIpv6, EchoFromEmptyToTheLargestDatagram) {
  TwoStacks t(v6());
  UdpEcho echo;
  UdpCollect client;
  std::string err;
  ASSERT_NE(t.b.stack->udp().open(echo, 7, &err), nullptr) << err;
  UdpSocket* s = t.a.stack->udp().open(client, 0, &err);
  ASSERT_NE(s, nullptr) << err;
  // 1452 fills one packet (1500 - 40 - 8); beyond it both sides fragment
  // (RFC 8200 §4.5) and reassemble; 65527 is the most a UDP length holds.
  for (std::size_t n : {0u, 1u, 100u, 1452u, 1453u, 8000u, 65527u}) {
    const auto data = random_bytes(n, static_cast<std::uint64_t>(n));
    client.got.clear();
    t.sync();
    ASSERT_EQ(s->send_to(IpAddr::v6(kAddr6B), 7, data), SendResult::kOk) << n;
    ASSERT_TRUE(t.run_until([&] { return !client.got.empty(); })) << n;
    EXPECT_EQ(client.got[0], data) << n;
  }
  EXPECT_EQ(echo.from, IpAddr::v6(kAddr6A));
  EXPECT_EQ(echo.ttl, 64);
  EXPECT_EQ(t.b.counter("ipv6.reasm.ok"), 3u);
  EXPECT_EQ(t.a.counter("ipv6.reasm.ok"), 3u);
  EXPECT_EQ(t.a.counter("ipv6.tx.fragments"), 1u * 2 + 6 + 46);
  t.sync();
  EXPECT_EQ(s->send_to(IpAddr::v6(kAddr6B), 7, random_bytes(65528, 1)), SendResult::kTooBig);
  EXPECT_EQ(t.b.counter("udp.drop.bad_checksum"), 0u);
}

TEST(UdpIpv6, ClosedPortGivesIcmpv6PortUnreachableToTheSocket) {
  UdpPair6 u;
  auto& t = u.t;
  ASSERT_EQ(u.send(9999, 10), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return !u.client.errors.empty(); }));
  const IcmpError& e = u.client.errors[0];
  EXPECT_EQ(e.type, wire::kIcmpv6DestUnreachable);
  EXPECT_EQ(e.code, wire::kIcmpv6UnreachPort);
  EXPECT_EQ(e.dst, IpAddr::v6(kAddr6B));
  EXPECT_EQ(e.dst_port, 9999);
  EXPECT_EQ(e.src_port, u.s->local_port());
  EXPECT_EQ(t.b.counter("udp.drop.no_socket"), 1u);
  EXPECT_EQ(t.b.counter("icmpv6.tx.error"), 1u);
}

// Sends an IPv6 packet as a frame from one end of the link (A's when
// `from_a`) to the other host, and lets both run a little.
void send_packet(TwoStacks& t, bool from_a, const Ipv6Addr& src, const Ipv6Addr& dst,
                 std::uint8_t next_header, std::span<const std::byte> payload) {
  testing::Host& from = from_a ? t.a : t.b;
  Port& out = from_a ? t.link->a() : t.link->b();
  Port& in = from_a ? t.link->b() : t.link->a();
  Mbuf* m = from.pool->alloc();
  ASSERT_NE(m, nullptr);
  std::byte* p = m->append(static_cast<std::uint16_t>(14 + 40 + payload.size()));
  wire::store_mac(p, in.mac());
  wire::store_mac(p + 6, out.mac());
  wire::store_be16(p + 12, wire::kEtherTypeIpv6);
  wire::Ipv6Repr r;
  r.src = src;
  r.dst = dst;
  r.next_header = next_header;
  r.payload_len = static_cast<std::uint16_t>(payload.size());
  r.emit({p + 14, 40});
  std::memcpy(p + 54, payload.data(), payload.size());
  ASSERT_EQ(out.tx_burst(0, &m, 1), 1u);
  for (int i = 0; i < 4; ++i) t.step();
}

TEST(UdpIpv6, ZeroChecksumIsRefused) {
  TwoStacks t(v6());
  UdpCollect sink;
  std::string err;
  ASSERT_NE(t.b.stack->udp().open(sink, 7, &err), nullptr) << err;
  // A datagram from A with checksum 0 (legal over IPv4, not over IPv6),
  // then the same with its checksum, which arrives.
  for (bool with_checksum : {false, true}) {
    std::vector<std::byte> u(12);
    wire::store_be16(u.data(), 5000);
    wire::store_be16(u.data() + 2, 7);
    wire::store_be16(u.data() + 4, 12);
    std::memcpy(u.data() + 8, "abcd", 4);
    if (with_checksum)
      wire::store_be16(u.data() + 6,
                       wire::ipv6_l4_checksum(kAddr6A, kAddr6B, wire::kIpProtoUdp, u));
    send_packet(t, /*from_a=*/true, kAddr6A, kAddr6B, wire::kIpProtoUdp, u);
  }
  EXPECT_EQ(t.b.counter("udp.drop.bad_checksum"), 1u);
  ASSERT_EQ(sink.got.size(), 1u);
}

// ---- Packet Too Big and the path MTU (RFC 8201).

// A Packet Too Big from router fd00::99 to A about A's packet to B with
// `protocol` and ports (sport, dport), sent into A from B's end.
void packet_too_big(TwoStacks& t, std::uint32_t mtu, std::uint8_t protocol, std::uint16_t sport,
                    std::uint16_t dport) {
  const Ipv6Addr router = *Ipv6Addr::parse("fd00::99");
  std::vector<std::byte> msg(8 + 40 + 8);
  wire::Ipv6Repr q;
  q.src = kAddr6A;
  q.dst = kAddr6B;
  q.next_header = protocol;
  q.payload_len = 1400;
  q.emit({msg.data() + 8, 40});
  wire::store_be16(msg.data() + 48, sport);
  wire::store_be16(msg.data() + 50, dport);
  ASSERT_TRUE((wire::Icmpv6Repr{wire::kIcmpv6PacketTooBig, 0, mtu}.emit(msg, router, kAddr6A)));
  send_packet(t, /*from_a=*/false, router, kAddr6A, wire::kIpProtoIcmpv6, msg);
}

TEST(PathMtuIpv6, PacketTooBigMakesUdpFragmentUntilTheEstimateAges) {
  TwoStacks t(v6());
  UdpCollect sink, client;
  std::string err;
  ASSERT_NE(t.b.stack->udp().open(sink, 7, &err), nullptr) << err;
  UdpSocket* s = t.a.stack->udp().open(client, 0, &err);
  ASSERT_NE(s, nullptr) << err;
  const auto data = random_bytes(1400, 3);
  auto send = [&] {
    sink.got.clear();
    t.sync();
    ASSERT_EQ(s->send_to(IpAddr::v6(kAddr6B), 7, data), SendResult::kOk);
    ASSERT_TRUE(t.run_until([&] { return !sink.got.empty(); }));
    EXPECT_EQ(sink.got[0], data);
  };
  send();
  EXPECT_EQ(t.a.counter("ipv6.tx.fragments"), 0u) << "1448 bytes fit 1500";
  // RFC 8201 §4: an MTU below 1280 is taken as 1280.
  packet_too_big(t, 600, wire::kIpProtoUdp, s->local_port(), 7);
  EXPECT_EQ(t.a.counter("ipv6.pmtu.lowered"), 1u);
  EXPECT_EQ(t.a.stack->ipv6().mtu_toward(kAddr6B), 1280u);
  send();
  EXPECT_EQ(t.a.counter("ipv6.tx.fragments"), 2u) << "1448 bytes over a 1280 path: two fragments";
  // A larger report does not raise the estimate; other destinations keep
  // the link MTU.
  packet_too_big(t, 1400, wire::kIpProtoUdp, s->local_port(), 7);
  EXPECT_EQ(t.a.stack->ipv6().mtu_toward(kAddr6B), 1280u);
  EXPECT_EQ(t.a.stack->ipv6().mtu_toward(*Ipv6Addr::parse("fd00::7")), 1500u);
  // Ten minutes on, the estimate is gone and the link MTU is tried again.
  t.run_for(std::chrono::minutes(10) + seconds(1), seconds(1));
  t.sync();
  EXPECT_EQ(t.a.stack->ipv6().mtu_toward(kAddr6B), 1500u);
  const std::uint64_t before = t.a.counter("ipv6.tx.fragments");
  send();
  EXPECT_EQ(t.a.counter("ipv6.tx.fragments"), before);
}

TEST(PathMtuIpv6, PacketTooBigLowersTheTcpMss) {
  Pair6 p;
  EchoClient c(random_bytes(100, 1));
  TcpConn* conn = p.connect(c);
  ASSERT_TRUE(p.t.run_until([&] { return c.connected; }));
  EXPECT_EQ(conn->mss(), 1500u - 40 - 20 - 12);
  packet_too_big(p.t, 1280, wire::kIpProtoTcp, conn->key().local_port, 8888);
  EXPECT_EQ(conn->mss(), 1280u - 40 - 20 - 12) << "RFC 8201 §5.2: the MSS follows the path MTU";
  ASSERT_TRUE(p.t.run_until([&] { return c.closed; }, 200000));
  EXPECT_EQ(c.got, c.data());
}

TEST(Icmpv6Errors, AreRateLimited) {
  UdpPair6 u;
  auto& t = u.t;
  // B resolved first (a queue of 128 waits for resolution).
  ASSERT_EQ(u.send(9999, 8), SendResult::kOk);
  t.run_for(milliseconds(5));
  ASSERT_EQ(t.b.counter("icmpv6.tx.error"), 1u);
  // RFC 4443 §2.4 (f): 199 more datagrams to a closed port at once; the
  // burst (50) gets errors, the rest is counted as rate limited.
  for (int i = 1; i < 200; ++i) ASSERT_EQ(u.send(9999, 8), SendResult::kOk);
  t.run_for(milliseconds(20));
  EXPECT_EQ(t.b.counter("udp.drop.no_socket"), 200u);
  EXPECT_GT(t.b.counter("icmpv6.rate_limited"), 100u);
  EXPECT_LT(t.b.counter("icmpv6.tx.error"), 100u);
  EXPECT_EQ(t.b.counter("icmpv6.tx.error") + t.b.counter("icmpv6.rate_limited"), 200u);
}

}  // namespace
}  // namespace ustack
