// Congestion control dispatch (congestion.h) and what NewReno and CUBIC
// share: slow start, recovery exit, restart after idle.
#include "proto/tcp/congestion.h"

#include <algorithm>

#include "proto/tcp/cc_algorithms.h"

namespace ustack {

const char* to_string(CcAlgorithm a) {
  switch (a) {
    case CcAlgorithm::kNewReno:
      return "newreno";
    case CcAlgorithm::kCubic:
      return "cubic";
  }
  return "?";
}

bool parse_cc(std::string_view s, CcAlgorithm* out) {
  if (s == "newreno" || s == "reno") {
    *out = CcAlgorithm::kNewReno;
    return true;
  }
  if (s == "cubic") {
    *out = CcAlgorithm::kCubic;
    return true;
  }
  return false;
}

void cc_init(CcState& s, CcAlgorithm algo, std::uint32_t mss, std::uint32_t initial_window_bytes) {
  s = CcState{};
  s.algo = algo;
  s.mss = std::max<std::uint32_t>(mss, 1);
  s.cwnd = std::clamp(initial_window_bytes, s.mss, kCcMaxWindow);
}

namespace cc {

void slow_start(CcState& s, std::uint32_t acked) {
  // RFC 5681 §3.1 (eq. 2): cwnd += min(N, SMSS) per ACK, N the bytes it
  // acknowledges. This is RFC 3465's byte counting with L = 1 SMSS: an ACK
  // for less than a segment (a receiver splitting its ACKs) grows cwnd by
  // only what it covers, and a stretch ACK by at most one SMSS (RFC 3465's
  // L = 2 SMSS "is not allowed as part of the standard", RFC 5681 §3.1).
  s.cwnd = std::min(s.cwnd + std::min(acked, s.mss), kCcMaxWindow);
}

}  // namespace cc

void cc_on_ack(CcState& s, std::uint32_t acked, bool cwnd_limited, Duration srtt, Instant now) {
  if (!cwnd_limited) {
    // RFC 7661 §4.3: cwnd is not validated by an application-limited flight,
    // so it does not grow. For CUBIC, RFC 9438 §5.8: t "MUST NOT include"
    // such periods; the next cwnd-limited ACK starts a new epoch from the
    // present cwnd. K is recomputed from W_max and that cwnd, which puts the
    // new epoch on the same curve (W_cubic(0) = cwnd_epoch), so the pause
    // only shifts the curve in time.
    s.epoch_valid = false;
    return;
  }
  if (s.cwnd < s.ssthresh) {
    cc::slow_start(s, acked);
    return;
  }
  switch (s.algo) {
    case CcAlgorithm::kNewReno:
      cc::newreno_on_ack(s, acked);
      return;
    case CcAlgorithm::kCubic:
      cc::cubic_on_ack(s, acked, srtt, now);
      return;
  }
}

void cc_on_congestion(CcState& s, std::uint32_t flight, Instant) {
  s.bytes_acked = 0;
  switch (s.algo) {
    case CcAlgorithm::kNewReno:
      cc::newreno_on_congestion(s, flight);
      return;
    case CcAlgorithm::kCubic:
      cc::cubic_on_congestion(s);
      return;
  }
}

void cc_on_rto(CcState& s, std::uint32_t flight, Instant) {
  s.bytes_acked = 0;
  switch (s.algo) {
    case CcAlgorithm::kNewReno:
      cc::newreno_on_rto(s, flight);
      return;
    case CcAlgorithm::kCubic:
      cc::cubic_on_rto(s, flight);
      return;
  }
}

void cc_on_recovery_exit(CcState& s, std::uint32_t flight, Instant) {
  // RFC 6582 §3.2 step 3 (full acknowledgment), the first option: "Set cwnd
  // to min (ssthresh, max(FlightSize, SMSS) + SMSS)", which avoids a burst
  // when little is in flight. RFC 6675 §5 leaves cwnd at ssthresh; the min
  // is no larger than that.
  s.cwnd = std::min(s.ssthresh, std::max(flight, s.mss) + s.mss);
  s.bytes_acked = 0;
  // RFC 9438 §4.2: t counts from "the beginning of the current congestion
  // avoidance stage", which begins now; the epoch starts at its first ACK
  // (cwnd may be below ssthresh and slow start first).
  s.epoch_valid = false;
}

void cc_after_idle(CcState& s, std::uint32_t restart_window) {
  // RFC 5681 §4.1: "cwnd is reduced to RW before transmission begins",
  // RW = min(IW, cwnd). For CUBIC the idle time must not count in t
  // (RFC 9438 §5.8): a new epoch starts at the next ACK.
  s.cwnd = std::max(std::min(s.cwnd, restart_window), s.mss);
  s.bytes_acked = 0;
  s.epoch_valid = false;
}

void cc_set_mss(CcState& s, std::uint32_t mss) {
  s.mss = std::max<std::uint32_t>(mss, 1);
  // At least one segment may always be sent, and ssthresh never falls below
  // two (RFC 5681 eq. 4).
  s.cwnd = std::max(s.cwnd, s.mss);
  if (s.ssthresh < 2 * s.mss) s.ssthresh = 2 * s.mss;
}

}  // namespace ustack
