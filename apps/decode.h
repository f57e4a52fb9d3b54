// One line per frame, in the manner of `tcpdump -n`: ARP, IPv4 with ICMP,
// UDP and TCP (flags, sequence numbers, window, options), fragments, and
// what is malformed said plainly. Also the facts a filter needs.
#pragma once

#include <cstdint>
#include <string>

#include "core/mbuf.h"
#include "proto/ip_addr.h"

namespace ustack::app {

struct FrameFacts {
  enum class Kind : std::uint8_t { kOther, kArp, kIcmp, kUdp, kTcp, kIpOther };
  Kind kind = Kind::kOther;
  Ipv4Addr src, dst;  // IPv4 or ARP sender/target
  std::uint16_t sport = 0, dport = 0;
  bool has_ip = false;
};

// Decodes the first segment of `frame` (headers are there) into one line
// without a timestamp, and fills *facts.
std::string decode_frame(const Mbuf& frame, FrameFacts* facts);

}  // namespace ustack::app
