// SYN cookies (RFC 4987 §3.6, after D. J. Bernstein): when a listener's
// queue of half-open connections is full, the SYN,ACK's initial sequence
// number carries what the connection needs, so no state is kept until the
// handshake's final ACK comes back with the cookie (ack - 1).
//
// The ISS is, from the top bit down:
//   5 bits  t mod 32, t the number of 64-second periods (now_seconds / 64)
//   3 bits  an index into kSynCookieMss: the largest entry <= the peer's MSS
//  24 bits  SipHash-2-4 under a secret key of the 4-tuple (both addresses
//           and ports), the peer's ISN, t (the whole count, not mod 32) and
//           the MSS index
// so a cookie cannot be forged without the key, is tied to one connection
// attempt, and expires: it is accepted in the period it was made and the
// next one (64 to 128 seconds).
//
// What else the SYN negotiated (window scale, SACK-permitted) travels in
// the low bits of our timestamp (as Linux does): the peer echoes it in
// TSecr. Without timestamps there is nowhere to keep them, and the SYN,ACK
// must offer neither.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "core/siphash.h"
#include "proto/tcp/conn_key.h"

namespace ustack {

// MSS values a cookie can carry (common path MTUs: 576-byte minimum,
// IPv6 tunnels and PPPoE, Ethernet's 1460, jumbo frames).
inline constexpr std::array<std::uint16_t, 8> kSynCookieMss = {536,  1220, 1360, 1440,
                                                               1452, 1460, 4312, 8960};
inline constexpr std::uint64_t kSynCookiePeriodSeconds = 64;

// The ISS for the SYN,ACK. `key` is the listener side's view of the
// connection (local = our address and port). A peer MSS below 536 (or 0,
// no option: RFC 9293 §3.7.1's default) is encoded as 536.
std::uint32_t syn_cookie_make(const SipKey& key, const ConnKey& conn, std::uint32_t peer_isn,
                              std::uint16_t peer_mss, std::uint64_t now_seconds);

// Checks the cookie of the handshake's final ACK: `cookie` = SEG.ACK - 1,
// `peer_isn` = SEG.SEQ - 1. The MSS it carries, or 0 when it was not made
// with this key for this connection in this period or the previous one.
std::uint16_t syn_cookie_check(const SipKey& key, const ConnKey& conn, std::uint32_t peer_isn,
                               std::uint32_t cookie, std::uint64_t now_seconds);

// The options in the TSval of our SYN,ACK: bits 0-3 the peer's window
// scale shift (0..14; 15: no window scale option), bit 4 SACK-permitted,
// bit 5 zero. The rest is ts_now's, and the result is never after ts_now
// (64 is taken off when the low bits would put it ahead), so the peer's
// PAWS (RFC 7323 §5) never sees our clock go back on the next segment.
// A shift above 14 is sent as 14 (RFC 7323 §2.3).
inline constexpr std::uint32_t kSynCookieTsBits = 6;
std::uint32_t syn_cookie_tsval(std::uint32_t ts_now, bool sack, std::optional<std::uint8_t> wscale);
// Reads them back from the TSecr of the final ACK.
void syn_cookie_decode_ts(std::uint32_t tsecr, bool* sack, std::optional<std::uint8_t>* wscale);

}  // namespace ustack
