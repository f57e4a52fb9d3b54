// Router discovery (RFC 4861 §6.3) and stateless address autoconfiguration
// (RFC 4862 §5.5) between two stacks over memlink on the virtual clock:
// host A plays the router, sending advertisements built here (the builder,
// RouterAdvert::emit, matches scapy's bytes in the wire tests) or taken
// from scapy (tests/wire/ipv6_vectors.h); host B follows them
// (NetifConfig::slaac).
#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "proto/link_tap.h"
#include "proto/two_stacks.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/ipv6_ethernet.h"
#include "proto/wire/ndp_router.h"
#include "wire/ipv6_vectors.h"

namespace ustack {
namespace {

using testing::FrameTap;
using testing::kAddr6B;
using testing::LinkOptions;
using testing::TwoStacks;
using namespace std::chrono_literals;

const Ipv6Addr kPrefix1 = *Ipv6Addr::parse("2001:db8:1::");
const Ipv6Addr kPrefix2 = *Ipv6Addr::parse("2001:db8:2::");

LinkOptions slaac_link(std::uint32_t dad_transmits = 1) {
  LinkOptions o;
  o.ipv6 = true;
  o.b_slaac = true;
  o.dad_transmits = dad_transmits;
  return o;
}

wire::PrefixInfo prefix(const Ipv6Addr& p, std::uint32_t valid, std::uint32_t preferred,
                        std::uint8_t flags = wire::kPrefixFlagOnLink | wire::kPrefixFlagAutonomous,
                        std::uint8_t len = 64) {
  wire::PrefixInfo pi;
  pi.prefix = p;
  pi.prefix_len = len;
  pi.flags = flags;
  pi.valid_lifetime = valid;
  pi.preferred_lifetime = preferred;
  return pi;
}

wire::RouterAdvert advert(std::uint16_t router_lifetime,
                          std::initializer_list<wire::PrefixInfo> prefixes = {}) {
  wire::RouterAdvert ra;
  ra.cur_hop_limit = 64;
  ra.router_lifetime = router_lifetime;
  for (const wire::PrefixInfo& pi : prefixes) ra.prefixes[ra.prefix_count++] = pi;
  return ra;
}

class Router {
 public:
  explicit Router(const LinkOptions& o = slaac_link()) : t(o) {}

  Ipv6Addr ll_a() const { return wire::link_local_from_mac(t.link->a().mac()); }
  Ipv6Addr slaac_b(const Ipv6Addr& p) const {
    return wire::address_from_prefix(p, t.link->b().mac());
  }
  const Ipv6LocalAddr* b_addr(const Ipv6Addr& a) { return t.b.stack->ipv6().find_local(a); }
  RouterDiscovery& b_routers() { return t.b.stack->nd().routers(); }
  std::uint64_t b(const char* name) { return t.b.counter(name); }

  void send(std::span<const std::byte> packet, const MacAddr& dst_mac) {
    testing::send_from_a(t, packet, dst_mac);
  }
  template <std::size_t N>
  void send(const std::uint8_t (&packet)[N]) {
    send(std::as_bytes(std::span(packet)), wire::multicast_mac(Ipv6Addr::all_nodes()));
  }
  // `ra` from `src` (A's link-local address by default) to all nodes.
  void send_ra(const wire::RouterAdvert& ra, std::optional<Ipv6Addr> src = std::nullopt,
               std::uint8_t hop_limit = 255) {
    const Ipv6Addr from = src.value_or(ll_a());
    std::vector<std::byte> b(40 + ra.len());
    wire::Ipv6Repr r;
    r.src = from;
    r.dst = Ipv6Addr::all_nodes();
    r.next_header = wire::kIpProtoIcmpv6;
    r.hop_limit = hop_limit;
    r.payload_len = static_cast<std::uint16_t>(ra.len());
    r.emit({b.data(), 40});
    ASSERT_TRUE(ra.emit({b.data() + 40, ra.len()}, from, r.dst));
    send(b, wire::multicast_mac(Ipv6Addr::all_nodes()));
  }

  TwoStacks t;
};

TEST(Slaac, AdvertisementFormsAnAddressThatDadClears) {
  Router r;
  r.t.run_for(1100ms);  // B's own addresses through DAD
  const std::uint64_t probes = r.b("ipv6.dad.tx.solicit");
  wire::RouterAdvert ra = advert(1800, {prefix(kPrefix1, 86400, 14400)});
  ra.source_mac = r.t.link->a().mac();
  ra.mtu = 1400;
  r.send_ra(ra);
  EXPECT_EQ(r.b("nd.rx.router_advert"), 1u);
  EXPECT_EQ(r.b("ipv6.slaac.formed"), 1u);
  const Ipv6Addr mine = r.slaac_b(kPrefix1);
  ASSERT_NE(r.b_addr(mine), nullptr) << "prefix + modified EUI-64 of B's MAC";
  EXPECT_EQ(r.b_addr(mine)->state, Ipv6AddrState::kTentative);
  EXPECT_TRUE(r.b_addr(mine)->autoconf);
  EXPECT_EQ(r.b("ipv6.dad.tx.solicit"), probes + 1) << "one DAD probe for the new address";
  r.t.run_for(1100ms);
  EXPECT_EQ(r.b_addr(mine)->state, Ipv6AddrState::kPreferred);
  // The rest of the advertisement (RFC 4861 §6.3.4).
  EXPECT_EQ(r.b_routers().router_count(), 1u);
  EXPECT_EQ(r.b_routers().default_router(), r.ll_a());
  EXPECT_TRUE(r.b_routers().on_link(*Ipv6Addr::parse("2001:db8:1::99")));
  EXPECT_FALSE(r.b_routers().on_link(*Ipv6Addr::parse("2001:db8:9::1")));
  EXPECT_EQ(r.t.b.stack->ipv6().link_mtu(), 1400u);
  EXPECT_EQ(r.t.b.stack->ipv6().mtu_toward(*Ipv6Addr::parse("2001:db8:9::1")), 1400u);
  ASSERT_NE(r.t.b.stack->nd().neighbors().peek(r.ll_a()), nullptr)
      << "the router's link-layer address is learned from its option";
  EXPECT_EQ(*r.t.b.stack->nd().neighbors().peek(r.ll_a()), r.t.link->a().mac());
  // The new address is B's source toward its prefix (RFC 6724 rule 8).
  EXPECT_EQ(r.t.b.stack->ipv6().source_for(*Ipv6Addr::parse("2001:db8:1::1")), mine);
}

TEST(Slaac, AutoconfiguredAddressWorksEndToEnd) {
  LinkOptions o = slaac_link();
  o.a_addrs6 = {Ipv6Cidr{*Ipv6Addr::parse("2001:db8:1::1"), 64}};
  Router r(o);
  r.t.run_for(1100ms);
  r.send_ra(advert(1800, {prefix(kPrefix1, 86400, 14400)}));
  r.t.run_for(1100ms);
  struct Replies : EchoListener {
    void on_echo_reply(const EchoReply& e) override { got.push_back(e); }
    std::vector<EchoReply> got;
  } replies;
  r.t.b.stack->icmpv6().set_echo_listener(&replies);
  r.t.sync();
  ASSERT_EQ(r.t.b.stack->icmpv6().send_echo_request(*Ipv6Addr::parse("2001:db8:1::1"), 3, 1),
            SendResult::kOk);
  ASSERT_TRUE(r.t.run_until([&] { return !replies.got.empty(); }));
  EXPECT_EQ(r.t.a.counter("icmpv6.rx.echo_request"), 1u);
  // Off the prefix: through the default router (A's MAC), where A drops it
  // as not its own.
  const std::uint64_t before = r.t.a.counter("ipv6.drop.not_for_us");
  r.t.sync();
  ASSERT_EQ(r.t.b.stack->icmpv6().send_echo_request(*Ipv6Addr::parse("2001:db8:77::1"), 3, 2),
            SendResult::kOk);
  r.t.run_for(10ms);
  EXPECT_EQ(r.t.a.counter("ipv6.drop.not_for_us"), before + 1);
}

TEST(Slaac, DuplicateAutoconfiguredAddressIsNeverUsed) {
  LinkOptions o = slaac_link();
  Router r(o);
  // A already has the address B would form (RFC 4862 §5.4.4: A answers
  // B's probe and B gives the address up).
  const Ipv6Addr taken = r.slaac_b(kPrefix1);
  r.t.a.stack->ipv6().addrs().push_back({taken, 64, Ipv6AddrState::kPreferred, 0});
  r.t.run_for(1100ms);
  r.send_ra(advert(1800, {prefix(kPrefix1, 86400, 14400)}));
  r.t.run_for(1100ms);
  ASSERT_NE(r.b_addr(taken), nullptr);
  EXPECT_EQ(r.b_addr(taken)->state, Ipv6AddrState::kDuplicate);
  EXPECT_EQ(r.b("ipv6.dad.duplicate"), 1u);
  EXPECT_NE(r.t.b.stack->ipv6().source_for(*Ipv6Addr::parse("2001:db8:1::1")), taken);
}

TEST(Slaac, PreferredLifetimeDeprecatesValidLifetimeRemoves) {
  Router r(slaac_link(0));
  r.send_ra(advert(1800, {prefix(kPrefix1, 60, 30)}));
  const Ipv6Addr mine = r.slaac_b(kPrefix1);
  ASSERT_NE(r.b_addr(mine), nullptr);
  EXPECT_EQ(r.b_addr(mine)->state, Ipv6AddrState::kPreferred);
  r.t.run_for(29s, 10ms);
  EXPECT_EQ(r.b_addr(mine)->state, Ipv6AddrState::kPreferred);
  r.t.run_for(2s, 10ms);
  EXPECT_EQ(r.b_addr(mine)->state, Ipv6AddrState::kDeprecated);
  EXPECT_EQ(r.b("ipv6.slaac.deprecated"), 1u);
  // RFC 4862 §5.5.4: not chosen while another address will do, still ours.
  EXPECT_EQ(r.t.b.stack->ipv6().source_for(*Ipv6Addr::parse("2001:db8:1::1")), kAddr6B);
  EXPECT_TRUE(r.t.b.stack->ipv6().is_local(mine));
  r.t.run_for(28s, 10ms);
  EXPECT_NE(r.b_addr(mine), nullptr);
  r.t.run_for(2s, 10ms);
  EXPECT_EQ(r.b_addr(mine), nullptr) << "the valid lifetime ended";
  EXPECT_EQ(r.b("ipv6.slaac.expired"), 1u);
  // The on-link prefix ended with the same lifetime.
  EXPECT_EQ(r.b_routers().prefix_count(), 0u);
  EXPECT_EQ(r.b("nd.ra.prefix_expired"), 1u);
}

TEST(Slaac, TwoHourRuleKeepsAnAdvertisementFromCuttingTheValidLifetime) {
  Router r(slaac_link(0));
  r.send_ra(advert(1800, {prefix(kPrefix1, 3 * 3600, 3600)}));
  const Ipv6Addr mine = r.slaac_b(kPrefix1);
  ASSERT_NE(r.b_addr(mine), nullptr);
  auto left = [&] { return r.b_addr(mine)->valid_until - r.t.clock.now(); };
  EXPECT_GT(left(), 3h - 1s);
  // RFC 4862 §5.5.3 e) 3.: 60 s advertised, more than two hours left: two
  // hours.
  r.send_ra(advert(1800, {prefix(kPrefix1, 60, 30)}));
  EXPECT_LE(left(), 2h);
  EXPECT_GT(left(), 2h - 1s);
  EXPECT_EQ(r.b("ipv6.slaac.refreshed"), 1u);
  // e) 2.: two hours or less left: the advertised valid lifetime is ignored,
  // the preferred lifetime still taken.
  r.t.run_for(10s, 100ms);
  r.send_ra(advert(1800, {prefix(kPrefix1, 60, 0)}));
  EXPECT_LE(left(), 2h - 10s);
  EXPECT_GT(left(), 2h - 11s);
  EXPECT_EQ(r.b_addr(mine)->state, Ipv6AddrState::kDeprecated) << "preferred lifetime 0";
  // e) 1.: longer than two hours is always taken, and a preferred lifetime
  // makes a deprecated address preferred again.
  r.send_ra(advert(1800, {prefix(kPrefix1, 5 * 3600, 600)}));
  EXPECT_GT(left(), 5h - 1s);
  EXPECT_EQ(r.b_addr(mine)->state, Ipv6AddrState::kPreferred);
  // Infinity (all ones) never expires.
  r.send_ra(advert(1800, {prefix(kPrefix1, wire::kInfiniteLifetime, wire::kInfiniteLifetime)}));
  EXPECT_EQ(r.b_addr(mine)->valid_until, kForever);
}

TEST(Slaac, PrefixesThatMustBeIgnored) {
  Router r(slaac_link(0));
  // RFC 4862 §5.5.3 b) link-local, c) preferred above valid, d) not a /64,
  // d) a new prefix with valid lifetime 0; and the A flag clear (a)).
  r.send_ra(
      advert(1800, {prefix(*Ipv6Addr::parse("fe80::"), 600, 300), prefix(kPrefix1, 300, 600),
                    prefix(kPrefix2, 600, 300, wire::kPrefixFlagAutonomous, 56),
                    prefix(*Ipv6Addr::parse("2001:db8:3::"), 0, 0),
                    prefix(*Ipv6Addr::parse("2001:db8:4::"), 600, 300, wire::kPrefixFlagOnLink)}));
  EXPECT_EQ(r.b("ipv6.slaac.prefix_ignored"), 4u);
  EXPECT_EQ(r.b("ipv6.slaac.formed"), 0u);
  EXPECT_EQ(r.t.b.stack->ipv6().autoconf_count(), 0u);
  // On-link: the link-local prefix is ignored (RFC 4861 §6.3.4); the other
  // three with L set are on-link (valid lifetime 0 for a new one: none).
  EXPECT_EQ(r.b("nd.ra.prefix_ignored"), 1u);
  EXPECT_EQ(r.b_routers().prefix_count(), 2u);
  EXPECT_TRUE(r.b_routers().on_link(*Ipv6Addr::parse("2001:db8:4::8")));
  EXPECT_FALSE(r.b_routers().on_link(*Ipv6Addr::parse("2001:db8:2::8"))) << "L clear";
}

TEST(Slaac, AddressesRoutersAndPrefixesAreBounded) {
  Router r(slaac_link(0));
  // Five /64 prefixes: four addresses (Ipv6Layer::kMaxAutoconfAddrs).
  wire::RouterAdvert ra = advert(1800);
  for (std::uint8_t i = 0; i < 5; ++i) {
    Ipv6Addr p = kPrefix1;
    p.b[5] = static_cast<std::uint8_t>(0x10 + i);
    ra.prefixes[ra.prefix_count++] =
        prefix(p, 600, 300, wire::kPrefixFlagAutonomous | wire::kPrefixFlagOnLink);
  }
  r.send_ra(ra);
  EXPECT_EQ(r.t.b.stack->ipv6().autoconf_count(), Ipv6Layer::kMaxAutoconfAddrs);
  EXPECT_EQ(r.b("ipv6.slaac.full"), 1u);
  // Nine on-link prefixes in two messages: eight kept.
  wire::RouterAdvert more = advert(1800);
  for (std::uint8_t i = 0; i < 4; ++i) {
    Ipv6Addr p = kPrefix2;
    p.b[5] = i;
    more.prefixes[more.prefix_count++] = prefix(p, 600, 300, wire::kPrefixFlagOnLink);
  }
  r.send_ra(more);
  EXPECT_EQ(r.b_routers().prefix_count(), RouterDiscovery::kMaxPrefixes);
  EXPECT_EQ(r.b("nd.ra.prefixes_full"), 1u);
  // Five routers: four kept.
  for (std::uint8_t i = 1; i <= 5; ++i) {
    Ipv6Addr src = *Ipv6Addr::parse("fe80::");
    src.b[15] = i;
    r.send_ra(advert(600), src);
  }
  EXPECT_EQ(r.b_routers().router_count(), RouterDiscovery::kMaxRouters);
  EXPECT_EQ(r.b("nd.ra.routers_full"), 2u) << "A and three of the five fit";
  EXPECT_EQ(r.t.b.pool->in_use(), 0u);
}

TEST(RouterDiscovery, RouterLifetimeZeroOrOverRemovesTheDefaultRouter) {
  Router r(slaac_link(0));
  const Ipv6Addr far = *Ipv6Addr::parse("2001:db8:77::1");
  r.t.sync();
  EXPECT_EQ(r.t.b.stack->icmpv6().send_echo_request(far, 1, 1), SendResult::kNoRoute);
  r.send_ra(advert(1800));
  EXPECT_EQ(r.b_routers().default_router(), r.ll_a());
  r.t.sync();
  EXPECT_EQ(r.t.b.stack->icmpv6().send_echo_request(far, 1, 2), SendResult::kOk);
  // RFC 4861 §6.3.4: a Router Lifetime of 0 times the router out at once.
  r.send_ra(advert(0));
  EXPECT_EQ(r.b_routers().router_count(), 0u);
  EXPECT_EQ(r.b("nd.ra.router_expired"), 1u);
  r.t.sync();
  EXPECT_EQ(r.t.b.stack->icmpv6().send_echo_request(far, 1, 3), SendResult::kNoRoute);
  // And a lifetime running out does the same.
  r.send_ra(advert(10));
  EXPECT_EQ(r.b_routers().router_count(), 1u);
  r.t.run_for(9s, 10ms);
  EXPECT_EQ(r.b_routers().router_count(), 1u);
  r.t.run_for(2s, 10ms);
  EXPECT_EQ(r.b_routers().router_count(), 0u);
  EXPECT_EQ(r.b("nd.ra.router_expired"), 2u);
}

TEST(RouterDiscovery, MtuOptionWithinBoundsAndCurHopLimit) {
  Router r(slaac_link(0));
  // RFC 4861 §6.3.4: the MTU option is taken between the IPv6 minimum and
  // the link's maximum, lowering or raising the link MTU.
  wire::RouterAdvert ra = advert(1800);
  ra.mtu = 1000;  // below the IPv6 minimum
  r.send_ra(ra);
  ra.mtu = 9000;  // above the interface's 1500
  r.send_ra(ra);
  EXPECT_EQ(r.b("nd.ra.mtu_ignored"), 2u);
  EXPECT_EQ(r.t.b.stack->ipv6().link_mtu(), 1500u);
  ra.mtu = 1280;
  r.send_ra(ra);
  EXPECT_EQ(r.t.b.stack->ipv6().link_mtu(), 1280u);
  ra.mtu = 1500;
  r.send_ra(ra);
  EXPECT_EQ(r.t.b.stack->ipv6().link_mtu(), 1500u) << "raised again";
  EXPECT_EQ(r.b("nd.ra.mtu_set"), 2u);
  // Cur Hop Limit becomes B's hop limit.
  ra.cur_hop_limit = 17;
  r.send_ra(ra);
  EXPECT_EQ(r.t.b.stack->ipv6().hop_limit(), 17);
}

TEST(RouterDiscovery, BogusAdvertisementsAreDroppedAndCounted) {
  using namespace wire::v6vectors;
  Router r(slaac_link(0));
  struct Case {
    const char* counter;
    std::span<const std::uint8_t> packet;
  };
  const Case cases[] = {
      {"nd.ra.drop.hop_limit", kRaHopLimit64},
      {"nd.ra.drop.source_not_link_local", kRaFromGlobal},
      {"nd.ra.drop.malformed", kRaCode1},
      {"nd.ra.drop.malformed", kRaShort},
      {"nd.ra.drop.malformed", kRaZeroLengthOption},
      {"nd.ra.drop.malformed", kRaOptionPastEnd},
      {"nd.ra.drop.malformed", kRaBadPrefixOptionLength},
      {"nd.ra.drop.malformed", kRaBadMtuOptionLength},
  };
  for (const Case& c : cases) {
    const std::uint64_t before = r.b(c.counter);
    r.send(std::as_bytes(c.packet), wire::multicast_mac(Ipv6Addr::all_nodes()));
    EXPECT_EQ(r.b(c.counter), before + 1) << c.counter;
  }
  EXPECT_EQ(r.b("nd.rx.router_advert"), std::size(cases));
  EXPECT_EQ(r.b_routers().router_count(), 0u) << "nothing learned from any";
  EXPECT_EQ(r.t.b.stack->ipv6().link_mtu(), 1500u);
  // The good one, as scapy made it, is taken.
  r.send(kRouterAdvert);
  EXPECT_EQ(r.b_routers().router_count(), 1u);
  EXPECT_EQ(r.t.b.stack->ipv6().link_mtu(), 1400u);
  EXPECT_EQ(r.b("ipv6.slaac.formed"), 1u);
  EXPECT_EQ(r.t.b.pool->in_use(), 0u);
}

TEST(RouterDiscovery, AdvertisementsAreDroppedWhenSlaacIsOff) {
  using namespace wire::v6vectors;
  LinkOptions o = slaac_link(0);
  o.b_slaac = false;
  Router r(o);
  r.send(kRouterAdvert);
  EXPECT_EQ(r.b("nd.ra.drop.slaac_off"), 1u);
  EXPECT_EQ(r.b_routers().router_count(), 0u);
  EXPECT_EQ(r.t.b.stack->ipv6().autoconf_count(), 0u);
  EXPECT_EQ(r.b("nd.tx.router_solicit"), 0u);
}

TEST(RouterDiscovery, ThreeSolicitationsFourSecondsApartUntilAnAdvertisement) {
  Router r;
  FrameTap tap(*r.t.a.stack);
  r.t.a.worker->set_handler(tap);
  std::vector<std::size_t> rs;  // indexes of the solicitations among A's frames
  auto find = [&] {
    rs.clear();
    for (std::size_t i = 0; i < tap.frames.size(); ++i) {
      const auto& f = tap.frames[i];
      if (f.size() >= 14 + 40 + 8 && wire::load_u8(f.data() + 14 + 6) == wire::kIpProtoIcmpv6 &&
          wire::load_u8(f.data() + 14 + 40) == wire::kIcmpv6RouterSolicit)
        rs.push_back(i);
    }
    return rs.size();
  };
  // RFC 4861 §6.3.7: the first within MAX_RTR_SOLICITATION_DELAY (1 s),
  // then RTR_SOLICITATION_INTERVAL (4 s) apart, MAX_RTR_SOLICITATIONS (3).
  r.t.run_for(1001ms);
  ASSERT_EQ(find(), 1u);
  r.t.run_for(30s);
  ASSERT_EQ(find(), 3u);
  EXPECT_EQ(r.b("nd.tx.router_solicit"), 3u);
  for (int k = 1; k < 3; ++k) {
    const Duration gap = tap.times[rs[k]] - tap.times[rs[k - 1]];
    EXPECT_GE(gap, 4s);
    EXPECT_LE(gap, 4s + 3ms);
  }
  // The last went after DAD: from the link-local address, with B's MAC in
  // the Source Link-Layer Address option, to all routers, hop limit 255.
  const std::vector<std::byte>& f = tap.frames[rs.back()];
  const auto ip = wire::Ipv6View::parse(std::span(f).subspan(14));
  ASSERT_TRUE(ip);
  EXPECT_EQ(wire::load_mac(f.data()), wire::multicast_mac(Ipv6Addr::all_routers()));
  EXPECT_EQ(ip->dst(), Ipv6Addr::all_routers());
  EXPECT_EQ(ip->src(), wire::link_local_from_mac(r.t.link->b().mac()));
  EXPECT_EQ(ip->hop_limit(), 255);
  wire::RouterSolicit want;
  want.source_mac = r.t.link->b().mac();
  std::vector<std::byte> body(want.len());
  ASSERT_TRUE(want.emit(body, ip->src(), ip->dst()));
  EXPECT_EQ(std::vector<std::byte>(ip->payload().begin(), ip->payload().end()), body);
}

TEST(RouterDiscovery, AnAdvertisementStopsTheSolicitations) {
  Router r;
  r.t.run_for(1001ms);
  EXPECT_EQ(r.b("nd.tx.router_solicit"), 1u);
  r.send_ra(advert(1800));
  r.t.run_for(20s);
  EXPECT_EQ(r.b("nd.tx.router_solicit"), 1u);
}

}  // namespace
}  // namespace ustack
