// SYN cookies (syn_cookie.h; RFC 4987 §3.6).
#include "proto/tcp/syn_cookie.h"

#include <cstring>

namespace ustack {
namespace {

constexpr std::uint32_t kHashBits = 24;
constexpr std::uint32_t kHashMask = (1u << kHashBits) - 1;
constexpr std::uint32_t kMssShift = kHashBits;  // bits 24-26
constexpr std::uint32_t kCounterShift = 27;     // bits 27-31
constexpr std::uint32_t kCounterMask = (1u << 5) - 1;

// The keyed hash of the connection attempt. Fixed layout (no padding
// bytes reach the hash): both addresses, the family, both ports, the
// peer's ISN, the period count and the MSS index.
std::uint32_t cookie_hash(const SipKey& key, const ConnKey& c, std::uint32_t peer_isn,
                          std::uint64_t counter, std::uint32_t mss_index) {
  unsigned char buf[16 + 16 + 1 + 2 + 2 + 4 + 8 + 1];
  unsigned char* p = buf;
  std::memcpy(p, c.local.b.data(), 16);
  p += 16;
  std::memcpy(p, c.remote.b.data(), 16);
  p += 16;
  *p++ = static_cast<unsigned char>(c.local.family);
  std::memcpy(p, &c.local_port, 2);
  p += 2;
  std::memcpy(p, &c.remote_port, 2);
  p += 2;
  std::memcpy(p, &peer_isn, 4);
  p += 4;
  std::memcpy(p, &counter, 8);
  p += 8;
  *p = static_cast<unsigned char>(mss_index);
  return static_cast<std::uint32_t>(siphash24(key, buf, sizeof buf)) & kHashMask;
}

std::uint32_t mss_index(std::uint16_t peer_mss) {
  std::uint32_t i = 0;
  for (std::uint32_t j = 1; j < kSynCookieMss.size(); ++j) {
    if (kSynCookieMss[j] <= peer_mss) i = j;
  }
  return i;
}

std::uint32_t encode(const SipKey& key, const ConnKey& conn, std::uint32_t peer_isn,
                     std::uint32_t index, std::uint64_t counter) {
  return (static_cast<std::uint32_t>(counter & kCounterMask) << kCounterShift) |
         (index << kMssShift) | cookie_hash(key, conn, peer_isn, counter, index);
}

}  // namespace

std::uint32_t syn_cookie_make(const SipKey& key, const ConnKey& conn, std::uint32_t peer_isn,
                              std::uint16_t peer_mss, std::uint64_t now_seconds) {
  return encode(key, conn, peer_isn, mss_index(peer_mss), now_seconds / kSynCookiePeriodSeconds);
}

std::uint16_t syn_cookie_check(const SipKey& key, const ConnKey& conn, std::uint32_t peer_isn,
                               std::uint32_t cookie, std::uint64_t now_seconds) {
  const std::uint64_t now = now_seconds / kSynCookiePeriodSeconds;
  const std::uint32_t index = (cookie >> kMssShift) & 7u;
  const std::uint32_t t5 = cookie >> kCounterShift;
  // Made in this period or the one before (a cookie lives 64 to 128 s),
  // told apart by the 5 counter bits; the hash covers the whole count, so a
  // cookie from 32 periods ago does not pass.
  for (std::uint64_t back = 0; back <= 1 && back <= now; ++back) {
    const std::uint64_t counter = now - back;
    if ((counter & kCounterMask) != t5) continue;
    if (encode(key, conn, peer_isn, index, counter) == cookie) return kSynCookieMss[index];
  }
  return 0;
}

std::uint32_t syn_cookie_tsval(std::uint32_t ts_now, bool sack,
                               std::optional<std::uint8_t> wscale) {
  constexpr std::uint32_t kLow = (1u << kSynCookieTsBits) - 1;
  const std::uint32_t ws = wscale ? (*wscale > 14 ? 14u : *wscale) : 15u;
  const std::uint32_t opts = ws | (sack ? 1u << 4 : 0u);
  std::uint32_t ts = (ts_now & ~kLow) | opts;
  if (opts > (ts_now & kLow)) ts -= 1u << kSynCookieTsBits;  // not ahead of the clock
  return ts;
}

void syn_cookie_decode_ts(std::uint32_t tsecr, bool* sack, std::optional<std::uint8_t>* wscale) {
  const std::uint32_t ws = tsecr & 0xfu;
  *sack = (tsecr & (1u << 4)) != 0;
  if (ws == 15) {
    *wscale = std::nullopt;
  } else {
    *wscale = static_cast<std::uint8_t>(ws > 14 ? 14 : ws);
  }
}

}  // namespace ustack
