// ICMP message view (RFC 792).
//
//   0      1      2          4
//   | type | code | checksum |
//   | rest of header (4)     |   echo: identifier, sequence number
//   | data ...               |   echo: the echoed data; errors: the quoted
//                                datagram (IP header + leading data)
//
// parse() checks only that the 8-byte header is there; the checksum covers
// the whole message (RFC 792) and checksum_ok() computes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "proto/wire/bytes.h"
#include "proto/wire/checksum.h"
#include "proto/wire/ipv4.h"

namespace ustack::wire {

inline constexpr std::uint8_t kIcmpEchoReply = 0;
inline constexpr std::uint8_t kIcmpDestUnreachable = 3;
inline constexpr std::uint8_t kIcmpSourceQuench = 4;
inline constexpr std::uint8_t kIcmpRedirect = 5;
inline constexpr std::uint8_t kIcmpEchoRequest = 8;
inline constexpr std::uint8_t kIcmpTimeExceeded = 11;
inline constexpr std::uint8_t kIcmpParameterProblem = 12;

// Destination unreachable codes (RFC 792; RFC 1122 §3.2.2.1).
inline constexpr std::uint8_t kIcmpUnreachNet = 0;
inline constexpr std::uint8_t kIcmpUnreachHost = 1;
inline constexpr std::uint8_t kIcmpUnreachProtocol = 2;
inline constexpr std::uint8_t kIcmpUnreachPort = 3;
inline constexpr std::uint8_t kIcmpUnreachFragNeeded = 4;  // with next-hop MTU, RFC 1191

// True for the types that quote the datagram that caused them (RFC 1122
// §3.2.2: those must not be answered with another error).
constexpr bool icmp_is_error(std::uint8_t type) {
  return type == kIcmpDestUnreachable || type == kIcmpSourceQuench || type == kIcmpRedirect ||
         type == kIcmpTimeExceeded || type == kIcmpParameterProblem;
}

template <typename B>
class BasicIcmpView {
  static_assert(std::is_same_v<std::remove_const_t<B>, std::byte>);

 public:
  static constexpr bool kMutable = !std::is_const_v<B>;
  static constexpr std::size_t kHeaderLen = 8;

  // `bytes` is the IP payload: the whole message.
  static std::optional<BasicIcmpView> parse(std::span<B> bytes) {
    if (bytes.size() < kHeaderLen) return std::nullopt;
    return BasicIcmpView(bytes);
  }

  std::uint8_t type() const { return load_u8(at(0)); }
  std::uint8_t code() const { return load_u8(at(1)); }
  std::uint16_t checksum() const { return load_be16(at(2)); }
  std::uint32_t rest_of_header() const { return load_be32(at(4)); }
  // Echo and echo reply (RFC 792 "Echo or Echo Reply Message").
  std::uint16_t echo_id() const { return load_be16(at(4)); }
  std::uint16_t echo_seq() const { return load_be16(at(6)); }
  // Destination unreachable, code 4: the MTU of the next hop in the low
  // 16 bits of the second word (RFC 1191 §4); 0 from old routers.
  std::uint16_t next_hop_mtu() const { return load_be16(at(6)); }
  // Echo data, or the quoted datagram of an error.
  std::span<B> payload() const { return bytes_.subspan(kHeaderLen); }
  std::span<B> bytes() const { return bytes_; }
  bool checksum_ok() const { return internet_checksum(bytes_) == 0; }

  // The datagram an error message quotes, checked by
  // Ipv4View::parse_quoted. nullopt for non-error types and for quotes too
  // short to use.
  std::optional<BasicIpv4View<B>> quoted_ipv4() const {
    if (!icmp_is_error(type())) return std::nullopt;
    return BasicIpv4View<B>::parse_quoted(payload());
  }

  void set_type(std::uint8_t v) const requires kMutable { store_u8(at(0), v); }
  void set_code(std::uint8_t v) const requires kMutable { store_u8(at(1), v); }
  void set_checksum(std::uint16_t v) const requires kMutable { store_be16(at(2), v); }
  void set_echo_id(std::uint16_t v) const requires kMutable { store_be16(at(4), v); }
  void set_echo_seq(std::uint16_t v) const requires kMutable { store_be16(at(6), v); }
  // Recomputes the checksum over the whole message.
  void fill_checksum() const requires kMutable {
    set_checksum(0);
    set_checksum(internet_checksum(bytes_));
  }

  operator BasicIcmpView<const std::byte>() const requires kMutable {
    return BasicIcmpView<const std::byte>(bytes_);
  }

 private:
  template <typename>
  friend class BasicIcmpView;
  explicit BasicIcmpView(std::span<B> bytes) : bytes_(bytes) {}
  B* at(std::size_t off) const { return bytes_.data() + off; }

  std::span<B> bytes_;
};

using IcmpView = BasicIcmpView<const std::byte>;
using IcmpMutView = BasicIcmpView<std::byte>;

// The 8-byte ICMP header. The checksum covers the data too, so emit() takes
// the whole message with the data already in place after the header.
struct IcmpRepr {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint32_t rest = 0;  // rest of header

  static constexpr IcmpRepr echo(std::uint8_t type, std::uint16_t id, std::uint16_t seq) {
    return {type, 0, (std::uint32_t{id} << 16) | seq};
  }
  static constexpr IcmpRepr dest_unreachable(std::uint8_t code, std::uint16_t next_hop_mtu = 0) {
    return {kIcmpDestUnreachable, code, next_hop_mtu};
  }
  static IcmpRepr parse(const IcmpView& v) { return {v.type(), v.code(), v.rest_of_header()}; }
  static constexpr std::size_t header_len() { return IcmpView::kHeaderLen; }

  // Writes the header at the front of `message` and the checksum over all
  // of it. False (nothing written) if `message` is shorter than the header.
  bool emit(std::span<std::byte> message, bool compute_checksum = true) const {
    if (message.size() < header_len()) return false;
    std::byte* p = message.data();
    store_u8(p, type);
    store_u8(p + 1, code);
    store_be16(p + 2, 0);
    store_be32(p + 4, rest);
    if (compute_checksum) store_be16(p + 2, internet_checksum(message));
    return true;
  }

  friend bool operator==(const IcmpRepr&, const IcmpRepr&) = default;
};

}  // namespace ustack::wire
