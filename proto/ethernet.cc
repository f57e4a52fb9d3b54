#include "proto/ethernet.h"

#include "proto/stack.h"
#include "proto/wire/ethernet.h"

namespace ustack {

EthernetLayer::EthernetLayer(Stack& stack)
    : stack_(stack),
      rx_frames_(stack.counters().get("eth.rx.frames")),
      tx_frames_(stack.counters().get("eth.tx.frames")),
      drop_short_(stack.counters().get("eth.drop.truncated")),
      drop_not_for_us_(stack.counters().get("eth.drop.not_for_us")),
      drop_multicast_(stack.counters().get("eth.drop.multicast")),
      drop_bad_src_(stack.counters().get("eth.drop.bad_source")),
      drop_vlan_(stack.counters().get("eth.drop.other_vlan")),
      drop_ethertype_(stack.counters().get("eth.drop.unknown_ethertype")),
      drop_no_headroom_(stack.counters().get("eth.drop.no_headroom")) {}

std::uint16_t EthernetLayer::header_len() const {
  return stack_.config().netif.vlan_id != 0 ? 18 : 14;
}

void EthernetLayer::input(Mbuf* m) {
  rx_frames_.inc();
  const auto eth = wire::EthernetView::parse(std::as_const(*m).span());
  if (!eth) {
    drop_short_.inc();
    mbuf_free(m);
    return;
  }
  const NetifConfig& nif = stack_.config().netif;
  const MacAddr dst = eth->dst();
  const bool broadcast = dst.is_broadcast();
  // IPv6 multicast (RFC 2464 §7: 33:33 and the group's low 32 bits) of the
  // groups the IPv6 layer is in: all-nodes and solicited-node.
  const bool ipv6_group = !broadcast && dst.is_multicast() && stack_.ipv6_enabled() &&
                          stack_.ipv6().accepts_group_mac(dst);
  if (!broadcast && !ipv6_group && dst != nif.mac) {
    (dst.is_multicast() ? drop_multicast_ : drop_not_for_us_).inc();
    mbuf_free(m);
    return;
  }
  const MacAddr src = eth->src();
  if (src.is_multicast() || src == nif.mac) {
    // A group address is never a source (IEEE 802.3 §3.2.3); our own address
    // as source is a loop or a spoof.
    drop_bad_src_.inc();
    mbuf_free(m);
    return;
  }
  // Untagged frames belong to an untagged interface; tagged ones to the
  // interface of their VLAN. Priority tags (VLAN id 0) count as untagged:
  // IEEE 802.1Q §6.9 classifies both to the port's PVID, the native
  // network. So an interface on a VLAN takes neither; taking them would let
  // the native network into the VLAN host (its ARP cache, its sockets),
  // where a Linux eth0.5 takes VLAN 5 only.
  const std::uint16_t vid = eth->has_vlan() ? eth->vlan_id() : 0;
  if (vid != nif.vlan_id) {
    drop_vlan_.inc();
    mbuf_free(m);
    return;
  }
  const std::uint16_t type = eth->ethertype();
  m->l2_len = static_cast<std::uint16_t>(eth->header_len());
  m->adj(m->l2_len);
  switch (type) {
    case wire::kEtherTypeIpv4:
      stack_.ipv4().input(m, broadcast);
      return;
    case wire::kEtherTypeArp:
      stack_.arp().input(m);
      return;
    case wire::kEtherTypeIpv6:
      if (stack_.ipv6_enabled()) return stack_.ipv6().input(m, ipv6_group);
      break;
    default:
      break;
  }
  drop_ethertype_.inc();
  mbuf_free(m);
}

Mbuf* EthernetLayer::frame(Mbuf* m, const MacAddr& dst, std::uint16_t ethertype) {
  const std::uint16_t hlen = header_len();
  Mbuf* head = m;
  if (m->headroom() < hlen || !m->is_writable()) {
    // No room in front (or the bytes in front are shared): a header mbuf.
    head = stack_.pool().alloc();
    if (head == nullptr) {
      drop_no_headroom_.inc();
      mbuf_free(m);
      return nullptr;
    }
    head->chain(m);
    head->ol_flags = m->ol_flags;
    head->l3_len = m->l3_len;
    head->l4_len = m->l4_len;
    head->tso_segsz = m->tso_segsz;
  }
  std::byte* p = head->prepend(hlen);
  wire::store_mac(p, dst);
  wire::store_mac(p + 6, stack_.config().netif.mac);
  if (hlen == 18) {
    wire::store_be16(p + 12, wire::kEtherTypeVlan);
    wire::store_be16(p + 14, stack_.config().netif.vlan_id);
    wire::store_be16(p + 16, ethertype);
  } else {
    wire::store_be16(p + 12, ethertype);
  }
  head->l2_len = hlen;
  return head;
}

bool EthernetLayer::output(Mbuf* m, const MacAddr& dst, std::uint16_t ethertype) {
  Mbuf* f = frame(m, dst, ethertype);
  if (f == nullptr) return false;
  transmit(f);
  return true;
}

void EthernetLayer::transmit(Mbuf* m) {
  tx_frames_.inc();
  stack_.tx().push(m);
}

}  // namespace ustack
