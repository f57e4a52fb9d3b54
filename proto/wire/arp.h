// ARP packet view, Ethernet hardware and IPv4 protocol addresses only
// (RFC 826).
//
//   0      2      4    5    6     8     14    18    24    28
//   | htype| ptype|hlen|plen| oper| sha | spa | tha | tpa |
//
// parse() checks the four fields that fix the layout (hardware type 1,
// protocol type 0x0800, lengths 6 and 4: RFC 826 "Packet Reception" checks
// ar$hrd, ar$pro and the lengths before looking further), so the addresses
// always sit at the offsets above. The operation is not checked here: the
// ARP layer counts unknown operations. Ethernet padding after byte 28 is
// ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "core/mac_addr.h"
#include "proto/ip_addr.h"
#include "proto/wire/bytes.h"
#include "proto/wire/ethernet.h"

namespace ustack::wire {

inline constexpr std::uint16_t kArpHtypeEthernet = 1;
inline constexpr std::uint16_t kArpOpRequest = 1;
inline constexpr std::uint16_t kArpOpReply = 2;

template <typename B>
class BasicArpView {
  static_assert(std::is_same_v<std::remove_const_t<B>, std::byte>);

 public:
  static constexpr bool kMutable = !std::is_const_v<B>;
  static constexpr std::size_t kLen = 28;

  static std::optional<BasicArpView> parse(std::span<B> bytes) {
    if (bytes.size() < kLen) return std::nullopt;
    const B* p = bytes.data();
    if (load_be16(p) != kArpHtypeEthernet || load_be16(p + 2) != kEtherTypeIpv4 ||
        load_u8(p + 4) != 6 || load_u8(p + 5) != 4)
      return std::nullopt;
    return BasicArpView(bytes.first(kLen));
  }

  std::uint16_t hardware_type() const { return load_be16(at(0)); }
  std::uint16_t protocol_type() const { return load_be16(at(2)); }
  std::uint16_t operation() const { return load_be16(at(6)); }
  bool is_request() const { return operation() == kArpOpRequest; }
  bool is_reply() const { return operation() == kArpOpReply; }
  MacAddr sender_mac() const { return load_mac(at(8)); }
  Ipv4Addr sender_ip() const { return Ipv4Addr::from_bytes(at(14)); }
  MacAddr target_mac() const { return load_mac(at(18)); }
  Ipv4Addr target_ip() const { return Ipv4Addr::from_bytes(at(24)); }
  std::span<B> bytes() const { return bytes_; }

  void set_operation(std::uint16_t op) const requires kMutable { store_be16(at(6), op); }
  void set_sender_mac(const MacAddr& m) const requires kMutable { store_mac(at(8), m); }
  void set_sender_ip(Ipv4Addr a) const requires kMutable { a.to_bytes(at(14)); }
  void set_target_mac(const MacAddr& m) const requires kMutable { store_mac(at(18), m); }
  void set_target_ip(Ipv4Addr a) const requires kMutable { a.to_bytes(at(24)); }

  operator BasicArpView<const std::byte>() const requires kMutable {
    return BasicArpView<const std::byte>(bytes_);
  }

 private:
  template <typename>
  friend class BasicArpView;
  explicit BasicArpView(std::span<B> bytes) : bytes_(bytes) {}
  B* at(std::size_t off) const { return bytes_.data() + off; }

  std::span<B> bytes_;  // exactly kLen bytes
};

using ArpView = BasicArpView<const std::byte>;
using ArpMutView = BasicArpView<std::byte>;

struct ArpRepr {
  std::uint16_t operation = kArpOpRequest;
  MacAddr sender_mac;
  Ipv4Addr sender_ip;
  MacAddr target_mac;
  Ipv4Addr target_ip;

  static ArpRepr parse(const ArpView& v) {
    return {v.operation(), v.sender_mac(), v.sender_ip(), v.target_mac(), v.target_ip()};
  }
  static constexpr std::size_t len() { return ArpView::kLen; }
  // Writes 28 bytes; false (nothing written) if `out` is shorter.
  bool emit(std::span<std::byte> out) const {
    if (out.size() < len()) return false;
    std::byte* p = out.data();
    store_be16(p, kArpHtypeEthernet);
    store_be16(p + 2, kEtherTypeIpv4);
    store_u8(p + 4, 6);
    store_u8(p + 5, 4);
    store_be16(p + 6, operation);
    store_mac(p + 8, sender_mac);
    sender_ip.to_bytes(p + 14);
    store_mac(p + 18, target_mac);
    target_ip.to_bytes(p + 24);
    return true;
  }

  friend bool operator==(const ArpRepr&, const ArpRepr&) = default;
};

}  // namespace ustack::wire
