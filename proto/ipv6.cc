#include "proto/ipv6.h"

#include <algorithm>

#include "proto/stack.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/ipv6_ethernet.h"
#include "proto/wire/ipv6_ext.h"

namespace ustack {

bool Ipv6Meta::may_send_icmp_error(bool multicast_ok) const {
  if ((dst_multicast || l2_multicast) && !multicast_ok) return false;
  // RFC 4443 §2.4 (e.6): "a packet whose source address does not uniquely
  // identify a single node" (unspecified, multicast).
  return !src.is_unspecified() && !src.is_multicast();
}

Ipv6Layer::Ipv6Layer(Stack& stack)
    : stack_(stack),
      reasm_(stack.config().ipv6.reassembly, stack.timers(), stack.counters()),
      link_mtu_(stack.config().netif.mtu),
      hop_limit_(stack.config().default_ttl),
      rng_(stack.config().seed ^ 0xf1a6),
      rx_(stack.counters().get("ipv6.rx")),
      tx_(stack.counters().get("ipv6.tx")),
      tx_fragments_(stack.counters().get("ipv6.tx.fragments")),
      rx_no_next_(stack.counters().get("ipv6.rx.no_next_header")),
      drop_malformed_(stack.counters().get("ipv6.drop.malformed")),
      drop_bad_source_(stack.counters().get("ipv6.drop.bad_source")),
      drop_land_(stack.counters().get("ipv6.drop.land")),
      drop_not_for_us_(stack.counters().get("ipv6.drop.not_for_us")),
      drop_multicast_(stack.counters().get("ipv6.drop.multicast")),
      drop_tentative_(stack.counters().get("ipv6.drop.tentative")),
      drop_bad_option_(stack.counters().get("ipv6.drop.bad_option")),
      drop_hbh_late_(stack.counters().get("ipv6.drop.hop_by_hop_not_first")),
      drop_routing_(stack.counters().get("ipv6.drop.routing_header")),
      drop_too_many_headers_(stack.counters().get("ipv6.drop.header_chain")),
      drop_fragment_length_(stack.counters().get("ipv6.drop.fragment_length")),
      drop_fragment_too_big_(stack.counters().get("ipv6.drop.fragment_too_big")),
      drop_fragment_chain_(stack.counters().get("ipv6.drop.fragment_header_chain")),
      drop_unknown_protocol_(stack.counters().get("ipv6.drop.unknown_protocol")),
      drop_no_route_(stack.counters().get("ipv6.drop.no_route")),
      drop_too_big_(stack.counters().get("ipv6.drop.too_big")),
      drop_no_mbuf_(stack.counters().get("ipv6.drop.no_mbuf")) {
  const NetifConfig& nif = stack.config().netif;
  if (!nif.ipv6_enabled()) return;
  addrs_.reserve(1 + nif.addrs6.size() + kMaxAutoconfAddrs);
  // RFC 4862 §5.3: the link-local address is formed from the interface
  // identifier (RFC 2464 §4: modified EUI-64 of the MAC) and goes through
  // DAD like every other.
  const auto initial = stack.config().ipv6.dad_transmits == 0 ? Ipv6AddrState::kPreferred
                                                              : Ipv6AddrState::kTentative;
  addrs_.push_back({wire::link_local_from_mac(nif.mac), 64, initial, 0});
  for (const Ipv6Cidr& c : nif.addrs6)
    if (find_local(c.addr) == nullptr) addrs_.push_back({c.addr, c.prefix_len, initial, 0});
}

Ipv6LocalAddr* Ipv6Layer::find_local(const Ipv6Addr& a) {
  for (Ipv6LocalAddr& l : addrs_)
    if (l.addr == a) return &l;
  return nullptr;
}

bool Ipv6Layer::add_autoconf(const Ipv6LocalAddr& a) {
  if (autoconf_count() >= kMaxAutoconfAddrs) return false;
  addrs_.push_back(a);  // within the reserved room
  addrs_.back().autoconf = true;
  return true;
}

void Ipv6Layer::remove(Ipv6Addr a) {
  std::erase_if(addrs_, [&](const Ipv6LocalAddr& l) { return l.addr == a; });
}

std::size_t Ipv6Layer::autoconf_count() const {
  return static_cast<std::size_t>(std::count_if(addrs_.begin(), addrs_.end(),
                                                [](const Ipv6LocalAddr& l) { return l.autoconf; }));
}

bool Ipv6Layer::is_local(const Ipv6Addr& a) const {
  for (const Ipv6LocalAddr& l : addrs_)
    if (l.addr == a && l.assigned()) return true;
  return false;
}

bool Ipv6Layer::in_group(const Ipv6Addr& group) const {
  if (group == Ipv6Addr::all_nodes()) return true;
  for (const Ipv6LocalAddr& l : addrs_)
    if (l.state != Ipv6AddrState::kDuplicate && l.addr.solicited_node() == group) return true;
  return false;
}

bool Ipv6Layer::accepts_group_mac(const MacAddr& mac) const {
  if (mac == wire::multicast_mac(Ipv6Addr::all_nodes())) return true;
  for (const Ipv6LocalAddr& l : addrs_)
    if (l.state != Ipv6AddrState::kDuplicate && mac == wire::multicast_mac(l.addr.solicited_node()))
      return true;
  return false;
}

Ipv6Addr Ipv6Layer::source_for(const Ipv6Addr& dst) const {
  const bool link_scope = dst.is_link_local() || (dst.is_multicast() && dst.multicast_scope() <= 2);
  const Ipv6LocalAddr* best = nullptr;
  unsigned best_len = 0;
  for (const Ipv6LocalAddr& l : addrs_) {
    if (l.state != Ipv6AddrState::kPreferred) continue;
    if (l.addr == dst) return dst;                       // rule 1
    if (l.addr.is_link_local() != link_scope) continue;  // rule 2: the same scope
    unsigned len = 0;                                    // rule 8: the longest common prefix
    while (len < 128 && dst.in_prefix(l.addr, len + 1)) ++len;
    if (best == nullptr || len > best_len) {
      best = &l;
      best_len = len;
    }
  }
  if (best != nullptr) return best->addr;
  // No address of the destination's scope: any preferred one; failing
  // that a deprecated one (RFC 4862 §5.5.4: avoided while another will do).
  for (const Ipv6LocalAddr& l : addrs_)
    if (l.state == Ipv6AddrState::kPreferred) return l.addr;
  for (const Ipv6LocalAddr& l : addrs_)
    if (l.state == Ipv6AddrState::kDeprecated) return l.addr;
  return Ipv6Addr::any();
}

bool Ipv6Layer::next_hop(const Ipv6Addr& dst, Ipv6Addr* hop) const {
  // RFC 4861 §5.2: on-link when link-local or inside a prefix of ours;
  // otherwise the default router.
  // An autoconfigured address says nothing about what is on-link (RFC 5942
  // §4); a router's Prefix Information with the L flag does (RFC 4861
  // §6.3.4). The configured gateway comes before a learned router.
  *hop = dst;
  if (dst.is_link_local()) return true;
  for (const Ipv6LocalAddr& l : addrs_)
    if (!l.autoconf && !l.addr.is_link_local() && dst.in_prefix(l.addr, l.prefix_len)) return true;
  const RouterDiscovery& rd = stack_.nd().routers();
  if (rd.on_link(dst)) return true;
  Ipv6Addr gw = stack_.config().netif.gateway6;
  if (gw.is_unspecified()) gw = rd.default_router();
  if (gw.is_unspecified()) return false;
  *hop = gw;
  return true;
}

void Ipv6Layer::drop(Mbuf* m, Counter& reason) {
  reason.inc();
  mbuf_free(m);
}

void Ipv6Layer::refuse(Mbuf* m, const Ipv6Meta& meta, Counter& reason, bool param_problem,
                       std::uint8_t code, std::uint32_t pointer, bool multicast_ok) {
  reason.inc();
  if (param_problem) stack_.icmpv6().send_param_problem(code, pointer, meta, m, multicast_ok);
  mbuf_free(m);
}

void Ipv6Layer::input(Mbuf* m, bool l2_multicast) {
  rx_.inc();
  std::span<const std::byte> first = std::as_const(*m).span();
  const auto ip =
      m->next == nullptr ? wire::Ipv6View::parse(first) : wire::Ipv6View::parse_header(first);
  if (!ip || wire::Ipv6View::kHeaderLen + ip->payload_length() > m->pkt_len)
    return drop(m, drop_malformed_);
  Ipv6Meta meta;
  meta.src = ip->src();
  meta.dst = ip->dst();
  meta.hop_limit = ip->hop_limit();
  meta.traffic_class = ip->traffic_class();
  meta.l2_multicast = l2_multicast;
  // RFC 4291 §2.7: a multicast address is never a source; §2.5.3: the
  // loopback address never leaves a node; IPv4-mapped addresses are not
  // for the wire (RFC 4942 §2.1.4). Our own address as source is a loop or
  // LAND. The unspecified source is kept for DAD (RFC 4862 §5.4.2) and
  // refused for anything but ICMPv6 below.
  if (meta.src.is_multicast() || meta.src.is_loopback() || meta.src.is_v4_mapped())
    return drop(m, drop_bad_source_);
  if (is_local(meta.src)) return drop(m, drop_land_);
  if (meta.dst.is_multicast()) {
    if (!in_group(meta.dst)) return drop(m, drop_multicast_);
    meta.dst_multicast = true;
  } else {
    const Ipv6LocalAddr* l = find_local(meta.dst);
    if (l == nullptr || l->state == Ipv6AddrState::kDuplicate) return drop(m, drop_not_for_us_);
    meta.to_tentative = l->state == Ipv6AddrState::kTentative;
  }
  m->trim(m->pkt_len - (wire::Ipv6View::kHeaderLen + ip->payload_length()));  // link padding

  auto walk = wire::walk_ipv6_headers(std::as_const(*m).span());
  if (walk.status == wire::Ipv6WalkStatus::kTruncated && m->next != nullptr) {
    // The chain may continue in the next segment: make it contiguous, up to
    // the limit RFC 8504 §5.3 lets a host set.
    const auto n =
        std::min<std::uint32_t>(m->pkt_len, wire::Ipv6View::kHeaderLen + wire::kMaxHeaderChain);
    if (!mbuf_pullup(&m, n, stack_.pool())) return drop(m, drop_no_mbuf_);
    walk = wire::walk_ipv6_headers(std::as_const(*m).span());
  }
  const bool pp = walk.send_param_problem;
  // Option action 10 asks for the error even to a multicast destination
  // (RFC 8200 §4.2; RFC 4443 §2.4 (e.3)); 11 does not.
  const bool pp_multicast_ok =
      pp && walk.param_code == wire::kParamProblemOption && !walk.param_problem_unless_multicast;
  meta.router_alert = walk.router_alert;
  switch (walk.status) {
    case wire::Ipv6WalkStatus::kUpper:
      meta.next_header = walk.upper;
      return deliver(m, meta, walk.upper_offset, static_cast<long>(walk.next_header_field));
    case wire::Ipv6WalkStatus::kNoNextHeader:
      return drop(m, rx_no_next_);  // RFC 8200 §4.7: nothing to deliver
    case wire::Ipv6WalkStatus::kFragment:
      return fragment(m, meta, walk.frag, walk.headers);
    case wire::Ipv6WalkStatus::kTruncated:
      return drop(m, drop_malformed_);
    case wire::Ipv6WalkStatus::kBadOption:
      return refuse(m, meta, drop_bad_option_, pp, walk.param_code, walk.param_pointer,
                    pp_multicast_ok);
    case wire::Ipv6WalkStatus::kHopByHopLate:
      return refuse(m, meta, drop_hbh_late_, pp, walk.param_code, walk.param_pointer, false);
    case wire::Ipv6WalkStatus::kRouting:
      return refuse(m, meta, drop_routing_, pp, walk.param_code, walk.param_pointer, false);
    case wire::Ipv6WalkStatus::kTooManyHeaders:
      return drop(m, drop_too_many_headers_);
  }
}

void Ipv6Layer::fragment(Mbuf* m, Ipv6Meta& meta, const wire::Ipv6FragmentInfo& f,
                         std::size_t walk_headers) {
  const std::uint32_t len = m->pkt_len - static_cast<std::uint32_t>(f.data_offset);
  // RFC 8200 §4.5: a fragment with M set whose length is not a multiple of
  // 8, and one that would end past 65535, are refused with Parameter
  // Problem code 0 pointing at the Payload Length and the Fragment Offset.
  if (f.more && len % 8 != 0)
    return refuse(m, meta, drop_fragment_length_, true, wire::kParamProblemHeaderField,
                  wire::Ipv6View::kPayloadLengthOffset, false);
  if (f.offset_bytes + len > 0xffff)
    return refuse(m, meta, drop_fragment_too_big_, true, wire::kParamProblemHeaderField,
                  static_cast<std::uint32_t>(f.header_offset + 2), false);
  // RFC 7112 §5: the first fragment carries the whole header chain, up to
  // and including the upper-layer header (its first 8 bytes here); one
  // that does not is refused with code 3. The extension headers behind the
  // Fragment header are walked like those before it (Hop-by-Hop and
  // another Fragment header do not belong there).
  if (f.offset_bytes == 0) {
    if (m->next != nullptr &&
        !mbuf_pullup(
            &m,
            std::min<std::uint32_t>(
                m->pkt_len, static_cast<std::uint32_t>(f.data_offset + wire::kMaxHeaderChain)),
            stack_.pool()))
      return drop(m, drop_no_mbuf_);
    const auto part = std::as_const(*m).span().subspan(f.data_offset);
    const auto w = wire::walk_ipv6_fragmentable(part, f.next_header, walk_headers);
    if (w.status == wire::Ipv6WalkStatus::kTruncated ||
        (w.status == wire::Ipv6WalkStatus::kUpper && part.size() - w.upper_offset < 8))
      return refuse(m, meta, drop_fragment_chain_, true, wire::kParamProblemChainIncomplete, 0,
                    false);
  }
  // RFC 8200 §4.5: fragments are reassembled by source, destination and
  // identification (and here the Next Header they carry, which a sender
  // repeats in every fragment).
  const FragmentKey key{IpAddr::v6(meta.src), IpAddr::v6(meta.dst), f.ident, f.next_header};
  m->adj(static_cast<std::uint16_t>(f.data_offset));
  // Held until the rest comes: out of the driver's ring first (mbuf_unpin).
  if (!mbuf_unpin(&m, stack_.pool())) return drop(m, drop_no_mbuf_);
  m = reasm_.add(key, f.offset_bytes, f.more, m, stack_.now());
  if (m == nullptr) return;  // held, or refused and counted
  meta.next_header = f.next_header;
  if (!wire::ipv6_is_extension(f.next_header) && f.next_header != wire::kIpProtoNoNext)
    return deliver(m, meta, 0, -1);
  reassembled_chain(m, meta, walk_headers);
}

void Ipv6Layer::reassembled_chain(Mbuf* m, Ipv6Meta& meta, std::size_t headers) {
  // The headers behind the Fragment header, now whole: the same walk, its
  // refusals counted as before the Fragment header (no Parameter Problem:
  // the packet it would quote is gone).
  const std::uint8_t first = meta.next_header;
  if (!mbuf_pullup(&m, std::min<std::uint32_t>(m->pkt_len, wire::kMaxHeaderChain), stack_.pool()))
    return drop(m, drop_no_mbuf_);
  const auto w = wire::walk_ipv6_fragmentable(std::as_const(*m).span(), first, headers);
  switch (w.status) {
    case wire::Ipv6WalkStatus::kUpper:
      meta.next_header = w.upper;
      return deliver(m, meta, w.upper_offset, -1);
    case wire::Ipv6WalkStatus::kNoNextHeader:
      return drop(m, rx_no_next_);
    case wire::Ipv6WalkStatus::kTruncated:
      return drop(m, drop_malformed_);
    case wire::Ipv6WalkStatus::kBadOption:
      return drop(m, drop_bad_option_);
    case wire::Ipv6WalkStatus::kHopByHopLate:
      return drop(m, drop_hbh_late_);
    case wire::Ipv6WalkStatus::kRouting:
      return drop(m, drop_routing_);
    case wire::Ipv6WalkStatus::kTooManyHeaders:
      return drop(m, drop_too_many_headers_);
    case wire::Ipv6WalkStatus::kFragment:
      return drop(m, drop_fragment_chain_);
  }
}

void Ipv6Layer::deliver(Mbuf* m, Ipv6Meta& meta, std::size_t upper_offset, long nh_field) {
  Ipv6Protocol* p = protocols_[meta.next_header];
  if (p == nullptr) {
    // RFC 8200 §4: an unrecognized Next Header: Parameter Problem code 1
    // pointing at it (when the packet is still whole to quote).
    return refuse(m, meta, drop_unknown_protocol_, nh_field >= 0, wire::kParamProblemNextHeader,
                  static_cast<std::uint32_t>(nh_field), false);
  }
  // RFC 4291 §2.5.2: the unspecified address is a source only for DAD's
  // solicitations; and nothing but ND may reach a tentative address
  // (RFC 4862 §5.4).
  if ((meta.src.is_unspecified() || meta.to_tentative) && meta.next_header != wire::kIpProtoIcmpv6)
    return drop(m, meta.to_tentative ? drop_tentative_ : drop_bad_source_);
  m->l3_len = static_cast<std::uint16_t>(upper_offset);
  m->adj(static_cast<std::uint16_t>(upper_offset));
  // As for IPv4: the first 8 bytes of the upper-layer header contiguous.
  if (!mbuf_pullup(&m, std::min<std::uint32_t>(m->pkt_len, 8), stack_.pool()))
    return drop(m, drop_no_mbuf_);
  p->ipv6_input(m, meta);
}

Mbuf* Ipv6Layer::add_header(Mbuf* m, const Ipv6Addr& src, const Ipv6Addr& dst,
                            std::uint8_t next_header, const Ipv6TxOptions& opts) {
  constexpr std::uint16_t kHlen = wire::Ipv6View::kHeaderLen;
  Mbuf* head = m;
  if (m->headroom() < kHlen + 18u || !m->is_writable()) {
    head = stack_.pool().alloc();
    if (head == nullptr) {
      mbuf_free(m);
      return nullptr;
    }
    head->chain(m);
  }
  wire::Ipv6Repr r;
  r.src = src;
  r.dst = dst;
  r.next_header = next_header;
  r.hop_limit = opts.hop_limit != 0 ? opts.hop_limit : hop_limit_;
  r.traffic_class = opts.traffic_class;
  r.payload_len = static_cast<std::uint16_t>(head->pkt_len);
  std::byte* p = head->prepend(kHlen);
  if (p == nullptr) {  // cannot happen: the room was checked above
    mbuf_free(head);
    return nullptr;
  }
  r.emit({p, kHlen});
  head->l3_len = kHlen;
  return head;
}

SendResult Ipv6Layer::output_to(Mbuf* m, const Ipv6Addr& src, const Ipv6Addr& dst,
                                std::uint8_t next_header, const Ipv6TxOptions& opts,
                                const MacAddr& mac) {
  return send(m, src, dst, next_header, opts, &mac, dst);
}

SendResult Ipv6Layer::output(Mbuf* m, const Ipv6Addr& src, const Ipv6Addr& dst,
                             std::uint8_t next_header, const Ipv6TxOptions& opts) {
  // RFC 2464 §7: a multicast packet goes to the group's Ethernet address.
  if (dst.is_multicast()) {
    const MacAddr mac = wire::multicast_mac(dst);
    return send(m, src, dst, next_header, opts, &mac, dst);
  }
  Ipv6Addr hop;
  if (!next_hop(dst, &hop)) {
    drop(m, drop_no_route_);
    return SendResult::kNoRoute;
  }
  return send(m, src, dst, next_header, opts, nullptr, hop);
}

SendResult Ipv6Layer::send(Mbuf* m, const Ipv6Addr& src, const Ipv6Addr& dst,
                           std::uint8_t next_header, const Ipv6TxOptions& opts, const MacAddr* mac,
                           const Ipv6Addr& hop) {
  if (m->pkt_len > 0xffff) {  // the Payload Length field (no jumbograms)
    drop(m, drop_too_big_);
    return SendResult::kTooBig;
  }
  if (m->pkt_len + wire::Ipv6View::kHeaderLen > mtu_toward(dst))
    return fragment_out(m, src, dst, next_header, opts, mac, hop);
  Mbuf* p = add_header(m, src, dst, next_header, opts);
  if (p == nullptr) {
    drop_no_mbuf_.inc();
    return SendResult::kNoBuffers;
  }
  return to_link(p, mac, hop);
}

std::uint32_t Ipv6Layer::mtu_toward(const Ipv6Addr& dst) const {
  return pmtu_.mtu(dst, link_mtu_, stack_.now());
}

SendResult Ipv6Layer::to_link(Mbuf* packet, const MacAddr* mac, const Ipv6Addr& hop) {
  Mbuf* f =
      stack_.ethernet().frame(packet, mac != nullptr ? *mac : MacAddr{}, wire::kEtherTypeIpv6);
  if (f == nullptr) {
    drop_no_mbuf_.inc();
    return SendResult::kNoBuffers;
  }
  tx_.inc();
  if (mac != nullptr) {
    stack_.ethernet().transmit(f);
  } else {
    stack_.nd().neighbors().resolve(hop, f, stack_.now());
  }
  return SendResult::kOk;
}

SendResult Ipv6Layer::fragment_out(Mbuf* m, const Ipv6Addr& src, const Ipv6Addr& dst,
                                   std::uint8_t next_header, const Ipv6TxOptions& opts,
                                   const MacAddr* mac, const Ipv6Addr& hop) {
  // RFC 8200 §4.5: every fragment but the last carries a multiple of 8
  // bytes, after the fixed header and an 8-byte Fragment header; the pieces
  // reference the payload's bytes (zero copy). The identification is drawn
  // at random (RFC 7739 §5: not predictable from outside).
  constexpr std::uint32_t kFragHeader = 8;
  const std::uint32_t mtu = mtu_toward(dst);
  if (mtu < wire::Ipv6View::kHeaderLen + kFragHeader + 8) {
    drop(m, drop_too_big_);
    return SendResult::kTooBig;
  }
  if ((m->ol_flags & (ol::kTxTcpCksum | ol::kTxUdpCksum)) != 0) wire::tx_l4_checksum_in_software(m);
  const std::uint32_t per = (mtu - wire::Ipv6View::kHeaderLen - kFragHeader) & ~7u;
  const std::uint32_t len = m->pkt_len;
  const auto ident = static_cast<std::uint32_t>(rng_.next());
  for (std::uint32_t off = 0; off < len; off += per) {
    const std::uint32_t n = std::min(per, len - off);
    Mbuf* piece = mbuf_clone_range(m, off, n, stack_.pool());
    Mbuf* head = piece == nullptr ? nullptr : stack_.pool().alloc();
    if (head == nullptr) {
      if (piece != nullptr) mbuf_free(piece);
      drop(m, drop_no_mbuf_);
      return SendResult::kNoBuffers;
    }
    std::byte* fh = head->append(kFragHeader);
    wire::store_u8(fh, next_header);
    wire::store_u8(fh + 1, 0);
    wire::store_be16(fh + 2, static_cast<std::uint16_t>(off | (off + n < len ? 1u : 0u)));
    wire::store_be32(fh + 4, ident);
    head->chain(piece);
    Mbuf* p = add_header(head, src, dst, wire::kIpProtoFragment, opts);
    if (p == nullptr) {
      drop(m, drop_no_mbuf_);
      return SendResult::kNoBuffers;
    }
    tx_fragments_.inc();
    to_link(p, mac, hop);
  }
  mbuf_free(m);
  return SendResult::kOk;
}

}  // namespace ustack
