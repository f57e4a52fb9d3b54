#include "apps/decode_ipv6.h"

#include <algorithm>

#include "apps/decode_transport.h"
#include "proto/wire/bytes.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ipv4.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/ipv6_ext.h"
#include "proto/wire/ndp.h"

namespace ustack::app {
namespace {

using decode_detail::fmt;

// tcpdump's names for the extension headers.
const char* ext_name(std::uint8_t nh) {
  switch (nh) {
    case wire::kIpProtoHopByHop:
      return "HBH";
    case wire::kIpProtoRouting:
      return "srcrt";
    case wire::kIpProtoFragment:
      return "frag";
    default:
      return "DSTOPT";
  }
}

// "[HBH DSTOPT] " for the first `count` headers of the chain (which the
// walk has already checked); empty when there are none. Each read is still
// bounds-checked, so a chain the walk stopped inside ends the list.
std::string ext_list(std::span<const std::byte> chain, std::size_t count) {
  if (count == 0) return {};
  std::string s = "[";
  std::uint8_t nh = wire::load_u8(&chain[wire::Ipv6View::kNextHeaderOffset]);
  std::size_t off = wire::Ipv6View::kHeaderLen;
  for (std::size_t i = 0; i < count && wire::ipv6_is_extension(nh); ++i) {
    if (i > 0) s += ' ';
    s += ext_name(nh);
    if (chain.size() - off < 8) break;
    const std::size_t len =
        nh == wire::kIpProtoFragment ? 8 : 8 + 8 * std::size_t{wire::load_u8(&chain[off + 1])};
    nh = wire::load_u8(&chain[off]);
    if (len > chain.size() - off) break;
    off += len;
  }
  return s + "] ";
}

const char* unreachable_name(std::uint8_t code) {
  // RFC 4443 §3.1.
  switch (code) {
    case 0:
      return "no route";
    case 1:
      return "prohibited";
    case 2:
      return "beyond scope";
    case 3:
      return "address unreachable";
    case 4:
      return "port unreachable";
    case 5:
      return "source address failed policy";
    case 6:
      return "reject route";
    default:
      return "unknown code";
  }
}

// The ICMPv6 message `m` (as captured) of `len` bytes by the IP header.
std::string icmpv6_text(std::span<const std::byte> m, std::uint32_t len) {
  const auto ic = wire::Icmpv6View::parse(m);
  if (!ic) return "ICMP6, truncated";
  // A message that carries an address (ND's target) needs 24 bytes.
  const bool has_target = m.size() >= 24;
  const std::string target =
      has_target ? Ipv6Addr::from_bytes(m.data() + 8).to_string() : std::string();
  switch (ic->type()) {
    case wire::kIcmpv6EchoRequest:
    case wire::kIcmpv6EchoReply:
      return fmt("ICMP6, echo %s, id %u, seq %u, length %u",
                 ic->type() == wire::kIcmpv6EchoRequest ? "request" : "reply", ic->echo_id(),
                 ic->echo_seq(), len);
    case wire::kIcmpv6NeighborSolicit:
      if (!has_target) return "ICMP6, neighbor solicitation, truncated";
      return fmt("ICMP6, neighbor solicitation, who has %s, length %u", target.c_str(), len);
    case wire::kIcmpv6NeighborAdvert: {
      if (!has_target) return "ICMP6, neighbor advertisement, truncated";
      const std::uint8_t f = wire::load_u8(m.data() + 4);
      std::string flags;
      if (f & wire::kNaFlagRouter) flags += "router, ";
      if (f & wire::kNaFlagSolicited) flags += "solicited, ";
      if (f & wire::kNaFlagOverride) flags += "override, ";
      if (!flags.empty()) flags = ", Flags [" + flags.substr(0, flags.size() - 2) + "]";
      return fmt("ICMP6, neighbor advertisement, tgt is %s%s, length %u", target.c_str(),
                 flags.c_str(), len);
    }
    case wire::kIcmpv6RouterSolicit:
      return fmt("ICMP6, router solicitation, length %u", len);
    case wire::kIcmpv6RouterAdvert:
      return fmt("ICMP6, router advertisement, length %u", len);
    case wire::kIcmpv6Redirect:
      if (!has_target) return "ICMP6, redirect, truncated";
      return fmt("ICMP6, redirect, %s, length %u", target.c_str(), len);
    case 130:  // RFC 2710 §3 / RFC 3810 §5: Multicast Listener Query
      return fmt("ICMP6, multicast listener query, length %u", len);
    case 131:
      return fmt("ICMP6, multicast listener report, length %u", len);
    case 132:
      return fmt("ICMP6, multicast listener done, length %u", len);
    case 143:  // RFC 3810 §5.2
      return fmt("ICMP6, multicast listener report v2, length %u", len);
    case wire::kIcmpv6DestUnreachable:
      return fmt("ICMP6, destination unreachable, %s, length %u", unreachable_name(ic->code()),
                 len);
    case wire::kIcmpv6PacketTooBig:
      return fmt("ICMP6, packet too big, mtu %u, length %u", ic->word(), len);
    case wire::kIcmpv6TimeExceeded:
      // RFC 4443 §3.3: code 0 hop limit, 1 reassembly.
      return fmt("ICMP6, time exceeded %s, length %u",
                 ic->code() == 0 ? "in-transit" : "reassembly", len);
    case wire::kIcmpv6ParamProblem:
      return fmt("ICMP6, parameter problem, code %u, pointer %u, length %u", ic->code(), ic->word(),
                 len);
    default:
      return fmt("ICMP6, type %u, code %u, length %u", ic->type(), ic->code(), len);
  }
}

}  // namespace

std::string decode_ipv6(std::span<const std::byte> bytes, std::uint32_t frame_len,
                        FrameFacts* facts) {
  const auto ip = wire::Ipv6View::parse_header(bytes);
  if (!ip) return "IP6, malformed header, length " + std::to_string(frame_len);
  facts->has_ip = true;
  facts->kind = FrameFacts::Kind::kIpOther;
  facts->src = IpAddr::v6(ip->src());
  facts->dst = IpAddr::v6(ip->dst());
  const std::string s = ip->src().to_string(), d = ip->dst().to_string();
  const std::uint32_t plen = ip->payload_length();
  const std::uint32_t total = wire::Ipv6View::kHeaderLen + plen;
  // parse_header() keeps what was captured of the payload; a payload
  // length past it is a frame cut short.
  if (ip->bytes().size() < total)
    return fmt("IP6 %s > %s: truncated, payload length %u, %zu bytes captured", s.c_str(),
               d.c_str(), plen, ip->payload().size());
  const auto chain = ip->bytes().first(std::min(ip->bytes().size(), wire::kMaxHeaderChain));
  const wire::Ipv6Walk w = wire::walk_ipv6_headers(chain);
  const std::string ext = ext_list(chain, w.headers);
  switch (w.status) {
    case wire::Ipv6WalkStatus::kUpper:
      break;
    case wire::Ipv6WalkStatus::kFragment:
      return fmt("IP6 %s > %s: %sfrag id %u offset %u%s, next-header %u, length %u", s.c_str(),
                 d.c_str(), ext.c_str(), w.frag.ident, w.frag.offset_bytes, w.frag.more ? "+" : "",
                 w.frag.next_header, total - static_cast<std::uint32_t>(w.frag.data_offset));
    case wire::Ipv6WalkStatus::kNoNextHeader:
      return fmt("IP6 %s > %s: %sno next header, length %u", s.c_str(), d.c_str(), ext.c_str(),
                 plen);
    case wire::Ipv6WalkStatus::kTruncated:
      return fmt("IP6 %s > %s: %sextension header truncated, length %u", s.c_str(), d.c_str(),
                 ext.c_str(), plen);
    case wire::Ipv6WalkStatus::kBadOption:
      return fmt("IP6 %s > %s: %sunknown option the receiver must discard, length %u", s.c_str(),
                 d.c_str(), ext.c_str(), plen);
    case wire::Ipv6WalkStatus::kHopByHopLate:
      // RFC 8200 §4.1: Hop-by-Hop Options only right after the fixed header.
      return fmt("IP6 %s > %s: %smalformed chain, hop-by-hop options not first, length %u",
                 s.c_str(), d.c_str(), ext.c_str(), plen);
    case wire::Ipv6WalkStatus::kRouting:
      // The walk points at the Routing Type; Segments Left follows it.
      return fmt("IP6 %s > %s: %srouting type %u, segments left %u, length %u", s.c_str(),
                 d.c_str(), ext.c_str(), wire::load_u8(&chain[w.param_pointer]),
                 wire::load_u8(&chain[w.param_pointer + 1]), plen);
    case wire::Ipv6WalkStatus::kTooManyHeaders:
      return fmt("IP6 %s > %s: %smore than %zu extension headers, length %u", s.c_str(), d.c_str(),
                 ext.c_str(), wire::kMaxExtHeaders, plen);
  }
  const auto l4 = ip->bytes().subspan(w.upper_offset);
  const std::uint32_t l4_len = total - static_cast<std::uint32_t>(w.upper_offset);
  switch (w.upper) {
    case wire::kIpProtoIcmpv6:
      facts->kind = FrameFacts::Kind::kIcmp6;
      return fmt("IP6 %s > %s: %s", s.c_str(), d.c_str(), ext.c_str()) + icmpv6_text(l4, l4_len);
    case wire::kIpProtoUdp:
      return decode_detail::decode_udp("IP6", ext, l4, facts);
    case wire::kIpProtoTcp:
      return decode_detail::decode_tcp("IP6", ext, l4, l4_len, facts);
    default:
      return fmt("IP6 %s > %s: %sip-proto-%u, length %u", s.c_str(), d.c_str(), ext.c_str(),
                 w.upper, l4_len);
  }
}

}  // namespace ustack::app
