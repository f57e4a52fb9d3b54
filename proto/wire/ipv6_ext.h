// The IPv6 extension header chain (RFC 8200 §4), walked with bounds checks.
//
// walk_ipv6_headers() starts after the fixed header and follows Next Header
// through Hop-by-Hop Options, Routing, Fragment and Destination Options
// until the first header that is not one of those (the upper layer, or
// anything this walk does not know, which the caller judges by its
// protocol table). Every length is checked against the bytes given before
// it is used; nothing is read outside them.
//
// Decisions, each with its clause:
//  - Hop-by-Hop Options only directly after the fixed header (§4.1, §4.3);
//    elsewhere it is an unrecognized Next Header: Parameter Problem code 1
//    pointing at the Next Header byte that named it (§4).
//  - Options (§4.2): Pad1 and PadN are skipped; any other option is unknown
//    here and handled by the two high bits of its type: 00 skip, 01 discard,
//    10 discard and Parameter Problem code 2 pointing at the option type,
//    11 the same but no ICMP when the destination was multicast. An option
//    whose length runs past its header makes the packet malformed.
//  - Routing (§4.4): with Segments Left 0 the header is ignored and the walk
//    goes on. Otherwise the packet would have to be forwarded to the next
//    address, which a host does not do, and no routing type is recognized
//    here: type 0 is deprecated (RFC 5095 §3: "treated as an unrecognized
//    Routing Type"); Parameter Problem code 0 pointing at the Routing Type.
//  - Fragment (§4.5): an atomic fragment (offset 0, M clear) is processed
//    in isolation (RFC 6946 §4) and the walk goes on behind it; any other
//    fragment ends the walk, reported for reassembly.
//  - No Next Header (59, §4.7) ends the walk with nothing to deliver.
//  - RFC 8504 §5.3 lets a host limit the chain: at most kMaxExtHeaders
//    headers, within the bytes the caller gives (it makes the first
//    kMaxHeaderChain bytes contiguous).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ustack::wire {

inline constexpr std::size_t kMaxExtHeaders = 8;
inline constexpr std::size_t kMaxHeaderChain = 512;

// Option types of the Hop-by-Hop and Destination Options headers.
inline constexpr std::uint8_t kIpv6OptPad1 = 0;
inline constexpr std::uint8_t kIpv6OptPadN = 1;
inline constexpr std::uint8_t kIpv6OptRouterAlert = 5;

// ICMPv6 Parameter Problem codes (RFC 4443 §3.4; RFC 7112 §3).
inline constexpr std::uint8_t kParamProblemHeaderField = 0;
inline constexpr std::uint8_t kParamProblemNextHeader = 1;
inline constexpr std::uint8_t kParamProblemOption = 2;
inline constexpr std::uint8_t kParamProblemChainIncomplete = 3;

enum class Ipv6WalkStatus : std::uint8_t {
  kUpper,           // reached a header that is not an extension: `upper`
  kFragment,        // a (non-atomic) fragment: `frag` says which
  kNoNextHeader,    // Next Header 59: nothing follows (RFC 8200 §4.7)
  kTruncated,       // a header or option runs past the bytes
  kBadOption,       // an unknown option said discard (bits 01, 10, 11)
  kHopByHopLate,    // Hop-by-Hop Options after the first header
  kRouting,         // a routing header with Segments Left > 0
  kTooManyHeaders,  // more than kMaxExtHeaders
};

struct Ipv6FragmentInfo {
  std::uint32_t offset_bytes = 0;
  bool more = false;
  std::uint32_t ident = 0;
  std::uint8_t next_header = 0;   // of the fragmentable part
  std::size_t header_offset = 0;  // of the Fragment header, from the IPv6 header
  std::size_t data_offset = 0;    // of the fragment's data, from the IPv6 header
};

struct Ipv6Walk {
  Ipv6WalkStatus status = Ipv6WalkStatus::kTruncated;
  std::uint8_t upper = 0;             // kUpper: the protocol
  std::size_t upper_offset = 0;       // kUpper: where it starts, from the IPv6 header
  std::size_t next_header_field = 0;  // offset of the Next Header byte naming `upper`
  Ipv6FragmentInfo frag;              // kFragment
  bool atomic_fragment = false;       // an atomic fragment was passed (RFC 6946)
  std::size_t headers = 0;            // extension headers walked
  bool router_alert = false;          // a Router Alert option in Hop-by-Hop (RFC 2711)
  // When the packet is refused with an ICMPv6 Parameter Problem: its code
  // and pointer (offset from the start of the IPv6 header, RFC 4443 §3.4).
  bool send_param_problem = false;
  bool param_problem_unless_multicast = false;  // option action 11
  std::uint8_t param_code = 0;
  std::uint32_t param_pointer = 0;
};

// Walks the chain of `packet` (the IPv6 header and as much of what follows
// as is contiguous; at least the fixed header). Reads nothing outside it.
Ipv6Walk walk_ipv6_headers(std::span<const std::byte> packet);

// The same walk over the fragmentable part of a fragmented packet (RFC
// 8200 §4.5), from the header `first` (the Fragment header's Next Header)
// at its first byte: the extension headers behind a Fragment header, once
// reassembled or within a first fragment. `headers`: those walked before
// the Fragment header (with it), toward kMaxExtHeaders. Hop-by-Hop there is
// kHopByHopLate, another Fragment header kFragment; no Parameter Problem
// is asked for (the offsets are not into a packet an error could quote).
Ipv6Walk walk_ipv6_fragmentable(std::span<const std::byte> part, std::uint8_t first,
                                std::size_t headers);

// True for the Next Header values this walk treats as extension headers.
constexpr bool ipv6_is_extension(std::uint8_t nh) {
  return nh == 0 || nh == 43 || nh == 44 || nh == 60;
}

}  // namespace ustack::wire
