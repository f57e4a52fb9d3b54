// Pluggable TCP congestion control: NewReno (RFC 5681, RFC 3465, RFC 6582)
// and CUBIC (RFC 9438), chosen per connection.
//
// The state lives inline in the connection (CcState, at most 64 bytes, no
// allocation) and the TCP code calls the cc_* functions at the events
// below; each dispatches on the algorithm with a switch (no virtual call).
// Windows are in bytes. The TCP code keeps what is about loss recovery
// itself (dupacks, recover, NewReno's window inflation by 3 SMSS and one
// SMSS per further duplicate ACK, partial-ACK deflation): these functions
// only decide cwnd and ssthresh at the edges of recovery and grow cwnd
// outside it.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/instant.h"

namespace ustack {

enum class CcAlgorithm : std::uint8_t { kNewReno, kCubic };
const char* to_string(CcAlgorithm a);  // "newreno", "cubic"
// Accepts "newreno" (or "reno") and "cubic"; false for anything else.
bool parse_cc(std::string_view s, CcAlgorithm* out);

// A cwnd above this is of no use (the largest window a peer can offer is
// 2^30 bytes, RFC 7323 §2.3), and keeps the arithmetic inside 32 bits.
inline constexpr std::uint32_t kCcMaxWindow = 1u << 30;

struct CcState {
  // CUBIC (RFC 9438 §4): t_epoch, K (seconds) and the Reno-friendly
  // estimate W_est (bytes; fractional, so a double).
  std::int64_t epoch_start_ns = 0;
  double k = 0;
  double w_est = 0;
  // Common.
  std::uint32_t cwnd = 0;
  std::uint32_t ssthresh = 0xffffffffu;
  std::uint32_t mss = 536;
  std::uint32_t bytes_acked = 0;  // byte counting accumulator (RFC 3465 §2.1)
  // CUBIC, in bytes: W_max, cwnd at the start of the congestion avoidance
  // stage (cwnd_epoch), cwnd when ssthresh was last set (cwnd_prior, §4.3),
  // and the remainder of the per-ACK (target - cwnd) * acked / cwnd division.
  std::uint32_t w_max = 0;
  std::uint32_t cwnd_epoch = 0;
  std::uint32_t cwnd_prior = 0;
  std::uint32_t cubic_rem = 0;
  CcAlgorithm algo = CcAlgorithm::kNewReno;
  bool epoch_valid = false;  // false: the next ACK in congestion avoidance starts an epoch
  bool after_rto = false;    // the next epoch is the first after a timeout (§4.8)
};
static_assert(sizeof(CcState) <= 64, "CcState lives inline in every connection");

// `initial_window_bytes`: RFC 6928's min(10 * MSS, max(2 * MSS, 14600)) is
// cc_initial_window(mss, 10). ssthresh starts "arbitrarily high" (RFC 5681
// §3.1).
void cc_init(CcState& s, CcAlgorithm algo, std::uint32_t mss, std::uint32_t initial_window_bytes);
inline std::uint32_t cc_initial_window(std::uint32_t mss, std::uint32_t segments) {
  const std::uint32_t cap = 2 * mss > 14600u ? 2 * mss : 14600u;
  return segments * mss < cap ? segments * mss : cap;
}

// New data acknowledged outside loss recovery: `acked` bytes. When not
// `cwnd_limited` (the sender had less in flight than cwnd allowed, because
// the application or the peer's window held it back) cwnd does not grow
// (RFC 7661 §4.3; RFC 9438 §5.8). `srtt` may be 0 before a sample.
void cc_on_ack(CcState& s, std::uint32_t acked, bool cwnd_limited, Duration srtt, Instant now);
// Loss detected by duplicate ACKs or SACK, on entering fast recovery; call
// once per recovery episode. Sets ssthresh -- NewReno max(flight / 2,
// 2 * SMSS) (RFC 5681 eq. 4); CUBIC max(cwnd * 0.7, 2 * SMSS) after fast
// convergence lowers W_max (RFC 9438 §4.6, §4.7) -- and cwnd = ssthresh
// (RFC 6675 §5 step 4.2). NewReno's ssthresh + 3 * SMSS inflation and its
// growth per further duplicate ACK (RFC 6582 §3.2 steps 2 and 4) are the
// caller's to add on top, if it wants them. `flight` = SND.MAX - SND.UNA.
void cc_on_congestion(CcState& s, std::uint32_t flight, Instant now);
// Retransmission timeout: ssthresh from the flight (NewReno flight / 2,
// CUBIC flight * 0.7, RFC 9438 §4.8; at least 2 SMSS), cwnd = 1 SMSS (the
// loss window, RFC 5681 §3.1). Call on every expiry; pass the flight of
// the data outstanding when the timer fired (SND.MAX - SND.UNA), so that
// backed-off repeats keep ssthresh where the first put it.
void cc_on_rto(CcState& s, std::uint32_t flight, Instant now);
// Fast recovery ended on a full ACK: cwnd = min(ssthresh, max(flight, SMSS)
// + SMSS) (RFC 6582 §3.2 step 3, first option). `flight` after the ACK.
void cc_on_recovery_exit(CcState& s, std::uint32_t flight, Instant now);
// Sending again after an idle period longer than the RTO (RFC 5681 §4.1):
// cwnd = min(cwnd, restart_window).
void cc_after_idle(CcState& s, std::uint32_t restart_window);
// The MSS changed (known after the handshake, or a smaller path MTU).
void cc_set_mss(CcState& s, std::uint32_t mss);

}  // namespace ustack
