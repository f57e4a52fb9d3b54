// Ping between two stacks over memlink: ARP resolution on the way, echo
// replies turned around in place, round-trip times on the virtual clock,
// fragmented echoes, broadcast echoes ignored.
#include <gtest/gtest.h>

#include <vector>

#include "proto/two_stacks.h"

namespace ustack {
namespace {

using testing::kAddrA;
using testing::kAddrB;
using testing::TwoStacks;

struct Replies : EchoListener {
  void on_echo_reply(const EchoReply& r) override { got.push_back(r); }
  std::vector<EchoReply> got;
};

TEST(Icmp, PingBothWaysResolvesArpAndMeasuresRoundTrip) {
  TwoStacks t;
  Replies ra, rb;
  t.a.stack->icmp().set_echo_listener(&ra);
  t.b.stack->icmp().set_echo_listener(&rb);
  t.sync();
  ASSERT_EQ(t.a.stack->icmp().send_echo_request(kAddrB, 0x1234, 1), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return !ra.got.empty(); }));
  EXPECT_EQ(ra.got[0].from, IpAddr::v4(kAddrB));
  EXPECT_EQ(ra.got[0].id, 0x1234);
  EXPECT_EQ(ra.got[0].seq, 1);
  EXPECT_EQ(ra.got[0].ttl, 64);
  EXPECT_EQ(ra.got[0].bytes, 64u) << "8-byte header + 56 bytes, as ping prints";
  ASSERT_TRUE(ra.got[0].rtt_valid);
  EXPECT_GT(ra.got[0].rtt.count(), 0);
  EXPECT_LT(ra.got[0].rtt, std::chrono::milliseconds(1));
  EXPECT_EQ(t.a.counter("arp.tx.request"), 1u);
  EXPECT_EQ(t.b.counter("arp.tx.reply"), 1u);
  // B learned A from the request (RFC 826), so its reply needed no ARP.
  EXPECT_EQ(t.b.counter("arp.tx.request"), 0u);

  t.sync();
  ASSERT_EQ(t.b.stack->icmp().send_echo_request(kAddrA, 7, 2), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return !rb.got.empty(); }));
  EXPECT_EQ(rb.got[0].seq, 2);
  EXPECT_EQ(t.b.counter("arp.tx.request"), 0u) << "cached";
}

TEST(Icmp, LargeEchoIsFragmentedAndReassembledBothWays) {
  TwoStacks t;
  Replies ra;
  t.a.stack->icmp().set_echo_listener(&ra);
  t.sync();
  ASSERT_EQ(t.a.stack->icmp().send_echo_request(kAddrB, 1, 1, 20000), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return !ra.got.empty(); }));
  EXPECT_EQ(ra.got[0].bytes, 20008u);
  EXPECT_EQ(t.a.counter("ipv4.tx.fragments"), 14u);
  EXPECT_EQ(t.b.counter("ipv4.reasm.ok"), 1u);
  EXPECT_EQ(t.a.counter("ipv4.reasm.ok"), 1u);
}

TEST(Icmp, MaximumEchoOf65507BytesOfData) {
  TwoStacks t;
  Replies ra;
  t.a.stack->icmp().set_echo_listener(&ra);
  t.sync();
  ASSERT_EQ(t.a.stack->icmp().send_echo_request(kAddrB, 1, 1, 65507), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return !ra.got.empty(); }));
  EXPECT_EQ(ra.got[0].bytes, 65515u);
  EXPECT_EQ(t.a.stack->icmp().send_echo_request(kAddrB, 1, 2, 65508), SendResult::kTooBig);
}

TEST(Icmp, UnreachableHostTimesOutInArpAndCounts) {
  testing::LinkOptions o;
  o.a_to_b.loss = 1.0;  // nothing reaches B
  TwoStacks t(o);
  Replies ra;
  t.a.stack->icmp().set_echo_listener(&ra);
  t.sync();
  t.a.stack->icmp().send_echo_request(kAddrB, 1, 1);
  t.run_for(std::chrono::seconds(4));
  EXPECT_TRUE(ra.got.empty());
  EXPECT_EQ(t.a.counter("arp.tx.request"), 3u);
  EXPECT_EQ(t.a.counter("arp.resolve_failed"), 1u);
  EXPECT_EQ(t.a.counter("arp.drop.unresolved"), 1u);
}

TEST(Icmp, NoRouteOffLinkWithoutGateway) {
  TwoStacks t;
  t.sync();
  EXPECT_EQ(t.a.stack->icmp().send_echo_request(Ipv4Addr::from_u32(0x0a010101), 1, 1),
            SendResult::kNoRoute);
  EXPECT_EQ(t.a.counter("ipv4.drop.no_route"), 1u);
}

TEST(Icmp, BroadcastEchoIsIgnoredByDefault) {
  TwoStacks t;
  Replies ra;
  t.a.stack->icmp().set_echo_listener(&ra);
  t.sync();
  ASSERT_EQ(t.a.stack->icmp().send_echo_request(Ipv4Addr::from_u32(0x0a0000ff), 1, 1),
            SendResult::kOk);
  t.run_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(ra.got.empty());
  EXPECT_EQ(t.b.counter("icmp.drop.broadcast_echo"), 1u);
  EXPECT_EQ(t.a.counter("arp.tx.request"), 0u) << "broadcast needs no ARP";
}

TEST(Icmp, ManyPingsUnderLossEachAnsweredOrLost) {
  testing::LinkOptions o;
  o.a_to_b.loss = 0.05;
  o.b_to_a.loss = 0.05;
  o.a_to_b.reorder = 0.1;
  o.a_to_b.duplicate = 0.02;
  TwoStacks t(o);
  Replies ra;
  t.a.stack->icmp().set_echo_listener(&ra);
  for (std::uint16_t seq = 0; seq < 500; ++seq) {
    t.sync();
    t.a.stack->icmp().send_echo_request(kAddrB, 9, seq);
    t.run_for(std::chrono::milliseconds(2), std::chrono::microseconds(100));
  }
  t.run_for(std::chrono::seconds(4));
  // ~10 % lost both ways; duplicates answered twice.
  EXPECT_GT(ra.got.size(), 400u);
  EXPECT_LT(ra.got.size(), 520u);
  for (const auto& r : ra.got) EXPECT_LT(r.seq, 500);
}

}  // namespace
}  // namespace ustack
