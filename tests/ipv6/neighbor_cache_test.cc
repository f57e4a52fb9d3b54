// IPv6 neighbor cache on the virtual clock: every state of RFC 4861 §7.3.2
// and the transitions of §7.2.2 (resolution), §7.2.3 (learning from a
// solicitation), §7.2.5 (advertisements) and §7.3.3 (STALE, DELAY, PROBE).
#include "proto/neighbor_cache.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/clock.h"
#include "unit/link_cache_fixture.h"

namespace ustack {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using State = NeighborCache::State;

const Ipv6Addr kPeer = *Ipv6Addr::parse("fd00::2");
const MacAddr kPeerMac = MacAddr::local_from(0x22);
const MacAddr kOtherMac = MacAddr::local_from(0x33);

class RecordingIo : public NeighborIo {
 public:
  struct Solicit {
    Ipv6Addr target;
    bool unicast;
    MacAddr to;
  };
  void nd_send_solicit(const Ipv6Addr& target, const MacAddr* unicast) override {
    solicits.push_back({target, unicast != nullptr, unicast ? *unicast : MacAddr{}});
  }
  void nd_transmit(Mbuf* frame) override { sent.push_back(frame); }
  std::vector<Solicit> solicits;
  std::vector<Mbuf*> sent;
};

struct Fixture : testing::LinkCacheFixture<NeighborCache, NeighborConfig, RecordingIo> {
  explicit Fixture(NeighborConfig c = NeighborConfig{}) : LinkCacheFixture(c, std::uint64_t{42}) {}
  std::unique_ptr<NeighborCache>& nc = cache;
  State state() const { return nc->state(kPeer, clock.now()); }
  void advert(const MacAddr* mac, bool solicited, bool override_flag) {
    nc->on_advert({kPeer, mac, solicited, override_flag}, clock.now());
  }
};

TEST(NeighborCache, IncompleteQueuesThenSolicitedAdvertSendsInOrder) {
  Fixture f;
  for (std::uint8_t i = 0; i < 3; ++i)
    EXPECT_EQ(f.nc->resolve(kPeer, f.frame(i), f.clock.now()), NeighborCache::Resolve::kQueued);
  EXPECT_EQ(f.state(), State::kIncomplete);
  ASSERT_EQ(f.io.solicits.size(), 1u) << "one solicitation, not one per packet";
  EXPECT_FALSE(f.io.solicits[0].unicast) << "INCOMPLETE solicits the solicited-node group";
  EXPECT_EQ(f.io.solicits[0].target, kPeer);
  f.advert(&kPeerMac, /*solicited=*/true, /*override=*/true);
  EXPECT_EQ(f.state(), State::kReachable);
  ASSERT_EQ(f.io.sent.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(f.dst_of(i), kPeerMac);
    EXPECT_EQ(f.io.sent[i]->data()[6], std::byte(6 * 7 + i)) << "order kept";
  }
  EXPECT_EQ(f.nc->resolve(kPeer, f.frame(9), f.clock.now()), NeighborCache::Resolve::kSent);
  EXPECT_EQ(f.io.solicits.size(), 1u);
}

TEST(NeighborCache, AdvertWithoutTargetAddressLeavesIncompleteAlone) {
  Fixture f;
  f.nc->resolve(kPeer, f.frame(0), f.clock.now());
  f.advert(nullptr, true, true);
  EXPECT_EQ(f.state(), State::kIncomplete);
  EXPECT_EQ(f.count("nd.advert_ignored"), 1u);
}

TEST(NeighborCache, UnsolicitedAdvertTurnsIncompleteStaleThenDelay) {
  Fixture f;
  f.nc->resolve(kPeer, f.frame(0), f.clock.now());
  f.advert(&kPeerMac, /*solicited=*/false, /*override=*/true);
  // §7.2.5: S clear -> STALE; the queued packet then went out -> DELAY.
  EXPECT_EQ(f.state(), State::kDelay);
  EXPECT_EQ(f.io.sent.size(), 1u);
}

TEST(NeighborCache, ResolutionFailsAfterMaxMulticastSolicit) {
  Fixture f;
  f.nc->resolve(kPeer, f.frame(0), f.clock.now());
  f.nc->resolve(kPeer, f.frame(1), f.clock.now());
  f.advance(milliseconds(999));
  EXPECT_EQ(f.io.solicits.size(), 1u);
  f.advance(milliseconds(1));
  EXPECT_EQ(f.io.solicits.size(), 2u) << "RetransTimer (1 s) apart";
  f.advance(seconds(1));
  EXPECT_EQ(f.io.solicits.size(), 3u);
  EXPECT_EQ(f.state(), State::kIncomplete);
  f.advance(seconds(1));
  EXPECT_EQ(f.io.solicits.size(), 3u) << "MAX_MULTICAST_SOLICIT = 3";
  EXPECT_EQ(f.state(), State::kFree);
  EXPECT_EQ(f.count("nd.resolve_failed"), 1u);
  EXPECT_EQ(f.count("nd.drop.unresolved"), 2u);
  EXPECT_EQ(f.nc->pending_packets(), 0u);
}

TEST(NeighborCache, ReachableTurnsStaleAfterRandomizedReachableTime) {
  Fixture f;
  f.nc->resolve(kPeer, f.frame(0), f.clock.now());
  f.advert(&kPeerMac, true, true);
  // RFC 4861 §6.3.2: ReachableTime is in [15 s, 45 s] for the default 30 s.
  f.advance(milliseconds(14999));
  EXPECT_EQ(f.state(), State::kReachable);
  f.advance(seconds(31));
  EXPECT_EQ(f.state(), State::kStale);
}

TEST(NeighborCache, StaleUseGoesDelayThenProbeThenDeleted) {
  Fixture f;
  f.nc->resolve(kPeer, f.frame(0), f.clock.now());
  f.advert(&kPeerMac, true, true);
  f.advance(seconds(46));
  EXPECT_EQ(f.nc->resolve(kPeer, f.frame(1), f.clock.now()), NeighborCache::Resolve::kSent);
  EXPECT_EQ(f.dst_of(1), kPeerMac) << "a STALE entry is still used";
  EXPECT_EQ(f.state(), State::kDelay);
  EXPECT_EQ(f.io.solicits.size(), 1u) << "DELAY sends nothing";
  f.advance(milliseconds(4999));
  EXPECT_EQ(f.state(), State::kDelay);
  f.advance(milliseconds(1));
  EXPECT_EQ(f.state(), State::kProbe) << "DELAY_FIRST_PROBE_TIME = 5 s";
  ASSERT_EQ(f.io.solicits.size(), 2u);
  EXPECT_TRUE(f.io.solicits[1].unicast) << "PROBE solicits by unicast";
  EXPECT_EQ(f.io.solicits[1].to, kPeerMac);
  f.advance(seconds(1));
  f.advance(seconds(1));
  EXPECT_EQ(f.io.solicits.size(), 4u);
  EXPECT_EQ(f.state(), State::kProbe);
  f.advance(seconds(1));
  EXPECT_EQ(f.state(), State::kFree) << "MAX_UNICAST_SOLICIT = 3, then deleted";
  EXPECT_EQ(f.count("nd.probe_failed"), 1u);
}

TEST(NeighborCache, SolicitedAdvertInProbeMakesItReachable) {
  Fixture f;
  f.nc->resolve(kPeer, f.frame(0), f.clock.now());
  f.advert(&kPeerMac, true, true);
  f.advance(seconds(46));
  f.nc->resolve(kPeer, f.frame(1), f.clock.now());
  f.advance(seconds(5));
  ASSERT_EQ(f.state(), State::kProbe);
  f.advert(&kPeerMac, true, false);
  EXPECT_EQ(f.state(), State::kReachable);
  f.advance(seconds(10));
  EXPECT_EQ(f.io.solicits.size(), 2u) << "no more probes";
}

TEST(NeighborCache, UpperLayerConfirmationEndsDelay) {
  Fixture f;
  f.nc->on_source_link_addr(kPeer, kPeerMac, f.clock.now());
  f.nc->resolve(kPeer, f.frame(0), f.clock.now());
  ASSERT_EQ(f.state(), State::kDelay);
  f.nc->confirm_reachable(kPeer, f.clock.now());
  EXPECT_EQ(f.state(), State::kReachable);
  f.advance(seconds(6));
  EXPECT_EQ(f.io.solicits.size(), 0u);
}

TEST(NeighborCache, OverrideClearWithNewAddressOnlyStalesReachable) {
  Fixture f;
  f.nc->resolve(kPeer, f.frame(0), f.clock.now());
  f.advert(&kPeerMac, true, true);
  f.advert(&kOtherMac, /*solicited=*/true, /*override=*/false);
  EXPECT_EQ(f.state(), State::kStale);
  EXPECT_EQ(*f.nc->peek(kPeer), kPeerMac) << "O clear: the cached address stays";
  f.advert(&kOtherMac, true, false);
  EXPECT_EQ(f.state(), State::kStale) << "not REACHABLE: ignored";
  EXPECT_EQ(*f.nc->peek(kPeer), kPeerMac);
  // With Override the new address replaces it.
  f.advert(&kOtherMac, /*solicited=*/false, /*override=*/true);
  EXPECT_EQ(*f.nc->peek(kPeer), kOtherMac);
  EXPECT_EQ(f.state(), State::kStale) << "S clear and a new address: STALE";
  f.advert(&kOtherMac, true, true);
  EXPECT_EQ(f.state(), State::kReachable);
}

TEST(NeighborCache, AdvertForUnknownTargetTeachesNothing) {
  Fixture f;
  f.advert(&kPeerMac, true, true);
  EXPECT_EQ(f.state(), State::kFree);
  EXPECT_EQ(f.nc->size(), 0u);
  EXPECT_EQ(f.count("nd.drop.advert_no_entry"), 1u);
}

TEST(NeighborCache, SolicitationSourceCreatesStaleAndReplacesAddress) {
  Fixture f;
  f.nc->on_source_link_addr(kPeer, kPeerMac, f.clock.now());
  EXPECT_EQ(f.state(), State::kStale);
  EXPECT_EQ(*f.nc->peek(kPeer), kPeerMac);
  f.advert(&kPeerMac, true, true);
  EXPECT_EQ(f.state(), State::kReachable);
  f.nc->on_source_link_addr(kPeer, kPeerMac, f.clock.now());
  EXPECT_EQ(f.state(), State::kReachable) << "same address: unchanged";
  f.nc->on_source_link_addr(kPeer, kOtherMac, f.clock.now());
  EXPECT_EQ(f.state(), State::kStale);
  EXPECT_EQ(*f.nc->peek(kPeer), kOtherMac);
}

TEST(NeighborCache, SolicitationSourceCompletesResolution) {
  Fixture f;
  f.nc->resolve(kPeer, f.frame(0), f.clock.now());
  f.nc->on_source_link_addr(kPeer, kPeerMac, f.clock.now());
  ASSERT_EQ(f.io.sent.size(), 1u);
  EXPECT_EQ(f.dst_of(0), kPeerMac);
  EXPECT_EQ(f.state(), State::kDelay);
}

TEST(NeighborCache, QueueAndTableAreBounded) {
  NeighborConfig c;
  c.max_pending = 2;
  c.max_entries = 4;
  Fixture f(c);
  for (std::uint8_t i = 0; i < 4; ++i) f.nc->resolve(kPeer, f.frame(i), f.clock.now());
  EXPECT_EQ(f.nc->pending_packets(), 2u);
  EXPECT_EQ(f.count("nd.drop.queue_full"), 2u);
  // Three more INCOMPLETE entries fill the table; a fifth cannot evict
  // entries that are resolving.
  for (std::uint8_t i = 3; i < 6; ++i) {
    Ipv6Addr a = kPeer;
    a.b[15] = i;
    f.nc->resolve(a, f.frame(i), f.clock.now());
  }
  Ipv6Addr full = kPeer;
  full.b[15] = 9;
  EXPECT_EQ(f.nc->resolve(full, f.frame(9), f.clock.now()), NeighborCache::Resolve::kDropped);
  EXPECT_EQ(f.count("nd.drop.table_full"), 1u);
  // A resolved entry can be evicted for a new one.
  f.advert(&kPeerMac, true, true);
  EXPECT_EQ(f.nc->resolve(full, f.frame(10), f.clock.now()), NeighborCache::Resolve::kQueued);
  EXPECT_EQ(f.count("nd.evicted"), 1u);
  EXPECT_EQ(f.nc->state(kPeer, f.clock.now()), State::kFree);
}

TEST(NeighborCache, ManyAddressesSharingLowBitsAreAllFound) {
  Fixture f;
  for (int i = 0; i < 200; ++i) {
    Ipv6Addr a = kPeer;
    a.b[0] = static_cast<std::uint8_t>(i);
    f.nc->on_source_link_addr(a, MacAddr::local_from(static_cast<std::uint64_t>(i)), f.clock.now());
  }
  for (int i = 0; i < 200; ++i) {
    Ipv6Addr a = kPeer;
    a.b[0] = static_cast<std::uint8_t>(i);
    ASSERT_NE(f.nc->peek(a), nullptr);
    EXPECT_EQ(*f.nc->peek(a), MacAddr::local_from(static_cast<std::uint64_t>(i)));
  }
  EXPECT_EQ(f.nc->size(), 200u);
  f.nc->clear();
  EXPECT_EQ(f.nc->size(), 0u);
}

}  // namespace
}  // namespace ustack
