// Tests of the clocks (core/clock.h) and time types (core/instant.h):
// VirtualClock moves only when told to; TscClock is monotonic and agrees with
// CLOCK_MONOTONIC.

#include "core/clock.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <thread>

#include "core/instant.h"

namespace ustack {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// ---------------------------------------------------------------------------
// Instant helpers.

TEST(InstantTest, NanosecondRoundTrip) {
  static_assert(ns_of(instant_from_ns(123)) == 123);
  static_assert(ns_of(Duration(456)) == 456);
  EXPECT_EQ(ns_of(instant_from_ns(-5)), -5);
  EXPECT_EQ(instant_from_ns(10) + nanoseconds(5), instant_from_ns(15));
  EXPECT_EQ(instant_from_ns(2'000'000) - instant_from_ns(1'000'000), milliseconds(1));
  EXPECT_LT(instant_from_ns(1), instant_from_ns(2));
}

// ---------------------------------------------------------------------------
// VirtualClock.

TEST(VirtualClockTest, DefaultStartIsOneSecond) {
  VirtualClock c;
  EXPECT_EQ(c.now(), instant_from_ns(1'000'000'000));
}

TEST(VirtualClockTest, StartsWhereTold) {
  VirtualClock c(instant_from_ns(42));
  EXPECT_EQ(c.now(), instant_from_ns(42));
  VirtualClock zero(instant_from_ns(0));
  EXPECT_EQ(ns_of(zero.now()), 0);
}

TEST(VirtualClockTest, StandsStillUntilAdvanced) {
  VirtualClock c;
  const Instant t0 = c.now();
  std::this_thread::sleep_for(milliseconds(2));
  EXPECT_EQ(c.now(), t0);
  EXPECT_EQ(c.now(), c.now());
}

TEST(VirtualClockTest, Advance) {
  VirtualClock c(instant_from_ns(1000));
  c.advance(nanoseconds(1));
  EXPECT_EQ(c.now(), instant_from_ns(1001));
  c.advance(microseconds(3));
  EXPECT_EQ(c.now(), instant_from_ns(4001));
  c.advance(seconds(2));
  EXPECT_EQ(c.now(), instant_from_ns(2'000'004'001));
  c.advance(nanoseconds(0));
  EXPECT_EQ(c.now(), instant_from_ns(2'000'004'001));
  // A very long run: 200 days in nanoseconds still fits.
  c.advance(std::chrono::hours(24 * 200));
  EXPECT_EQ(ns_of(c.now()), 2'000'004'001 + 200ll * 24 * 3600 * 1'000'000'000);
}

TEST(VirtualClockTest, Set) {
  VirtualClock c;
  c.set(instant_from_ns(5'000));
  EXPECT_EQ(c.now(), instant_from_ns(5'000));
  c.advance(nanoseconds(7));
  EXPECT_EQ(c.now(), instant_from_ns(5'007));
  // set() may move backwards (a test rewinding time).
  c.set(instant_from_ns(10));
  EXPECT_EQ(c.now(), instant_from_ns(10));
}

TEST(VirtualClockTest, WorksThroughClockInterface) {
  VirtualClock vc(instant_from_ns(100));
  const Clock& c = vc;
  EXPECT_EQ(c.now(), instant_from_ns(100));
  vc.advance(nanoseconds(50));
  EXPECT_EQ(c.now(), instant_from_ns(150));
}

TEST(VirtualClockTest, ReadersOnOtherThreadsSeeMonotonicAdvance) {
  VirtualClock c(instant_from_ns(0));
  constexpr int kSteps = 200'000;
  std::atomic<bool> done{false};
  std::atomic<int> backwards{0};
  std::atomic<std::int64_t> last_seen{0};
  std::thread reader([&] {
    std::int64_t last = 0;
    for (int i = 0; i < 50'000'000; ++i) {
      const bool finished = done.load(std::memory_order_acquire);
      const std::int64_t now = ns_of(c.now());
      if (now < last) backwards.fetch_add(1);
      last = now;
      if (finished) break;
    }
    last_seen = last;
  });
  for (int i = 0; i < kSteps; ++i) c.advance(nanoseconds(3));
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_EQ(backwards.load(), 0);
  EXPECT_EQ(last_seen.load(), 3 * kSteps);
  EXPECT_EQ(ns_of(c.now()), 3 * kSteps);
}

// ---------------------------------------------------------------------------
// MonotonicClock and TscClock.

TEST(MonotonicClockTest, IsMonotonicAndMoves) {
  MonotonicClock c;
  Instant prev = c.now();
  const Instant first = prev;
  for (int i = 0; i < 1000; ++i) {
    const Instant t = c.now();
    ASSERT_GE(t, prev) << "read " << i;
    prev = t;
  }
  std::this_thread::sleep_for(milliseconds(2));
  EXPECT_GE(c.now() - first, milliseconds(2));
}

TEST(TscClockTest, ReportsItsSource) {
  TscClock c;
  if (c.uses_tsc()) {
    // Plausible TSC rates: 100 MHz .. 10 GHz.
    EXPECT_GT(c.tsc_hz(), 100'000'000u);
    EXPECT_LT(c.tsc_hz(), 10'000'000'000u);
  } else {
    GTEST_LOG_(INFO) << "TSC not invariant here; TscClock uses CLOCK_MONOTONIC";
  }
}

TEST(TscClockTest, MonotonicOver1000Reads) {
  TscClock c;
  Instant prev = c.now();
  for (int i = 0; i < 1000; ++i) {
    const Instant t = c.now();
    ASSERT_GE(t, prev) << "read " << i;
    prev = t;
  }
}

TEST(TscClockTest, MonotonicAcrossThreadMigration) {
  // Reads from a thread the scheduler may move between cores.
  TscClock c;
  Instant prev = c.now();
  int backwards = 0;
  for (int i = 0; i < 200; ++i) {
    std::this_thread::yield();
    const Instant t = c.now();
    if (t < prev) ++backwards;
    prev = t;
  }
  EXPECT_EQ(backwards, 0);
}

// A TscClock reading paired with the midpoint of two CLOCK_MONOTONIC reads
// taken just before and after it. Retries for a tight bracket, so a
// preemption between the reads does not skew the comparison.
struct Paired {
  std::int64_t tsc_ns = 0;
  std::int64_t mono_ns = 0;
  std::int64_t bracket_ns = 0;
};

Paired paired_read(const TscClock& tsc, const MonotonicClock& mono) {
  Paired best;
  best.bracket_ns = std::numeric_limits<std::int64_t>::max();
  for (int i = 0; i < 50; ++i) {
    const std::int64_t a = ns_of(mono.now());
    const std::int64_t t = ns_of(tsc.now());
    const std::int64_t b = ns_of(mono.now());
    if (b - a < best.bracket_ns) {
      best.tsc_ns = t;
      best.mono_ns = a + (b - a) / 2;
      best.bracket_ns = b - a;
    }
    if (best.bracket_ns < 20'000) break;
  }
  return best;
}

TEST(TscClockTest, AgreesWithMonotonicClockOverSleep) {
  TscClock tsc;
  MonotonicClock mono;
  constexpr std::int64_t kTolerance = 2'000'000;  // 2 ms
  const Paired start = paired_read(tsc, mono);
  std::this_thread::sleep_for(milliseconds(50));
  const Paired end = paired_read(tsc, mono);
  const std::int64_t tsc_elapsed = end.tsc_ns - start.tsc_ns;
  const std::int64_t mono_elapsed = end.mono_ns - start.mono_ns;
  EXPECT_GE(mono_elapsed, 50'000'000);
  EXPECT_LE(std::llabs(tsc_elapsed - mono_elapsed), kTolerance)
      << "tsc " << tsc_elapsed << " ns vs monotonic " << mono_elapsed << " ns over the sleep";
  // Same timeline, not only the same rate.
  EXPECT_LE(std::llabs(start.tsc_ns - start.mono_ns), kTolerance);
  EXPECT_LE(std::llabs(end.tsc_ns - end.mono_ns), kTolerance);
}

TEST(TscClockTest, ReadTscAdvances) {
  const std::uint64_t a = read_tsc();
  std::this_thread::sleep_for(milliseconds(1));
  const std::uint64_t b = read_tsc();
  EXPECT_GT(b, a);
}

}  // namespace
}  // namespace ustack
