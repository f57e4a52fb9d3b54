// MLDv2 (RFC 3810) between two stacks over memlink on the virtual clock:
// host A records what B sends (FrameTap) and sends B queries scapy made
// (tests/wire/ipv6_vectors.h).
#include <gtest/gtest.h>

#include <vector>

#include "proto/link_tap.h"
#include "proto/two_stacks.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/ipv6_ethernet.h"
#include "proto/wire/mld.h"
#include "wire/ipv6_vectors.h"

namespace ustack {
namespace {

using testing::FrameTap;
using testing::kAddr6A;
using testing::kAddr6B;
using testing::LinkOptions;
using testing::TwoStacks;
using namespace std::chrono_literals;
using namespace wire::v6vectors;

struct Report {
  Instant at;
  Ipv6Addr src;
  std::uint8_t record_type = 0;
  std::vector<Ipv6Addr> groups;
  std::vector<std::byte> icmp;  // the whole message
};

LinkOptions v6() {
  LinkOptions o;
  o.ipv6 = true;
  return o;
}

class MldPair {
 public:
  explicit MldPair(const LinkOptions& o = v6()) : t(o), tap(*t.a.stack) {
    t.a.worker->set_handler(tap);
  }

  // B's reports among what A received, each checked as §5 says it is sent.
  std::vector<Report> reports() {
    std::vector<Report> out;
    for (std::size_t i = 0; i < tap.frames.size(); ++i) {
      const auto f = std::span<const std::byte>(tap.frames[i]);
      if (wire::load_mac(f.data() + 6) != t.link->b().mac() ||
          wire::load_be16(f.data() + 12) != wire::kEtherTypeIpv6)
        continue;
      const auto ip = wire::Ipv6View::parse(f.subspan(14));
      if (!ip || ip->next_header() != wire::kIpProtoHopByHop) continue;
      const auto body = ip->payload();
      EXPECT_GE(body.size(), wire::kMldHopByHopLen + wire::MldReport::kHeaderLen);
      std::byte hbh[wire::kMldHopByHopLen];
      wire::emit_mld_hop_by_hop(hbh, wire::kIpProtoIcmpv6);
      EXPECT_TRUE(std::equal(hbh, hbh + sizeof hbh, body.begin())) << "Router Alert, §5";
      const auto icmp = wire::Icmpv6View::parse(body.subspan(wire::kMldHopByHopLen));
      if (!icmp || icmp->type() != wire::kIcmpv6MldV2Report) continue;
      EXPECT_TRUE(icmp->checksum_ok(ip->src(), ip->dst()));
      EXPECT_EQ(ip->dst(), wire::kAllMldRouters);
      EXPECT_EQ(wire::load_mac(f.data()), wire::multicast_mac(wire::kAllMldRouters));
      EXPECT_EQ(ip->hop_limit(), 1);
      Report r;
      r.at = tap.times[i];
      r.src = ip->src();
      r.icmp.assign(icmp->bytes().begin(), icmp->bytes().end());
      const auto recs = icmp->payload();
      const std::size_t n = wire::load_be16(icmp->bytes().data() + 6);
      EXPECT_EQ(recs.size(), n * wire::MldReport::kRecordLen);
      for (std::size_t k = 0; k < n && (k + 1) * 20 <= recs.size(); ++k) {
        const std::byte* rec = recs.data() + k * 20;
        r.record_type = wire::load_u8(rec);
        EXPECT_EQ(wire::load_be16(rec + 2), 0) << "no sources";
        r.groups.push_back(Ipv6Addr::from_bytes(rec + 4));
      }
      out.push_back(r);
    }
    return out;
  }
  template <std::size_t N>
  void query(const std::uint8_t (&packet)[N], const Ipv6Addr& dst_group) {
    tap.frames.clear();
    tap.times.clear();
    sent_at = t.clock.now();
    testing::send_from_a(t, std::as_bytes(std::span(packet)), wire::multicast_mac(dst_group));
  }
  Ipv6Addr ll_b() const { return wire::link_local_from_mac(t.link->b().mac()); }
  std::uint64_t b(const char* name) { return t.b.counter(name); }

  TwoStacks t;
  FrameTap tap;
  Instant sent_at;
};

TEST(Mld, JoiningReportsTheSolicitedNodeGroupsTwice) {
  MldPair p;
  p.t.run_for(1100ms);
  const auto r = p.reports();
  // RFC 3810 §6.1: a State Change Report at once, and once more within the
  // Unsolicited Report Interval (Robustness Variable 2).
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(p.b("mld.tx.report"), 2u);
  for (const Report& x : r) {
    EXPECT_EQ(x.record_type, wire::kMldChangeToExclude);
    // The groups of the link-local address and fd00::2; never all-nodes.
    EXPECT_EQ(x.groups, (std::vector{p.ll_b().solicited_node(), kAddr6B.solicited_node()}));
  }
  // The first went while DAD ran on the link-local address: from ::
  // (§5.2.13; RFC 4862 §5.4.2 joins before probing).
  EXPECT_EQ(r[0].src, Ipv6Addr::any());
  EXPECT_LE(r[1].at - r[0].at, 1s + 2ms);
  // B's own report, byte for byte as MldReport writes it.
  wire::MldReport want;
  want.record_type = wire::kMldChangeToExclude;
  const std::vector<Ipv6Addr> groups{p.ll_b().solicited_node(), kAddr6B.solicited_node()};
  want.groups = groups;
  std::vector<std::byte> bytes(want.len());
  ASSERT_TRUE(want.emit(bytes, Ipv6Addr::any(), wire::kAllMldRouters));
  EXPECT_EQ(r[0].icmp, bytes);
}

TEST(Mld, GeneralQueryIsAnsweredWithinItsMaximumResponseDelay) {
  MldPair p;
  p.t.run_for(2s);
  p.query(kMldQuery, Ipv6Addr::all_nodes());  // Maximum Response Delay 1000 ms
  EXPECT_EQ(p.b("mld.rx.query"), 1u);
  p.t.run_for(1010ms);
  const auto r = p.reports();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].record_type, wire::kMldModeIsExclude);
  EXPECT_EQ(r[0].groups, (std::vector{p.ll_b().solicited_node(), kAddr6B.solicited_node()}));
  EXPECT_EQ(r[0].src, p.ll_b()) << "after DAD: the link-local address";
  EXPECT_LE(r[0].at - p.sent_at, 1000ms + 3ms);
  // Nothing more until asked again.
  p.t.run_for(5s);
  EXPECT_EQ(p.reports().size(), 1u);
  // An MLDv1 query (24 bytes) is answered the same way.
  p.query(kMldQueryV1, Ipv6Addr::all_nodes());
  p.t.run_for(510ms);
  ASSERT_EQ(p.reports().size(), 1u);
  EXPECT_LE(p.reports()[0].at - p.sent_at, 500ms + 3ms);
}

TEST(Mld, GroupQueryIsAnsweredForThatGroupOnly) {
  MldPair p;
  p.t.run_for(2s);
  p.query(kMldQueryGroup, kAddr6B.solicited_node());
  p.t.run_for(2010ms);
  auto r = p.reports();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].record_type, wire::kMldModeIsExclude);
  EXPECT_EQ(r[0].groups, std::vector{kAddr6B.solicited_node()});
  // A group B is not in: counted, not answered.
  p.query(kMldQueryOtherGroup, Ipv6Addr::all_nodes());
  p.t.run_for(2010ms);
  EXPECT_TRUE(p.reports().empty());
  EXPECT_EQ(p.b("mld.rx.query_other_group"), 1u);
}

TEST(Mld, QueriesFailingSection62AreDroppedAndCounted) {
  MldPair p;
  p.t.run_for(2s);
  struct Case {
    const char* counter;
    std::span<const std::uint8_t> packet;
  };
  const Case cases[] = {
      {"mld.drop.no_router_alert", kMldQueryNoRouterAlert},
      {"mld.drop.hop_limit", kMldQueryHopLimit255},
      {"mld.drop.source_not_link_local", kMldQueryFromGlobal},
      {"mld.drop.malformed", kMldQueryShortSources},
  };
  for (const Case& c : cases) {
    const std::uint64_t before = p.b(c.counter);
    testing::send_from_a(p.t, std::as_bytes(c.packet), wire::multicast_mac(Ipv6Addr::all_nodes()));
    EXPECT_EQ(p.b(c.counter), before + 1) << c.counter;
  }
  p.tap.frames.clear();
  p.t.run_for(3s);
  EXPECT_TRUE(p.reports().empty()) << "none of them answered";
  EXPECT_EQ(p.t.b.pool->in_use(), 0u);
}

TEST(Mld, DuplicateAddressLeavesItsGroup) {
  LinkOptions o = v6();
  o.b_addrs6 = {Ipv6Cidr{kAddr6A, 64}};  // A's address: both give it up
  MldPair p(o);
  p.t.run_for(1100ms);
  ASSERT_EQ(p.t.b.stack->ipv6().find_local(kAddr6A)->state, Ipv6AddrState::kDuplicate);
  bool left = false;
  for (const Report& r : p.reports())
    if (r.record_type == wire::kMldChangeToInclude) {
      EXPECT_EQ(r.groups, std::vector{kAddr6A.solicited_node()});
      left = true;
    }
  EXPECT_TRUE(left) << "CHANGE_TO_INCLUDE_MODE with no sources: leave (§6.1)";
  EXPECT_EQ(p.t.b.stack->nd().mld().groups().size(), 1u) << "the link-local address's";
}

}  // namespace
}  // namespace ustack
