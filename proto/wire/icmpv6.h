// ICMPv6 message view (RFC 4443 §2.1).
//
//   0      1      2          4
//   | type | code | checksum |
//   | message body ...       |   echo: identifier, sequence, data;
//                                errors: a 32-bit word (MTU, pointer, unused)
//                                then as much of the invoking packet as fits
//
// The checksum covers the IPv6 pseudo-header (RFC 4443 §2.3, RFC 8200 §8.1)
// and the whole message: checksum_ok() needs the packet's addresses.
// parse() checks only that type, code, checksum and the 32-bit word are
// there (8 bytes: every message type of RFC 4443 and RFC 4861 has them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "proto/ip_addr.h"
#include "proto/wire/bytes.h"
#include "proto/wire/checksum.h"
#include "proto/wire/ipv6.h"

namespace ustack::wire {

// Error messages (RFC 4443 §3): types 0..127.
inline constexpr std::uint8_t kIcmpv6DestUnreachable = 1;
inline constexpr std::uint8_t kIcmpv6PacketTooBig = 2;
inline constexpr std::uint8_t kIcmpv6TimeExceeded = 3;
inline constexpr std::uint8_t kIcmpv6ParamProblem = 4;
// Informational messages (RFC 4443 §4; RFC 4861 §4): 128..255.
inline constexpr std::uint8_t kIcmpv6EchoRequest = 128;
inline constexpr std::uint8_t kIcmpv6EchoReply = 129;
inline constexpr std::uint8_t kIcmpv6RouterSolicit = 133;
inline constexpr std::uint8_t kIcmpv6RouterAdvert = 134;
inline constexpr std::uint8_t kIcmpv6NeighborSolicit = 135;
inline constexpr std::uint8_t kIcmpv6NeighborAdvert = 136;
inline constexpr std::uint8_t kIcmpv6Redirect = 137;

// Destination Unreachable codes (RFC 4443 §3.1).
inline constexpr std::uint8_t kIcmpv6UnreachNoRoute = 0;
inline constexpr std::uint8_t kIcmpv6UnreachAdmin = 1;
inline constexpr std::uint8_t kIcmpv6UnreachAddress = 3;
inline constexpr std::uint8_t kIcmpv6UnreachPort = 4;

// RFC 4443 §2.1: "error messages are identified as such by a zero in the
// high-order bit of their message Type field values".
constexpr bool icmpv6_is_error(std::uint8_t type) {
  return type < 128;
}

// The minimum IPv6 MTU (RFC 8200 §5): an ICMPv6 error never makes a packet
// larger (RFC 4443 §2.4 (c)).
inline constexpr std::uint32_t kIpv6MinMtu = 1280;

template <typename B>
class BasicIcmpv6View {
  static_assert(std::is_same_v<std::remove_const_t<B>, std::byte>);

 public:
  static constexpr bool kMutable = !std::is_const_v<B>;
  static constexpr std::size_t kHeaderLen = 8;

  // `bytes` is the upper-layer payload: the whole message.
  static std::optional<BasicIcmpv6View> parse(std::span<B> bytes) {
    if (bytes.size() < kHeaderLen) return std::nullopt;
    return BasicIcmpv6View(bytes);
  }

  std::uint8_t type() const { return load_u8(at(0)); }
  std::uint8_t code() const { return load_u8(at(1)); }
  std::uint16_t checksum() const { return load_be16(at(2)); }
  // The second word: Packet Too Big's MTU, Parameter Problem's pointer.
  std::uint32_t word() const { return load_be32(at(4)); }
  std::uint16_t echo_id() const { return load_be16(at(4)); }
  std::uint16_t echo_seq() const { return load_be16(at(6)); }
  // Echo data, or the invoking packet of an error.
  std::span<B> payload() const { return bytes_.subspan(kHeaderLen); }
  std::span<B> bytes() const { return bytes_; }
  bool checksum_ok(const Ipv6Addr& src, const Ipv6Addr& dst) const {
    return ipv6_l4_checksum(src, dst, kIpProtoIcmpv6, bytes_) == 0;
  }
  // The invoking packet an error quotes (its fixed header whole).
  std::optional<BasicIpv6View<B>> quoted_ipv6() const {
    if (!icmpv6_is_error(type())) return std::nullopt;
    return BasicIpv6View<B>::parse_quoted(payload());
  }

  void set_type(std::uint8_t v) const requires kMutable { store_u8(at(0), v); }
  void set_checksum(std::uint16_t v) const requires kMutable { store_be16(at(2), v); }
  // Recomputes the checksum over the pseudo-header and the whole message.
  void fill_checksum(const Ipv6Addr& src, const Ipv6Addr& dst) const requires kMutable {
    set_checksum(0);
    set_checksum(ipv6_l4_checksum(src, dst, kIpProtoIcmpv6, bytes_));
  }

  operator BasicIcmpv6View<const std::byte>() const requires kMutable {
    return BasicIcmpv6View<const std::byte>(bytes_);
  }

 private:
  template <typename>
  friend class BasicIcmpv6View;
  explicit BasicIcmpv6View(std::span<B> bytes) : bytes_(bytes) {}
  B* at(std::size_t off) const { return bytes_.data() + off; }

  std::span<B> bytes_;
};

using Icmpv6View = BasicIcmpv6View<const std::byte>;
using Icmpv6MutView = BasicIcmpv6View<std::byte>;

// The 8-byte ICMPv6 header. The checksum covers the body and the
// pseudo-header, so emit() takes the whole message with the body in place.
struct Icmpv6Repr {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint32_t word = 0;

  static constexpr Icmpv6Repr echo(std::uint8_t type, std::uint16_t id, std::uint16_t seq) {
    return {type, 0, (std::uint32_t{id} << 16) | seq};
  }
  static Icmpv6Repr parse(const Icmpv6View& v) { return {v.type(), v.code(), v.word()}; }
  static constexpr std::size_t header_len() { return Icmpv6View::kHeaderLen; }

  // Writes the header at the front of `message` and the checksum over the
  // pseudo-header of (src, dst) and all of `message`. False (nothing
  // written) if `message` is shorter than the header.
  bool emit(std::span<std::byte> message, const Ipv6Addr& src, const Ipv6Addr& dst) const {
    if (message.size() < header_len()) return false;
    std::byte* p = message.data();
    store_u8(p, type);
    store_u8(p + 1, code);
    store_be16(p + 2, 0);
    store_be32(p + 4, word);
    store_be16(p + 2, ipv6_l4_checksum(src, dst, kIpProtoIcmpv6, message));
    return true;
  }

  friend bool operator==(const Icmpv6Repr&, const Icmpv6Repr&) = default;
};

}  // namespace ustack::wire
