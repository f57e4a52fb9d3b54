// IPv4 header view (RFC 791 §3.1).
//
//   0        1        2        3
//   |ver|ihl | tos    | total length    |
//   | identification  |flg| frag offset |
//   | ttl    | proto  | header checksum |
//   | source address                    |
//   | destination address               |
//   | options (ihl > 5) ...             |
//
// parse() checks, once:
//  - at least 20 bytes, version 4 (RFC 1122 §3.2.1.1: other versions are
//    silently discarded);
//  - IHL >= 5 (RFC 791: "the minimum value for a correct header is 5") and
//    the header inside the buffer;
//  - IHL*4 <= total length <= buffer. Bytes after total length are link
//    padding (a 60-byte Ethernet minimum frame) and are cut off, so
//    payload() is exactly the datagram's data;
//  - options well formed (proto/wire/options.h): EOL, NOP, and options
//    whose length byte is >= 2 and ends inside the header;
//  - fragment offset * 8 + data length <= 65535: no fragment may reach past
//    the largest datagram (RFC 791 "Total Length" is 16 bits), the
//    "ping of death".
// The header checksum is not checked by parse(): a driver may have done it
// (see rx_ip_checksum in checksum.h); header_checksum_ok() does it here.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "proto/ip_addr.h"
#include "proto/wire/bytes.h"
#include "proto/wire/checksum.h"
#include "proto/wire/options.h"

namespace ustack::wire {

inline constexpr std::uint8_t kIpProtoIcmp = 1;
inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kIpProtoUdp = 17;

// IPv4 option kinds (RFC 791 §3.1, IANA "IP Option Numbers").
inline constexpr std::uint8_t kIpv4OptEnd = 0;
inline constexpr std::uint8_t kIpv4OptNop = 1;
inline constexpr std::uint8_t kIpv4OptRecordRoute = 7;
inline constexpr std::uint8_t kIpv4OptTimestamp = 68;
inline constexpr std::uint8_t kIpv4OptLsrr = 131;
inline constexpr std::uint8_t kIpv4OptSsrr = 137;
inline constexpr std::uint8_t kIpv4OptRouterAlert = 148;

template <typename B>
class BasicIpv4View {
  static_assert(std::is_same_v<std::remove_const_t<B>, std::byte>);

 public:
  static constexpr bool kMutable = !std::is_const_v<B>;
  static constexpr std::size_t kMinHeaderLen = 20;
  static constexpr std::size_t kMaxHeaderLen = 60;
  static constexpr std::uint16_t kFlagDontFragment = 0x4000;
  static constexpr std::uint16_t kFlagMoreFragments = 0x2000;
  static constexpr std::uint16_t kFragOffsetMask = 0x1fff;

  // A datagram as received: see the checks above.
  static std::optional<BasicIpv4View> parse(std::span<B> bytes) {
    return parse_impl(bytes, /*quoted=*/false);
  }
  // The datagram quoted in an ICMP error (RFC 792; RFC 1122 §3.2.2): its
  // header is whole, but the data may be cut short of total length.
  // Accepted when the header passes the checks above and at least the first
  // 8 data bytes are present (fewer if the datagram had fewer), which RFC
  // 1122 §3.2.2 requires of every ICMP error and which covers the TCP and
  // UDP ports. payload() is then what was quoted.
  static std::optional<BasicIpv4View> parse_quoted(std::span<B> bytes) {
    return parse_impl(bytes, /*quoted=*/true);
  }
  // The header of a datagram whose data continues in other buffers (the
  // first segment of an mbuf chain): every check of parse() but the total
  // length against `bytes`, which the caller makes against the whole chain.
  // payload() is then what `bytes` holds after the header.
  static std::optional<BasicIpv4View> parse_header(std::span<B> bytes) {
    if (bytes.size() < kMinHeaderLen) return std::nullopt;
    const std::size_t total = load_be16(bytes.data() + 2);
    if (total <= bytes.size()) return parse_impl(bytes, /*quoted=*/false);
    const std::size_t header_len = std::size_t{load_u8(bytes.data()) & 0x0fu} * 4;
    if (header_len < kMinHeaderLen || header_len > bytes.size()) return std::nullopt;
    // Validate as if the data were here: the length checks are the same.
    auto v = parse_impl(bytes.first(header_len), /*quoted=*/true, /*header_only=*/true);
    if (!v) return std::nullopt;
    return BasicIpv4View(bytes, header_len);
  }

  std::uint8_t version() const { return load_u8(at(0)) >> 4; }
  std::uint8_t ihl() const { return load_u8(at(0)) & 0x0f; }
  std::size_t header_len() const { return header_len_; }
  std::uint8_t tos() const { return load_u8(at(1)); }
  std::uint8_t dscp() const { return tos() >> 2; }   // RFC 2474
  std::uint8_t ecn() const { return tos() & 0x03; }  // RFC 3168
  std::uint16_t total_length() const { return load_be16(at(2)); }
  std::uint16_t ident() const { return load_be16(at(4)); }
  bool dont_fragment() const { return (load_be16(at(6)) & kFlagDontFragment) != 0; }
  bool more_fragments() const { return (load_be16(at(6)) & kFlagMoreFragments) != 0; }
  // In units of 8 bytes, as on the wire.
  std::uint16_t frag_offset() const { return load_be16(at(6)) & kFragOffsetMask; }
  std::uint32_t frag_offset_bytes() const { return std::uint32_t{frag_offset()} * 8; }
  // A fragment of a larger datagram (RFC 791 §2.3): more fragments follow,
  // or this one does not start at 0.
  bool is_fragment() const { return more_fragments() || frag_offset() != 0; }
  std::uint8_t ttl() const { return load_u8(at(8)); }
  std::uint8_t protocol() const { return load_u8(at(9)); }
  std::uint16_t checksum() const { return load_be16(at(10)); }
  Ipv4Addr src() const { return Ipv4Addr::from_bytes(at(12)); }
  Ipv4Addr dst() const { return Ipv4Addr::from_bytes(at(16)); }
  std::span<B> options_bytes() const {
    return bytes_.subspan(kMinHeaderLen, header_len_ - kMinHeaderLen);
  }
  // Iterates the options (validated by parse).
  OptionList options() const { return OptionList(options_bytes()); }
  std::span<B> header() const { return bytes_.first(header_len_); }
  // The data: total length - header length bytes (fewer for parse_quoted).
  std::span<B> payload() const { return bytes_.subspan(header_len_); }
  // The header and payload, without link padding.
  std::span<B> bytes() const { return bytes_; }
  bool header_checksum_ok() const { return internet_checksum(header()) == 0; }

  void set_tos(std::uint8_t v) const requires kMutable { store_u8(at(1), v); }
  void set_ident(std::uint16_t v) const requires kMutable { store_be16(at(4), v); }
  void set_fragment(bool df, bool mf, std::uint16_t offset_units) const requires kMutable {
    store_be16(at(6), static_cast<std::uint16_t>((df ? kFlagDontFragment : 0) |
                                                 (mf ? kFlagMoreFragments : 0) |
                                                 (offset_units & kFragOffsetMask)));
  }
  void set_ttl(std::uint8_t v) const requires kMutable { store_u8(at(8), v); }
  void set_protocol(std::uint8_t v) const requires kMutable { store_u8(at(9), v); }
  void set_checksum(std::uint16_t v) const requires kMutable { store_be16(at(10), v); }
  void set_src(Ipv4Addr a) const requires kMutable { a.to_bytes(at(12)); }
  void set_dst(Ipv4Addr a) const requires kMutable { a.to_bytes(at(16)); }
  // Recomputes the header checksum after the fields above changed.
  void fill_checksum() const requires kMutable {
    set_checksum(0);
    set_checksum(internet_checksum(header()));
  }

  operator BasicIpv4View<const std::byte>() const requires kMutable {
    return BasicIpv4View<const std::byte>(bytes_, header_len_);
  }

 private:
  template <typename>
  friend class BasicIpv4View;
  BasicIpv4View(std::span<B> bytes, std::size_t header_len)
      : bytes_(bytes), header_len_(header_len) {}
  B* at(std::size_t off) const { return bytes_.data() + off; }

  static std::optional<BasicIpv4View> parse_impl(std::span<B> bytes, bool quoted,
                                                 bool header_only = false) {
    if (bytes.size() < kMinHeaderLen) return std::nullopt;
    const std::uint8_t vihl = load_u8(bytes.data());
    if ((vihl >> 4) != 4) return std::nullopt;
    const std::size_t header_len = std::size_t{vihl & 0x0fu} * 4;
    if (header_len < kMinHeaderLen || header_len > bytes.size()) return std::nullopt;
    const std::size_t total = load_be16(bytes.data() + 2);
    if (total < header_len) return std::nullopt;
    std::size_t end = total;
    if (total > bytes.size()) {
      if (!quoted) return std::nullopt;
      const std::size_t need =
          header_only ? header_len : header_len + std::min<std::size_t>(8, total - header_len);
      if (bytes.size() < need) return std::nullopt;
      end = bytes.size();
    }
    const std::size_t frag_units = load_be16(bytes.data() + 6) & kFragOffsetMask;
    if (frag_units * 8 + (total - header_len) > 0xffff) return std::nullopt;
    if (!options_valid(bytes.subspan(kMinHeaderLen, header_len - kMinHeaderLen)))
      return std::nullopt;
    return BasicIpv4View(bytes.first(end), header_len);
  }

  std::span<B> bytes_;  // header + data, without link padding
  std::size_t header_len_;
};

using Ipv4View = BasicIpv4View<const std::byte>;
using Ipv4MutView = BasicIpv4View<std::byte>;

// An IPv4 header without options, as this stack sends them.
struct Ipv4Repr {
  Ipv4Addr src;
  Ipv4Addr dst;
  std::uint8_t protocol = 0;
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;
  std::uint16_t ident = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  std::uint16_t frag_offset = 0;  // units of 8 bytes
  std::uint16_t payload_len = 0;

  // Options are dropped.
  static Ipv4Repr parse(const Ipv4View& v) {
    return {v.src(),           v.dst(),
            v.protocol(),      v.ttl(),
            v.tos(),           v.ident(),
            v.dont_fragment(), v.more_fragments(),
            v.frag_offset(),   static_cast<std::uint16_t>(v.payload().size())};
  }
  static constexpr std::size_t header_len() { return Ipv4View::kMinHeaderLen; }
  // Writes the 20-byte header. The checksum is computed unless the driver
  // fills it (ol::kTxIpCksum), in which case the field is left 0. False
  // (nothing written) if `out` is short or the total length would pass
  // 65535.
  bool emit(std::span<std::byte> out, bool compute_checksum = true) const {
    if (out.size() < header_len() || payload_len > 0xffff - header_len()) return false;
    std::byte* p = out.data();
    store_u8(p, 0x45);
    store_u8(p + 1, tos);
    store_be16(p + 2, static_cast<std::uint16_t>(header_len() + payload_len));
    store_be16(p + 4, ident);
    store_be16(p + 6,
               static_cast<std::uint16_t>((dont_fragment ? Ipv4View::kFlagDontFragment : 0) |
                                          (more_fragments ? Ipv4View::kFlagMoreFragments : 0) |
                                          (frag_offset & Ipv4View::kFragOffsetMask)));
    store_u8(p + 8, ttl);
    store_u8(p + 9, protocol);
    store_be16(p + 10, 0);
    src.to_bytes(p + 12);
    dst.to_bytes(p + 16);
    if (compute_checksum) store_be16(p + 10, internet_checksum(out.first(header_len())));
    return true;
  }

  friend bool operator==(const Ipv4Repr&, const Ipv4Repr&) = default;
};

}  // namespace ustack::wire
