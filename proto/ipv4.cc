#include "proto/ipv4.h"

#include <algorithm>

#include "proto/stack.h"
#include "proto/wire/checksum.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/icmp.h"
#include "proto/wire/ipv4.h"

namespace ustack {

bool Ipv4Meta::may_send_icmp_error() const {
  return !l2_broadcast && !ip_broadcast && !dst.is_multicast() && !src.is_unspecified() &&
         !src.is_broadcast() && !src.is_multicast() && !src.is_loopback();
}

const char* to_string(SendResult r) {
  switch (r) {
    case SendResult::kOk:
      return "ok";
    case SendResult::kNoRoute:
      return "no route to host";
    case SendResult::kTooBig:
      return "message too long";
    case SendResult::kNoBuffers:
      return "no buffer space";
  }
  return "?";
}

Ipv4Layer::Ipv4Layer(Stack& stack)
    : stack_(stack),
      reasm_(stack.config().reassembly, stack.timers(), stack.counters()),
      next_ident_(static_cast<std::uint16_t>(stack.config().seed * 0x9e3779b97f4a7c15ull >> 48)),
      rx_(stack.counters().get("ipv4.rx")),
      tx_(stack.counters().get("ipv4.tx")),
      tx_fragments_(stack.counters().get("ipv4.tx.fragments")),
      drop_malformed_(stack.counters().get("ipv4.drop.malformed")),
      drop_checksum_(stack.counters().get("ipv4.drop.bad_checksum")),
      drop_bad_source_(stack.counters().get("ipv4.drop.bad_source")),
      drop_land_(stack.counters().get("ipv4.drop.land")),
      drop_not_for_us_(stack.counters().get("ipv4.drop.not_for_us")),
      drop_multicast_(stack.counters().get("ipv4.drop.multicast")),
      drop_source_route_(stack.counters().get("ipv4.drop.source_route")),
      drop_unknown_protocol_(stack.counters().get("ipv4.drop.unknown_protocol")),
      drop_no_route_(stack.counters().get("ipv4.drop.no_route")),
      drop_too_big_(stack.counters().get("ipv4.drop.too_big")),
      drop_no_mbuf_(stack.counters().get("ipv4.drop.no_mbuf")) {
  // The interface's addresses never change under a stack: precompute what
  // every packet compares against.
  for (const Ipv4Cidr& c : stack.config().netif.addrs) {
    LocalAddr l;
    l.addr = c.addr.to_u32();
    l.mask = c.netmask().to_u32();
    l.net = l.addr & l.mask;
    l.has_bcast = c.prefix_len < 31;  // RFC 3021: /31 has no broadcast
    l.bcast = l.addr | ~l.mask;
    local_.push_back(l);
  }
}

bool Ipv4Layer::is_local(Ipv4Addr a) const {
  const std::uint32_t x = a.to_u32();
  for (const LocalAddr& l : local_)
    if (l.addr == x) return true;
  return false;
}

bool Ipv4Layer::is_broadcast(Ipv4Addr a) const {
  const std::uint32_t x = a.to_u32();
  if (x == 0xffffffffu) return true;
  for (const LocalAddr& l : local_)
    if (l.has_bcast && l.bcast == x) return true;
  return false;
}

Ipv4Addr Ipv4Layer::source_for(Ipv4Addr dst) const {
  const std::uint32_t x = dst.to_u32();
  for (const LocalAddr& l : local_)
    if ((x & l.mask) == l.net) return Ipv4Addr::from_u32(l.addr);
  return local_.empty() ? Ipv4Addr{} : Ipv4Addr::from_u32(local_.front().addr);
}

bool Ipv4Layer::next_hop(Ipv4Addr dst, Ipv4Addr* hop, bool* broadcast) const {
  *broadcast = is_broadcast(dst);
  if (*broadcast) {
    *hop = dst;
    return true;
  }
  const std::uint32_t x = dst.to_u32();
  for (const LocalAddr& l : local_) {
    if ((x & l.mask) == l.net) {
      *hop = dst;
      return true;
    }
  }
  const Ipv4Addr gw = stack_.config().netif.gateway;
  if (gw.is_unspecified()) return false;
  *hop = gw;
  return true;
}

void Ipv4Layer::drop(Mbuf* m, Counter& reason) {
  reason.inc();
  mbuf_free(m);
}

void Ipv4Layer::input(Mbuf* m, bool l2_broadcast) {
  rx_.inc();
  // The header is always in the first segment; the view checks version 4,
  // IHL >= 5, the header length against the bytes, the options' lengths and
  // a fragment's end within 65535; the total length is checked against the
  // whole chain.
  std::span<const std::byte> first = std::as_const(*m).span();
  const auto ip =
      m->next == nullptr ? wire::Ipv4View::parse(first) : wire::Ipv4View::parse_header(first);
  if (!ip || ip->total_length() > m->pkt_len) return drop(m, drop_malformed_);
  if (wire::ip_checksum_known_bad(*m) ||
      (wire::ip_checksum_needs_verify(*m) && !ip->header_checksum_ok()))
    return drop(m, drop_checksum_);

  Ipv4Meta meta;
  meta.src = ip->src();
  meta.dst = ip->dst();
  meta.protocol = ip->protocol();
  meta.ttl = ip->ttl();
  meta.tos = ip->tos();
  meta.l2_broadcast = l2_broadcast;
  // RFC 1122 §3.2.1.3: a source that is broadcast, multicast or "this
  // network" names no host; a loopback source never comes from a wire
  // (martian). A source that is our own address is LAND.
  if (meta.src.is_broadcast() || meta.src.is_multicast() || meta.src.is_loopback() ||
      meta.src.is_unspecified() || is_broadcast(meta.src))
    return drop(m, drop_bad_source_);
  if (is_local(meta.src)) return drop(m, drop_land_);
  if (!is_local(meta.dst)) {
    if (meta.dst.is_multicast()) return drop(m, drop_multicast_);
    if (!is_broadcast(meta.dst)) return drop(m, drop_not_for_us_);  // we do not forward
    meta.ip_broadcast = true;
  }
  // Source routes are refused, as Linux does by default
  // (accept_source_route=0); RFC 1122 §3.3.5 lets a host refuse them.
  for (const auto& opt : ip->options()) {
    if (opt.kind == wire::kIpv4OptLsrr || opt.kind == wire::kIpv4OptSsrr)
      return drop(m, drop_source_route_);
  }
  // Note: TTL is not checked on delivery. A host never forwards, and RFC
  // 1122 §3.2.1.7 only forbids *sending* TTL 0; Linux delivers TTL 0 too.

  const std::uint16_t hlen = static_cast<std::uint16_t>(ip->header_len());
  const std::uint16_t total = ip->total_length();
  const bool more = ip->more_fragments();
  const std::uint32_t offset = ip->frag_offset_bytes();
  m->l3_len = hlen;
  m->trim(m->pkt_len - total);  // link padding
  m->adj(hlen);
  if (more || offset != 0) {
    const FragmentKey key{IpAddr::v4(meta.src), IpAddr::v4(meta.dst), ip->ident(), meta.protocol};
    // A fragment waits for the rest (up to the reassembly timeout): out of
    // the driver's ring with it, or a fragment flood stops the ring.
    if (!mbuf_unpin(&m, stack_.pool())) return drop(m, drop_no_mbuf_);
    m = reasm_.add(key, offset, more, m, stack_.now());
    if (m == nullptr) return;
    meta.reassembled = true;
  }
  // Transport headers are read from the first segment: make the first 8
  // bytes (ICMP's and UDP's whole header, TCP's ports) contiguous there;
  // TCP pulls up the rest of its header itself. No more, so payload bytes
  // are not copied into a header buffer.
  if (!mbuf_pullup(&m, std::min<std::uint32_t>(m->pkt_len, 8), stack_.pool()))
    return drop(m, drop_no_mbuf_);
  Ipv4Protocol* p = protocols_[meta.protocol];
  if (p == nullptr) {
    drop_unknown_protocol_.inc();
    // RFC 1122 §3.2.2.1: protocol unreachable for a transport we lack.
    stack_.icmp().send_dest_unreachable(wire::kIcmpUnreachProtocol, meta, m);
    mbuf_free(m);
    return;
  }
  p->ipv4_input(m, meta);
}

Mbuf* Ipv4Layer::add_header(Mbuf* m, Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol,
                            const Ipv4TxOptions& opts, std::uint16_t ident, bool more_fragments,
                            std::uint16_t frag_units) {
  constexpr std::uint16_t kHlen = 20;
  const std::uint32_t room = kHlen + 18u;  // IPv4 + Ethernet with a VLAN tag
  Mbuf* head = m;
  if (m->headroom() < room || !m->is_writable()) {
    head = stack_.pool().alloc();
    if (head == nullptr) {
      mbuf_free(m);
      return nullptr;
    }
    head->ol_flags = m->ol_flags;
    head->l4_len = m->l4_len;
    head->tso_segsz = m->tso_segsz;
    head->chain(m);
  }
  const std::uint32_t total = head->pkt_len + kHlen;
  wire::Ipv4Repr r;
  r.src = src;
  r.dst = dst;
  r.protocol = protocol;
  r.ttl = opts.ttl != 0 ? opts.ttl : stack_.config().default_ttl;
  r.tos = opts.tos;
  r.ident = ident;
  r.dont_fragment = opts.dont_fragment;
  r.more_fragments = more_fragments;
  r.frag_offset = frag_units;
  r.payload_len = static_cast<std::uint16_t>(total - kHlen);
  std::byte* p = head->prepend(kHlen);
  const bool offload = stack_.caps().tx_ipv4_cksum;
  r.emit({p, kHlen}, /*compute_checksum=*/!offload);
  if (offload) head->ol_flags |= ol::kTxIpCksum | ol::kTxIpv4;
  head->l3_len = kHlen;
  return head;
}

SendResult Ipv4Layer::to_link(Mbuf* packet, Ipv4Addr hop, bool broadcast) {
  tx_.inc();
  Mbuf* f = stack_.ethernet().frame(packet, broadcast ? MacAddr::broadcast() : MacAddr{},
                                    wire::kEtherTypeIpv4);
  if (f == nullptr) return SendResult::kNoBuffers;
  if (broadcast) {
    stack_.ethernet().transmit(f);
    return SendResult::kOk;
  }
  stack_.arp().cache().resolve(hop, f, stack_.now());
  return SendResult::kOk;
}

SendResult Ipv4Layer::output(Mbuf* m, Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol,
                             const Ipv4TxOptions& opts) {
  Ipv4Addr hop;
  bool broadcast = false;
  if (!next_hop(dst, &hop, &broadcast)) {
    drop(m, drop_no_route_);
    return SendResult::kNoRoute;
  }
  const std::uint32_t len = m->pkt_len;
  if (len > Ipv4Reassembler::kMaxPayload) {
    drop(m, drop_too_big_);
    return SendResult::kTooBig;
  }
  const std::uint32_t mtu = stack_.config().netif.mtu;
  // RFC 6864 §4.1: the ID only has to be unique for datagrams that may be
  // fragmented; a per-core counter from a random start serves all.
  const std::uint16_t ident = next_ident_++;
  if (len + 20 <= mtu) {
    Mbuf* p = add_header(m, src, dst, protocol, opts, ident, false, 0);
    if (p == nullptr) {
      drop_no_mbuf_.inc();
      return SendResult::kNoBuffers;
    }
    return to_link(p, hop, broadcast);
  }
  if (opts.dont_fragment) {
    drop(m, drop_too_big_);
    return SendResult::kTooBig;
  }
  // RFC 791 fragmentation: every fragment but the last carries a multiple
  // of 8 bytes; fragments reference the payload's bytes (zero copy).
  const std::uint32_t per = (mtu - 20) & ~7u;
  for (std::uint32_t off = 0; off < len; off += per) {
    const std::uint32_t n = std::min(per, len - off);
    Mbuf* piece = mbuf_clone_range(m, off, n, stack_.pool());
    Mbuf* p = piece == nullptr ? nullptr
                               : add_header(piece, src, dst, protocol, opts, ident, off + n < len,
                                            static_cast<std::uint16_t>(off / 8));
    if (p == nullptr) {
      drop(m, drop_no_mbuf_);
      return SendResult::kNoBuffers;
    }
    p->ol_flags &= ~(ol::kTxTcpCksum | ol::kTxUdpCksum | ol::kTxTcpSeg);
    tx_fragments_.inc();
    to_link(p, hop, broadcast);
  }
  mbuf_free(m);
  return SendResult::kOk;
}

}  // namespace ustack
