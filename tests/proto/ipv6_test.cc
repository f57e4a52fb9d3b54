// IPv6 between two stacks over memlink on the virtual clock: duplicate
// address detection (RFC 4862 §5.4), neighbor discovery both ways (RFC
// 4861), ICMPv6 echo (RFC 4443 §4) to global, link-local and all-nodes
// addresses, and hostile packets (scapy-made, tests/wire/ipv6_vectors.h)
// each refused under its counter, with the Parameter Problem RFC 8200 asks
// for.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "proto/link_tap.h"
#include "proto/two_stacks.h"
#include "proto/udp_apps.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/ipv6_ethernet.h"
#include "proto/wire/ndp.h"
#include "wire/ipv6_vectors.h"

namespace ustack {
namespace {

using testing::kAddr6A;
using testing::kAddr6B;
using testing::LinkOptions;
using testing::TwoStacks;
using namespace std::chrono_literals;

struct Replies : EchoListener {
  void on_echo_reply(const EchoReply& r) override { got.push_back(r); }
  std::vector<EchoReply> got;
};

LinkOptions v6(std::uint32_t dad_transmits = 1) {
  LinkOptions o;
  o.ipv6 = true;
  o.dad_transmits = dad_transmits;
  return o;
}

const Ipv6LocalAddr* local(testing::Host& h, const Ipv6Addr& a) {
  return h.stack->ipv6().find_local(a);
}

TEST(Ipv6Dad, AddressesAreTentativeUntilRetransTimerAfterTheProbe) {
  TwoStacks t(v6());
  const Ipv6Addr ll_a = wire::link_local_from_mac(t.link->a().mac());
  ASSERT_NE(local(t.a, ll_a), nullptr) << "the EUI-64 link-local address comes first";
  EXPECT_EQ(t.a.stack->ipv6().addrs().front().addr, ll_a);
  EXPECT_EQ(local(t.a, kAddr6A)->state, Ipv6AddrState::kTentative);
  t.run_for(999ms);
  EXPECT_EQ(t.a.counter("ipv6.dad.tx.solicit"), 2u) << "one probe per address";
  EXPECT_EQ(local(t.a, kAddr6A)->state, Ipv6AddrState::kTentative);
  // A tentative address is not a source (RFC 4862 §5.4).
  t.sync();
  EXPECT_EQ(t.a.stack->icmpv6().send_echo_request(kAddr6B, 1, 1), SendResult::kNoRoute);
  t.run_for(2ms);
  EXPECT_EQ(local(t.a, kAddr6A)->state, Ipv6AddrState::kPreferred);
  EXPECT_EQ(local(t.a, ll_a)->state, Ipv6AddrState::kPreferred);
  EXPECT_EQ(t.a.counter("ipv6.dad.assigned"), 2u);
  EXPECT_EQ(t.b.counter("ipv6.dad.assigned"), 2u);
  EXPECT_EQ(t.a.counter("ipv6.dad.duplicate"), 0u);
  // Each host saw the other's probes for addresses it does not have.
  EXPECT_EQ(t.b.counter("nd.drop.not_our_target"), 0u) << "other groups are not accepted";
}

TEST(Ipv6Dad, TwoHostsProbingOneAddressBothGiveItUp) {
  LinkOptions o = v6();
  o.b_addrs6 = {Ipv6Cidr{kAddr6A, 64}};
  TwoStacks t(o);
  t.run_for(1100ms);
  // RFC 4862 §5.4.3: each receives the other's solicitation from ::.
  EXPECT_EQ(local(t.a, kAddr6A)->state, Ipv6AddrState::kDuplicate);
  EXPECT_EQ(local(t.b, kAddr6A)->state, Ipv6AddrState::kDuplicate);
  EXPECT_EQ(t.a.counter("ipv6.dad.duplicate"), 1u);
  EXPECT_EQ(t.b.counter("ipv6.dad.duplicate"), 1u);
  // The link-local addresses differ and were assigned.
  EXPECT_EQ(t.a.counter("ipv6.dad.assigned"), 1u);
}

TEST(Ipv6Dad, AdvertisementForATentativeAddressMakesItDuplicate) {
  LinkOptions o = v6();
  TwoStacks t(o);
  t.run_for(1100ms);  // both done
  // A defends fd00::1: B starting a new DAD for it now hears A's answer.
  // (Simulated: B's address table gets fd00::1 as tentative, then B probes.)
  t.b.stack->ipv6().addrs().push_back({kAddr6A, 64, Ipv6AddrState::kTentative, 0});
  t.sync();
  t.b.stack->nd().start(t.clock.now());
  t.run_for(1100ms);
  EXPECT_EQ(t.a.counter("nd.tx.advert"), 1u) << "A answers the DAD probe to all nodes";
  EXPECT_EQ(local(t.b, kAddr6A)->state, Ipv6AddrState::kDuplicate);
  EXPECT_EQ(local(t.a, kAddr6A)->state, Ipv6AddrState::kPreferred);
}

TEST(Ipv6Echo, PingBothWaysResolvesNeighborsAndMeasuresRoundTrip) {
  TwoStacks t(v6());
  Replies ra, rb;
  t.a.stack->icmpv6().set_echo_listener(&ra);
  t.b.stack->icmpv6().set_echo_listener(&rb);
  t.run_for(1100ms);
  t.sync();
  ASSERT_EQ(t.a.stack->icmpv6().send_echo_request(kAddr6B, 0x1234, 1), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return !ra.got.empty(); }));
  EXPECT_EQ(ra.got[0].from, IpAddr::v6(kAddr6B));
  EXPECT_EQ(ra.got[0].id, 0x1234);
  EXPECT_EQ(ra.got[0].seq, 1);
  EXPECT_EQ(ra.got[0].ttl, 64);
  EXPECT_EQ(ra.got[0].bytes, 64u);
  ASSERT_TRUE(ra.got[0].rtt_valid);
  EXPECT_LT(ra.got[0].rtt, 1ms);
  EXPECT_EQ(t.a.counter("nd.tx.solicit"), 1u) << "one multicast solicitation";
  EXPECT_EQ(t.b.counter("nd.tx.advert"), 1u);
  EXPECT_EQ(t.b.counter("nd.tx.solicit"), 0u) << "B learned A from the solicitation (§7.2.3)";
  EXPECT_EQ(t.a.stack->nd().neighbors().state(kAddr6B, t.clock.now()),
            NeighborCache::State::kReachable);
  EXPECT_EQ(t.b.stack->nd().neighbors().state(kAddr6A, t.clock.now()), NeighborCache::State::kDelay)
      << "learned STALE, then used";
  // DELAY_FIRST_PROBE_TIME later B probes A by unicast, and A answers.
  t.run_for(5100ms);
  EXPECT_EQ(t.b.counter("nd.tx.solicit"), 1u);
  EXPECT_EQ(t.b.stack->nd().neighbors().state(kAddr6A, t.clock.now()),
            NeighborCache::State::kReachable);

  t.sync();
  ASSERT_EQ(t.b.stack->icmpv6().send_echo_request(kAddr6A, 7, 2), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return !rb.got.empty(); }));
  EXPECT_EQ(rb.got[0].seq, 2);
  EXPECT_EQ(rb.got[0].from, IpAddr::v6(kAddr6A));
}

TEST(Ipv6Echo, LargeEchoIsFragmentedAndReassembledBothWays) {
  TwoStacks t(v6(0));
  Replies ra;
  t.a.stack->icmpv6().set_echo_listener(&ra);
  t.sync();
  ASSERT_EQ(t.a.stack->icmpv6().send_echo_request(kAddr6B, 1, 1, 20000), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return !ra.got.empty(); }));
  EXPECT_EQ(ra.got[0].bytes, 20008u);
  // 1448 bytes a fragment (1500 - 40 - 8, rounded down to 8): 14 of them.
  EXPECT_EQ(t.a.counter("ipv6.tx.fragments"), 14u);
  EXPECT_EQ(t.b.counter("ipv6.reasm.ok"), 1u);
  EXPECT_EQ(t.a.counter("ipv6.reasm.ok"), 1u);
}

TEST(Ipv6Echo, LinkLocalAndAllNodes) {
  TwoStacks t(v6());
  Replies ra;
  t.a.stack->icmpv6().set_echo_listener(&ra);
  t.run_for(1100ms);
  const Ipv6Addr ll_b = wire::link_local_from_mac(t.link->b().mac());
  t.sync();
  ASSERT_EQ(t.a.stack->icmpv6().send_echo_request(ll_b, 1, 1), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return ra.got.size() == 1; }));
  EXPECT_EQ(ra.got[0].from, IpAddr::v6(ll_b));
  // To all nodes: B answers from its link-local address (RFC 4443 §4.2).
  t.sync();
  ASSERT_EQ(t.a.stack->icmpv6().send_echo_request(Ipv6Addr::all_nodes(), 1, 2), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return ra.got.size() == 2; }));
  EXPECT_EQ(ra.got[1].from, IpAddr::v6(ll_b));
  EXPECT_EQ(ra.got[1].seq, 2);
}

TEST(Ipv6Echo, UnreachableNeighborDropsTheWaitingPacketsAndCounts) {
  TwoStacks t(v6());
  t.run_for(1100ms);
  t.sync();
  ASSERT_EQ(t.a.stack->icmpv6().send_echo_request(*Ipv6Addr::parse("fd00::99"), 1, 1),
            SendResult::kOk);
  t.run_for(3100ms);
  EXPECT_EQ(t.a.counter("nd.tx.solicit"), 3u);
  EXPECT_EQ(t.a.counter("nd.resolve_failed"), 1u);
  EXPECT_EQ(t.a.counter("nd.drop.unresolved"), 1u);
  // Off-link without a default router: no route.
  t.sync();
  EXPECT_EQ(t.a.stack->icmpv6().send_echo_request(*Ipv6Addr::parse("2001:db8::1"), 1, 1),
            SendResult::kNoRoute);
  EXPECT_EQ(t.a.counter("ipv6.drop.no_route"), 1u);
}

TEST(Ipv6Echo, Ipv4StillWorksBesideIt) {
  TwoStacks t(v6());
  Replies ra;
  t.a.stack->icmp().set_echo_listener(&ra);
  t.sync();
  ASSERT_EQ(t.a.stack->icmp().send_echo_request(testing::kAddrB, 1, 1), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return !ra.got.empty(); }));
  EXPECT_EQ(ra.got[0].from, IpAddr::v4(testing::kAddrB));
}

// ---- Hostile and malformed packets, from A's end of the link into B.

class Hostile {
 public:
  Hostile() : t(v6(0)) { t.a.stack->icmpv6().set_echo_listener(&replies); }

  // A scapy-made packet, with one byte changed when `patch_at` is not 0.
  template <std::size_t N>
  void inject(const std::uint8_t (&packet)[N], std::uint8_t patch_at = 0, std::uint8_t patch = 0) {
    std::vector<std::uint8_t> b(packet, packet + N);
    if (patch_at != 0) b[patch_at] = patch;
    send(b, t.link->b().mac());
  }
  // Sends an IPv6 packet in a frame from A's MAC, as A's driver would.
  void send(const std::vector<std::uint8_t>& packet, const MacAddr& dst) {
    testing::send_from_a(t, std::as_bytes(std::span(packet)), dst);
  }
  // An ND message from `src` to `dst` with hop limit 255, to B's MAC or `mac`.
  void inject_nd(const wire::NdMessage& msg, const Ipv6Addr& src, const Ipv6Addr& dst,
                 std::optional<MacAddr> mac = std::nullopt) {
    std::vector<std::uint8_t> b(40 + msg.len());
    auto* p = reinterpret_cast<std::byte*>(b.data());
    wire::Ipv6Repr r;
    r.src = src;
    r.dst = dst;
    r.next_header = wire::kIpProtoIcmpv6;
    r.hop_limit = 255;
    r.payload_len = static_cast<std::uint16_t>(msg.len());
    r.emit({p, 40});
    msg.emit({p + 40, msg.len()}, src, dst);
    send(b, mac.value_or(t.link->b().mac()));
  }
  // Injecting the packet made B count one drop under `name`, and a ping
  // still works.
  template <std::size_t N>
  void drop(const char* name, const std::uint8_t (&packet)[N], std::uint8_t patch_at = 0,
            std::uint8_t patch = 0) {
    const std::uint64_t before = t.b.counter(name);
    inject(packet, patch_at, patch);
    EXPECT_EQ(t.b.counter(name), before + 1) << name;
    ping();
  }
  void drop_nd(const char* name, const wire::NdMessage& msg, const Ipv6Addr& src,
               const Ipv6Addr& dst, std::optional<MacAddr> mac = std::nullopt) {
    const std::uint64_t before = t.b.counter(name);
    inject_nd(msg, src, dst, mac);
    EXPECT_EQ(t.b.counter(name), before + 1) << name;
    ping();
  }
  void ping() {
    const std::size_t n = replies.got.size();
    t.sync();
    ASSERT_EQ(t.a.stack->icmpv6().send_echo_request(kAddr6B, 5, ++seq), SendResult::kOk);
    ASSERT_TRUE(t.run_until([&] { return replies.got.size() > n; }, 1000));
    EXPECT_EQ(t.a.pool->in_use(), 0u);
    EXPECT_EQ(t.b.pool->in_use(), 0u);
  }
  std::uint64_t b(const char* name) { return t.b.counter(name); }
  std::uint64_t a(const char* name) { return t.a.counter(name); }

  TwoStacks t;
  Replies replies;
  std::uint16_t seq = 0;
};

TEST(Ipv6Hostile, ExtensionHeaderChainsAreRefusedWithTheRightError) {
  using namespace wire::v6vectors;
  Hostile h;
  h.ping();
  std::uint64_t pp = h.a("icmpv6.rx.error");
  // Option action 01: silently.
  h.drop("ipv6.drop.bad_option", kHbhDiscard);
  EXPECT_EQ(h.a("icmpv6.rx.error"), pp) << "01: no error";
  // Option action 10: Parameter Problem to A.
  h.drop("ipv6.drop.bad_option", kDestOptIcmp);
  EXPECT_EQ(h.a("icmpv6.rx.error"), ++pp);
  // Hop-by-Hop after another header.
  h.drop("ipv6.drop.hop_by_hop_not_first", kHbhLate);
  EXPECT_EQ(h.a("icmpv6.rx.error"), ++pp);
  // Routing type 0 with segments left: refused (RFC 5095).
  h.drop("ipv6.drop.routing_header", kRouting0Active);
  EXPECT_EQ(h.a("icmpv6.rx.error"), ++pp);
  // Nine extension headers.
  h.drop("ipv6.drop.header_chain", kNineHeaders);
  // No Next Header: nothing delivered.
  h.drop("ipv6.rx.no_next_header", kNoNext);
  // An unknown upper layer (Next Header 99): Parameter Problem code 1.
  h.drop("ipv6.drop.unknown_protocol", kUdp, 6, 99);
  EXPECT_EQ(h.a("icmpv6.rx.error"), ++pp);
}

TEST(Ipv6Hostile, BadHeadersAndAddresses) {
  using namespace wire::v6vectors;
  Hostile h;
  h.drop("ipv6.drop.malformed", kEchoRequest, 5, 200);    // payload length past the frame
  h.drop("ipv6.drop.bad_source", kEchoRequest, 8, 0xff);  // a multicast source
  h.drop("ipv6.drop.land", kEchoRequest, 23, 2);          // source fd00::2, B itself
  h.drop("ipv6.drop.not_for_us", kEchoRequest, 39, 9);    // to fd00::9
  h.drop("icmpv6.drop.bad_checksum", kEchoRequest, 47, 0x99);
  // An atomic fragment is processed whole (RFC 6946): it reaches UDP,
  // where port 7 is closed here.
  h.drop("udp.drop.no_socket", kAtomicFragment);
}

TEST(Ipv6Hostile, BogusNeighborDiscovery) {
  using namespace wire::v6vectors;
  Hostile h;
  h.ping();
  // A solicitation that a router may have forwarded (hop limit 64).
  h.drop("nd.drop.hop_limit", kNeighborSolicit, 7, 64);
  // A zero-length option (RFC 4861 §4.6) and a multicast target.
  h.drop("nd.drop.malformed", kNsZeroLengthOption);
  h.drop("nd.drop.malformed", kNsMulticastTarget);
  // An advertisement claiming B's own address: counted, never learned.
  wire::NdMessage claim;
  claim.type = wire::kIcmpv6NeighborAdvert;
  claim.target = kAddr6B;
  claim.flags = wire::kNaFlagOverride;
  claim.target_mac = h.t.link->a().mac();
  h.drop_nd("nd.conflict", claim, kAddr6A, Ipv6Addr::all_nodes(),
            wire::multicast_mac(Ipv6Addr::all_nodes()));
  EXPECT_EQ(h.t.b.stack->nd().neighbors().peek(kAddr6B), nullptr);
  // A solicitation for an address B does not have.
  wire::NdMessage ns;
  ns.type = wire::kIcmpv6NeighborSolicit;
  ns.target = *Ipv6Addr::parse("fd00::9");
  ns.source_mac = h.t.link->a().mac();
  h.drop_nd("nd.drop.not_our_target", ns, kAddr6A, kAddr6B);
  // A solicitation from :: to a unicast address (only DAD may use ::, and
  // only to the solicited-node group, RFC 4861 §7.1.1).
  ns.target = kAddr6B;
  ns.source_mac.reset();
  h.drop_nd("nd.drop.malformed", ns, Ipv6Addr::any(), kAddr6B);
  // A solicited advertisement to a multicast group (§7.1.2).
  wire::NdMessage na;
  na.type = wire::kIcmpv6NeighborAdvert;
  na.target = kAddr6A;
  na.flags = wire::kNaFlagSolicited | wire::kNaFlagOverride;
  na.target_mac = h.t.link->a().mac();
  h.drop_nd("nd.drop.malformed", na, kAddr6A, Ipv6Addr::all_nodes(),
            wire::multicast_mac(Ipv6Addr::all_nodes()));
}

TEST(Ipv6Hostile, UnsolicitedAdvertsDoNotFillTheCache) {
  Hostile h;
  h.ping();
  const std::size_t before = h.t.b.stack->nd().neighbors().size();
  // Valid advertisements for 50 addresses B never asked about (§7.2.5:
  // silently discarded when there is no entry).
  for (std::uint8_t i = 0x10; i < 0x10 + 50; ++i) {
    wire::NdMessage na;
    na.type = wire::kIcmpv6NeighborAdvert;
    na.target = kAddr6A;
    na.target.b[15] = i;
    na.flags = wire::kNaFlagOverride;
    na.target_mac = MacAddr::local_from(i);
    h.inject_nd(na, na.target, Ipv6Addr::all_nodes(), wire::multicast_mac(Ipv6Addr::all_nodes()));
  }
  EXPECT_EQ(h.t.b.stack->nd().neighbors().size(), before);
  EXPECT_EQ(h.b("nd.drop.advert_no_entry"), 50u);
  h.ping();
}

// ---- Fragment reassembly (RFC 8200 §4.5, RFC 5722, RFC 7112).

TEST(Ipv6Reassembly, ScapyFragmentsOutOfOrderMakeOneDatagram) {
  using namespace wire::v6vectors;
  Hostile h;
  testing::UdpCollector sink;
  std::string err;
  ASSERT_NE(h.t.b.stack->udp().open(sink, 7, &err), nullptr) << err;
  h.inject(kFragUdp1);
  h.inject(kFragUdp3);
  EXPECT_EQ(h.t.b.stack->ipv6().reassembler().datagrams(), 1u);
  EXPECT_TRUE(sink.got.empty());
  h.inject(kFragUdp2);
  ASSERT_EQ(sink.got.size(), 1u);
  std::string want;
  for (int i = 0; i < 300; ++i) want += "0123456789";
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sink.got[0].data()), sink.got[0].size()),
            want);
  EXPECT_EQ(h.b("ipv6.reasm.ok"), 1u);
  EXPECT_EQ(h.t.b.stack->ipv6().reassembler().datagrams(), 0u);
  h.ping();
}

TEST(Ipv6Reassembly, OverlapsDiscardTheWholeDatagram) {
  using namespace wire::v6vectors;
  Hostile h;
  h.inject(kFragOverlap1);
  EXPECT_EQ(h.t.b.stack->ipv6().reassembler().datagrams(), 1u);
  // RFC 5722 §4: an overlapping fragment discards the datagram.
  h.drop("ipv6.reasm.overlap", kFragOverlap2);
  EXPECT_EQ(h.t.b.stack->ipv6().reassembler().datagrams(), 0u);
}

TEST(Ipv6Reassembly, MalformedFragmentsGetParameterProblem) {
  using namespace wire::v6vectors;
  Hostile h;
  h.ping();
  std::uint64_t pp = h.a("icmpv6.rx.error");
  h.drop("ipv6.drop.fragment_length", kFragBadLength);  // M set, 12 bytes
  EXPECT_EQ(h.a("icmpv6.rx.error"), ++pp);
  h.drop("ipv6.drop.fragment_too_big", kFragTooBig);  // ends past 65535
  EXPECT_EQ(h.a("icmpv6.rx.error"), ++pp);
  h.drop("ipv6.drop.fragment_header_chain", kFragNoHeader);  // RFC 7112: code 3
  EXPECT_EQ(h.a("icmpv6.rx.error"), ++pp);
  EXPECT_EQ(h.t.b.stack->ipv6().reassembler().datagrams(), 0u);
}

TEST(Ipv6Reassembly, ExtensionHeadersBehindTheFragmentHeaderAreWalked) {
  using namespace wire::v6vectors;
  Hostile h;
  testing::UdpCollector sink;
  std::string err;
  ASSERT_NE(h.t.b.stack->udp().open(sink, 7, &err), nullptr) << err;
  // scapy's fragment6 of UDP behind a Destination Options header behind
  // the Fragment header: walked once reassembled (RFC 8200 §4.5).
  h.inject(kFragDestOpt2);
  h.inject(kFragDestOpt1);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].size(), 2000u);
  EXPECT_EQ(h.b("ipv6.reasm.ok"), 1u);
  // What the walk refuses there is refused after reassembly, counted (no
  // Parameter Problem: the packet it would quote is gone).
  const std::uint64_t pp = h.a("icmpv6.rx.error");
  h.inject(kFragBadOption1);
  h.drop("ipv6.drop.bad_option", kFragBadOption2);
  h.inject(kFragHopByHop1);
  h.drop("ipv6.drop.hop_by_hop_not_first", kFragHopByHop2);
  EXPECT_EQ(h.a("icmpv6.rx.error"), pp);
  // A first fragment whose chain does not reach the upper layer: RFC 7112
  // §5, Parameter Problem code 3.
  h.drop("ipv6.drop.fragment_header_chain", kFragChainCut);
  EXPECT_EQ(h.a("icmpv6.rx.error"), pp + 1);
  EXPECT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(h.t.b.stack->ipv6().reassembler().datagrams(), 0u);
}

TEST(Ipv6Reassembly, IncompleteDatagramTimesOutAfterSixtySeconds) {
  using namespace wire::v6vectors;
  Hostile h;
  h.inject(kFragment);
  EXPECT_EQ(h.t.b.stack->ipv6().reassembler().datagrams(), 1u);
  h.t.run_for(std::chrono::seconds(59));
  EXPECT_EQ(h.b("ipv6.reasm.timeout"), 0u);
  h.t.run_for(std::chrono::seconds(2));
  EXPECT_EQ(h.b("ipv6.reasm.timeout"), 1u);
  EXPECT_EQ(h.t.b.stack->ipv6().reassembler().datagrams(), 0u);
  h.ping();
}

}  // namespace
}  // namespace ustack
