// Congestion control (proto/tcp/congestion.h) driven as the TCP code drives
// it, on a virtual timeline: NewReno's slow start, byte-counted congestion
// avoidance, reductions and restarts (RFC 5681, RFC 3465, RFC 6582); CUBIC
// against RFC 9438's own formulas: W_cubic(t) = C * (t - K)^3 + W_max over
// tens of seconds, K, the 0.7 reduction, fast convergence, the
// Reno-friendly estimate W_est, concave then convex growth around W_max,
// and no growth while application-limited.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/instant.h"
#include "proto/tcp/congestion.h"

namespace ustack {
namespace {

constexpr std::uint32_t kMss = 1000;
constexpr double kC = 0.4;
constexpr double kBeta = 0.7;
constexpr double kAlpha = 3 * (1 - kBeta) / (1 + kBeta);

Instant at(double seconds) {
  return instant_from_ns(static_cast<std::int64_t>(std::llround(seconds * 1e9)));
}
Duration dur(double seconds) {
  return Duration(static_cast<std::int64_t>(std::llround(seconds * 1e9)));
}
double segs(std::uint32_t bytes) {
  return static_cast<double>(bytes) / kMss;
}

// One round trip: the whole cwnd sent at `start` and acknowledged one
// segment per ACK, the ACKs evenly spread over `rtt`. Returns the end.
double round_trip(CcState& s, double start, double rtt, bool cwnd_limited = true) {
  const std::uint32_t window = s.cwnd;
  const std::uint32_t n = (window + kMss - 1) / kMss;
  std::uint32_t left = window;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t acked = std::min(left, kMss);
    left -= acked;
    cc_on_ack(s, acked, cwnd_limited, dur(rtt), at(start + rtt * (i + 1) / n));
  }
  return start + rtt;
}

// ---------------------------------------------------------------- names

TEST(CcNames, ParseAndPrint) {
  CcAlgorithm a{};
  ASSERT_TRUE(parse_cc("newreno", &a));
  EXPECT_EQ(a, CcAlgorithm::kNewReno);
  EXPECT_STREQ(to_string(a), "newreno");
  ASSERT_TRUE(parse_cc("cubic", &a));
  EXPECT_EQ(a, CcAlgorithm::kCubic);
  EXPECT_STREQ(to_string(a), "cubic");
  ASSERT_TRUE(parse_cc("reno", &a));
  EXPECT_EQ(a, CcAlgorithm::kNewReno);
  a = CcAlgorithm::kCubic;
  EXPECT_FALSE(parse_cc("bbr", &a));
  EXPECT_FALSE(parse_cc("", &a));
  EXPECT_FALSE(parse_cc("Cubic", &a));
  EXPECT_EQ(a, CcAlgorithm::kCubic);  // untouched on failure
  EXPECT_LE(sizeof(CcState), 64u);
}

TEST(CcNames, InitialWindowIsRfc6928) {
  EXPECT_EQ(cc_initial_window(1460, 10), 14600u);
  EXPECT_EQ(cc_initial_window(536, 10), 5360u);
  EXPECT_EQ(cc_initial_window(8960, 10), 17920u);  // max(2 * MSS, 14600)
  EXPECT_EQ(cc_initial_window(1460, 4), 5840u);
}

// ---------------------------------------------------------------- NewReno

TEST(NewReno, SlowStartGrowsByAtMostOneSegmentPerAck) {
  CcState s;
  cc_init(s, CcAlgorithm::kNewReno, kMss, 10 * kMss);
  EXPECT_EQ(s.cwnd, 10 * kMss);
  EXPECT_EQ(s.ssthresh, 0xffffffffu);
  for (int i = 0; i < 10; ++i) cc_on_ack(s, kMss, true, Duration(0), at(0.001 * i));
  EXPECT_EQ(s.cwnd, 20 * kMss);  // doubled in one window
  cc_on_ack(s, kMss / 2, true, Duration(0), at(0.02));
  EXPECT_EQ(s.cwnd, 20 * kMss + kMss / 2);  // a split ACK: what it covers
  cc_on_ack(s, 3 * kMss, true, Duration(0), at(0.03));
  EXPECT_EQ(s.cwnd, 21 * kMss + kMss / 2);  // a stretch ACK: L = 1 SMSS
}

TEST(NewReno, CongestionAvoidanceAddsOneSegmentPerWindow) {
  CcState s;
  cc_init(s, CcAlgorithm::kNewReno, kMss, 20 * kMss);
  cc_on_congestion(s, 20 * kMss, at(0));
  ASSERT_EQ(s.ssthresh, 10 * kMss);
  ASSERT_EQ(s.cwnd, 10 * kMss);
  double t = 0;
  // Nine segments of a ten-segment window: not yet.
  for (int i = 0; i < 9; ++i) cc_on_ack(s, kMss, true, Duration(0), at(t += 0.001));
  EXPECT_EQ(s.cwnd, 10 * kMss);
  cc_on_ack(s, kMss, true, Duration(0), at(t += 0.001));
  EXPECT_EQ(s.cwnd, 11 * kMss);
  for (std::uint32_t w = 11; w < 30; ++w) {
    t = round_trip(s, t, 0.01);
    EXPECT_EQ(s.cwnd, (w + 1) * kMss);
  }
  // Delayed ACKs (two segments each) grow it just as fast: byte counting.
  const std::uint32_t before = s.cwnd;
  for (std::uint32_t acked = 0; acked < before; acked += 2 * kMss)
    cc_on_ack(s, 2 * kMss, true, Duration(0), at(t += 0.001));
  EXPECT_EQ(s.cwnd, before + kMss);
}

TEST(NewReno, ByteCountingCarriesTheRemainder) {
  // RFC 3465 §2.1: "bytes_acked -= cwnd", not reset: ACKs that do not
  // divide cwnd lose nothing.
  CcState s;
  cc_init(s, CcAlgorithm::kNewReno, kMss, 20 * kMss);
  cc_on_congestion(s, 20 * kMss, at(0));
  ASSERT_EQ(s.cwnd, 10 * kMss);
  double t = 0;
  for (int i = 0; i < 7; ++i) cc_on_ack(s, 1500, true, Duration(0), at(t += 0.001));
  EXPECT_EQ(s.cwnd, 11 * kMss);  // 10,500 bytes: one increase, 500 carried
  EXPECT_EQ(s.bytes_acked, 500u);
  for (int i = 0; i < 6; ++i) cc_on_ack(s, 1500, true, Duration(0), at(t += 0.001));
  EXPECT_EQ(s.cwnd, 11 * kMss);  // 9,500 of 11,000
  cc_on_ack(s, 1500, true, Duration(0), at(t += 0.001));
  EXPECT_EQ(s.cwnd, 12 * kMss);  // 11,000 of 11,000 with the carry
  EXPECT_EQ(s.bytes_acked, 0u);
}

TEST(NewReno, CongestionHalvesTheFlightWithATwoSegmentFloor) {
  CcState s;
  cc_init(s, CcAlgorithm::kNewReno, kMss, 40 * kMss);
  cc_on_congestion(s, 30 * kMss, at(1));  // flight, not cwnd (RFC 5681 eq. 4)
  EXPECT_EQ(s.ssthresh, 15 * kMss);
  EXPECT_EQ(s.cwnd, 15 * kMss);
  cc_on_congestion(s, 3 * kMss, at(2));
  EXPECT_EQ(s.ssthresh, 2 * kMss);
  EXPECT_EQ(s.cwnd, 2 * kMss);
}

TEST(NewReno, TimeoutLeavesOneSegmentThenSlowStartsToSsthresh) {
  CcState s;
  cc_init(s, CcAlgorithm::kNewReno, kMss, 40 * kMss);
  cc_on_rto(s, 40 * kMss, at(1));
  EXPECT_EQ(s.cwnd, kMss);
  EXPECT_EQ(s.ssthresh, 20 * kMss);
  // Doubling while below ssthresh (the round that crosses it stops at 20:
  // its last ACKs count towards congestion avoidance), then one per RTT.
  double t = 1;
  std::vector<std::uint32_t> seen;
  for (int r = 0; r < 8; ++r) {
    t = round_trip(s, t, 0.05);
    seen.push_back(s.cwnd / kMss);
  }
  EXPECT_EQ(seen, (std::vector<std::uint32_t>{2, 4, 8, 16, 20, 21, 22, 23}));
  // A second timeout for the same data: the flight still sets ssthresh.
  cc_on_rto(s, 40 * kMss, at(2));
  EXPECT_EQ(s.ssthresh, 20 * kMss);
  EXPECT_EQ(s.cwnd, kMss);
}

TEST(NewReno, RecoveryExitDeflatesToSsthreshOrFlightPlusOne) {
  CcState s;
  cc_init(s, CcAlgorithm::kNewReno, kMss, 20 * kMss);
  cc_on_congestion(s, 20 * kMss, at(1));
  s.cwnd += 8 * kMss;  // the caller's inflation during recovery
  cc_on_recovery_exit(s, 15 * kMss, at(1.1));
  EXPECT_EQ(s.cwnd, 10 * kMss);  // min(ssthresh, flight + SMSS)
  cc_on_congestion(s, 20 * kMss, at(2));
  cc_on_recovery_exit(s, 3 * kMss, at(2.1));
  EXPECT_EQ(s.cwnd, 4 * kMss);  // little in flight: no burst
  cc_on_recovery_exit(s, 0, at(2.2));
  EXPECT_EQ(s.cwnd, 2 * kMss);  // max(flight, SMSS) + SMSS
}

TEST(NewReno, NoGrowthWhenApplicationLimited) {
  CcState s;
  cc_init(s, CcAlgorithm::kNewReno, kMss, 10 * kMss);
  for (int i = 0; i < 100; ++i) cc_on_ack(s, kMss, false, Duration(0), at(0.001 * i));
  EXPECT_EQ(s.cwnd, 10 * kMss);  // slow start
  cc_on_congestion(s, 10 * kMss, at(1));
  for (int i = 0; i < 1000; ++i) cc_on_ack(s, kMss, false, Duration(0), at(1 + 0.001 * i));
  EXPECT_EQ(s.cwnd, 5 * kMss);  // congestion avoidance
  EXPECT_EQ(s.bytes_acked, 0u);
  cc_on_ack(s, kMss, true, Duration(0), at(3));
  EXPECT_EQ(s.bytes_acked, kMss);
}

TEST(NewReno, RestartAfterIdle) {
  CcState s;
  cc_init(s, CcAlgorithm::kNewReno, kMss, 50 * kMss);
  cc_after_idle(s, 10 * kMss);
  EXPECT_EQ(s.cwnd, 10 * kMss);
  cc_init(s, CcAlgorithm::kNewReno, kMss, 5 * kMss);
  cc_after_idle(s, 10 * kMss);
  EXPECT_EQ(s.cwnd, 5 * kMss);  // RW = min(IW, cwnd)
}

TEST(NewReno, MssChangeKeepsTheFloors) {
  CcState s;
  cc_init(s, CcAlgorithm::kNewReno, 536, 1000);
  cc_on_congestion(s, 1000, at(0));
  EXPECT_EQ(s.ssthresh, 2 * 536u);
  cc_set_mss(s, 1460);
  EXPECT_EQ(s.mss, 1460u);
  EXPECT_EQ(s.ssthresh, 2 * 1460u);
  EXPECT_GE(s.cwnd, 1460u);
}

// ---------------------------------------------------------------- CUBIC

// A CUBIC state at W_max = `wmax` segments just after its congestion event.
CcState cubic_after_loss(std::uint32_t wmax) {
  CcState s;
  cc_init(s, CcAlgorithm::kCubic, kMss, wmax * kMss);
  cc_on_congestion(s, wmax * kMss, at(0));
  return s;
}

TEST(Cubic, CongestionEventLeavesSeventyPercent) {
  for (std::uint32_t w : {10u, 100u, 1000u, 12345u}) {
    CcState s = cubic_after_loss(w);
    EXPECT_EQ(s.cwnd, static_cast<std::uint32_t>(w * kMss * kBeta)) << w;
    EXPECT_EQ(s.ssthresh, s.cwnd);
    EXPECT_EQ(s.w_max, w * kMss);  // first event: W_max = cwnd
  }
  CcState s = cubic_after_loss(2);
  EXPECT_EQ(s.cwnd, 2 * kMss);  // floor of 2 SMSS
}

TEST(Cubic, KFollowsTheFormula) {
  for (std::uint32_t w : {20u, 100u, 1000u}) {
    CcState s = cubic_after_loss(w);
    cc_on_ack(s, kMss, true, dur(0.1), at(0.5));  // the epoch starts here
    ASSERT_TRUE(s.epoch_valid);
    EXPECT_EQ(s.epoch_start_ns, ns_of(at(0.5)));
    EXPECT_EQ(s.cwnd_epoch, static_cast<std::uint32_t>(w * kMss * kBeta));
    // RFC 9438 §4.2: K = cbrt(W_max * (1 - beta) / C) after a reduction by
    // beta, i.e. cbrt((W_max - cwnd_epoch) / C).
    EXPECT_NEAR(s.k, std::cbrt(w * (1 - kBeta) / kC), 1e-6) << w;
    EXPECT_NEAR(s.k, std::cbrt((segs(s.w_max) - segs(s.cwnd_epoch)) / kC), 1e-9);
  }
}

// W_cubic(t) in segments, from the state's W_max and K.
double w_cubic(const CcState& s, double t) {
  return kC * std::pow(t - s.k, 3) + segs(s.w_max);
}

// CUBIC from a loss at W_max = 1000 segments (RTT 100 ms, one window per
// RTT) for 2K seconds: cwnd against W_cubic at the end of each round trip.
TEST(Cubic, WindowFollowsWCubicOverTime) {
  CcState s = cubic_after_loss(1000);
  const double rtt = 0.1;
  double t = 0;
  t = round_trip(s, t, rtt);
  const double epoch = static_cast<double>(s.epoch_start_ns) * 1e-9;
  const double k = s.k;
  ASSERT_NEAR(k, std::cbrt(1000 * 0.3 / 0.4), 1e-6);  // 9.09 s
  double worst = 0;
  double nearest_k = 1e9, cwnd_at_k = 0;
  while (t - epoch < 2 * k) {
    t = round_trip(s, t, rtt);
    const double expect = w_cubic(s, t - epoch);
    const double err = std::abs(segs(s.cwnd) - expect) / expect;
    worst = std::max(worst, err);
    EXPECT_LT(err, 0.01) << "t=" << t - epoch << " cwnd=" << segs(s.cwnd) << " W=" << expect;
    // The Reno-friendly estimate stays below: this is the cubic region.
    EXPECT_LT(s.w_est / kMss, expect);
    if (std::abs(t - epoch - k) < nearest_k) {
      nearest_k = std::abs(t - epoch - k);
      cwnd_at_k = segs(s.cwnd);
    }
  }
  RecordProperty("worst_relative_error", std::to_string(worst));
  EXPECT_EQ(s.k, k);  // one epoch throughout
  // The plateau: at t = K the window is back at W_max.
  EXPECT_NEAR(cwnd_at_k, 1000, 5);
}

TEST(Cubic, ConcaveBelowWMaxConvexAbove) {
  CcState s = cubic_after_loss(1000);
  const double rtt = 0.1;
  double t = round_trip(s, 0, rtt);
  const double epoch = static_cast<double>(s.epoch_start_ns) * 1e-9;
  const double k = s.k;
  // Growth over each second of the epoch.
  std::vector<double> growth, mid;
  double last = segs(s.cwnd), next = t + 1;
  while (t - epoch < 2 * k) {
    t = round_trip(s, t, rtt);
    if (t >= next) {
      growth.push_back(segs(s.cwnd) - last);
      mid.push_back(t - epoch - 0.5);
      last = segs(s.cwnd);
      next += 1;
    }
  }
  ASSERT_GT(growth.size(), 10u);
  int concave = 0, convex = 0;
  for (std::size_t i = 1; i < growth.size(); ++i) {
    if (mid[i] < k - 1) {
      EXPECT_LT(growth[i], growth[i - 1]) << "concave: growth slows towards W_max at " << mid[i];
      ++concave;
    } else if (mid[i - 1] > k + 1) {
      EXPECT_GT(growth[i], growth[i - 1]) << "convex: growth speeds up past W_max at " << mid[i];
      ++convex;
    }
    EXPECT_GE(growth[i], 0);
  }
  EXPECT_GE(concave, 5);
  EXPECT_GE(convex, 5);
  // Slowest around K.
  const auto slowest = std::min_element(growth.begin(), growth.end()) - growth.begin();
  EXPECT_NEAR(mid[static_cast<std::size_t>(slowest)], k, 1.0);
}

TEST(Cubic, FastConvergenceLowersWMax) {
  CcState s = cubic_after_loss(100);
  ASSERT_EQ(s.w_max, 100 * kMss);
  // Grow a little, then lose again below the old W_max.
  double t = 0;
  while (s.cwnd < 80 * kMss) t = round_trip(s, t, 0.1);
  const std::uint32_t at_loss = s.cwnd;
  ASSERT_LT(at_loss, s.w_max);
  cc_on_congestion(s, at_loss, at(t));
  // RFC 9438 §4.7: W_max = cwnd * (1 + beta) / 2, below the cwnd at loss.
  EXPECT_NEAR(s.w_max, at_loss * (1 + kBeta) / 2, 1.0);
  EXPECT_LT(s.w_max, at_loss);
  EXPECT_NEAR(s.cwnd, at_loss * kBeta, 1.0);
  // And K shrinks with it: cbrt((W_max - cwnd_epoch) / C).
  cc_on_ack(s, kMss, true, dur(0.1), at(t + 0.01));
  EXPECT_NEAR(s.k, std::cbrt((segs(s.w_max) - segs(s.cwnd_epoch)) / kC), 1e-9);
  EXPECT_LT(s.k, std::cbrt(segs(at_loss) * (1 - kBeta) / kC));
  // A loss above W_max just records cwnd.
  CcState u = cubic_after_loss(100);
  t = 0;
  while (u.cwnd <= 101 * kMss) t = round_trip(u, t, 0.1);
  const std::uint32_t high = u.cwnd;
  cc_on_congestion(u, high, at(t));
  EXPECT_EQ(u.w_max, high);
}

TEST(Cubic, RenoFriendlyRegionWinsAtSmallRttAndWindow) {
  // W_max = 20 segments, RTT 1 ms: the cubic curve hardly moves in a few
  // milliseconds while Reno would add alpha_cubic segments per RTT.
  CcState s = cubic_after_loss(20);
  const double rtt = 0.001;
  // The RFC 9438 §4.3 estimate, kept here per ACK: W_est += alpha *
  // segments_acked / cwnd, alpha = 1 once W_est >= cwnd_prior (20).
  double w_est = segs(s.cwnd);
  double t = 0;
  int rounds = 0;
  while (w_est < 20) {
    const std::uint32_t window = s.cwnd;
    const std::uint32_t n = window / kMss;
    for (std::uint32_t i = 0; i < n; ++i) {
      const double alpha = w_est >= 20 ? 1.0 : kAlpha;
      w_est += alpha * 1.0 / segs(s.cwnd);
      cc_on_ack(s, kMss, true, dur(rtt), at(t + rtt * (i + 1) / n));
      EXPECT_NEAR(segs(s.cwnd), w_est, 0.002);
      EXPECT_LT(w_cubic(s, t + rtt - static_cast<double>(s.epoch_start_ns) * 1e-9), w_est + 1e-9);
    }
    t += rtt;
    ++rounds;
    ASSERT_LT(rounds, 100);
  }
  // About alpha_cubic = 0.53 segments per RTT: 6 / 0.53 ~ 11 round trips.
  EXPECT_NEAR(rounds, 6 / kAlpha, 2);
  // Past cwnd_prior, one segment per RTT, like Reno.
  const double before = segs(s.cwnd);
  for (int r = 0; r < 10; ++r) t = round_trip(s, t, rtt);
  EXPECT_NEAR(segs(s.cwnd) - before, 10, 0.5);
  // The cubic curve alone would have given almost nothing.
  EXPECT_LT(w_cubic(s, t - static_cast<double>(s.epoch_start_ns) * 1e-9), segs(s.cwnd) - 10);
}

TEST(Cubic, NoGrowthWhenNotCwndLimited) {
  CcState s = cubic_after_loss(1000);
  const double rtt = 0.1;
  double t = 0;
  for (int r = 0; r < 10; ++r) t = round_trip(s, t, rtt);  // one second in
  const std::uint32_t held = s.cwnd;
  const std::uint32_t per_round_before = [&] {
    CcState copy = s;
    const std::uint32_t w = copy.cwnd;
    round_trip(copy, t, rtt);
    return copy.cwnd - w;
  }();
  // Ten seconds of application-limited ACKs: the window does not move...
  for (int r = 0; r < 100; ++r) t = round_trip(s, t, rtt, /*cwnd_limited=*/false);
  EXPECT_EQ(s.cwnd, held);
  // ...and the pause is not counted in t (RFC 9438 §5.8): growth resumes
  // along the curve where it stopped, not 10 s further on (W_cubic(11 s)
  // is above W_max).
  const std::uint32_t w = s.cwnd;
  t = round_trip(s, t, rtt);
  EXPECT_NEAR(static_cast<double>(s.cwnd - w), per_round_before, per_round_before * 0.1 + 2);
  EXPECT_LT(s.cwnd, 1000 * kMss);
  // The same in slow start.
  CcState ss;
  cc_init(ss, CcAlgorithm::kCubic, kMss, 10 * kMss);
  round_trip(ss, 0, rtt, false);
  EXPECT_EQ(ss.cwnd, 10 * kMss);
}

TEST(Cubic, TimeoutThenConvexFromTheNewStage) {
  CcState s = cubic_after_loss(100);
  double t = round_trip(s, 0, 0.1);
  cc_on_rto(s, 70 * kMss, at(t));
  EXPECT_EQ(s.cwnd, kMss);
  EXPECT_EQ(s.ssthresh, static_cast<std::uint32_t>(70 * kMss * kBeta));  // RFC 9438 §4.8
  // Slow start up to ssthresh...
  while (s.cwnd < s.ssthresh) t = round_trip(s, t, 0.1);
  // ...then RFC 9438 §4.8: "K is set to 0, and W_max is set to the
  // congestion window size at the beginning of the current congestion
  // avoidance stage".
  t = round_trip(s, t, 0.1);
  ASSERT_TRUE(s.epoch_valid);
  EXPECT_EQ(s.k, 0);
  EXPECT_EQ(s.w_max, s.cwnd_epoch);
  EXPECT_GE(s.cwnd, s.cwnd_epoch);
  // Another timeout at once: ssthresh from the flight, not the 1-SMSS cwnd.
  cc_on_rto(s, 40 * kMss, at(t));
  cc_on_rto(s, 40 * kMss, at(t + 1));
  EXPECT_EQ(s.ssthresh, static_cast<std::uint32_t>(40 * kMss * kBeta));
}

TEST(Cubic, RecoveryExitStartsANewEpoch) {
  CcState s = cubic_after_loss(100);
  double t = 0;
  for (int r = 0; r < 5; ++r) t = round_trip(s, t, 0.1);
  const std::int64_t first = s.epoch_start_ns;
  cc_on_congestion(s, s.cwnd, at(t));
  EXPECT_FALSE(s.epoch_valid);
  cc_on_recovery_exit(s, 200 * kMss, at(t + 0.2));
  EXPECT_EQ(s.cwnd, s.ssthresh);
  cc_on_ack(s, kMss, true, dur(0.1), at(t + 0.3));
  EXPECT_TRUE(s.epoch_valid);
  EXPECT_GT(s.epoch_start_ns, first);
  EXPECT_EQ(s.epoch_start_ns, ns_of(at(t + 0.3)));
}

}  // namespace
}  // namespace ustack
