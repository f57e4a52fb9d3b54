// ARP cache: RFC 826 merge rule, resolution with retries on the virtual
// clock, the waiting queue, staleness and re-confirmation, bounds.
#include "proto/arp_cache.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/clock.h"
#include "unit/link_cache_fixture.h"

namespace ustack {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Ipv4Addr kPeer = Ipv4Addr::from_u32(0x0a000002);  // 10.0.0.2
const MacAddr kPeerMac = MacAddr::local_from(0x22);
const MacAddr kOtherMac = MacAddr::local_from(0x33);

class RecordingIo : public ArpIo {
 public:
  void arp_send_request(Ipv4Addr target) override { requests.push_back(target); }
  void arp_transmit(Mbuf* frame) override { sent.push_back(frame); }
  std::vector<Ipv4Addr> requests;
  std::vector<Mbuf*> sent;
};

struct Fixture : testing::LinkCacheFixture<ArpCache, ArpConfig, RecordingIo> {
  explicit Fixture(ArpConfig c = ArpConfig{}) : LinkCacheFixture(c) {}
  std::unique_ptr<ArpCache>& arp = cache;
};

TEST(ArpCache, QueuesWhileResolvingThenSendsInOrder) {
  Fixture f;
  for (std::uint8_t i = 0; i < 3; ++i)
    EXPECT_EQ(f.arp->resolve(kPeer, f.frame(i), f.clock.now()), ArpCache::Resolve::kQueued);
  ASSERT_EQ(f.io.requests.size(), 1u) << "one request, not one per packet (RFC 1122 2.3.2.1)";
  EXPECT_EQ(f.io.requests[0], kPeer);
  EXPECT_EQ(f.arp->pending_packets(), 3u);
  f.arp->learn(kPeer, kPeerMac, /*for_us=*/true, /*is_reply=*/true, f.clock.now());
  ASSERT_EQ(f.io.sent.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(f.dst_of(i), kPeerMac);
    EXPECT_EQ(f.io.sent[i]->data()[6], std::byte(6 * 7 + i)) << "order kept";
  }
  EXPECT_EQ(f.arp->pending_packets(), 0u);
  // Known now: sent at once, no new request.
  EXPECT_EQ(f.arp->resolve(kPeer, f.frame(9), f.clock.now()), ArpCache::Resolve::kSent);
  EXPECT_EQ(f.io.requests.size(), 1u);
}

TEST(ArpCache, RetriesThreeTimesOneSecondApartThenDropsAndCounts) {
  Fixture f;
  f.arp->resolve(kPeer, f.frame(1), f.clock.now());
  f.arp->resolve(kPeer, f.frame(2), f.clock.now());
  EXPECT_EQ(f.io.requests.size(), 1u);
  f.advance(milliseconds(999));
  EXPECT_EQ(f.io.requests.size(), 1u);
  f.advance(milliseconds(1));
  EXPECT_EQ(f.io.requests.size(), 2u);
  f.advance(seconds(1));
  EXPECT_EQ(f.io.requests.size(), 3u);
  EXPECT_EQ(f.arp->pending_packets(), 2u);
  f.advance(seconds(1));
  EXPECT_EQ(f.io.requests.size(), 3u) << "three tries in all";
  EXPECT_EQ(f.arp->pending_packets(), 0u);
  EXPECT_EQ(f.arp->size(), 0u);
  EXPECT_EQ(f.counters.value("arp.resolve_failed"), 1u);
  EXPECT_EQ(f.counters.value("arp.drop.unresolved"), 2u);
}

TEST(ArpCache, RetriesAreConfigurable) {
  ArpConfig c;
  c.retries = 5;
  c.retry_interval = milliseconds(200);
  Fixture f(c);
  f.arp->resolve(kPeer, f.frame(1), f.clock.now());
  for (int i = 0; i < 10; ++i) f.advance(milliseconds(200));
  EXPECT_EQ(f.io.requests.size(), 5u);
  EXPECT_EQ(f.arp->size(), 0u);
}

TEST(ArpCache, WaitingQueueIsBounded) {
  ArpConfig c;
  c.max_pending = 4;
  Fixture f(c);
  for (std::uint8_t i = 0; i < 6; ++i) f.arp->resolve(kPeer, f.frame(i), f.clock.now());
  EXPECT_EQ(f.arp->pending_packets(), 4u);
  EXPECT_EQ(f.counters.value("arp.drop.queue_full"), 2u);
}

TEST(ArpCache, MergeRuleLearnsFromRequestsForUsOnly) {
  Fixture f;
  // A request for someone else teaches nothing new.
  f.arp->learn(kPeer, kPeerMac, /*for_us=*/false, /*is_reply=*/false, f.clock.now());
  EXPECT_EQ(f.arp->peek(kPeer), nullptr);
  // A reply we never asked for teaches nothing either.
  f.arp->learn(kPeer, kPeerMac, /*for_us=*/true, /*is_reply=*/true, f.clock.now());
  EXPECT_EQ(f.arp->peek(kPeer), nullptr);
  EXPECT_EQ(f.counters.value("arp.drop.unsolicited_reply"), 1u);
  // A request for us does (RFC 826: we will likely talk back).
  f.arp->learn(kPeer, kPeerMac, /*for_us=*/true, /*is_reply=*/false, f.clock.now());
  ASSERT_NE(f.arp->peek(kPeer), nullptr);
  EXPECT_EQ(*f.arp->peek(kPeer), kPeerMac);
  // Once the entry exists, any ARP from the sender updates it (merge).
  f.arp->learn(kPeer, kOtherMac, /*for_us=*/false, /*is_reply=*/false, f.clock.now());
  EXPECT_EQ(*f.arp->peek(kPeer), kOtherMac);
}

TEST(ArpCache, StaleEntryIsUsedAndReconfirmedOrRemoved) {
  ArpConfig c;
  c.reachable_time = seconds(30);
  Fixture f(c);
  f.arp->learn(kPeer, kPeerMac, true, false, f.clock.now());
  f.advance(seconds(31));
  // Stale: still used, and re-confirmed with one request.
  EXPECT_EQ(f.arp->resolve(kPeer, f.frame(1), f.clock.now()), ArpCache::Resolve::kSent);
  EXPECT_EQ(f.io.requests.size(), 1u);
  EXPECT_EQ(f.arp->resolve(kPeer, f.frame(2), f.clock.now()), ArpCache::Resolve::kSent);
  EXPECT_EQ(f.io.requests.size(), 1u) << "one probe in flight at a time";
  // An answer makes it reachable again.
  f.arp->learn(kPeer, kPeerMac, true, true, f.clock.now());
  f.advance(seconds(5));
  EXPECT_EQ(f.io.requests.size(), 1u);
  // Stale again, and this time nobody answers: the entry goes.
  f.advance(seconds(30));
  f.arp->resolve(kPeer, f.frame(3), f.clock.now());
  f.advance(seconds(4));
  EXPECT_EQ(f.io.requests.size(), 4u);
  EXPECT_EQ(f.arp->peek(kPeer), nullptr);
}

TEST(ArpCache, StaticEntriesNeverChangeOrExpire) {
  Fixture f;
  ASSERT_TRUE(f.arp->add_static(kPeer, kPeerMac));
  f.arp->learn(kPeer, kOtherMac, true, false, f.clock.now());
  f.advance(seconds(3600));
  EXPECT_EQ(f.arp->resolve(kPeer, f.frame(1), f.clock.now()), ArpCache::Resolve::kSent);
  EXPECT_EQ(f.dst_of(0), kPeerMac);
  EXPECT_TRUE(f.io.requests.empty());
}

TEST(ArpCache, FullTableEvictsResolvedEntriesButNeverPendingOnes) {
  ArpConfig c;
  c.max_entries = 8;
  Fixture f(c);
  for (std::uint32_t i = 0; i < 8; ++i)
    f.arp->learn(Ipv4Addr::from_u32(0x0a000100 + i), kPeerMac, true, false, f.clock.now());
  EXPECT_EQ(f.arp->size(), 8u);
  // New neighbours push out old ones.
  for (std::uint32_t i = 0; i < 8; ++i)
    f.arp->resolve(Ipv4Addr::from_u32(0x0a000200 + i), f.frame(1), f.clock.now());
  EXPECT_EQ(f.arp->size(), 8u);
  EXPECT_EQ(f.counters.value("arp.evicted"), 8u);
  // All 8 resolving now: nothing can be evicted; the packet is dropped, counted.
  EXPECT_EQ(f.arp->resolve(Ipv4Addr::from_u32(0x0a000300), f.frame(2), f.clock.now()),
            ArpCache::Resolve::kDropped);
  EXPECT_EQ(f.counters.value("arp.drop.table_full"), 1u);
  // Lookups still find every entry after evictions and backward shifts.
  for (std::uint32_t i = 0; i < 8; ++i)
    f.arp->learn(Ipv4Addr::from_u32(0x0a000200 + i), kPeerMac, true, true, f.clock.now());
  EXPECT_EQ(f.io.sent.size(), 8u);
}

TEST(ArpCache, ManyEntriesStayFindable) {
  ArpConfig c;
  c.max_entries = 4096;
  Fixture f(c);
  for (std::uint32_t i = 0; i < 4096; ++i)
    f.arp->learn(Ipv4Addr::from_u32(0x0a000000 + i * 7919), MacAddr::local_from(i), true, false,
                 f.clock.now());
  for (std::uint32_t i = 0; i < 4096; ++i) {
    const MacAddr* m = f.arp->peek(Ipv4Addr::from_u32(0x0a000000 + i * 7919));
    ASSERT_NE(m, nullptr) << i;
    EXPECT_EQ(*m, MacAddr::local_from(i));
  }
}

}  // namespace
}  // namespace ustack
