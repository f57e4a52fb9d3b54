// IPv6 fixed header view (RFC 8200 §3).
//
//   0        1        2        3
//   |ver| traffic class |  flow label        |
//   | payload length  | next hdr | hop limit |
//   | source address (16)                    |
//   | destination address (16)               |
//
// parse() checks, once:
//  - at least 40 bytes and version 6 (a packet of another version is not
//    IPv6 and is discarded);
//  - 40 + payload length <= the buffer. Bytes after it are link padding and
//    are cut off, so payload() is exactly the packet's payload (extension
//    headers and upper-layer data). A payload length of 0 is an empty
//    payload: jumbograms (RFC 2675) are not supported, so the Jumbo Payload
//    option is an unknown option to the extension header walk.
// Extension headers are walked by proto/wire/ipv6_ext.h.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "proto/ip_addr.h"
#include "proto/wire/bytes.h"

namespace ustack::wire {

// Next Header values (IANA "Assigned Internet Protocol Numbers"; RFC 8200 §4).
inline constexpr std::uint8_t kIpProtoHopByHop = 0;
inline constexpr std::uint8_t kIpProtoRouting = 43;
inline constexpr std::uint8_t kIpProtoFragment = 44;
inline constexpr std::uint8_t kIpProtoIcmpv6 = 58;
inline constexpr std::uint8_t kIpProtoNoNext = 59;
inline constexpr std::uint8_t kIpProtoDestOpts = 60;

template <typename B>
class BasicIpv6View {
  static_assert(std::is_same_v<std::remove_const_t<B>, std::byte>);

 public:
  static constexpr bool kMutable = !std::is_const_v<B>;
  static constexpr std::size_t kHeaderLen = 40;
  // Offsets of the fields an ICMPv6 Parameter Problem points at.
  static constexpr std::size_t kPayloadLengthOffset = 4;
  static constexpr std::size_t kNextHeaderOffset = 6;

  // A packet as received: see the checks above.
  static std::optional<BasicIpv6View> parse(std::span<B> bytes) {
    if (!header_ok(bytes)) return std::nullopt;
    const std::size_t end = kHeaderLen + load_be16(bytes.data() + 4);
    if (end > bytes.size()) return std::nullopt;
    return BasicIpv6View(bytes.first(end));
  }
  // The header of a packet whose payload continues in other buffers (the
  // first segment of an mbuf chain): the caller checks the payload length
  // against the whole chain. payload() is what `bytes` holds after the
  // header.
  static std::optional<BasicIpv6View> parse_header(std::span<B> bytes) {
    if (!header_ok(bytes)) return std::nullopt;
    const std::size_t end = kHeaderLen + load_be16(bytes.data() + 4);
    return BasicIpv6View(bytes.first(std::min(end, bytes.size())));
  }
  // The packet quoted in an ICMPv6 error (RFC 4443 §2.4 (c): as much of the
  // invoking packet as fits the minimum MTU): the header is whole, the
  // payload may be cut short. Same as parse_header.
  static std::optional<BasicIpv6View> parse_quoted(std::span<B> bytes) {
    return parse_header(bytes);
  }

  std::uint8_t version() const { return load_u8(at(0)) >> 4; }
  std::uint8_t traffic_class() const {
    return static_cast<std::uint8_t>((load_be16(at(0)) >> 4) & 0xff);
  }
  std::uint32_t flow_label() const { return load_be32(at(0)) & 0xfffff; }
  std::uint16_t payload_length() const { return load_be16(at(4)); }
  std::uint8_t next_header() const { return load_u8(at(6)); }
  std::uint8_t hop_limit() const { return load_u8(at(7)); }
  Ipv6Addr src() const { return Ipv6Addr::from_bytes(at(8)); }
  Ipv6Addr dst() const { return Ipv6Addr::from_bytes(at(24)); }
  std::span<B> header() const { return bytes_.first(kHeaderLen); }
  std::span<B> payload() const { return bytes_.subspan(kHeaderLen); }
  // Header and payload, without link padding.
  std::span<B> bytes() const { return bytes_; }

  void set_payload_length(std::uint16_t v) const requires kMutable { store_be16(at(4), v); }
  void set_next_header(std::uint8_t v) const requires kMutable { store_u8(at(6), v); }
  void set_hop_limit(std::uint8_t v) const requires kMutable { store_u8(at(7), v); }
  void set_src(const Ipv6Addr& a) const requires kMutable { a.to_bytes(at(8)); }
  void set_dst(const Ipv6Addr& a) const requires kMutable { a.to_bytes(at(24)); }

  operator BasicIpv6View<const std::byte>() const requires kMutable {
    return BasicIpv6View<const std::byte>(bytes_);
  }

 private:
  template <typename>
  friend class BasicIpv6View;
  explicit BasicIpv6View(std::span<B> bytes) : bytes_(bytes) {}
  B* at(std::size_t off) const { return bytes_.data() + off; }
  static bool header_ok(std::span<B> bytes) {
    return bytes.size() >= kHeaderLen && (load_u8(bytes.data()) >> 4) == 6;
  }

  std::span<B> bytes_;
};

using Ipv6View = BasicIpv6View<const std::byte>;
using Ipv6MutView = BasicIpv6View<std::byte>;

// The fixed header as this stack sends it (no extension headers).
struct Ipv6Repr {
  Ipv6Addr src;
  Ipv6Addr dst;
  std::uint8_t next_header = 0;
  std::uint8_t hop_limit = 64;
  std::uint8_t traffic_class = 0;
  std::uint32_t flow_label = 0;  // 20 bits
  std::uint16_t payload_len = 0;

  static Ipv6Repr parse(const Ipv6View& v) {
    return {v.src(),           v.dst(),        v.next_header(),   v.hop_limit(),
            v.traffic_class(), v.flow_label(), v.payload_length()};
  }
  static constexpr std::size_t header_len() { return Ipv6View::kHeaderLen; }
  // Writes the 40-byte header; false (nothing written) if `out` is short.
  bool emit(std::span<std::byte> out) const {
    if (out.size() < header_len()) return false;
    std::byte* p = out.data();
    store_be32(p, (6u << 28) | (std::uint32_t{traffic_class} << 20) | (flow_label & 0xfffff));
    store_be16(p + 4, payload_len);
    store_u8(p + 6, next_header);
    store_u8(p + 7, hop_limit);
    src.to_bytes(p + 8);
    dst.to_bytes(p + 24);
    return true;
  }

  friend bool operator==(const Ipv6Repr&, const Ipv6Repr&) = default;
};

}  // namespace ustack::wire
