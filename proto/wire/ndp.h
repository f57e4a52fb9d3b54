// Neighbor Discovery messages (RFC 4861 §4.3, §4.4, §4.6).
//
//  Neighbor Solicitation (135)        Neighbor Advertisement (136)
//   | type | code | checksum |         | type | code | checksum |
//   | reserved (4)           |         |R|S|O| reserved (29 bits)|
//   | target address (16)    |         | target address (16)    |
//   | options ...            |         | options ...            |
//
// Options (§4.6): type, length in units of 8 octets (including these two
// bytes), data. Source (1) and Target (2) Link-Layer Address options carry
// a MAC on Ethernet (RFC 2464 §6: length 1).
//
// NdMessage::parse() makes the checks of §7.1.1 and §7.1.2 that concern the
// message alone: code 0, at least 24 bytes, a target that is not multicast,
// and every option of nonzero length inside the message ("nodes MUST
// silently discard an ND packet that contains an option with length
// zero"). The checks that concern the IPv6 header (hop limit 255, the
// addresses) are the caller's, which has them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "core/mac_addr.h"
#include "proto/ip_addr.h"
#include "proto/wire/bytes.h"
#include "proto/wire/icmpv6.h"

namespace ustack::wire {

inline constexpr std::uint8_t kNdOptSourceLinkAddr = 1;
inline constexpr std::uint8_t kNdOptTargetLinkAddr = 2;

inline constexpr std::uint8_t kNaFlagRouter = 0x80;
inline constexpr std::uint8_t kNaFlagSolicited = 0x40;
inline constexpr std::uint8_t kNaFlagOverride = 0x20;

// A Neighbor Solicitation or Advertisement (RFC 4861 §4.3, §4.4).
struct NdMessage {
  static constexpr std::size_t kLen = 24;  // header, reserved/flags, target
  static constexpr std::size_t kLinkAddrOptLen = 8;

  std::uint8_t type = 0;
  std::uint8_t flags = 0;  // NA: R, S, O in the high bits of the first byte
  Ipv6Addr target;
  std::optional<MacAddr> source_mac;  // the Source Link-Layer Address option
  std::optional<MacAddr> target_mac;  // the Target Link-Layer Address option

  bool router() const { return (flags & kNaFlagRouter) != 0; }
  bool solicited() const { return (flags & kNaFlagSolicited) != 0; }
  bool override_flag() const { return (flags & kNaFlagOverride) != 0; }

  // `message` is the ICMPv6 message (type 135 or 136) whose checksum has
  // been verified. nullopt when a check above fails.
  static std::optional<NdMessage> parse(std::span<const std::byte> message) {
    if (message.size() < kLen) return std::nullopt;
    NdMessage m;
    m.type = load_u8(message.data());
    if (m.type != kIcmpv6NeighborSolicit && m.type != kIcmpv6NeighborAdvert) return std::nullopt;
    if (load_u8(message.data() + 1) != 0) return std::nullopt;
    if (m.type == kIcmpv6NeighborAdvert) m.flags = load_u8(message.data() + 4) & 0xe0;
    m.target = Ipv6Addr::from_bytes(message.data() + 8);
    if (m.target.is_multicast()) return std::nullopt;
    for (std::size_t i = kLen; i < message.size();) {
      if (message.size() - i < 2) return std::nullopt;
      const std::uint8_t type = load_u8(message.data() + i);
      const std::size_t len = 8 * std::size_t{load_u8(message.data() + i + 1)};
      if (len == 0 || len > message.size() - i) return std::nullopt;
      // A link-layer address option for Ethernet has 6 bytes of address;
      // other lengths belong to other links and are ignored (§4.6.1).
      if ((type == kNdOptSourceLinkAddr || type == kNdOptTargetLinkAddr) &&
          len == kLinkAddrOptLen) {
        MacAddr mac;
        std::memcpy(mac.b.data(), message.data() + i + 2, 6);
        (type == kNdOptSourceLinkAddr ? m.source_mac : m.target_mac) = mac;
      }
      // §4.6: "Receivers MUST silently ignore any options they do not
      // recognize and continue processing the message."
      i += len;
    }
    return m;
  }

  // Bytes emit() writes: the message and its link-layer address option.
  std::size_t len() const { return kLen + (source_mac || target_mac ? kLinkAddrOptLen : 0); }

  // Writes the message (checksum over the pseudo-header of src, dst) into
  // `out`; at most one of source_mac, target_mac is written as an option.
  bool emit(std::span<std::byte> out, const Ipv6Addr& src, const Ipv6Addr& dst) const {
    const std::size_t n = len();
    if (out.size() < n) return false;
    std::byte* p = out.data();
    std::memset(p, 0, n);
    store_u8(p + 4, flags);
    target.to_bytes(p + 8);
    const std::optional<MacAddr>& mac = source_mac ? source_mac : target_mac;
    if (mac) {
      store_u8(p + kLen, source_mac ? kNdOptSourceLinkAddr : kNdOptTargetLinkAddr);
      store_u8(p + kLen + 1, 1);
      std::memcpy(p + kLen + 2, mac->b.data(), 6);
    }
    return Icmpv6Repr{type, 0, load_be32(p + 4)}.emit(out.first(n), src, dst);
  }
};

}  // namespace ustack::wire
