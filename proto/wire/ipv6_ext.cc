#include "proto/wire/ipv6_ext.h"

#include "proto/wire/bytes.h"
#include "proto/wire/ipv6.h"

namespace ustack::wire {
namespace {

// The options of a Hop-by-Hop or Destination Options header at `start` (the
// header's first byte) of `len` bytes. RFC 8200 §4.2: each option is type,
// data length (not counting these two bytes) and data, except Pad1.
// Returns kUpper when every option may be skipped.
Ipv6WalkStatus walk_options(std::span<const std::byte> packet, std::size_t start, std::size_t len,
                            bool hop_by_hop, Ipv6Walk& w) {
  std::size_t i = start + 2;
  const std::size_t end = start + len;
  while (i < end) {
    const std::uint8_t type = load_u8(&packet[i]);
    if (type == kIpv6OptPad1) {
      ++i;
      continue;
    }
    if (end - i < 2) return Ipv6WalkStatus::kTruncated;
    const std::size_t olen = 2 + std::size_t{load_u8(&packet[i + 1])};
    if (olen > end - i) return Ipv6WalkStatus::kTruncated;
    if (type == kIpv6OptRouterAlert && hop_by_hop) w.router_alert = true;
    // PadN and Router Alert (RFC 2711: a host has nothing to do with it)
    // are known; anything else is unknown to this host (no jumbograms).
    if (type != kIpv6OptPadN && type != kIpv6OptRouterAlert) {
      // RFC 8200 §4.2: "the highest-order two bits of the Option Type".
      switch (type >> 6) {
        case 0:  // skip over this option
          break;
        case 1:  // discard the packet
          return Ipv6WalkStatus::kBadOption;
        case 2:  // discard, Parameter Problem code 2 to the option type
        case 3:  // the same, but only if the destination was not multicast
          w.send_param_problem = true;
          w.param_problem_unless_multicast = (type >> 6) == 3;
          w.param_code = kParamProblemOption;
          w.param_pointer = static_cast<std::uint32_t>(i);
          return Ipv6WalkStatus::kBadOption;
      }
    }
    i += olen;
  }
  return Ipv6WalkStatus::kUpper;
}

// The walk from the header `nh` names at `off` of `packet`, whose Next
// Header byte is at `nh_field`. `fragmentable`: `packet` is a reassembled
// fragmentable part (RFC 8200 §4.5), where neither Hop-by-Hop (§4.1: only
// right after the IPv6 header) nor another Fragment header belongs.
Ipv6Walk walk_chain(std::span<const std::byte> packet, std::uint8_t nh, std::size_t nh_field,
                    std::size_t off, std::size_t headers, bool fragmentable) {
  Ipv6Walk w;
  w.headers = headers;
  for (;;) {
    if (!ipv6_is_extension(nh)) {
      if (nh == kIpProtoNoNext) {
        w.status = Ipv6WalkStatus::kNoNextHeader;
        return w;
      }
      w.status = Ipv6WalkStatus::kUpper;
      w.upper = nh;
      w.upper_offset = off;
      w.next_header_field = nh_field;
      return w;
    }
    if (w.headers == kMaxExtHeaders) {
      w.status = Ipv6WalkStatus::kTooManyHeaders;
      return w;
    }
    ++w.headers;
    if (nh == kIpProtoHopByHop && (fragmentable || off != Ipv6View::kHeaderLen)) {
      // RFC 8200 §4.1/§4: only first; elsewhere an unrecognized value.
      w.status = Ipv6WalkStatus::kHopByHopLate;
      w.send_param_problem = true;
      w.param_code = kParamProblemNextHeader;
      w.param_pointer = static_cast<std::uint32_t>(nh_field);
      return w;
    }
    // Every extension header starts with Next Header and (but Fragment's)
    // Hdr Ext Len in units of 8 octets, not counting the first 8.
    if (packet.size() - off < 8) {
      w.status = Ipv6WalkStatus::kTruncated;
      return w;
    }
    const std::uint8_t next = load_u8(&packet[off]);
    const std::size_t len =
        nh == kIpProtoFragment ? 8 : 8 + 8 * std::size_t{load_u8(&packet[off + 1])};
    if (len > packet.size() - off) {
      w.status = Ipv6WalkStatus::kTruncated;
      return w;
    }
    switch (nh) {
      case kIpProtoHopByHop:
      case kIpProtoDestOpts: {
        const Ipv6WalkStatus s = walk_options(packet, off, len, nh == kIpProtoHopByHop, w);
        if (s != Ipv6WalkStatus::kUpper) {
          w.status = s;
          return w;
        }
        break;
      }
      case kIpProtoRouting: {
        const std::uint8_t segments_left = load_u8(&packet[off + 3]);
        if (segments_left != 0) {
          // RFC 8200 §4.4 / RFC 5095 §3: unrecognized Routing Type.
          w.status = Ipv6WalkStatus::kRouting;
          w.send_param_problem = true;
          w.param_code = kParamProblemHeaderField;
          w.param_pointer = static_cast<std::uint32_t>(off + 2);
          return w;
        }
        break;
      }
      case kIpProtoFragment: {
        const std::uint16_t word = load_be16(&packet[off + 2]);
        Ipv6FragmentInfo f;
        f.offset_bytes = std::uint32_t{word} & 0xfff8u;  // 13 bits in units of 8
        f.more = (word & 1) != 0;
        f.ident = load_be32(&packet[off + 4]);
        f.next_header = next;
        f.header_offset = off;
        f.data_offset = off + 8;
        if (f.offset_bytes == 0 && !f.more && !fragmentable) {
          // RFC 6946 §4: an atomic fragment is processed in isolation.
          w.atomic_fragment = true;
          break;
        }
        w.frag = f;
        w.status = Ipv6WalkStatus::kFragment;
        return w;
      }
    }
    nh = next;
    nh_field = off;
    off += len;
  }
}

}  // namespace

Ipv6Walk walk_ipv6_headers(std::span<const std::byte> packet) {
  if (packet.size() < Ipv6View::kHeaderLen) return {};  // kTruncated
  return walk_chain(packet, load_u8(&packet[Ipv6View::kNextHeaderOffset]),
                    Ipv6View::kNextHeaderOffset, Ipv6View::kHeaderLen, 0, false);
}

Ipv6Walk walk_ipv6_fragmentable(std::span<const std::byte> part, std::uint8_t first,
                                std::size_t headers) {
  Ipv6Walk w = walk_chain(part, first, 0, 0, headers, true);
  // Offsets here are into the part, not a packet an error could quote.
  w.send_param_problem = false;
  return w;
}

}  // namespace ustack::wire
