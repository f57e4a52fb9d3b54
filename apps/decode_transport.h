// The parts of a decoded line both IP families share (apps/decode.h): the
// printf helper, and TCP and UDP in tcpdump's form, "IP 10.0.0.1.80 >" or
// "IP6 fd00::1.80 >" (tcpdump writes an address and its port joined by a
// dot for both families).
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "apps/decode.h"

namespace ustack::app::decode_detail {

template <typename... Args>
std::string fmt(const char* f, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

// The line for a TCP segment or UDP datagram `l4` (as much of it as was
// captured) whose length by the IP header is `l4_len`. `family` is "IP" or
// "IP6"; `ext` goes after the colon (IPv6 extension headers, or empty).
// Fills the ports, the kind and the TCP flags of *facts.
std::string decode_tcp(const char* family, const std::string& ext, std::span<const std::byte> l4,
                       std::uint32_t l4_len, FrameFacts* facts);
std::string decode_udp(const char* family, const std::string& ext, std::span<const std::byte> l4,
                       FrameFacts* facts);

}  // namespace ustack::app::decode_detail
