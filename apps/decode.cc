#include "apps/decode.h"

#include "apps/decode_ipv6.h"
#include "apps/decode_transport.h"
#include "proto/wire/arp.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/icmp.h"
#include "proto/wire/ipv4.h"

namespace ustack::app {
namespace {

using decode_detail::fmt;

std::string decode_ipv4(std::span<const std::byte> bytes, std::uint32_t frame_len,
                        FrameFacts* facts) {
  const auto ip = wire::Ipv4View::parse_quoted(bytes);
  if (!ip) return "IP, malformed header, length " + std::to_string(frame_len);
  facts->has_ip = true;
  facts->src = IpAddr::v4(ip->src());
  facts->dst = IpAddr::v4(ip->dst());
  const std::string s = ip->src().to_string(), d = ip->dst().to_string();
  const std::uint32_t total = ip->total_length();
  const std::uint32_t l4_len = total - static_cast<std::uint32_t>(ip->header_len());
  if (ip->frag_offset() != 0) {
    facts->kind = FrameFacts::Kind::kIpOther;
    return fmt("IP %s > %s: fragment id %u offset %u%s, length %u", s.c_str(), d.c_str(),
               ip->ident(), ip->frag_offset_bytes(), ip->more_fragments() ? "+" : "", l4_len);
  }
  const auto l4 = ip->payload();
  switch (ip->protocol()) {
    case wire::kIpProtoIcmp: {
      facts->kind = FrameFacts::Kind::kIcmp;
      const auto ic = wire::IcmpView::parse(l4);
      if (!ic) return fmt("IP %s > %s: ICMP, truncated", s.c_str(), d.c_str());
      if (ic->type() == wire::kIcmpEchoRequest || ic->type() == wire::kIcmpEchoReply)
        return fmt("IP %s > %s: ICMP echo %s, id %u, seq %u, length %u", s.c_str(), d.c_str(),
                   ic->type() == wire::kIcmpEchoRequest ? "request" : "reply", ic->echo_id(),
                   ic->echo_seq(), l4_len);
      if (ic->type() == wire::kIcmpDestUnreachable)
        return fmt("IP %s > %s: ICMP unreachable, code %u, length %u", s.c_str(), d.c_str(),
                   ic->code(), l4_len);
      return fmt("IP %s > %s: ICMP type %u code %u, length %u", s.c_str(), d.c_str(), ic->type(),
                 ic->code(), l4_len);
    }
    case wire::kIpProtoUdp:
      return decode_detail::decode_udp("IP", "", l4, facts);
    case wire::kIpProtoTcp:
      return decode_detail::decode_tcp("IP", "", l4, l4_len, facts);
    default:
      facts->kind = FrameFacts::Kind::kIpOther;
      return fmt("IP %s > %s: ip-proto-%u, length %u", s.c_str(), d.c_str(), ip->protocol(), total);
  }
}

}  // namespace

std::string decode_frame(const Mbuf& frame, FrameFacts* facts) {
  *facts = FrameFacts{};
  const auto eth = wire::EthernetView::parse(frame.span());
  if (!eth) return "truncated frame, length " + std::to_string(frame.pkt_len);
  std::string prefix = eth->has_vlan() ? fmt("vlan %u, ", eth->vlan_id()) : std::string();
  const auto payload = eth->payload();
  switch (eth->ethertype()) {
    case wire::kEtherTypeArp: {
      facts->kind = FrameFacts::Kind::kArp;
      const auto arp = wire::ArpView::parse(payload);
      if (!arp) return prefix + "ARP, malformed";
      facts->src = IpAddr::v4(arp->sender_ip());
      facts->dst = IpAddr::v4(arp->target_ip());
      if (arp->is_request())
        return prefix + fmt("ARP, Request who-has %s tell %s, length 28",
                            arp->target_ip().to_string().c_str(),
                            arp->sender_ip().to_string().c_str());
      return prefix + fmt("ARP, Reply %s is-at %s, length 28", arp->sender_ip().to_string().c_str(),
                          arp->sender_mac().to_string().c_str());
    }
    case wire::kEtherTypeIpv4:
      return prefix + decode_ipv4(payload, frame.pkt_len, facts);
    case wire::kEtherTypeIpv6:
      return prefix + decode_ipv6(payload, frame.pkt_len, facts);
    default:
      return prefix + fmt("ethertype 0x%04x, %s > %s, length %u", eth->ethertype(),
                          eth->src().to_string().c_str(), eth->dst().to_string().c_str(),
                          frame.pkt_len);
  }
}

}  // namespace ustack::app
