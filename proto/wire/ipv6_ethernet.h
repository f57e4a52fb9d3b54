// IPv6 over Ethernet (RFC 2464): the interface identifier a MAC gives, and
// the Ethernet address of an IPv6 multicast group.
#pragma once

#include "core/mac_addr.h"
#include "proto/ip_addr.h"

namespace ustack::wire {

// fe80::/64 with the modified EUI-64 interface identifier of `mac` (RFC 2464
// §4, §5; RFC 4291 Appendix A): the MAC split by ff:fe, with the
// universal/local bit inverted.
constexpr Ipv6Addr link_local_from_mac(const MacAddr& mac) {
  return {{0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(mac.b[0] ^ 0x02), mac.b[1],
           mac.b[2], 0xff, 0xfe, mac.b[3], mac.b[4], mac.b[5]}};
}

// The address stateless autoconfiguration forms (RFC 4862 §5.5.3 d)): the
// first 64 bits of `prefix` and the same interface identifier as
// link_local_from_mac().
constexpr Ipv6Addr address_from_prefix(const Ipv6Addr& prefix, const MacAddr& mac) {
  Ipv6Addr a = link_local_from_mac(mac);
  for (int i = 0; i < 8; ++i) a.b[i] = prefix.b[i];
  return a;
}

// 33:33 followed by the group's last four bytes (RFC 2464 §7).
constexpr MacAddr multicast_mac(const Ipv6Addr& group) {
  return {{0x33, 0x33, group.b[12], group.b[13], group.b[14], group.b[15]}};
}

}  // namespace ustack::wire
