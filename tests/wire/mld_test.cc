// MLDv2 messages (RFC 3810 §5) and the extension header walk around them
// (the Router Alert, RFC 2711) and behind a Fragment header (RFC 8200
// §4.5), against bytes scapy made (tests/wire/ipv6_vectors.h).
#include <gtest/gtest.h>

#include <vector>

#include "ipv6_vectors.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ipv4.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/ipv6_ext.h"
#include "proto/wire/mld.h"
#include "wire_test_util.h"

namespace ustack::wire {
namespace {

using testing::bytes_of;
using namespace v6vectors;

// The ICMPv6 message behind the 8-byte Hop-by-Hop header, checksum checked.
std::span<const std::byte> mld_of(std::span<const std::byte> packet) {
  const auto ip = Ipv6View::parse(packet);
  EXPECT_TRUE(ip);
  const auto w = walk_ipv6_headers(packet);
  EXPECT_EQ(w.status, Ipv6WalkStatus::kUpper);
  EXPECT_EQ(w.upper, kIpProtoIcmpv6);
  const auto icmp = packet.subspan(w.upper_offset);
  EXPECT_TRUE(Icmpv6View::parse(icmp)->checksum_ok(ip->src(), ip->dst()));
  return icmp;
}

TEST(Mld, ParsesQueriesOfBothVersions) {
  const auto q = MldQuery::parse(mld_of(bytes_of(kMldQuery)));
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->v2);
  EXPECT_TRUE(q->general());
  EXPECT_EQ(q->max_resp_delay_ms(), 1000u);
  const auto v1 = MldQuery::parse(mld_of(bytes_of(kMldQueryV1)));
  ASSERT_TRUE(v1);
  EXPECT_FALSE(v1->v2);
  EXPECT_EQ(v1->max_resp_delay_ms(), 500u);
  const auto g = MldQuery::parse(mld_of(bytes_of(kMldQueryGroup)));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->group, *Ipv6Addr::parse("ff02::1:ff00:2"));
  EXPECT_FALSE(g->general());
  // §5.1.10: two sources announced, none there.
  EXPECT_FALSE(MldQuery::parse(mld_of(bytes_of(kMldQueryShortSources))));
  // Between the two versions' lengths, and a unicast "group".
  const auto full = mld_of(bytes_of(kMldQuery));
  EXPECT_FALSE(MldQuery::parse(full.first(26)));
  EXPECT_FALSE(MldQuery::parse(full.first(23)));
  auto u = testing::to_vec(full);
  u[8] = std::byte{0xfd};
  EXPECT_FALSE(MldQuery::parse(u));
}

TEST(Mld, MaximumResponseCodeAsFloatingPoint) {
  MldQuery q;
  q.max_resp_code = 32767;
  EXPECT_EQ(q.max_resp_delay_ms(), 32767u);
  q.max_resp_code = 0x8000;  // exp 0, mant 0: 0x1000 << 3 (§5.1.3)
  EXPECT_EQ(q.max_resp_delay_ms(), 32768u);
  q.max_resp_code = 0xffff;  // exp 7, mant 0xfff
  EXPECT_EQ(q.max_resp_delay_ms(), 0x1fffu << 10);
}

TEST(Mld, RouterAlertIsSeenOnlyInHopByHop) {
  EXPECT_TRUE(walk_ipv6_headers(bytes_of(kMldQuery)).router_alert);
  EXPECT_FALSE(walk_ipv6_headers(bytes_of(kMldQueryNoRouterAlert)).router_alert);
  EXPECT_FALSE(walk_ipv6_headers(bytes_of(kDestOptIcmp)).router_alert);
}

TEST(Mld, ReportAndItsHopByHopHeaderAsScapyBuilt) {
  const auto packet = bytes_of(kMldReport);
  const auto ip = Ipv6View::parse(packet);
  std::byte hbh[kMldHopByHopLen];
  emit_mld_hop_by_hop(hbh, kIpProtoIcmpv6);
  EXPECT_EQ(testing::to_vec(hbh), testing::to_vec(ip->payload().first(kMldHopByHopLen)));
  const std::vector<Ipv6Addr> groups{*Ipv6Addr::parse("ff02::1:ff00:2"),
                                     *Ipv6Addr::parse("ff02::1:ff00:a")};
  MldReport r;
  r.record_type = kMldChangeToExclude;
  r.groups = groups;
  std::vector<std::byte> out(r.len());
  ASSERT_TRUE(r.emit(out, ip->src(), ip->dst()));
  EXPECT_EQ(out, testing::to_vec(mld_of(packet)));
}

TEST(Ipv6ExtFragmentable, WalksTheHeadersBehindAFragmentHeader) {
  // The first fragment's part: a Destination Options header, then UDP.
  const auto packet = bytes_of(kFragDestOpt1);
  const auto w = walk_ipv6_headers(packet);
  ASSERT_EQ(w.status, Ipv6WalkStatus::kFragment);
  EXPECT_EQ(w.frag.next_header, kIpProtoDestOpts);
  const auto part = packet.subspan(w.frag.data_offset);
  const auto f = walk_ipv6_fragmentable(part, w.frag.next_header, w.headers);
  EXPECT_EQ(f.status, Ipv6WalkStatus::kUpper);
  EXPECT_EQ(f.upper, kIpProtoUdp);
  EXPECT_EQ(f.upper_offset, 8u);
  EXPECT_EQ(f.headers, 2u);
  // Unknown option action 01 there: discarded, without a Parameter Problem.
  const auto bad = bytes_of(kFragBadOption1);
  const auto wb = walk_ipv6_headers(bad);
  EXPECT_EQ(walk_ipv6_fragmentable(bad.subspan(wb.frag.data_offset), wb.frag.next_header, 1).status,
            Ipv6WalkStatus::kBadOption);
  // Hop-by-Hop belongs only right after the IPv6 header.
  const auto hbh = bytes_of(kFragHopByHop1);
  const auto wh = walk_ipv6_headers(hbh);
  const auto fh = walk_ipv6_fragmentable(hbh.subspan(wh.frag.data_offset), wh.frag.next_header, 1);
  EXPECT_EQ(fh.status, Ipv6WalkStatus::kHopByHopLate);
  EXPECT_FALSE(fh.send_param_problem);
  // A chain cut by the fragment's end (RFC 7112).
  const auto cut = bytes_of(kFragChainCut);
  const auto wc = walk_ipv6_headers(cut);
  EXPECT_EQ(walk_ipv6_fragmentable(cut.subspan(wc.frag.data_offset), wc.frag.next_header, 1).status,
            Ipv6WalkStatus::kTruncated);
  // Nested Fragment headers are refused, atomic or not; the header count
  // goes on from the headers before.
  const std::byte frag_then_udp[8] = {std::byte{17}};
  EXPECT_EQ(walk_ipv6_fragmentable(frag_then_udp, kIpProtoFragment, 1).status,
            Ipv6WalkStatus::kFragment);
  EXPECT_EQ(walk_ipv6_fragmentable(part, w.frag.next_header, kMaxExtHeaders).status,
            Ipv6WalkStatus::kTooManyHeaders);
}

}  // namespace
}  // namespace ustack::wire
