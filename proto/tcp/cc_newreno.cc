// NewReno's window arithmetic: RFC 5681 congestion avoidance with RFC 3465
// byte counting, and ssthresh after a loss (RFC 5681 eq. 4). Fast
// recovery's own bookkeeping (RFC 6582) is in the TCP input code.
#include <algorithm>

#include "proto/tcp/cc_algorithms.h"

namespace ustack::cc {

void newreno_on_ack(CcState& s, std::uint32_t acked) {
  // Congestion avoidance, RFC 3465 §2.1 ("Appropriate Byte Counting"): once
  // the bytes acknowledged since the last increase reach cwnd, cwnd grows by
  // one SMSS -- about one segment per RTT (RFC 5681 §3.1 eq. 3), however the
  // receiver spaces its ACKs.
  s.bytes_acked += acked;
  if (s.bytes_acked >= s.cwnd) {
    s.bytes_acked -= s.cwnd;
    s.cwnd = std::min(s.cwnd + s.mss, kCcMaxWindow);
  }
}

void newreno_on_congestion(CcState& s, std::uint32_t flight) {
  // RFC 5681 §3.2 step 2 (eq. 4): ssthresh = max(FlightSize / 2, 2 * SMSS).
  s.ssthresh = std::max(flight / 2, 2 * s.mss);
  s.cwnd = s.ssthresh;
}

void newreno_on_rto(CcState& s, std::uint32_t flight) {
  // RFC 5681 §3.1: eq. 4 again, and "cwnd MUST be set to no more than the
  // loss window, LW, which equals 1 full-sized segment".
  s.ssthresh = std::max(flight / 2, 2 * s.mss);
  s.cwnd = s.mss;
}

}  // namespace ustack::cc
