// CUBIC (RFC 9438): the window grows as a cubic function of the time since
// the last congestion event, W_cubic(t) = C * (t - K)^3 + W_max (§4.2),
// with a Reno-friendly floor (§4.3); multiplicative decrease by beta_cubic
// = 0.7 (§4.6) with fast convergence (§4.7).
//
// RFC 9438 counts windows in segments and time in seconds; CcState keeps
// bytes, so a segment count below is bytes / SMSS. Doubles only where the
// curve needs them: one cbrt per epoch, a few multiplies per ACK.
#include <algorithm>
#include <cmath>

#include "proto/tcp/cc_algorithms.h"

namespace ustack::cc {
namespace {

double seconds(std::int64_t ns) {
  return static_cast<double>(ns) * 1e-9;
}

// W_cubic(t) in bytes (RFC 9438 §4.2, Figure 1).
double w_cubic(const CcState& s, double t) {
  const double d = t - s.k;
  return kCubicC * d * d * d * static_cast<double>(s.mss) + static_cast<double>(s.w_max);
}

std::uint32_t to_window(double bytes) {
  if (!(bytes > 0)) return 0;
  return bytes >= static_cast<double>(kCcMaxWindow) ? kCcMaxWindow
                                                    : static_cast<std::uint32_t>(bytes);
}

// ssthresh = max(base * beta_cubic, 2 * SMSS) (RFC 9438 §4.6).
std::uint32_t reduced(const CcState& s, std::uint32_t base) {
  const auto r = static_cast<std::uint32_t>(static_cast<double>(base) * kCubicBeta);
  return std::max(r, 2 * s.mss);
}

}  // namespace

void cubic_start_epoch(CcState& s, Instant now) {
  // RFC 9438 §4.2: t_epoch is the start of the congestion avoidance stage
  // and cwnd_epoch the cwnd then; K = cbrt((W_max - cwnd_epoch) / C), so
  // that W_cubic(0) = cwnd_epoch. After a congestion event cwnd_epoch =
  // beta * W_max and K = cbrt(W_max * (1 - beta) / C). Above W_max (an
  // epoch restarted after an application-limited pause in the convex
  // region) K is negative: the same curve, continued.
  s.epoch_start_ns = ns_of(now);
  s.cwnd_epoch = s.cwnd;
  s.cubic_rem = 0;
  // §4.3: "W_est is set equal to cwnd_epoch at the start of the congestion
  // avoidance stage."
  s.w_est = static_cast<double>(s.cwnd);
  if (s.after_rto || s.w_max == 0) {
    // §4.8: in the first congestion avoidance stage after a timeout, "K is
    // set to 0, and W_max is set to the congestion window size at the
    // beginning of the current congestion avoidance stage"; likewise when
    // no congestion event has set W_max yet (§4.10).
    s.w_max = s.cwnd;
    s.k = 0;
    s.after_rto = false;
  } else {
    const double segs =
        (static_cast<double>(s.w_max) - static_cast<double>(s.cwnd)) / static_cast<double>(s.mss);
    s.k = std::cbrt(segs / kCubicC);
  }
  s.epoch_valid = true;
}

void cubic_on_ack(CcState& s, std::uint32_t acked, Duration srtt, Instant now) {
  if (!s.epoch_valid) cubic_start_epoch(s, now);
  const double t = seconds(ns_of(now) - s.epoch_start_ns);
  const double cwnd = static_cast<double>(s.cwnd);
  // §4.3, Reno-friendly region: W_est += alpha_cubic * segments_acked /
  // cwnd (segments), alpha_cubic = 3 * (1 - beta) / (1 + beta) until W_est
  // reaches cwnd_prior, 1 from then on ("the same congestion window
  // increment rate as Reno"). In bytes: alpha * acked * SMSS / cwnd.
  const double alpha = s.w_est >= static_cast<double>(s.cwnd_prior) ? 1.0 : kCubicAlpha;
  s.w_est += alpha * static_cast<double>(acked) * static_cast<double>(s.mss) / cwnd;
  if (w_cubic(s, t) < s.w_est) {
    // "If W_cubic(t) is less than W_est, then CUBIC is in the Reno-friendly
    // region and cwnd SHOULD be set to W_est at each reception of a new ACK."
    s.cwnd = std::max(s.cwnd, to_window(s.w_est));
    return;
  }
  // §4.4 (concave region, cwnd < W_max) and §4.5 (convex, cwnd >= W_max)
  // grow alike: target = W_cubic(t + RTT) kept within [cwnd, 1.5 * cwnd],
  // and cwnd += (target - cwnd) / cwnd per segment acknowledged. Counted in
  // bytes, (target - cwnd) * acked / cwnd, so an ACK for two segments (a
  // delayed ACK) grows cwnd as two ACKs would; the remainder of the division
  // carries to the next ACK.
  double target = w_cubic(s, t + seconds(ns_of(srtt)));
  target = std::clamp(target, cwnd, 1.5 * cwnd);
  const std::uint64_t num =
      static_cast<std::uint64_t>(to_window(target) - s.cwnd) * acked + s.cubic_rem;
  const std::uint64_t inc = num / s.cwnd;
  s.cubic_rem = static_cast<std::uint32_t>(num % s.cwnd);
  s.cwnd = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(std::uint64_t{s.cwnd} + inc, kCcMaxWindow));
}

void cubic_on_congestion(CcState& s) {
  // §4.7 fast convergence, before the reduction: a congestion event below
  // the last W_max means the available bandwidth shrank; release more of it.
  if (s.cwnd < s.w_max) {
    s.w_max = static_cast<std::uint32_t>(static_cast<double>(s.cwnd) * (1.0 + kCubicBeta) / 2.0);
  } else {
    s.w_max = s.cwnd;
  }
  // §4.6: "cwnd_prior = cwnd" for the Reno-friendly region; ssthresh =
  // flight_size * beta_cubic, or from cwnd: "Some implementations of CUBIC
  // currently use cwnd instead of flight_size", which needs cwnd not to grow
  // while the flight is smaller (cc_on_ack's cwnd_limited, RFC 7661). Using
  // cwnd makes W_max and the reduction agree. Both at least 2 SMSS.
  s.cwnd_prior = s.cwnd;
  s.ssthresh = reduced(s, s.cwnd);
  s.cwnd = s.ssthresh;
  s.epoch_valid = false;
  s.after_rto = false;
}

void cubic_on_rto(CcState& s, std::uint32_t flight) {
  // §4.8: "CUBIC follows Reno to reduce cwnd [RFC5681] but sets ssthresh
  // using beta_cubic (same as in Section 4.6)". From the flight, as §4.6's
  // formula has it: a second timeout of the same data (cwnd already 1 SMSS)
  // then keeps ssthresh where the first put it, as RFC 5681's eq. 4 does.
  // W_max is set when the next congestion avoidance stage begins
  // (cubic_start_epoch); cwnd_prior is the cwnd before the first timeout.
  if (!s.after_rto) s.cwnd_prior = s.cwnd;
  s.ssthresh = reduced(s, flight);
  s.cwnd = s.mss;
  s.epoch_valid = false;
  s.after_rto = true;
}

}  // namespace ustack::cc
