// Routing through the default gateway: host A (10.0.0.1/24, gateway
// 10.0.0.2 = B) pings the off-link 192.0.2.7. A must resolve the gateway's
// address, not the destination's, and hand B the datagram at B's MAC with
// the IP destination unchanged; B, a host, does not forward it.
#include <gtest/gtest.h>

#include <utility>

#include "proto/two_stacks.h"
#include "proto/wire/arp.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/icmp.h"
#include "proto/wire/ipv4.h"

namespace ustack {
namespace {

using testing::kAddrA;
using testing::kAddrB;
using testing::TwoStacks;

const Ipv4Addr kOffLink = Ipv4Addr::from_u32(0xc0000207);  // 192.0.2.7 (TEST-NET-1)

// Takes the one frame waiting at link end B off the link, without running
// B, or nullptr.
Mbuf* take_one_at_b(TwoStacks& t) {
  Mbuf* m[4];
  const std::uint16_t n = t.link->b().rx_burst(0, m, 4);
  EXPECT_EQ(n, 1u);
  if (n == 0) return nullptr;
  mbuf_free_bulk(m + 1, n - 1u);
  return m[0];
}

TEST(Gateway, OffLinkPingIsSentToTheGatewaysMac) {
  testing::LinkOptions o;
  o.a_gateway = kAddrB;
  TwoStacks t(o);
  const MacAddr mac_a = t.link->a().mac();
  const MacAddr mac_b = t.link->b().mac();
  t.sync();
  ASSERT_EQ(t.a.stack->icmp().send_echo_request(kOffLink, 0x77, 1), SendResult::kOk);
  t.a.worker->run_once(t.clock.now());  // flushes what A sent

  // A asks who has the gateway's address, not 192.0.2.7.
  Mbuf* m = take_one_at_b(t);
  ASSERT_NE(m, nullptr);
  {
    const auto eth = wire::EthernetView::parse(std::as_const(*m).span());
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst(), MacAddr::broadcast());
    EXPECT_EQ(eth->src(), mac_a);
    ASSERT_EQ(eth->ethertype(), wire::kEtherTypeArp);
    const auto arp = wire::ArpView::parse(eth->payload());
    ASSERT_TRUE(arp);
    EXPECT_TRUE(arp->is_request());
    EXPECT_EQ(arp->sender_ip(), kAddrA);
    EXPECT_EQ(arp->target_ip(), kAddrB);
  }
  // B answers (its reply leaves with B's worker iteration); A learns B's MAC
  // and sends the echo that waited.
  t.b.stack->input(m, t.clock.now());
  t.b.worker->run_once(t.clock.now());
  t.a.worker->run_once(t.clock.now());

  m = take_one_at_b(t);
  ASSERT_NE(m, nullptr);
  {
    const auto eth = wire::EthernetView::parse(std::as_const(*m).span());
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst(), mac_b) << "the gateway's MAC";
    EXPECT_EQ(eth->src(), mac_a);
    ASSERT_EQ(eth->ethertype(), wire::kEtherTypeIpv4);
    const auto ip = wire::Ipv4View::parse(eth->payload());
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->src(), kAddrA);
    EXPECT_EQ(ip->dst(), kOffLink) << "the IP destination is the final one";
    EXPECT_EQ(ip->protocol(), wire::kIpProtoIcmp);
    EXPECT_TRUE(ip->header_checksum_ok());
    const auto icmp = wire::IcmpView::parse(ip->payload());
    ASSERT_TRUE(icmp);
    EXPECT_EQ(icmp->type(), wire::kIcmpEchoRequest);
    EXPECT_EQ(icmp->echo_id(), 0x77);
    EXPECT_EQ(icmp->echo_seq(), 1);
  }
  // B is a host: it does not forward (RFC 1122 §3.2.1.3, "silently
  // discard").
  t.b.stack->input(m, t.clock.now());
  EXPECT_EQ(t.b.counter("ipv4.drop.not_for_us"), 1u);
  EXPECT_EQ(t.b.counter("ipv4.tx"), 0u);

  EXPECT_EQ(t.a.counter("arp.tx.request"), 1u);
  ASSERT_NE(t.a.stack->arp().cache().peek(kAddrB), nullptr);
  EXPECT_EQ(*t.a.stack->arp().cache().peek(kAddrB), mac_b);
  EXPECT_EQ(t.a.stack->arp().cache().peek(kOffLink), nullptr);

  // The next off-link datagram goes straight out; on-link ones still go
  // direct, and B answers those.
  t.sync();
  ASSERT_EQ(t.a.stack->icmp().send_echo_request(kOffLink, 0x77, 2), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return t.b.counter("ipv4.drop.not_for_us") == 2; }, 100));
  t.sync();
  ASSERT_EQ(t.a.stack->icmp().send_echo_request(kAddrB, 0x77, 3), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return t.a.counter("icmp.rx.echo_reply") == 1; }, 100));
  EXPECT_EQ(t.a.counter("arp.tx.request"), 1u);
  EXPECT_EQ(t.b.counter("ipv4.drop.not_for_us"), 2u);
}

TEST(Gateway, WithoutGatewayOffLinkHasNoRouteButWithOneItIsSent) {
  testing::LinkOptions o;
  o.a_gateway = kAddrB;
  TwoStacks t(o);
  t.sync();
  EXPECT_EQ(t.a.stack->icmp().send_echo_request(kOffLink, 1, 1), SendResult::kOk);
  EXPECT_EQ(t.b.stack->icmp().send_echo_request(kOffLink, 1, 1), SendResult::kNoRoute)
      << "B has no gateway";
  EXPECT_EQ(t.a.counter("ipv4.drop.no_route"), 0u);
  EXPECT_EQ(t.b.counter("ipv4.drop.no_route"), 1u);
  t.run_for(std::chrono::milliseconds(5));
  EXPECT_EQ(t.b.counter("ipv4.drop.not_for_us"), 1u);
}

}  // namespace
}  // namespace ustack
