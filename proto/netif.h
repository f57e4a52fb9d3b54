// The configuration of the interface a stack runs on.
#pragma once

#include <cstdint>
#include <vector>

#include "core/mac_addr.h"
#include "proto/ip_addr.h"

namespace ustack {

struct NetifConfig {
  MacAddr mac;
  std::vector<Ipv4Cidr> addrs;  // the first is the default source address
  Ipv4Addr gateway;             // 0.0.0.0: no default route
  std::uint32_t mtu = 1500;     // IP MTU (Ethernet payload)
  std::uint16_t vlan_id = 0;    // 802.1Q VLAN of the interface; 0: untagged
  bool gratuitous_arp = true;   // announce the addresses when the stack starts
  // IPv6 (proto/ipv6.h) runs when `ipv6` is set or an IPv6 address is
  // given: the link-local address from the MAC (RFC 4862 §5.3) comes first,
  // then `addrs6`, each checked by duplicate address detection.
  bool ipv6 = false;
  std::vector<Ipv6Cidr> addrs6;
  Ipv6Addr gateway6;  // ::: no default route
  // Router advertisements are followed (proto/router_discovery.h): default
  // routers, on-link prefixes, the link MTU, and addresses formed from the
  // routers' prefixes (stateless autoconfiguration, RFC 4862). Off: they
  // are counted and dropped. Turns IPv6 on.
  bool slaac = false;
  bool ipv6_enabled() const { return ipv6 || slaac || !addrs6.empty(); }
};

}  // namespace ustack
