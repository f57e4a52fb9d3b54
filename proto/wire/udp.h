// UDP header view (RFC 768).
//
//   0          2          4        6          8
//   | src port | dst port | length | checksum | data ...
//
// parse() takes the IP payload and checks that the 8-byte header is there
// and that the length field covers at least the header and no more than the
// payload. A length shorter than the IP payload is accepted and the datagram
// cut to it: RFC 768 defines the datagram by its length field, and the BSD
// and Linux stacks trim the same way; a longer one is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "proto/ip_addr.h"
#include "proto/wire/bytes.h"
#include "proto/wire/checksum.h"
#include "proto/wire/ipv4.h"

namespace ustack::wire {

template <typename B>
class BasicUdpView {
  static_assert(std::is_same_v<std::remove_const_t<B>, std::byte>);

 public:
  static constexpr bool kMutable = !std::is_const_v<B>;
  static constexpr std::size_t kHeaderLen = 8;

  static std::optional<BasicUdpView> parse(std::span<B> bytes) {
    if (bytes.size() < kHeaderLen) return std::nullopt;
    const std::size_t len = load_be16(bytes.data() + 4);
    if (len < kHeaderLen || len > bytes.size()) return std::nullopt;
    return BasicUdpView(bytes.first(len));
  }

  std::uint16_t src_port() const { return load_be16(at(0)); }
  std::uint16_t dst_port() const { return load_be16(at(2)); }
  std::uint16_t length() const { return load_be16(at(4)); }
  std::uint16_t checksum() const { return load_be16(at(6)); }
  // RFC 768: "An all zero transmitted checksum value means that the
  // transmitter generated no checksum".
  bool has_checksum() const { return checksum() != 0; }
  std::span<B> payload() const { return bytes_.subspan(kHeaderLen); }
  std::span<B> bytes() const { return bytes_; }
  // True when there is no checksum or it is right.
  bool checksum_ok(Ipv4Addr src, Ipv4Addr dst) const {
    return !has_checksum() || ipv4_l4_checksum(src, dst, kIpProtoUdp, bytes_) == 0;
  }

  void set_src_port(std::uint16_t v) const requires kMutable { store_be16(at(0), v); }
  void set_dst_port(std::uint16_t v) const requires kMutable { store_be16(at(2), v); }
  void set_checksum(std::uint16_t v) const requires kMutable { store_be16(at(6), v); }
  void fill_checksum(Ipv4Addr src, Ipv4Addr dst) const requires kMutable {
    set_checksum(0);
    set_checksum(udp_checksum_field(ipv4_l4_checksum(src, dst, kIpProtoUdp, bytes_)));
  }

  // RFC 768: "If the computed checksum is zero, it is transmitted as all
  // ones" (0 would mean "no checksum").
  static constexpr std::uint16_t udp_checksum_field(std::uint16_t computed) {
    return computed == 0 ? 0xffff : computed;
  }

  operator BasicUdpView<const std::byte>() const requires kMutable {
    return BasicUdpView<const std::byte>(bytes_);
  }

 private:
  template <typename>
  friend class BasicUdpView;
  explicit BasicUdpView(std::span<B> bytes) : bytes_(bytes) {}
  B* at(std::size_t off) const { return bytes_.data() + off; }

  std::span<B> bytes_;  // exactly length() bytes
};

using UdpView = BasicUdpView<const std::byte>;
using UdpMutView = BasicUdpView<std::byte>;

struct UdpRepr {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;

  static UdpRepr parse(const UdpView& v) { return {v.src_port(), v.dst_port()}; }
  static constexpr std::size_t header_len() { return UdpView::kHeaderLen; }

  // Writes the header at the front of `datagram` (header + data, the data
  // already in place); the length field is datagram.size(). The checksum is
  // computed over the pseudo-header and the datagram unless
  // compute_checksum is false (offload, or no checksum), which leaves it 0.
  // False (nothing written) if `datagram` is shorter than the header or
  // longer than an IPv4 datagram can carry.
  bool emit(std::span<std::byte> datagram, Ipv4Addr src, Ipv4Addr dst,
            bool compute_checksum = true) const {
    if (datagram.size() < header_len() || datagram.size() > 0xffff - Ipv4View::kMinHeaderLen)
      return false;
    std::byte* p = datagram.data();
    store_be16(p, src_port);
    store_be16(p + 2, dst_port);
    store_be16(p + 4, static_cast<std::uint16_t>(datagram.size()));
    store_be16(p + 6, 0);
    if (compute_checksum)
      store_be16(p + 6,
                 UdpMutView::udp_checksum_field(ipv4_l4_checksum(src, dst, kIpProtoUdp, datagram)));
    return true;
  }

  friend bool operator==(const UdpRepr&, const UdpRepr&) = default;
};

}  // namespace ustack::wire
