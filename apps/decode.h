// One line per frame, in the manner of `tcpdump -n`: ARP, IPv4 with ICMP,
// UDP and TCP (flags, sequence numbers, window, options), fragments, IPv6
// with its extension headers, ICMPv6 (echo, neighbor discovery, errors) and
// TCP/UDP over it, and what is malformed said plainly ("malformed",
// "truncated"). Also the facts a filter needs, the same for both families.
#pragma once

#include <cstdint>
#include <string>

#include "core/mbuf.h"
#include "proto/ip_addr.h"

namespace ustack::app {

struct FrameFacts {
  enum class Kind : std::uint8_t { kOther, kArp, kIcmp, kIcmp6, kUdp, kTcp, kIpOther };
  Kind kind = Kind::kOther;
  IpAddr src, dst;  // IPv4, IPv6, or ARP sender/target
  std::uint16_t sport = 0, dport = 0;
  std::uint8_t tcp_flags = 0;  // kTcp: the header's flags byte
  bool has_ip = false;
};

// Decodes the first segment of `frame` (headers are there) into one line
// without a timestamp, and fills *facts.
std::string decode_frame(const Mbuf& frame, FrameFacts* facts);

}  // namespace ustack::app
