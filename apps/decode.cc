#include "apps/decode.h"

#include <cstdio>

#include "proto/wire/arp.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/icmp.h"
#include "proto/wire/ipv4.h"
#include "proto/wire/tcp.h"
#include "proto/wire/udp.h"

namespace ustack::app {
namespace {

std::string fmt(const char* f, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

std::string tcp_flags(std::uint8_t f) {
  std::string s;
  if (f & wire::kTcpSyn) s += 'S';
  if (f & wire::kTcpFin) s += 'F';
  if (f & wire::kTcpRst) s += 'R';
  if (f & wire::kTcpPsh) s += 'P';
  if (f & wire::kTcpUrg) s += 'U';
  if (f & wire::kTcpEce) s += 'E';
  if (f & wire::kTcpCwr) s += 'W';
  if (f & wire::kTcpAck) s += '.';
  return s.empty() ? "none" : s;
}

std::string decode_ipv4(std::span<const std::byte> bytes, std::uint32_t frame_len,
                        FrameFacts* facts) {
  const auto ip = wire::Ipv4View::parse_quoted(bytes);
  if (!ip) return "IP, malformed header, length " + std::to_string(frame_len);
  facts->has_ip = true;
  facts->src = ip->src();
  facts->dst = ip->dst();
  const std::string s = ip->src().to_string(), d = ip->dst().to_string();
  const std::uint32_t total = ip->total_length();
  if (ip->frag_offset() != 0) {
    facts->kind = FrameFacts::Kind::kIpOther;
    return fmt("IP %s > %s: fragment id %u offset %u%s, length %u", s.c_str(), d.c_str(),
               ip->ident(), ip->frag_offset_bytes(), ip->more_fragments() ? "+" : "",
               total - static_cast<std::uint32_t>(ip->header_len()));
  }
  const auto l4 = ip->payload();
  switch (ip->protocol()) {
    case wire::kIpProtoIcmp: {
      facts->kind = FrameFacts::Kind::kIcmp;
      const auto ic = wire::IcmpView::parse(l4);
      if (!ic) return fmt("IP %s > %s: ICMP, truncated", s.c_str(), d.c_str());
      const std::uint32_t len = total - static_cast<std::uint32_t>(ip->header_len());
      if (ic->type() == wire::kIcmpEchoRequest || ic->type() == wire::kIcmpEchoReply)
        return fmt("IP %s > %s: ICMP echo %s, id %u, seq %u, length %u", s.c_str(), d.c_str(),
                   ic->type() == wire::kIcmpEchoRequest ? "request" : "reply", ic->echo_id(),
                   ic->echo_seq(), len);
      if (ic->type() == wire::kIcmpDestUnreachable)
        return fmt("IP %s > %s: ICMP unreachable, code %u, length %u", s.c_str(), d.c_str(),
                   ic->code(), len);
      return fmt("IP %s > %s: ICMP type %u code %u, length %u", s.c_str(), d.c_str(), ic->type(),
                 ic->code(), len);
    }
    case wire::kIpProtoUdp: {
      facts->kind = FrameFacts::Kind::kUdp;
      if (l4.size() < 8) return fmt("IP %s > %s: UDP, truncated", s.c_str(), d.c_str());
      const std::uint16_t sp = wire::load_be16(l4.data()), dp = wire::load_be16(l4.data() + 2);
      facts->sport = sp;
      facts->dport = dp;
      return fmt("IP %s.%u > %s.%u: UDP, length %u", s.c_str(), sp, d.c_str(), dp,
                 wire::load_be16(l4.data() + 4) - 8u);
    }
    case wire::kIpProtoTcp: {
      facts->kind = FrameFacts::Kind::kTcp;
      const auto t = wire::TcpView::parse(l4);
      if (!t) return fmt("IP %s > %s: TCP, malformed header", s.c_str(), d.c_str());
      facts->sport = t->src_port();
      facts->dport = t->dst_port();
      const std::uint32_t len = total - static_cast<std::uint32_t>(ip->header_len()) -
                                static_cast<std::uint32_t>(t->header_len());
      std::string line =
          fmt("IP %s.%u > %s.%u: Flags [%s], seq %u", s.c_str(), t->src_port(), d.c_str(),
              t->dst_port(), tcp_flags(t->flags()).c_str(), t->seq_number());
      if (len > 0) line += fmt(":%u", t->seq_number() + len);
      if (t->ack()) line += fmt(", ack %u", t->ack_number());
      line += fmt(", win %u", t->window());
      const auto o = t->options();
      std::string opts;
      if (o.mss) opts += fmt("mss %u,", *o.mss);
      if (o.sack_permitted) opts += "sackOK,";
      if (o.timestamps) opts += fmt("TS val %u ecr %u,", o.timestamps->tsval, o.timestamps->tsecr);
      if (o.window_scale) opts += fmt("wscale %u,", *o.window_scale);
      if (!opts.empty()) line += ", options [" + opts.substr(0, opts.size() - 1) + "]";
      return line + fmt(", length %u", len);
    }
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
      facts->src = arp->sender_ip();
      facts->dst = arp->target_ip();
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
      return prefix + "IP6, length " + std::to_string(frame.pkt_len);
    default:
      return prefix + fmt("ethertype 0x%04x, %s > %s, length %u", eth->ethertype(),
                          eth->src().to_string().c_str(), eth->dst().to_string().c_str(),
                          frame.pkt_len);
  }
}

}  // namespace ustack::app
