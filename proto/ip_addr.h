// IP addresses as value types.
//
// Ipv4Addr is four bytes in network order, with the prefix arithmetic a
// routing table and an interface configuration need. IpAddr holds either
// family in 16 bytes so that a connection key (addresses and ports) has one
// layout for IPv4 and IPv6: an IPv4 address is stored in its IPv4-mapped
// form ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), and the family tag keeps the two
// apart.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace ustack {

struct Ipv4Addr {
  std::array<std::uint8_t, 4> b{};

  // `v` in host order: 0x0a000001 is 10.0.0.1.
  static constexpr Ipv4Addr from_u32(std::uint32_t v) {
    return {{static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
             static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)}};
  }
  constexpr std::uint32_t to_u32() const {
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           std::uint32_t{b[3]};
  }
  // Reads and writes the four bytes as they sit in a header.
  static Ipv4Addr from_bytes(const std::byte* p) {
    Ipv4Addr a;
    std::memcpy(a.b.data(), p, 4);
    return a;
  }
  void to_bytes(std::byte* p) const { std::memcpy(p, b.data(), 4); }

  static constexpr Ipv4Addr any() { return {}; }
  static constexpr Ipv4Addr broadcast() { return {{255, 255, 255, 255}}; }
  static constexpr Ipv4Addr loopback() { return {{127, 0, 0, 1}}; }

  // 0.0.0.0: "this host on this network" (RFC 1122 §3.2.1.3 (a)).
  constexpr bool is_unspecified() const { return to_u32() == 0; }
  // 255.255.255.255, the limited broadcast (RFC 1122 §3.2.1.3 (c)).
  constexpr bool is_broadcast() const { return to_u32() == 0xffffffffu; }
  // 224.0.0.0/4 (RFC 5771).
  constexpr bool is_multicast() const { return (b[0] & 0xf0) == 0xe0; }
  // 127.0.0.0/8 (RFC 1122 §3.2.1.3 (g)).
  constexpr bool is_loopback() const { return b[0] == 127; }
  // 169.254.0.0/16 (RFC 3927).
  constexpr bool is_link_local() const { return b[0] == 169 && b[1] == 254; }

  // The netmask of a prefix length; lengths above 32 count as 32.
  static constexpr Ipv4Addr netmask(unsigned prefix_len) {
    if (prefix_len == 0) return {};
    if (prefix_len >= 32) return broadcast();
    return from_u32(~std::uint32_t{0} << (32 - prefix_len));
  }
  // The prefix length of this address read as a netmask; nullopt when its
  // one bits are not contiguous from the top (255.0.255.0).
  constexpr std::optional<unsigned> mask_prefix_len() const {
    const std::uint32_t m = to_u32();
    const std::uint32_t inverted = ~m;
    if ((inverted & (inverted + 1)) != 0) return std::nullopt;  // not 1...10...0
    return static_cast<unsigned>(std::countl_one(m));
  }
  // The network address: this address with the host bits cleared.
  constexpr Ipv4Addr network(unsigned prefix_len) const {
    return from_u32(to_u32() & netmask(prefix_len).to_u32());
  }
  // The directed broadcast of this address's subnet: host bits all ones
  // (RFC 1122 §3.2.1.3 (d)).
  constexpr Ipv4Addr subnet_broadcast(unsigned prefix_len) const {
    return from_u32(to_u32() | ~netmask(prefix_len).to_u32());
  }
  constexpr bool in_subnet(Ipv4Addr net, unsigned prefix_len) const {
    return network(prefix_len) == net.network(prefix_len);
  }

  // Strict dotted quad: four decimal parts 0..255, no sign, no leading zero
  // (leading zeros are octal to inet_aton, so they are refused rather than
  // guessed at), nothing before or after.
  static std::optional<Ipv4Addr> parse(std::string_view s);
  // Writes the dotted quad into `out` (no terminator); returns the length,
  // at most kMaxStringLen. For paths that must not allocate.
  static constexpr std::size_t kMaxStringLen = 15;
  std::size_t format(char* out) const;
  std::string to_string() const;

  // Compared as one 32-bit word (the defaulted array comparison becomes a
  // memcmp call on the per-packet path).
  friend constexpr bool operator==(const Ipv4Addr& x, const Ipv4Addr& y) {
    return x.to_u32() == y.to_u32();
  }
  friend constexpr auto operator<=>(const Ipv4Addr&, const Ipv4Addr&) = default;
};

// An address with a prefix length, as written in interface configuration:
// "10.0.0.1/24".
struct Ipv4Cidr {
  Ipv4Addr addr;
  std::uint8_t prefix_len = 32;

  static std::optional<Ipv4Cidr> parse(std::string_view s);
  std::string to_string() const;
  constexpr Ipv4Addr netmask() const { return Ipv4Addr::netmask(prefix_len); }
  constexpr Ipv4Addr network() const { return addr.network(prefix_len); }
  constexpr bool contains(Ipv4Addr a) const { return a.in_subnet(addr, prefix_len); }

  friend constexpr bool operator==(const Ipv4Cidr&, const Ipv4Cidr&) = default;
};

// An IPv6 address (RFC 4291), sixteen bytes in network order.
struct Ipv6Addr {
  std::array<std::uint8_t, 16> b{};

  static Ipv6Addr from_bytes(const std::byte* p) {
    Ipv6Addr a;
    std::memcpy(a.b.data(), p, 16);
    return a;
  }
  void to_bytes(std::byte* p) const { std::memcpy(p, b.data(), 16); }

  // ::, the unspecified address (RFC 4291 §2.5.2).
  static constexpr Ipv6Addr any() { return {}; }
  // ff02::1, all nodes on the link (RFC 4291 §2.7.1).
  static constexpr Ipv6Addr all_nodes() {
    return {{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  }
  // ff02::2, all routers on the link.
  static constexpr Ipv6Addr all_routers() {
    return {{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
  }

  constexpr bool is_unspecified() const { return *this == Ipv6Addr{}; }
  // ::1 (RFC 4291 §2.5.3).
  constexpr bool is_loopback() const {
    return *this == Ipv6Addr{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  }
  // ff00::/8 (RFC 4291 §2.7).
  constexpr bool is_multicast() const { return b[0] == 0xff; }
  // fe80::/10 (RFC 4291 §2.5.6).
  constexpr bool is_link_local() const { return b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }
  // ::ffff:0:0/96, an IPv4 address in IPv6 clothes (RFC 4291 §2.5.5.2);
  // never a source or destination on an IPv6 wire (RFC 4038 §4.2).
  constexpr bool is_v4_mapped() const {
    for (int i = 0; i < 10; ++i)
      if (b[i] != 0) return false;
    return b[10] == 0xff && b[11] == 0xff;
  }
  // The multicast scope (RFC 4291 §2.7): 1 interface, 2 link, 5 site, 14 global.
  constexpr std::uint8_t multicast_scope() const { return b[1] & 0x0f; }

  // ff02::1:ffXX:XXXX, the solicited-node group of this address: the low 24
  // bits appended to ff02:0:0:0:0:1:ff00::/104 (RFC 4291 §2.7.1).
  constexpr Ipv6Addr solicited_node() const {
    return {{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, b[13], b[14], b[15]}};
  }
  constexpr bool in_prefix(const Ipv6Addr& net, unsigned prefix_len) const {
    for (unsigned i = 0; i < 16 && prefix_len > 0; ++i) {
      const unsigned bits = prefix_len >= 8 ? 8 : prefix_len;
      const auto mask = static_cast<std::uint8_t>(0xff00u >> bits);
      if ((b[i] & mask) != (net.b[i] & mask)) return false;
      prefix_len -= bits;
    }
    return true;
  }

  // RFC 4291 §2.2 text (inet_pton); nullopt for anything else.
  static std::optional<Ipv6Addr> parse(std::string_view s);
  // RFC 5952 text.
  std::string to_string() const;

  // Two 64-bit words, not a memcmp call (compared per packet).
  friend constexpr bool operator==(const Ipv6Addr& x, const Ipv6Addr& y) {
    if (std::is_constant_evaluated()) return x.b == y.b;
    std::uint64_t a[2], c[2];
    std::memcpy(a, x.b.data(), 16);
    std::memcpy(c, y.b.data(), 16);
    return ((a[0] ^ c[0]) | (a[1] ^ c[1])) == 0;
  }
  friend constexpr auto operator<=>(const Ipv6Addr&, const Ipv6Addr&) = default;
};

// An IPv6 address with a prefix length: "fd00::1/64".
struct Ipv6Cidr {
  Ipv6Addr addr;
  std::uint8_t prefix_len = 128;

  static std::optional<Ipv6Cidr> parse(std::string_view s);
  std::string to_string() const;
  constexpr bool contains(const Ipv6Addr& a) const { return a.in_prefix(addr, prefix_len); }

  friend constexpr bool operator==(const Ipv6Cidr&, const Ipv6Cidr&) = default;
};

enum class IpFamily : std::uint8_t { kUnspec = 0, kV4 = 4, kV6 = 6 };

struct IpAddr {
  IpFamily family = IpFamily::kUnspec;
  std::array<std::uint8_t, 16> b{};  // IPv4 in the mapped form ::ffff:a.b.c.d

  static constexpr IpAddr v4(Ipv4Addr a) {
    IpAddr r;
    r.family = IpFamily::kV4;
    r.b[10] = 0xff;
    r.b[11] = 0xff;
    for (int i = 0; i < 4; ++i) r.b[12 + i] = a.b[i];
    return r;
  }
  static constexpr IpAddr v6(const std::array<std::uint8_t, 16>& bytes) {
    IpAddr r;
    r.family = IpFamily::kV6;
    r.b = bytes;
    return r;
  }
  static constexpr IpAddr v6(const Ipv6Addr& a) { return v6(a.b); }

  constexpr bool is_v4() const { return family == IpFamily::kV4; }
  constexpr bool is_v6() const { return family == IpFamily::kV6; }
  // Precondition: is_v4().
  constexpr Ipv4Addr as_v4() const { return {{b[12], b[13], b[14], b[15]}}; }
  // Precondition: is_v6().
  constexpr Ipv6Addr as_v6() const { return {b}; }

  // A dotted quad gives an IPv4 address, anything else is tried as IPv6
  // text (RFC 4291 §2.2).
  static std::optional<IpAddr> parse(std::string_view s);
  // Dotted quad for IPv4, RFC 5952 text for IPv6, "unspec" for neither.
  std::string to_string() const;

  // Two 64-bit words and the family, not a memcmp call: connection-table
  // lookups compare keys on every segment.
  friend bool operator==(const IpAddr& x, const IpAddr& y) {
    std::uint64_t a[2], c[2];
    std::memcpy(a, x.b.data(), 16);
    std::memcpy(c, y.b.data(), 16);
    return x.family == y.family && ((a[0] ^ c[0]) | (a[1] ^ c[1])) == 0;
  }
  friend constexpr auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

}  // namespace ustack
