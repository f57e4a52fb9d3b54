// Tests of the hierarchical timer wheel (core/timer_wheel.h): firing order and
// lateness, cancel and re-arm (also from inside callbacks), destruction,
// every level including parked timers beyond the top level's reach,
// wrap-around and cascades at exact boundaries, long idle jumps, and a
// million random timers.

#include "core/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/instant.h"
#include "core/random.h"

namespace ustack {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr Instant kOrigin = instant_from_ns(1'000'000'000);
constexpr Duration kMs = milliseconds(1);

// Ticks since the wheel's origin of an instant (floor).
std::int64_t ticks_since(Instant origin, Duration tick, Instant t) {
  return (t - origin).count() / tick.count();
}

// A timer that records when it fired and can run an action from its callback.
struct Probe {
  Probe(TimerWheel& w, int probe_id) : wheel(&w), id(probe_id) {}

  Timer timer{&Probe::fire, this};
  TimerWheel* wheel;
  int id;
  int fired = 0;
  Instant fired_at{};
  std::vector<int>* log = nullptr;
  std::function<void(Probe&)> action;

  static void fire(Timer& t, void* arg) {
    auto* p = static_cast<Probe*>(arg);
    EXPECT_EQ(&t, &p->timer);
    EXPECT_FALSE(t.armed()) << "a timer is disarmed when its callback runs";
    ++p->fired;
    p->fired_at = p->wheel->current();
    if (p->log != nullptr) p->log->push_back(p->id);
    if (p->action) p->action(*p);
  }
};

// ---------------------------------------------------------------------------
// Basics.

TEST(TimerWheelTest, EmptyWheel) {
  TimerWheel w(kOrigin);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.tick(), kMs);
  EXPECT_EQ(w.current(), kOrigin);
  EXPECT_EQ(w.advance(kOrigin + hours(1)), 0u);
  EXPECT_EQ(w.current(), kOrigin + hours(1));
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, CurrentIsLastWholeTick) {
  TimerWheel w(kOrigin, microseconds(10));
  EXPECT_EQ(w.tick(), microseconds(10));
  w.advance(kOrigin + microseconds(25));
  EXPECT_EQ(w.current(), kOrigin + microseconds(20));
  w.advance(kOrigin + microseconds(29) + nanoseconds(999));
  EXPECT_EQ(w.current(), kOrigin + microseconds(20));
  w.advance(kOrigin + microseconds(30));
  EXPECT_EQ(w.current(), kOrigin + microseconds(30));
}

TEST(TimerWheelTest, AdvanceBackwardsOrBeforeOriginDoesNothing) {
  TimerWheel w(kOrigin);
  Probe p(w, 0);
  w.arm(p.timer, kOrigin + milliseconds(5));
  EXPECT_EQ(w.advance(kOrigin - hours(1)), 0u);
  EXPECT_EQ(w.advance(kOrigin), 0u);
  EXPECT_EQ(w.current(), kOrigin);
  w.advance(kOrigin + milliseconds(3));
  EXPECT_EQ(w.advance(kOrigin + milliseconds(1)), 0u);  // backwards: no-op
  EXPECT_EQ(w.current(), kOrigin + milliseconds(3));
  EXPECT_EQ(p.fired, 0);
  EXPECT_EQ(w.advance(kOrigin + milliseconds(5)), 1u);
  EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheelTest, ArmSetsArmedAndSize) {
  TimerWheel w(kOrigin);
  Probe a(w, 0), b(w, 1);
  EXPECT_FALSE(a.timer.armed());
  w.arm(a.timer, kOrigin + milliseconds(10));
  EXPECT_TRUE(a.timer.armed());
  EXPECT_EQ(w.size(), 1u);
  w.arm(b.timer, kOrigin + hours(10));
  EXPECT_EQ(w.size(), 2u);
  w.advance(kOrigin + milliseconds(10));
  EXPECT_FALSE(a.timer.armed());
  EXPECT_TRUE(b.timer.armed());
  EXPECT_EQ(w.size(), 1u);
}

// ---------------------------------------------------------------------------
// Ordering and lateness.

TEST(TimerWheelTest, FiresAtExpiryNeverEarly) {
  VirtualClock clock(kOrigin);
  TimerWheel w(clock.now());
  Probe p(w, 0);
  w.arm(p.timer, kOrigin + milliseconds(5));
  clock.advance(milliseconds(5) - nanoseconds(1));
  EXPECT_EQ(w.advance(clock.now()), 0u);
  EXPECT_EQ(p.fired, 0);
  EXPECT_TRUE(p.timer.armed());
  clock.advance(nanoseconds(1));
  EXPECT_EQ(w.advance(clock.now()), 1u);
  EXPECT_EQ(p.fired, 1);
  EXPECT_EQ(p.fired_at, kOrigin + milliseconds(5));
  EXPECT_EQ(w.size(), 0u);
  // Fires once only.
  EXPECT_EQ(w.advance(clock.now() + hours(1)), 0u);
  EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheelTest, UnalignedExpiryRoundsUpToNextTick) {
  TimerWheel w(kOrigin);
  Probe p(w, 0);
  const Instant due = kOrigin + milliseconds(5) + microseconds(300);
  w.arm(p.timer, due);
  w.advance(due);  // the tick of `due` (5 ms) is before it: not yet
  EXPECT_EQ(p.fired, 0);
  w.advance(kOrigin + milliseconds(6) - nanoseconds(1));
  EXPECT_EQ(p.fired, 0);
  w.advance(kOrigin + milliseconds(6));
  ASSERT_EQ(p.fired, 1);
  EXPECT_GE(p.fired_at, due);
  EXPECT_LT(p.fired_at - due, w.tick());
}

TEST(TimerWheelTest, PastOrPresentExpiryFiresOnNextTick) {
  TimerWheel w(kOrigin);
  w.advance(kOrigin + milliseconds(10));
  Probe past(w, 0), now(w, 1), before_origin(w, 2);
  w.arm(past.timer, kOrigin + milliseconds(3));
  w.arm(now.timer, kOrigin + milliseconds(10));
  w.arm(before_origin.timer, kOrigin - hours(5));
  EXPECT_EQ(w.size(), 3u);
  EXPECT_EQ(w.advance(kOrigin + milliseconds(10)), 0u);
  EXPECT_EQ(w.advance(kOrigin + milliseconds(11) - nanoseconds(1)), 0u);
  EXPECT_EQ(w.advance(kOrigin + milliseconds(11)), 3u);
  for (Probe* p : {&past, &now, &before_origin}) {
    EXPECT_EQ(p->fired, 1);
    EXPECT_EQ(p->fired_at, kOrigin + milliseconds(11));
  }
}

TEST(TimerWheelTest, ArmAtOriginFiresOnFirstTick) {
  TimerWheel w(kOrigin);
  Probe p(w, 0);
  w.arm(p.timer, kOrigin);
  EXPECT_EQ(w.advance(kOrigin + kMs), 1u);
  EXPECT_EQ(p.fired_at, kOrigin + kMs);
}

TEST(TimerWheelTest, FiresInExpiryOrderOneTickAtATime) {
  TimerWheel w(kOrigin);
  Rng rng(7);
  constexpr int kN = 2000;
  std::deque<Probe> probes;
  std::vector<int> log;
  std::vector<Instant> due(kN);
  for (int i = 0; i < kN; ++i) {
    Probe& p = probes.emplace_back(w, i);
    p.log = &log;
    // Up to ~70 s at sub-tick resolution: spans levels 0..2.
    due[i] = kOrigin + nanoseconds(static_cast<std::int64_t>(rng.below(70'000'000'000ull)));
    w.arm(p.timer, due[i]);
  }
  ASSERT_EQ(w.size(), static_cast<std::size_t>(kN));
  std::size_t total = 0;
  Instant now = kOrigin;
  for (int step = 0; step < 70'002 && w.size() > 0; ++step) {
    now += kMs;
    const std::size_t before = log.size();
    const std::size_t ran = w.advance(now);
    EXPECT_EQ(ran, log.size() - before);
    total += ran;
    for (std::size_t k = before; k < log.size(); ++k) {
      const int id = log[k];
      // Fired in this tick: due within (now - tick, now].
      EXPECT_LE(due[id], now) << "timer " << id << " fired early";
      EXPECT_GT(due[id], now - kMs) << "timer " << id << " fired more than a tick late";
    }
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kN));
  EXPECT_EQ(w.size(), 0u);
  ASSERT_EQ(log.size(), static_cast<std::size_t>(kN));
  for (const Probe& p : probes) EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheelTest, OneBigAdvanceFiresInNonDecreasingTickOrder) {
  TimerWheel w(kOrigin);
  Rng rng(11);
  constexpr int kN = 5000;
  std::deque<Probe> probes;
  std::vector<int> log;
  for (int i = 0; i < kN; ++i) {
    Probe& p = probes.emplace_back(w, i);
    p.log = &log;
    // Up to ~5 hours: levels 0..3.
    w.arm(p.timer, kOrigin + milliseconds(1 + rng.below(18'000'000)));
  }
  EXPECT_EQ(w.advance(kOrigin + hours(6)), static_cast<std::size_t>(kN));
  ASSERT_EQ(log.size(), static_cast<std::size_t>(kN));
  for (std::size_t k = 1; k < log.size(); ++k) {
    EXPECT_LE(probes[log[k - 1]].fired_at, probes[log[k]].fired_at) << "at position " << k;
  }
  for (const Probe& p : probes) EXPECT_EQ(p.fired, 1);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, SameTickTimersFireTogether) {
  TimerWheel w(kOrigin);
  std::deque<Probe> probes;
  for (int i = 0; i < 100; ++i) {
    Probe& p = probes.emplace_back(w, i);
    // Different instants inside the same tick (300 ms, 301 ms].
    w.arm(p.timer, kOrigin + milliseconds(300) + microseconds(10 * i + 1));
  }
  EXPECT_EQ(w.advance(kOrigin + milliseconds(300)), 0u);
  EXPECT_EQ(w.advance(kOrigin + milliseconds(301)), 100u);
  for (const Probe& p : probes) EXPECT_EQ(p.fired_at, kOrigin + milliseconds(301));
}

// ---------------------------------------------------------------------------
// Cancel.

TEST(TimerWheelTest, CancelBeforeExpiry) {
  TimerWheel w(kOrigin);
  Probe a(w, 0), b(w, 1), far(w, 2);
  w.arm(a.timer, kOrigin + milliseconds(5));
  w.arm(b.timer, kOrigin + milliseconds(5));
  w.arm(far.timer, kOrigin + hours(30));
  w.cancel(a.timer);
  w.cancel(far.timer);
  EXPECT_FALSE(a.timer.armed());
  EXPECT_FALSE(far.timer.armed());
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.advance(kOrigin + hours(40)), 1u);
  EXPECT_EQ(a.fired, 0);
  EXPECT_EQ(b.fired, 1);
  EXPECT_EQ(far.fired, 0);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, CancelIsIdempotentAndSafeOnUnarmedTimers) {
  TimerWheel w(kOrigin);
  Probe p(w, 0);
  w.cancel(p.timer);  // never armed
  EXPECT_EQ(w.size(), 0u);
  w.arm(p.timer, kOrigin + milliseconds(1));
  w.cancel(p.timer);
  w.cancel(p.timer);
  EXPECT_EQ(w.size(), 0u);
  w.advance(kOrigin + milliseconds(1));
  EXPECT_EQ(p.fired, 0);
  w.arm(p.timer, kOrigin + milliseconds(2));  // still usable
  w.advance(kOrigin + milliseconds(2));
  EXPECT_EQ(p.fired, 1);
  w.cancel(p.timer);  // after firing
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, CancelOnAnotherWheelIsIgnored) {
  TimerWheel w1(kOrigin), w2(kOrigin);
  Probe p(w1, 0);
  w1.arm(p.timer, kOrigin + milliseconds(3));
  w2.cancel(p.timer);
  EXPECT_TRUE(p.timer.armed());
  EXPECT_EQ(w1.size(), 1u);
  EXPECT_EQ(w2.size(), 0u);
  w1.advance(kOrigin + milliseconds(3));
  EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheelTest, CancelLastTimerOfASlotKeepsSkippingCorrect) {
  // Cancelling empties a slot's occupancy bit; the wheel must still find
  // timers in later slots and later rounds.
  TimerWheel w(kOrigin);
  Probe a(w, 0), b(w, 1), c(w, 2);
  w.arm(a.timer, kOrigin + milliseconds(10));
  w.arm(b.timer, kOrigin + milliseconds(200));
  w.arm(c.timer, kOrigin + milliseconds(700));
  w.cancel(a.timer);
  w.advance(kOrigin + milliseconds(199));
  EXPECT_EQ(b.fired, 0);
  w.advance(kOrigin + milliseconds(200));
  EXPECT_EQ(b.fired, 1);
  w.advance(kOrigin + milliseconds(699));
  EXPECT_EQ(c.fired, 0);
  w.advance(kOrigin + milliseconds(700));
  EXPECT_EQ(c.fired, 1);
  EXPECT_EQ(a.fired, 0);
}

// Cancelling from inside a callback another timer due in the same tick: it
// must not fire. Both level-0 timers and timers cascaded from level 1 and 2.
class CancelInSameTickTest : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(CancelInSameTickTest, CancelsOtherTimerDueInSameTick) {
  const Instant due = kOrigin + milliseconds(GetParam());
  TimerWheel w(kOrigin);
  Probe a(w, 0), b(w, 1);
  // Whichever fires first cancels the other.
  a.action = [&](Probe&) { w.cancel(b.timer); };
  b.action = [&](Probe&) { w.cancel(a.timer); };
  w.arm(a.timer, due);
  w.arm(b.timer, due);
  EXPECT_EQ(w.advance(due), 1u);
  EXPECT_EQ(a.fired + b.fired, 1);
  EXPECT_FALSE(a.timer.armed());
  EXPECT_FALSE(b.timer.armed());
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.advance(due + hours(24)), 0u);
  EXPECT_EQ(a.fired + b.fired, 1);
}

TEST_P(CancelInSameTickTest, FirstTimerCancelsAllOthersInTheTick) {
  const Instant due = kOrigin + milliseconds(GetParam());
  TimerWheel w(kOrigin);
  std::deque<Probe> probes;
  std::vector<int> log;
  Probe later(w, 99);  // due the next tick: cancelled too, never fires
  for (int i = 0; i < 10; ++i) {
    Probe& p = probes.emplace_back(w, i);
    p.log = &log;
    // Whichever fires first cancels all the others.
    p.action = [&](Probe& self) {
      for (Probe& other : probes)
        if (&other != &self) w.cancel(other.timer);
      w.cancel(later.timer);
    };
    w.arm(p.timer, due);
  }
  w.arm(later.timer, due + kMs);
  EXPECT_EQ(w.advance(due + hours(1)), 1u);
  EXPECT_EQ(log.size(), 1u);
  EXPECT_EQ(later.fired, 0);
  EXPECT_EQ(w.size(), 0u);
}

TEST_P(CancelInSameTickTest, DestroyingAnotherTimerDueInSameTick) {
  const Instant due = kOrigin + milliseconds(GetParam());
  TimerWheel w(kOrigin);
  auto a = std::make_unique<Probe>(w, 0);
  auto b = std::make_unique<Probe>(w, 1);
  a->action = [&](Probe&) { b.reset(); };
  b->action = [&](Probe&) { a.reset(); };
  w.arm(a->timer, due);
  w.arm(b->timer, due);
  EXPECT_EQ(w.size(), 2u);
  EXPECT_EQ(w.advance(due), 1u);
  EXPECT_TRUE((a == nullptr) != (b == nullptr)) << "exactly one timer was destroyed";
  EXPECT_EQ(w.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Levels, CancelInSameTickTest,
                         ::testing::Values(1, 7, 255, 256, 300, 511, 65536, 70000));

TEST(TimerWheelTest, CallbackCancelsTimerDueLater) {
  TimerWheel w(kOrigin);
  Probe a(w, 0), b(w, 1), c(w, 2);
  a.action = [&](Probe&) {
    w.cancel(b.timer);
    w.cancel(c.timer);
  };
  w.arm(a.timer, kOrigin + milliseconds(5));
  w.arm(b.timer, kOrigin + milliseconds(6));
  w.arm(c.timer, kOrigin + hours(2));
  EXPECT_EQ(w.advance(kOrigin + hours(3)), 1u);
  EXPECT_EQ(b.fired, 0);
  EXPECT_EQ(c.fired, 0);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, CallbackCancellingItselfIsHarmless) {
  TimerWheel w(kOrigin);
  Probe p(w, 0), q(w, 1);
  p.action = [&](Probe& self) { w.cancel(self.timer); };
  w.arm(p.timer, kOrigin + milliseconds(4));
  w.arm(q.timer, kOrigin + milliseconds(4));
  EXPECT_EQ(w.advance(kOrigin + milliseconds(4)), 2u);
  EXPECT_EQ(p.fired, 1);
  EXPECT_EQ(q.fired, 1);
  EXPECT_EQ(w.size(), 0u);
}

// ---------------------------------------------------------------------------
// Re-arm.

TEST(TimerWheelTest, RearmMovesExpiryLater) {
  TimerWheel w(kOrigin);
  Probe p(w, 0);
  w.arm(p.timer, kOrigin + milliseconds(10));
  w.arm(p.timer, kOrigin + milliseconds(20));
  EXPECT_EQ(w.size(), 1u);
  w.advance(kOrigin + milliseconds(19));
  EXPECT_EQ(p.fired, 0);
  w.advance(kOrigin + milliseconds(20));
  EXPECT_EQ(p.fired, 1);
  EXPECT_EQ(p.fired_at, kOrigin + milliseconds(20));
}

TEST(TimerWheelTest, RearmMovesExpiryEarlier) {
  TimerWheel w(kOrigin);
  Probe p(w, 0);
  w.arm(p.timer, kOrigin + hours(1));  // level 2
  w.arm(p.timer, kOrigin + milliseconds(5));
  EXPECT_EQ(w.size(), 1u);
  w.advance(kOrigin + milliseconds(5));
  EXPECT_EQ(p.fired, 1);
  EXPECT_EQ(p.fired_at, kOrigin + milliseconds(5));
  w.advance(kOrigin + hours(2));
  EXPECT_EQ(p.fired, 1);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, RepeatedRearmAcrossLevelsKeepsOneEntry) {
  TimerWheel w(kOrigin);
  Probe p(w, 0);
  const Duration deltas[] = {milliseconds(3),  milliseconds(300),     milliseconds(70'000),
                             hours(5),         hours(24 * 60),        milliseconds(1),
                             milliseconds(65), milliseconds(123'456), milliseconds(256)};
  for (Duration d : deltas) {
    w.arm(p.timer, kOrigin + d);
    EXPECT_EQ(w.size(), 1u);
  }
  w.advance(kOrigin + milliseconds(255));
  EXPECT_EQ(p.fired, 0);
  w.advance(kOrigin + milliseconds(256));
  EXPECT_EQ(p.fired, 1);
  w.advance(kOrigin + hours(24 * 61));
  EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheelTest, SelfRearmFromCallbackIsPeriodic) {
  TimerWheel w(kOrigin);
  Probe p(w, 0);
  std::vector<Instant> fires;
  p.action = [&](Probe& self) {
    fires.push_back(self.fired_at);
    if (fires.size() < 50) w.arm(self.timer, self.fired_at + milliseconds(37));
  };
  w.arm(p.timer, kOrigin + milliseconds(37));
  // Advance in uneven steps; every period must still fire on time.
  Instant now = kOrigin;
  for (int i = 0; i < 1000 && p.timer.armed(); ++i) {
    now += milliseconds(1 + (i * 13) % 90);
    w.advance(now);
  }
  ASSERT_EQ(fires.size(), 50u);
  for (std::size_t i = 0; i < fires.size(); ++i)
    EXPECT_EQ(fires[i], kOrigin + milliseconds(37) * static_cast<int>(i + 1));
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, SelfRearmToThePastFiresOnFollowingTicks) {
  TimerWheel w(kOrigin);
  Probe p(w, 0);
  p.action = [&](Probe& self) {
    if (self.fired < 10) w.arm(self.timer, w.current());  // "now": next tick
  };
  w.arm(p.timer, kOrigin + kMs);
  EXPECT_EQ(w.advance(kOrigin + milliseconds(100)), 10u);
  EXPECT_EQ(p.fired, 10);
  EXPECT_EQ(p.fired_at, kOrigin + milliseconds(10));
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, SelfRearmWithinSameAdvanceStopsAtTarget) {
  // A callback re-arming itself for the next tick must not run past the
  // advance() target.
  TimerWheel w(kOrigin);
  Probe p(w, 0);
  p.action = [&](Probe& self) { w.arm(self.timer, w.current() + kMs); };
  w.arm(p.timer, kOrigin + kMs);
  EXPECT_EQ(w.advance(kOrigin + milliseconds(5)), 5u);
  EXPECT_TRUE(p.timer.armed());
  EXPECT_EQ(w.advance(kOrigin + milliseconds(1000)), 995u);
  EXPECT_EQ(p.fired_at, kOrigin + milliseconds(1000));
  w.cancel(p.timer);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, SelfRearmFarFromCallback) {
  TimerWheel w(kOrigin);
  Probe p(w, 0);
  p.action = [&](Probe& self) {
    if (self.fired == 1) w.arm(self.timer, self.fired_at + hours(3));  // level 3
  };
  w.arm(p.timer, kOrigin + milliseconds(256));
  w.advance(kOrigin + milliseconds(256));
  EXPECT_EQ(p.fired, 1);
  EXPECT_TRUE(p.timer.armed());
  w.advance(kOrigin + milliseconds(256) + hours(3) - kMs);
  EXPECT_EQ(p.fired, 1);
  w.advance(kOrigin + milliseconds(256) + hours(3));
  EXPECT_EQ(p.fired, 2);
  EXPECT_EQ(p.fired_at, kOrigin + milliseconds(256) + hours(3));
}

TEST(TimerWheelTest, CallbackRearmsOtherTimerPendingInSameTick) {
  TimerWheel w(kOrigin);
  Probe a(w, 0), b(w, 1);
  const Instant due = kOrigin + milliseconds(300);  // cascaded from level 1
  a.action = [&](Probe&) { w.arm(b.timer, due + milliseconds(50)); };
  b.action = [&](Probe&) { w.arm(a.timer, due + milliseconds(50)); };
  w.arm(a.timer, due);
  w.arm(b.timer, due);
  EXPECT_EQ(w.advance(due), 1u);
  EXPECT_EQ(w.size(), 1u);
  Probe& first = a.fired == 1 ? a : b;
  Probe& second = a.fired == 1 ? b : a;
  EXPECT_EQ(second.fired, 0);
  EXPECT_TRUE(second.timer.armed());
  first.action = nullptr;
  second.action = nullptr;
  EXPECT_EQ(w.advance(due + milliseconds(49)), 0u);
  EXPECT_EQ(w.advance(due + milliseconds(50)), 1u);
  EXPECT_EQ(second.fired, 1);
  EXPECT_EQ(second.fired_at, due + milliseconds(50));
  EXPECT_EQ(first.fired, 1);
}

TEST(TimerWheelTest, CallbackArmsNewTimers) {
  TimerWheel w(kOrigin);
  std::deque<Probe> children;
  Probe parent(w, 0);
  parent.action = [&](Probe& self) {
    for (int i = 0; i < 5; ++i) {
      Probe& c = children.emplace_back(w, i + 1);
      w.arm(c.timer, self.fired_at + milliseconds(100 * i));  // i == 0: past -> next tick
    }
  };
  w.arm(parent.timer, kOrigin + milliseconds(10));
  EXPECT_EQ(w.advance(kOrigin + milliseconds(10)), 1u);
  EXPECT_EQ(w.size(), 5u);
  EXPECT_EQ(w.advance(kOrigin + milliseconds(1000)), 5u);
  ASSERT_EQ(children.size(), 5u);
  EXPECT_EQ(children[0].fired_at, kOrigin + milliseconds(11));
  for (int i = 1; i < 5; ++i) EXPECT_EQ(children[i].fired_at, kOrigin + milliseconds(10 + 100 * i));
}

TEST(TimerWheelTest, SetCallbackChangesWhatRuns) {
  TimerWheel w(kOrigin);
  int a = 0, b = 0;
  Timer t([](Timer&, void* arg) { ++*static_cast<int*>(arg); }, &a);
  w.arm(t, kOrigin + kMs);
  t.set_callback([](Timer&, void* arg) { *static_cast<int*>(arg) += 10; }, &b);
  w.advance(kOrigin + kMs);
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 10);
}

// Moving an armed timer to another wheel must take it off the first one.
// (Guarded so a failure does not corrupt memory for the rest of the suite.)
TEST(TimerWheelTest, ArmOnAnotherWheelMovesTimer) {
  auto* w1 = new TimerWheel(kOrigin);
  {
    TimerWheel w2(kOrigin);
    Probe p(*w1, 0);
    w1->arm(p.timer, kOrigin + milliseconds(5));
    p.wheel = &w2;
    w2.arm(p.timer, kOrigin + milliseconds(7));
    EXPECT_EQ(w2.size(), 1u);
    EXPECT_EQ(w1->size(), 0u) << "the timer is still linked into its first wheel";
    if (w1->size() != 0) {
      // w1 still points at p: never touch w1 again.
      ADD_FAILURE() << "leaking the first wheel to avoid a use-after-free";
      w1 = nullptr;
      w2.cancel(p.timer);
      return;
    }
    EXPECT_EQ(w1->advance(kOrigin + milliseconds(10)), 0u);
    EXPECT_EQ(w2.advance(kOrigin + milliseconds(10)), 1u);
    EXPECT_EQ(p.fired, 1);
  }
  delete w1;
}

// ---------------------------------------------------------------------------
// Destruction.

TEST(TimerWheelTest, DestroyingArmedTimerCancelsIt) {
  TimerWheel w(kOrigin);
  int fired = 0;
  auto count = [](Timer&, void* arg) { ++*static_cast<int*>(arg); };
  Timer keep(count, &fired);
  w.arm(keep, kOrigin + milliseconds(20));
  for (Duration d : {Duration(milliseconds(3)), Duration(milliseconds(300)),
                     Duration(milliseconds(100'000)), Duration(hours(10))}) {
    {
      Timer t(count, &fired);
      w.arm(t, kOrigin + d);
      EXPECT_EQ(w.size(), 2u);
    }
    EXPECT_EQ(w.size(), 1u);
  }
  {
    auto heap = std::make_unique<Timer>(count, &fired);
    w.arm(*heap, kOrigin + milliseconds(20));  // same slot as `keep`
    EXPECT_EQ(w.size(), 2u);
  }
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.advance(kOrigin + hours(11)), 1u);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, DestroyingUnarmedTimerIsHarmless) {
  TimerWheel w(kOrigin);
  {
    Timer t;
    EXPECT_FALSE(t.armed());
  }
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, DestroyingWheelDisarmsItsTimers) {
  Timer a, b;
  {
    TimerWheel w(kOrigin);
    w.arm(a, kOrigin + milliseconds(2));
    w.arm(b, kOrigin + hours(200));
    EXPECT_TRUE(a.armed());
    EXPECT_TRUE(b.armed());
  }
  EXPECT_FALSE(a.armed());
  EXPECT_FALSE(b.armed());
  // a and b are destroyed after the wheel: must not touch it.
}

// ---------------------------------------------------------------------------
// Levels, parking beyond the top level and cascades. A 1 ns tick makes ticks
// and nanoseconds the same number.

constexpr std::uint64_t kL1 = std::uint64_t{1} << 8;
constexpr std::uint64_t kL2 = std::uint64_t{1} << 16;
constexpr std::uint64_t kL3 = std::uint64_t{1} << 24;
constexpr std::uint64_t kReach = std::uint64_t{1} << 32;

Instant at_tick(std::uint64_t t) {
  return instant_from_ns(static_cast<std::int64_t>(t));
}

// Arms one timer per delay from `start` (after advancing the wheel there),
// then checks each fires exactly at its tick: not at tick - 1, and at tick.
void check_fire_ticks(std::uint64_t start, const std::vector<std::uint64_t>& delays) {
  SCOPED_TRACE(testing::Message() << "start tick " << start);
  TimerWheel w(at_tick(0), nanoseconds(1));
  w.advance(at_tick(start));
  ASSERT_EQ(w.current(), at_tick(start));
  std::deque<Probe> probes;
  std::vector<std::uint64_t> due;
  for (std::uint64_t d : delays) {
    Probe& p = probes.emplace_back(w, static_cast<int>(probes.size()));
    due.push_back(start + d);
    w.arm(p.timer, at_tick(start + d));
  }
  ASSERT_EQ(std::set<std::uint64_t>(due.begin(), due.end()).size(), due.size())
      << "delays must be distinct";
  std::vector<std::size_t> order(due.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return due[a] < due[b]; });
  std::size_t fired_so_far = 0;
  for (std::size_t i : order) {
    SCOPED_TRACE(testing::Message() << "delay " << delays[i]);
    if (static_cast<std::int64_t>(due[i] - 1) > ns_of(w.current())) w.advance(at_tick(due[i] - 1));
    EXPECT_EQ(probes[i].fired, 0) << "fired early";
    w.advance(at_tick(due[i]));
    EXPECT_EQ(probes[i].fired, 1);
    EXPECT_EQ(probes[i].fired_at, at_tick(due[i]));
    // Nothing due later has fired.
    std::size_t fired = 0;
    for (std::size_t j = 0; j < probes.size(); ++j) {
      fired += static_cast<std::size_t>(probes[j].fired);
      if (due[j] > due[i]) {
        EXPECT_EQ(probes[j].fired, 0) << "delay " << delays[j] << " fired early";
      }
    }
    EXPECT_GE(fired, fired_so_far + 1);
    fired_so_far = fired;
  }
  EXPECT_EQ(w.size(), 0u);
  for (const Probe& p : probes) EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheelLevelsTest, EveryLevelFromTickZero) {
  check_fire_ticks(0, {1,       2,   254,     kL1 - 1,     kL1,         kL1 + 1,      300,
                       511,     512, kL2 - 1, kL2,         kL2 + 1,     kL2 + kL1,    1'000'000,
                       kL3 - 1, kL3, kL3 + 1, kL3 + 12345, 3 * kL3 + 7, kReach - kL3, kReach - 1});
}

TEST(TimerWheelLevelsTest, EveryLevelFromOddStarts) {
  for (std::uint64_t start : std::initializer_list<std::uint64_t>{
           1, 255, 256, 257, 12'345, kL2 - 1, kL2 + 77, kL3 - 3, kL3 + kL2 + 5}) {
    check_fire_ticks(start, {1, 2, kL1 - 1, kL1, kL1 + 1, kL2 - 1, kL2, kL2 + 1, kL3 - 1, kL3,
                             kL3 + 1, 5 * kL3 + 3});
  }
}

TEST(TimerWheelLevelsTest, BeyondTopLevelIsParkedAndReplaced) {
  // More than 2^32 ticks away: parked at the top level and placed again.
  check_fire_ticks(0, {kReach, kReach + 1, kReach + kL1, kReach + kL3 + 9, 2 * kReach + 5,
                       3 * kReach - 1, 3 * kReach + 77});
}

TEST(TimerWheelLevelsTest, BeyondTopLevelFromOddStart) {
  check_fire_ticks(kL3 + 3 * kL2 + 5 * kL1 + 7, {kReach - 1, kReach, kReach + 1, 2 * kReach + 3});
}

TEST(TimerWheelLevelsTest, ParkedTimerWithMillisecondTick) {
  // 2^32 ms is ~50 days; a timer 200 days away still fires on time.
  TimerWheel w(kOrigin);
  Probe p(w, 0), q(w, 1);
  const Instant due = kOrigin + hours(24 * 200) + milliseconds(3);
  w.arm(p.timer, due);
  w.arm(q.timer, kOrigin + hours(24 * 60));
  EXPECT_EQ(w.advance(due - kMs), 1u);
  EXPECT_EQ(q.fired, 1);
  EXPECT_EQ(p.fired, 0);
  EXPECT_TRUE(p.timer.armed());
  EXPECT_EQ(w.advance(due), 1u);
  EXPECT_EQ(p.fired_at, due);
}

// Advancing one tick at a time across level-0 wraps and level-1/2 cascades,
// with timers due exactly at and around the boundaries, armed both long
// before (so they cascade) and shortly before.
TEST(TimerWheelLevelsTest, TickByTickAcrossLevel0And1Boundaries) {
  TimerWheel w(at_tick(0), nanoseconds(1));
  std::deque<Probe> probes;
  std::map<std::uint64_t, std::vector<Probe*>> due;
  auto add = [&](std::uint64_t tick) {
    Probe& p = probes.emplace_back(w, static_cast<int>(probes.size()));
    w.arm(p.timer, at_tick(tick));
    due[tick].push_back(&p);
  };
  for (std::uint64_t b = kL1; b <= kL2 + 4 * kL1; b += kL1) {
    add(b - 1);
    add(b);
    add(b + 1);
  }
  for (std::uint64_t t : {kL2 - 1, kL2, kL2 + 1, 2 * kL2, 2 * kL2 - 1}) add(t);
  const std::size_t total = probes.size();
  std::size_t fired = 0;
  // Also arm short timers as we go, due exactly on upcoming boundaries.
  std::deque<Probe> late;
  for (std::uint64_t t = 1; t <= 2 * kL2 + 2; ++t) {
    if (t % kL1 == 100) {
      Probe& p = late.emplace_back(w, -1);
      const std::uint64_t b = (t | (kL1 - 1)) + 1;
      w.arm(p.timer, at_tick(b));
      due[b].push_back(&p);
    }
    const std::size_t ran = w.advance(at_tick(t));
    auto it = due.find(t);
    const std::size_t expect = it == due.end() ? 0 : it->second.size();
    ASSERT_EQ(ran, expect) << "at tick " << t;
    if (it != due.end()) {
      for (Probe* p : it->second) {
        EXPECT_EQ(p->fired, 1) << "at tick " << t;
        EXPECT_EQ(p->fired_at, at_tick(t));
      }
    }
    fired += ran;
  }
  EXPECT_EQ(fired, total + late.size());
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelLevelsTest, TickByTickAcrossLevel2And3Boundaries) {
  // Timers armed at tick 0 for around 2^24 (levels 2 and 3), and for around
  // 2^32 (level 3 and parked); the wheel is brought close in one jump and
  // then walked one tick at a time.
  for (std::uint64_t boundary : {kL3, 2 * kL3, kReach}) {
    SCOPED_TRACE(testing::Message() << "boundary " << boundary);
    TimerWheel w(at_tick(0), nanoseconds(1));
    std::deque<Probe> probes;
    std::map<std::uint64_t, std::vector<Probe*>> due;
    auto add = [&](std::uint64_t tick) {
      Probe& p = probes.emplace_back(w, static_cast<int>(probes.size()));
      w.arm(p.timer, at_tick(tick));
      due[tick].push_back(&p);
    };
    for (std::uint64_t t :
         {boundary - kL1 - 1, boundary - kL1, boundary - 2, boundary - 1, boundary, boundary + 1,
          boundary + 2, boundary + kL1 - 1, boundary + kL1, boundary + kL1 + 1})
      add(t);
    add(boundary + 1);  // two in one tick
    const std::uint64_t from = boundary - 600;
    EXPECT_EQ(w.advance(at_tick(from)), 0u);
    // Also timers armed close to the boundary.
    for (std::uint64_t t : {boundary - 1, boundary, boundary + 1, boundary + kL1}) add(t);
    std::size_t fired = 0;
    for (std::uint64_t t = from + 1; t <= boundary + 600; ++t) {
      const std::size_t ran = w.advance(at_tick(t));
      auto it = due.find(t);
      const std::size_t expect = it == due.end() ? 0 : it->second.size();
      ASSERT_EQ(ran, expect) << "at tick " << t;
      if (it != due.end()) {
        for (Probe* p : it->second) EXPECT_EQ(p->fired_at, at_tick(t));
      }
      fired += ran;
    }
    EXPECT_EQ(fired, probes.size());
    EXPECT_EQ(w.size(), 0u);
  }
}

// ---------------------------------------------------------------------------
// Long idle jumps.

TEST(TimerWheelTest, HourLongJumpsWithSparseTimers) {
  TimerWheel w(kOrigin);
  Rng rng(1234);
  constexpr int kN = 500;
  constexpr std::int64_t kSpanNs = 72ll * 3600 * 1'000'000'000;  // 3 days
  std::deque<Probe> probes;
  std::vector<Instant> due;
  for (int i = 0; i < kN; ++i) {
    Probe& p = probes.emplace_back(w, i);
    due.push_back(kOrigin + nanoseconds(1 + static_cast<std::int64_t>(rng.below(kSpanNs))));
    w.arm(p.timer, due.back());
  }
  const Duration tick = w.tick();
  Instant now = kOrigin;
  for (int h = 1; h <= 73; ++h) {
    now = kOrigin + hours(h);
    w.advance(now);
    for (int i = 0; i < kN; ++i) {
      // Fired iff the tick at or after `due` has been reached.
      const std::int64_t due_tick = ((due[i] - kOrigin).count() + tick.count() - 1) / tick.count();
      const bool should = due_tick <= ticks_since(kOrigin, tick, now);
      ASSERT_EQ(probes[i].fired, should ? 1 : 0) << "timer " << i << " after hour " << h;
      if (should) {
        EXPECT_GE(probes[i].fired_at, due[i]);
        EXPECT_LT(probes[i].fired_at - due[i], tick);
      }
    }
  }
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, SingleHugeJumpFiresEverythingDue) {
  TimerWheel w(kOrigin);
  std::deque<Probe> probes;
  std::vector<int> log;
  const Duration delays[] = {milliseconds(1), milliseconds(255),   milliseconds(256),
                             hours(1),        hours(24),           hours(24 * 30),
                             hours(24 * 49),  hours(24 * 50),  // around 2^32 ms
                             hours(24 * 60),  hours(24 * 90) + kMs};
  for (Duration d : delays) {
    Probe& p = probes.emplace_back(w, static_cast<int>(probes.size()));
    p.log = &log;
    w.arm(p.timer, kOrigin + d);
  }
  Probe never(w, 100);
  w.arm(never.timer, kOrigin + hours(24 * 90) + milliseconds(2));
  EXPECT_EQ(w.advance(kOrigin + hours(24 * 90) + kMs), probes.size());
  ASSERT_EQ(log.size(), probes.size());
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i], static_cast<int>(i)) << "fired out of order";
    EXPECT_EQ(probes[i].fired_at, kOrigin + delays[i]);
  }
  EXPECT_EQ(never.fired, 0);
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.current(), kOrigin + hours(24 * 90) + kMs);
}

// ---------------------------------------------------------------------------
// Scale and a randomized comparison against a simple model.

struct CountingTimer {
  Timer timer;
  std::uint64_t due_tick = 0;
  std::uint64_t fired_tick = 0;
  std::uint32_t fired = 0;
};

struct FireLog {
  TimerWheel* wheel = nullptr;
  Instant origin{};
  std::uint64_t last_tick = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t total = 0;
};

FireLog* g_fire_log = nullptr;

void on_counting_fire(Timer&, void* arg) {
  auto* c = static_cast<CountingTimer*>(arg);
  FireLog& log = *g_fire_log;
  const auto tick =
      static_cast<std::uint64_t>(ticks_since(log.origin, log.wheel->tick(), log.wheel->current()));
  ++c->fired;
  c->fired_tick = tick;
  if (tick < log.last_tick) ++log.out_of_order;
  log.last_tick = tick;
  ++log.total;
}

TEST(TimerWheelTest, MillionRandomTimersFireExactlyOnceInOrder) {
  constexpr std::size_t kN = 1'000'000;
  const Duration tick = microseconds(1);
  TimerWheel w(kOrigin, tick);
  FireLog log{&w, kOrigin};
  g_fire_log = &log;
  auto timers = std::make_unique<CountingTimer[]>(kN);
  Rng rng(42);
  for (std::size_t i = 0; i < kN; ++i) {
    CountingTimer& c = timers[i];
    c.timer.set_callback(&on_counting_fire, &c);
    // Mostly near (levels 0-2), some far (level 3): up to ~2^27 us.
    const std::uint64_t range = rng.chance(0.9) ? (1u << 20) : (1u << 27);
    const std::int64_t ns = 1 + static_cast<std::int64_t>(rng.below(range * 1000));
    c.due_tick = static_cast<std::uint64_t>((ns + 999) / 1000);
    w.arm(c.timer, kOrigin + nanoseconds(ns));
  }
  ASSERT_EQ(w.size(), kN);
  Instant now = kOrigin;
  std::size_t ran = 0;
  for (int step = 0; step < 100'000 && w.size() > 0; ++step) {
    // Random steps of widely varying size.
    const int shift = static_cast<int>(rng.below(22));
    now += nanoseconds(
        static_cast<std::int64_t>(rng.below(std::uint64_t{1} << shift) * 1000 + rng.below(1000)));
    ran += w.advance(now);
  }
  g_fire_log = nullptr;
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(ran, kN);
  EXPECT_EQ(log.total, kN);
  EXPECT_EQ(log.out_of_order, 0u);
  std::size_t bad_count = 0, bad_tick = 0;
  for (std::size_t i = 0; i < kN; ++i) {
    if (timers[i].fired != 1) ++bad_count;
    if (timers[i].fired_tick != timers[i].due_tick) ++bad_tick;
  }
  EXPECT_EQ(bad_count, 0u) << "timers not fired exactly once";
  EXPECT_EQ(bad_tick, 0u) << "timers fired at the wrong tick";
}

// Random arms, re-arms, cancels and advances compared with a model that
// keeps each armed timer's due tick.
TEST(TimerWheelTest, RandomOperationsMatchModel) {
  constexpr int kTimers = 3000;
  const Duration tick = microseconds(10);
  const std::int64_t tk = tick.count();
  TimerWheel w(kOrigin, tick);
  std::deque<Probe> probes;
  for (int i = 0; i < kTimers; ++i) probes.emplace_back(w, i);
  std::vector<int> log;
  for (Probe& p : probes) p.log = &log;
  std::map<int, std::uint64_t> model;  // id -> due tick
  Rng rng(99);
  std::uint64_t now_tick = 0;
  for (int op = 0; op < 200'000; ++op) {
    const std::uint64_t r = rng.below(100);
    if (r < 55) {
      const int id = static_cast<int>(rng.below(kTimers));
      // Delay in ns with widely varying magnitude, sometimes in the past.
      const int shift = static_cast<int>(rng.below(40));
      std::int64_t rel = static_cast<std::int64_t>(now_tick) * tk +
                         static_cast<std::int64_t>(rng.below(std::uint64_t{1} << shift));
      if (rng.chance(0.05)) rel -= static_cast<std::int64_t>(rng.below(100'000));
      std::uint64_t e = rel <= 0 ? 0 : static_cast<std::uint64_t>((rel + tk - 1) / tk);
      if (e <= now_tick) e = now_tick + 1;
      w.arm(probes[id].timer, kOrigin + nanoseconds(rel));
      model[id] = e;
    } else if (r < 75) {
      const int id = static_cast<int>(rng.below(kTimers));
      w.cancel(probes[id].timer);
      model.erase(id);
    } else {
      const int shift = static_cast<int>(rng.below(r < 98 ? 12 : 36));
      const std::uint64_t target = now_tick + rng.below(std::uint64_t{1} << shift);
      log.clear();
      w.advance(kOrigin + tick * static_cast<std::int64_t>(target) +
                nanoseconds(static_cast<std::int64_t>(rng.below(tk))));
      // Expected: everything due at or before target, in due-tick order.
      std::vector<std::pair<std::uint64_t, int>> expect;
      for (auto it = model.begin(); it != model.end();) {
        if (it->second <= target) {
          expect.emplace_back(it->second, it->first);
          it = model.erase(it);
        } else {
          ++it;
        }
      }
      ASSERT_EQ(log.size(), expect.size()) << "op " << op;
      std::map<int, std::uint64_t> want;
      for (auto& [t, id] : expect) want[id] = t;
      std::uint64_t prev = 0;
      for (int id : log) {
        ASSERT_TRUE(want.count(id)) << "timer " << id << " fired but was not due, op " << op;
        const auto fired_tick =
            static_cast<std::uint64_t>(ticks_since(kOrigin, tick, probes[id].fired_at));
        ASSERT_EQ(fired_tick, want[id]) << "timer " << id << " op " << op;
        ASSERT_GE(fired_tick, prev);
        prev = fired_tick;
      }
      now_tick = target;
    }
    ASSERT_EQ(w.size(), model.size()) << "op " << op;
  }
  for (auto& [id, due] : model) EXPECT_TRUE(probes[id].timer.armed());
}

}  // namespace
}  // namespace ustack
