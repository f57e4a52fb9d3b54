// Router Discovery messages (RFC 4861 §4.1, §4.2) and their options (§4.6).
//
//  Router Solicitation (133)          Router Advertisement (134)
//   | type | code | checksum |         | type | code | checksum          |
//   | reserved (4)           |         | cur hop limit |M|O| router lifetime |
//   | options ...            |         | reachable time (4)                 |
//                                      | retrans timer (4)                  |
//                                      | options ...                        |
//
// Options read from an advertisement: Source Link-Layer Address (1, §4.6.1),
// Prefix Information (3, §4.6.2: length 4), MTU (5, §4.6.4: length 1).
//
// RouterAdvert::parse() makes the checks of §6.1.2 that concern the message
// alone: code 0, at least 16 bytes, every option of nonzero length inside
// the message. A Prefix Information or MTU option of another length than
// its own makes the message malformed too (a sender that gets the length of
// its own options wrong is not believed about the rest). Prefix Information
// options past the first kMaxPrefixes are counted in `prefixes_over`, not
// kept. The checks on the IPv6 header (hop
// limit 255, a link-local source) are the caller's.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "core/mac_addr.h"
#include "proto/ip_addr.h"
#include "proto/wire/bytes.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ndp.h"

namespace ustack::wire {

inline constexpr std::uint8_t kNdOptPrefixInfo = 3;
inline constexpr std::uint8_t kNdOptMtu = 5;

// Prefix Information flags (§4.6.2).
inline constexpr std::uint8_t kPrefixFlagOnLink = 0x80;      // L
inline constexpr std::uint8_t kPrefixFlagAutonomous = 0x40;  // A

// A lifetime of all ones is infinity (§4.6.2).
inline constexpr std::uint32_t kInfiniteLifetime = 0xffffffff;

// The Prefix Information option (§4.6.2).
struct PrefixInfo {
  static constexpr std::size_t kLen = 32;

  std::uint8_t prefix_len = 0;
  std::uint8_t flags = 0;
  std::uint32_t valid_lifetime = 0;      // seconds
  std::uint32_t preferred_lifetime = 0;  // seconds
  Ipv6Addr prefix;

  bool on_link() const { return (flags & kPrefixFlagOnLink) != 0; }
  bool autonomous() const { return (flags & kPrefixFlagAutonomous) != 0; }
};

// A Router Advertisement (§4.2).
struct RouterAdvert {
  static constexpr std::size_t kLen = 16;
  // Prefix Information options kept from one message (a host keeps only a
  // few prefixes anyway); the rest are counted.
  static constexpr std::size_t kMaxPrefixes = 8;

  std::uint8_t cur_hop_limit = 0;     // 0: unspecified
  std::uint8_t flags = 0;             // M, O, then RFC 4191's preference (kept, not used)
  std::uint16_t router_lifetime = 0;  // seconds; 0: not a default router
  std::uint32_t reachable_time = 0;   // milliseconds; 0: unspecified
  std::uint32_t retrans_timer = 0;    // milliseconds; 0: unspecified
  std::optional<MacAddr> source_mac;
  std::optional<std::uint32_t> mtu;
  std::array<PrefixInfo, kMaxPrefixes> prefixes{};
  std::size_t prefix_count = 0;
  std::size_t prefixes_over = 0;

  std::span<const PrefixInfo> prefix_list() const { return {prefixes.data(), prefix_count}; }

  // `message` is the ICMPv6 message (type 134) whose checksum has been
  // verified. nullopt when a check above fails.
  static std::optional<RouterAdvert> parse(std::span<const std::byte> message) {
    if (message.size() < kLen) return std::nullopt;
    const std::byte* p = message.data();
    if (load_u8(p) != kIcmpv6RouterAdvert || load_u8(p + 1) != 0) return std::nullopt;
    RouterAdvert ra;
    ra.cur_hop_limit = load_u8(p + 4);
    ra.flags = load_u8(p + 5);
    ra.router_lifetime = load_be16(p + 6);
    ra.reachable_time = load_be32(p + 8);
    ra.retrans_timer = load_be32(p + 12);
    for (std::size_t i = kLen; i < message.size();) {
      if (message.size() - i < 2) return std::nullopt;
      const std::byte* o = p + i;
      const std::uint8_t type = load_u8(o);
      const std::size_t len = 8 * std::size_t{load_u8(o + 1)};
      // §6.1.2: "All included options have a length that is greater than
      // zero"; and none may run past the message.
      if (len == 0 || len > message.size() - i) return std::nullopt;
      if (type == kNdOptSourceLinkAddr && len == NdMessage::kLinkAddrOptLen) {
        MacAddr mac;
        std::memcpy(mac.b.data(), o + 2, 6);
        ra.source_mac = mac;
      } else if (type == kNdOptMtu) {
        if (len != 8) return std::nullopt;
        ra.mtu = load_be32(o + 4);
      } else if (type == kNdOptPrefixInfo) {
        if (len != PrefixInfo::kLen) return std::nullopt;
        if (ra.prefix_count == kMaxPrefixes) {
          ++ra.prefixes_over;
          i += len;
          continue;
        }
        PrefixInfo& pi = ra.prefixes[ra.prefix_count++];
        pi.prefix_len = load_u8(o + 2);
        pi.flags = load_u8(o + 3);
        pi.valid_lifetime = load_be32(o + 4);
        pi.preferred_lifetime = load_be32(o + 8);
        pi.prefix = Ipv6Addr::from_bytes(o + 16);
      }
      // §4.6: unrecognized options are ignored.
      i += len;
    }
    return ra;
  }

  // Bytes emit() writes: the header, the Source Link-Layer Address, MTU
  // and Prefix Information options that are set, in that order (a router's
  // message; the stack's tests and fuzz seeds build them).
  std::size_t len() const {
    return kLen + (source_mac ? NdMessage::kLinkAddrOptLen : 0) + (mtu ? 8 : 0) +
           prefix_count * PrefixInfo::kLen;
  }

  bool emit(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst) const {
    const std::size_t n = len();
    if (out.size() < n || prefix_count > kMaxPrefixes) return false;
    std::byte* p = out.data();
    std::memset(p, 0, n);
    store_u8(p + 4, cur_hop_limit);
    store_u8(p + 5, flags);
    store_be16(p + 6, router_lifetime);
    store_be32(p + 8, reachable_time);
    store_be32(p + 12, retrans_timer);
    std::byte* o = p + kLen;
    if (source_mac) {
      store_u8(o, kNdOptSourceLinkAddr);
      store_u8(o + 1, 1);
      std::memcpy(o + 2, source_mac->b.data(), 6);
      o += NdMessage::kLinkAddrOptLen;
    }
    if (mtu) {
      store_u8(o, kNdOptMtu);
      store_u8(o + 1, 1);
      store_be32(o + 4, *mtu);
      o += 8;
    }
    for (const PrefixInfo& pi : prefix_list()) {
      store_u8(o, kNdOptPrefixInfo);
      store_u8(o + 1, PrefixInfo::kLen / 8);
      store_u8(o + 2, pi.prefix_len);
      store_u8(o + 3, pi.flags);
      store_be32(o + 4, pi.valid_lifetime);
      store_be32(o + 8, pi.preferred_lifetime);
      pi.prefix.to_bytes(o + 16);
      o += PrefixInfo::kLen;
    }
    return Icmpv6Repr{kIcmpv6RouterAdvert, 0, load_be32(p + 4)}.emit(out.first(n), src, dst);
  }
};

// A Router Solicitation (§4.1): the Source Link-Layer Address option unless
// the source is the unspecified address (§4.1: "MUST NOT be included").
struct RouterSolicit {
  static constexpr std::size_t kLen = 8;

  std::optional<MacAddr> source_mac;

  std::size_t len() const { return kLen + (source_mac ? NdMessage::kLinkAddrOptLen : 0); }

  bool emit(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst) const {
    const std::size_t n = len();
    if (out.size() < n) return false;
    std::byte* p = out.data();
    std::memset(p, 0, n);
    if (source_mac) {
      store_u8(p + kLen, kNdOptSourceLinkAddr);
      store_u8(p + kLen + 1, 1);
      std::memcpy(p + kLen + 2, source_mac->b.data(), 6);
    }
    return Icmpv6Repr{kIcmpv6RouterSolicit, 0, 0}.emit(out.first(n), src, dst);
  }
};

}  // namespace ustack::wire
