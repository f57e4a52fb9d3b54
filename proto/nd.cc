#include "proto/nd.h"

#include <algorithm>

#include "proto/stack.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/ipv6_ethernet.h"

namespace ustack {
namespace {

// RFC 4861 §7.1.1, §7.1.2: ND messages are sent and accepted with hop limit
// 255 only: such a packet cannot have been forwarded by a router.
constexpr std::uint8_t kNdHopLimit = 255;

}  // namespace

NdLayer::NdLayer(Stack& stack)
    : stack_(stack),
      cache_(stack.config().ipv6.neighbors, stack.timers(), stack.counters(), *this,
             stack.config().seed),
      dad_(stack),
      routers_(stack),
      slaac_(stack),
      mld_(stack),
      rx_solicit_(stack.counters().get("nd.rx.solicit")),
      rx_advert_(stack.counters().get("nd.rx.advert")),
      tx_advert_(stack.counters().get("nd.tx.advert")),
      drop_hop_limit_(stack.counters().get("nd.drop.hop_limit")),
      drop_malformed_(stack.counters().get("nd.drop.malformed")),
      drop_not_our_target_(stack.counters().get("nd.drop.not_our_target")),
      conflict_(stack.counters().get("nd.conflict")),
      drop_no_mbuf_(stack.counters().get("nd.drop.no_mbuf")),
      drop_no_source_(stack.counters().get("nd.drop.no_source_address")) {}

void NdLayer::input(Mbuf* m, const Ipv6Meta& meta) {
  if (meta.hop_limit != kNdHopLimit) {
    drop_hop_limit_.inc();
    return mbuf_free(m);
  }
  // The options are read from one contiguous run.
  if (!mbuf_pullup(&m, m->pkt_len, stack_.pool())) {
    drop_malformed_.inc();
    return mbuf_free(m);
  }
  MbufPtr hold(m);
  const auto msg = wire::NdMessage::parse(std::as_const(*m).span());
  if (!msg) {
    drop_malformed_.inc();
    return;
  }
  if (msg->type == wire::kIcmpv6NeighborSolicit) {
    rx_solicit_.inc();
    // §7.1.1: from the unspecified address only to a solicited-node group
    // and without a Source Link-Layer Address option.
    if (meta.src.is_unspecified() &&
        (meta.dst != msg->target.solicited_node() || msg->source_mac)) {
      drop_malformed_.inc();
      return;
    }
    return solicitation(*msg, meta);
  }
  rx_advert_.inc();
  // §7.1.2: "If the IP Destination Address is a multicast address the
  // Solicited flag is zero."
  if (meta.dst_multicast && msg->solicited()) {
    drop_malformed_.inc();
    return;
  }
  advertisement(*msg, meta);
}

void NdLayer::solicitation(const wire::NdMessage& ns, const Ipv6Meta& meta) {
  const Ipv6LocalAddr* l = stack_.ipv6().find_local(ns.target);
  if (l == nullptr || l->state == Ipv6AddrState::kDuplicate) {
    drop_not_our_target_.inc();  // §7.2.3: the target must be ours
    return;
  }
  if (l->state == Ipv6AddrState::kTentative) {
    // RFC 4862 §5.4.3: from :: it is another node's DAD for the same
    // address; from a unicast source it is resolution of an address we do
    // not have yet, silently ignored.
    if (meta.src.is_unspecified()) dad_.conflict(ns.target);
    return;
  }
  if (!meta.src.is_unspecified() && ns.source_mac)
    cache_.on_source_link_addr(meta.src, *ns.source_mac, stack_.now());
  if (!stack_.config().ipv6.answer_solicitations) return;  // a copy from core 0
  // §7.2.4: the advertisement goes back to the solicitation's source, or
  // to all nodes (Solicited clear) when that was the unspecified address;
  // Override set (the address is not anycast), Router clear (a host).
  wire::NdMessage na;
  na.type = wire::kIcmpv6NeighborAdvert;
  na.target = ns.target;
  na.target_mac = stack_.config().netif.mac;
  na.flags = wire::kNaFlagOverride;
  if (meta.src.is_unspecified()) {
    const MacAddr all = wire::multicast_mac(Ipv6Addr::all_nodes());
    send(na, ns.target, Ipv6Addr::all_nodes(), &all);
  } else {
    na.flags |= wire::kNaFlagSolicited;
    send(na, ns.target, meta.src, nullptr);
  }
  tx_advert_.inc();
}

void NdLayer::advertisement(const wire::NdMessage& na, const Ipv6Meta&) {
  if (stack_.ipv6().find_local(na.target) != nullptr) {
    // RFC 4862 §5.4.4: an advertisement for a tentative address of ours
    // means it is a duplicate. For an assigned one someone else claims it:
    // counted, and the cache never learns our own address.
    if (!dad_.conflict(na.target)) conflict_.inc();
    return;
  }
  NeighborAdvert a;
  a.target = na.target;
  a.target_mac = na.target_mac ? &*na.target_mac : nullptr;
  a.solicited = na.solicited();
  a.override_flag = na.override_flag();
  cache_.on_advert(a, stack_.now());
}

void NdLayer::send(const wire::NdMessage& msg, const Ipv6Addr& src, const Ipv6Addr& dst,
                   const MacAddr* mac) {
  Mbuf* m = stack_.pool().alloc();
  if (m == nullptr) {
    drop_no_mbuf_.inc();
    return;
  }
  const auto len = static_cast<std::uint16_t>(msg.len());
  msg.emit({m->append(len), len}, src, dst);
  Ipv6TxOptions opts;
  opts.hop_limit = kNdHopLimit;
  if (mac != nullptr) {
    stack_.ipv6().output_to(m, src, dst, wire::kIpProtoIcmpv6, opts, *mac);
  } else {
    stack_.ipv6().output(m, src, dst, wire::kIpProtoIcmpv6, opts);
  }
}

void NdLayer::nd_send_solicit(const Ipv6Addr& target, const MacAddr* unicast) {
  // §7.2.2: from an address of ours (a preferred one: DAD not done, none),
  // with our link-layer address (§4.3: MUST in multicast solicitations).
  const Ipv6Addr src = stack_.ipv6().source_for(target);
  if (src.is_unspecified()) {
    drop_no_source_.inc();
    return;
  }
  wire::NdMessage ns;
  ns.type = wire::kIcmpv6NeighborSolicit;
  ns.target = target;
  ns.source_mac = stack_.config().netif.mac;
  const Ipv6Addr dst = unicast != nullptr ? target : target.solicited_node();
  const MacAddr mac = unicast != nullptr ? *unicast : wire::multicast_mac(dst);
  send(ns, src, dst, &mac);
}

void NdLayer::send_dad_solicit(const Ipv6Addr& target) {
  wire::NdMessage ns;
  ns.type = wire::kIcmpv6NeighborSolicit;
  ns.target = target;
  const Ipv6Addr dst = target.solicited_node();
  const MacAddr mac = wire::multicast_mac(dst);
  send(ns, Ipv6Addr::any(), dst, &mac);
}

void NdLayer::nd_transmit(Mbuf* frame) {
  stack_.ethernet().transmit(frame);
}

}  // namespace ustack
