// The congestion control algorithms behind congestion.h's dispatch; only
// congestion.cc and the algorithms' own files include this.
#pragma once

#include <cstdint>

#include "core/instant.h"
#include "proto/tcp/congestion.h"

namespace ustack::cc {

// Shared by both: RFC 5681 §3.1 slow start with RFC 3465 byte counting.
void slow_start(CcState& s, std::uint32_t acked);

// NewReno (cc_newreno.cc).
void newreno_on_ack(CcState& s, std::uint32_t acked);
void newreno_on_congestion(CcState& s, std::uint32_t flight);
void newreno_on_rto(CcState& s, std::uint32_t flight);

// CUBIC (cc_cubic.cc).
inline constexpr double kCubicC = 0.4;     // RFC 9438 §4.2
inline constexpr double kCubicBeta = 0.7;  // RFC 9438 §4.6
// RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta).
inline constexpr double kCubicAlpha = 3.0 * (1.0 - kCubicBeta) / (1.0 + kCubicBeta);
void cubic_on_ack(CcState& s, std::uint32_t acked, Duration srtt, Instant now);
void cubic_on_congestion(CcState& s);
void cubic_on_rto(CcState& s, std::uint32_t flight);
void cubic_start_epoch(CcState& s, Instant now);

}  // namespace ustack::cc
