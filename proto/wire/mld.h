// Multicast Listener Discovery version 2 (RFC 3810 §5) messages.
//
//  Query (130)                          Version 2 Report (143)
//   | type | code | checksum      |      | type | code | checksum      |
//   | max resp code | reserved     |      | reserved | nr of records   |
//   | multicast address (16)       |      | records ...                |
//   | S|QRV | QQIC | nr of sources |
//   | sources (16 each) ...        |      record: | type | aux len | nr of sources |
//                                                 | multicast address (16) | ...
//
// A query of 24 bytes is MLDv1's (RFC 2710 §3); one of 28 or more is
// MLDv2's, and its sources must fit (§5.1.10). A host answers both the
// same way here (it never falls back to sending MLDv1 reports).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "proto/ip_addr.h"
#include "proto/wire/bytes.h"
#include "proto/wire/icmpv6.h"

namespace ustack::wire {

inline constexpr std::uint8_t kIcmpv6MldQuery = 130;
inline constexpr std::uint8_t kIcmpv6MldV2Report = 143;

// Multicast Address Record types (§5.2.12).
inline constexpr std::uint8_t kMldModeIsExclude = 2;    // current state
inline constexpr std::uint8_t kMldChangeToInclude = 3;  // state change: leave
inline constexpr std::uint8_t kMldChangeToExclude = 4;  // state change: join

// ff02::16, all MLDv2-capable routers (§5.2.14).
inline constexpr Ipv6Addr kAllMldRouters = {
    {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16}};

struct MldQuery {
  static constexpr std::size_t kV1Len = 24;
  static constexpr std::size_t kV2Len = 28;

  std::uint16_t max_resp_code = 0;
  Ipv6Addr group;  // ::: a general query
  bool v2 = false;

  bool general() const { return group.is_unspecified(); }
  // §5.1.3: Maximum Response Delay in milliseconds; from 32768 on the code
  // is a floating-point value (mantissa 12 bits, exponent 3 bits).
  std::uint32_t max_resp_delay_ms() const {
    if (max_resp_code < 32768) return max_resp_code;
    const std::uint32_t mant = max_resp_code & 0x0fff;
    const std::uint32_t exp = (max_resp_code >> 12) & 0x7;
    return (mant | 0x1000) << (exp + 3);
  }

  // `message` is the ICMPv6 message (type 130), checksum verified.
  static std::optional<MldQuery> parse(std::span<const std::byte> message) {
    if (message.size() < kV1Len) return std::nullopt;
    const std::byte* p = message.data();
    if (load_u8(p) != kIcmpv6MldQuery) return std::nullopt;
    MldQuery q;
    q.max_resp_code = load_be16(p + 4);
    q.group = Ipv6Addr::from_bytes(p + 8);
    // A query names a multicast group or none (§5.1.5).
    if (!q.general() && !q.group.is_multicast()) return std::nullopt;
    if (message.size() >= kV2Len) {
      const std::size_t sources = load_be16(p + 26);
      if (message.size() < kV2Len + 16 * sources) return std::nullopt;  // §5.1.10
      q.v2 = true;
    } else if (message.size() != kV1Len) {
      return std::nullopt;
    }
    return q;
  }
};

// A Version 2 Multicast Listener Report with one record of `type` and no
// sources for each group (§5.2): what a host in EXCLUDE mode for every
// source of every group says.
struct MldReport {
  static constexpr std::size_t kHeaderLen = 8;
  static constexpr std::size_t kRecordLen = 20;

  std::uint8_t record_type = kMldModeIsExclude;
  std::span<const Ipv6Addr> groups;

  std::size_t len() const { return kHeaderLen + kRecordLen * groups.size(); }

  bool emit(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst) const {
    const std::size_t n = len();
    if (out.size() < n || groups.size() > 0xffff) return false;
    std::byte* p = out.data();
    std::memset(p, 0, n);
    std::byte* r = p + kHeaderLen;
    for (const Ipv6Addr& g : groups) {
      store_u8(r, record_type);
      g.to_bytes(r + 4);
      r += kRecordLen;
    }
    return Icmpv6Repr{kIcmpv6MldV2Report, 0, static_cast<std::uint32_t>(groups.size())}.emit(
        out.first(n), src, dst);
  }
};

// The Hop-by-Hop Options header every MLD message carries (§5: "an IPv6
// Router Alert option [RFC 2711] in a Hop-By-Hop Options header"): Router
// Alert with value 0 (MLD), then PadN to 8 bytes.
inline constexpr std::size_t kMldHopByHopLen = 8;
inline void emit_mld_hop_by_hop(std::byte* p, std::uint8_t next_header) {
  const std::uint8_t h[kMldHopByHopLen] = {next_header, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00};
  std::memcpy(p, h, sizeof h);
}

}  // namespace ustack::wire
