// IPv6 for `ustack dump` and `ustack ids` (apps/decode.h): the fixed header,
// the extension header chain walked by proto/wire/ipv6_ext.h (so dump sees
// what the stack would: at most 8 headers in the first 512 bytes, RFC 8504
// §5.3), then ICMPv6, TCP or UDP, in tcpdump -n's words:
//
//   IP6 fd00::2 > fd00::1: ICMP6, echo request, id 1, seq 1, length 64
//   IP6 fd00::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has fd00::2, length 32
//   IP6 fd00::2.8888 > fd00::1.40000: Flags [S.], seq 1, ack 2, win 65535, length 0
//   IP6 fd00::1.5000 > fd00::2.7: [HBH DSTOPT] UDP, length 5
//   IP6 fd00::1 > fd00::2: frag id 43981 offset 8+, next-header 17, length 16
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "apps/decode.h"

namespace ustack::app {

// `bytes` is the Ethernet payload (the IPv6 header onwards, as captured);
// `frame_len` the whole frame's length, for what cannot be parsed.
std::string decode_ipv6(std::span<const std::byte> bytes, std::uint32_t frame_len,
                        FrameFacts* facts);

}  // namespace ustack::app
