#include "proto/arp.h"

#include "proto/stack.h"
#include "proto/wire/arp.h"
#include "proto/wire/ethernet.h"

namespace ustack {

ArpLayer::ArpLayer(Stack& stack)
    : stack_(stack),
      cache_(stack.config().arp, stack.timers(), stack.counters(), *this),
      rx_(stack.counters().get("arp.rx")),
      drop_bad_(stack.counters().get("arp.drop.malformed")),
      drop_bad_sender_(stack.counters().get("arp.drop.bad_sender")),
      conflict_(stack.counters().get("arp.conflict")),
      tx_reply_(stack.counters().get("arp.tx.reply")),
      drop_no_mbuf_(stack.counters().get("arp.drop.no_mbuf")) {}

void ArpLayer::input(Mbuf* m) {
  rx_.inc();
  MbufPtr hold(m);
  // The view checks htype Ethernet, ptype IPv4, hlen 6, plen 4 and length.
  const auto arp = wire::ArpView::parse(std::as_const(*m).span());
  if (!arp || (!arp->is_request() && !arp->is_reply())) {
    drop_bad_.inc();
    return;
  }
  const Ipv4Addr sender_ip = arp->sender_ip();
  const MacAddr sender_mac = arp->sender_mac();
  const Ipv4Addr target_ip = arp->target_ip();
  if (sender_mac.is_multicast() || sender_ip.is_broadcast() || sender_ip.is_multicast()) {
    drop_bad_sender_.inc();
    return;
  }
  if (stack_.ipv4().is_local(sender_ip)) {
    // Someone else claims our address (RFC 5227 §2.4): count it and do not
    // learn; our own announcements are dropped before this (own source MAC).
    conflict_.inc();
    return;
  }
  const bool for_us = stack_.ipv4().is_local(target_ip);
  // An ARP probe (sender 0.0.0.0, RFC 5227 §2.1.1) teaches nothing.
  if (!sender_ip.is_unspecified())
    cache_.learn(sender_ip, sender_mac, for_us, arp->is_reply(), stack_.now());
  if (!arp->is_request() || !for_us || !stack_.config().arp.reply_requests) return;

  // RFC 826: "swap hardware and protocol fields, putting the local hardware
  // and protocol addresses in the sender fields; set the ar$op field to
  // ares_op$REPLY; send the packet to the (new) target hardware address".
  // Done in place when the bytes are ours to write.
  if (m->is_writable() && m->next == nullptr) {
    const auto out = wire::ArpMutView::parse(m->span());
    out->set_operation(wire::kArpOpReply);
    out->set_target_mac(sender_mac);
    out->set_target_ip(sender_ip);
    out->set_sender_mac(stack_.config().netif.mac);
    out->set_sender_ip(target_ip);
    m->trim(m->pkt_len - wire::ArpView::kLen);  // drop link padding
    tx_reply_.inc();
    stack_.ethernet().output(hold.release(), sender_mac, wire::kEtherTypeArp);
    return;
  }
  if (send(wire::kArpOpReply, sender_mac, sender_mac, target_ip, sender_ip)) tx_reply_.inc();
}

bool ArpLayer::send(std::uint16_t op, const MacAddr& eth_dst, const MacAddr& target_mac,
                    Ipv4Addr sender_ip, Ipv4Addr target_ip) {
  Mbuf* m = stack_.pool().alloc();
  if (m == nullptr) {
    drop_no_mbuf_.inc();
    return false;
  }
  wire::ArpRepr r;
  r.operation = op;
  r.sender_mac = stack_.config().netif.mac;
  r.sender_ip = sender_ip;
  r.target_mac = target_mac;
  r.target_ip = target_ip;
  r.emit({m->append(wire::ArpView::kLen), wire::ArpView::kLen});
  return stack_.ethernet().output(m, eth_dst, wire::kEtherTypeArp);
}

void ArpLayer::arp_send_request(Ipv4Addr target) {
  send(wire::kArpOpRequest, MacAddr::broadcast(), MacAddr{}, stack_.ipv4().source_for(target),
       target);
}

void ArpLayer::arp_transmit(Mbuf* frame) {
  stack_.ethernet().transmit(frame);
}

void ArpLayer::announce() {
  for (const Ipv4Cidr& a : stack_.config().netif.addrs)
    send(wire::kArpOpRequest, MacAddr::broadcast(), MacAddr{}, a.addr, a.addr);
}

}  // namespace ustack
