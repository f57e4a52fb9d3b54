// Ethernet II header view, with at most one IEEE 802.1Q VLAN tag.
//
//   0      6      12           14 (untagged)
//   | dst  | src  | ethertype  | payload
//   | dst  | src  | 0x8100 | TCI | ethertype | payload     (18, tagged)
//
// parse() accepts zero or one 802.1Q tag (TPID 0x8100) and reports the
// ethertype after it. A second tag (QinQ) is not unwrapped: its TPID is
// reported as the ethertype, which no protocol claims, so the frame is
// dropped as an unknown ethertype. Values below 0x0600 are IEEE 802.3 length
// fields, not ethertypes; they are reported as read and match no protocol.
// The minimum frame length (60 bytes without FCS) is not enforced: a
// receiver must accept the padding (RFC 894) but need not require it, and
// software links send short frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

#include "core/mac_addr.h"
#include "proto/wire/bytes.h"

namespace ustack::wire {

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;  // IEEE 802.1Q C-tag TPID
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;  // IEEE 802.1ad S-tag TPID

inline MacAddr load_mac(const std::byte* p) {
  MacAddr m;
  std::memcpy(m.b.data(), p, 6);
  return m;
}
inline void store_mac(std::byte* p, const MacAddr& m) {
  std::memcpy(p, m.b.data(), 6);
}

// B is `const std::byte` (EthernetView, read only) or `std::byte`
// (EthernetMutView, with setters).
template <typename B>
class BasicEthernetView {
  static_assert(std::is_same_v<std::remove_const_t<B>, std::byte>);

 public:
  static constexpr bool kMutable = !std::is_const_v<B>;
  static constexpr std::size_t kHeaderLen = 14;
  static constexpr std::size_t kVlanTagLen = 4;

  // nullopt when the frame is shorter than its header (14 bytes, or 18 when
  // the ethertype field says a VLAN tag follows).
  static std::optional<BasicEthernetView> parse(std::span<B> frame) {
    if (frame.size() < kHeaderLen) return std::nullopt;
    std::size_t header_len = kHeaderLen;
    if (load_be16(frame.data() + 12) == kEtherTypeVlan) {
      if (frame.size() < kHeaderLen + kVlanTagLen) return std::nullopt;
      header_len += kVlanTagLen;
    }
    return BasicEthernetView(frame, header_len);
  }

  MacAddr dst() const { return load_mac(at(0)); }
  MacAddr src() const { return load_mac(at(6)); }
  bool has_vlan() const { return header_len_ != kHeaderLen; }
  // Tag control information: PCP (3 bits), DEI (1), VLAN id (12). 0 untagged.
  std::uint16_t vlan_tci() const { return has_vlan() ? load_be16(at(14)) : 0; }
  std::uint16_t vlan_id() const { return vlan_tci() & 0x0fff; }
  std::uint8_t vlan_pcp() const { return static_cast<std::uint8_t>(vlan_tci() >> 13); }
  bool vlan_dei() const { return (vlan_tci() & 0x1000) != 0; }
  // The ethertype after the tag, if any.
  std::uint16_t ethertype() const { return load_be16(at(header_len_ - 2)); }
  std::size_t header_len() const { return header_len_; }
  std::span<B> payload() const { return bytes_.subspan(header_len_); }
  std::span<B> bytes() const { return bytes_; }

  void set_dst(const MacAddr& m) const requires kMutable { store_mac(at(0), m); }
  void set_src(const MacAddr& m) const requires kMutable { store_mac(at(6), m); }
  // Only the VLAN id bits; PCP and DEI stay. Precondition: has_vlan().
  void set_vlan_id(std::uint16_t id) const requires kMutable {
    if (has_vlan())
      store_be16(at(14), static_cast<std::uint16_t>((vlan_tci() & 0xf000) | (id & 0x0fff)));
  }
  void set_ethertype(std::uint16_t t) const requires kMutable {
    store_be16(at(header_len_ - 2), t);
  }

  operator BasicEthernetView<const std::byte>() const requires kMutable {
    return BasicEthernetView<const std::byte>(bytes_, header_len_);
  }

 private:
  template <typename>
  friend class BasicEthernetView;
  BasicEthernetView(std::span<B> bytes, std::size_t header_len)
      : bytes_(bytes), header_len_(header_len) {}
  B* at(std::size_t off) const { return bytes_.data() + off; }

  std::span<B> bytes_;
  std::size_t header_len_;
};

using EthernetView = BasicEthernetView<const std::byte>;
using EthernetMutView = BasicEthernetView<std::byte>;

struct EthernetRepr {
  MacAddr dst;
  MacAddr src;
  std::uint16_t ethertype = 0;
  std::optional<std::uint16_t> vlan_tci;  // set: emit an 802.1Q tag

  static EthernetRepr parse(const EthernetView& v) {
    EthernetRepr r{v.dst(), v.src(), v.ethertype(), std::nullopt};
    if (v.has_vlan()) r.vlan_tci = v.vlan_tci();
    return r;
  }
  std::size_t header_len() const {
    return EthernetView::kHeaderLen + (vlan_tci ? EthernetView::kVlanTagLen : 0);
  }
  // Writes header_len() bytes at the front of `out`; false (nothing
  // written) if `out` is shorter.
  bool emit(std::span<std::byte> out) const {
    if (out.size() < header_len()) return false;
    store_mac(out.data(), dst);
    store_mac(out.data() + 6, src);
    std::byte* p = out.data() + 12;
    if (vlan_tci) {
      store_be16(p, kEtherTypeVlan);
      store_be16(p + 2, *vlan_tci);
      p += 4;
    }
    store_be16(p, ethertype);
    return true;
  }

  friend bool operator==(const EthernetRepr&, const EthernetRepr&) = default;
};

}  // namespace ustack::wire
