#include "proto/udp.h"

#include <algorithm>

#include "proto/stack.h"
#include "proto/wire/bytes.h"
#include "proto/wire/checksum.h"
#include "proto/wire/icmp.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/udp.h"

namespace ustack {

void UdpSocket::connect(IpAddr addr, std::uint16_t port) {
  peer_ = addr;
  peer_port_ = port;
}

SendResult UdpSocket::send_to(IpAddr dst, std::uint16_t port, Mbuf* payload) {
  return layer_.send(*this, dst, port, payload);
}

SendResult UdpSocket::send_to(IpAddr dst, std::uint16_t port, std::span<const std::byte> data) {
  MbufPool& pool = layer_.stack_.pool();
  Mbuf* m = nullptr;
  if (data.empty()) {
    m = pool.alloc();
  } else {
    m = mbuf_alloc_chain(pool, static_cast<std::uint32_t>(data.size()));
    std::size_t off = 0;
    for (Mbuf* s = m; s != nullptr; s = s->next) {
      std::memcpy(s->data(), data.data() + off, s->data_len);
      off += s->data_len;
    }
  }
  if (m == nullptr) return SendResult::kNoBuffers;
  return send_to(dst, port, m);
}

void UdpSocket::close() {
  layer_.close(*this);
}

UdpLayer::UdpLayer(Stack& stack)
    : stack_(stack),
      by_port_(std::make_unique<std::unique_ptr<UdpSocket>[]>(65536)),
      rng_(stack.config().seed ^ 0x0d9),
      rx_(stack.counters().get("udp.rx")),
      tx_(stack.counters().get("udp.tx")),
      drop_malformed_(stack.counters().get("udp.drop.malformed")),
      drop_checksum_(stack.counters().get("udp.drop.bad_checksum")),
      drop_no_socket_(stack.counters().get("udp.drop.no_socket")),
      drop_not_peer_(stack.counters().get("udp.drop.not_connected_peer")),
      drop_unsupported_family_(stack.counters().get("udp.drop.unsupported_family")) {}

UdpLayer::~UdpLayer() = default;

UdpSocket* UdpLayer::open(UdpHandler& handler, std::uint16_t port, std::string* error) {
  if (port == 0) {
    const UdpConfig& c = stack_.config().udp;
    const std::uint32_t n = std::uint32_t{c.ephemeral_hi} - c.ephemeral_lo + 1;
    const auto start = static_cast<std::uint32_t>(rng_.below(n));
    for (std::uint32_t i = 0; i < n && port == 0; ++i) {
      const auto p = static_cast<std::uint16_t>(c.ephemeral_lo + (start + i) % n);
      if (!by_port_[p]) port = p;
    }
    if (port == 0) {
      if (error) *error = "no free ephemeral UDP port";
      return nullptr;
    }
  } else if (by_port_[port]) {
    if (error) *error = "UDP port " + std::to_string(port) + " is in use";
    return nullptr;
  }
  by_port_[port].reset(new UdpSocket(*this, handler, port));
  ++count_;
  return by_port_[port].get();
}

void UdpLayer::close(UdpSocket& s) {
  --count_;
  by_port_[s.port_].reset();
}

SendResult UdpLayer::send(UdpSocket& s, IpAddr dst, std::uint16_t port, Mbuf* payload) {
  const IpAddr src = stack_.source_for(dst);
  if (dst.is_v6() && src.as_v6().is_unspecified()) {
    // No IPv6 on this interface, or no address of it usable yet (DAD).
    drop_unsupported_family_.inc();
    mbuf_free(payload);
    return SendResult::kNoRoute;
  }
  const std::uint32_t len = payload->pkt_len + 8;
  // RFC 768's length is 16 bits; IPv4 also bounds the datagram by its own
  // total length, IPv6 by the payload length (no jumbograms, RFC 2675).
  const std::uint32_t max = dst.is_v6() ? 0xffff : Ipv4Reassembler::kMaxPayload;
  if (len > max) {
    mbuf_free(payload);
    return SendResult::kTooBig;
  }
  Mbuf* m = payload;
  if (m->headroom() < 8 + 40 + 18 || !m->is_writable()) {
    m = stack_.pool().alloc();
    if (m == nullptr) {
      mbuf_free(payload);
      return SendResult::kNoBuffers;
    }
    m->chain(payload);
  }
  std::byte* h = m->prepend(8);
  if (h == nullptr) {  // cannot happen: the room was checked above
    mbuf_free(m);
    return SendResult::kNoBuffers;
  }
  wire::store_be16(h, s.port_);
  wire::store_be16(h + 2, port);
  wire::store_be16(h + 4, static_cast<std::uint16_t>(len));
  wire::store_be16(h + 6, 0);
  m->l4_len = 8;
  // A datagram that leaves in fragments is summed here: a driver sums one
  // frame, and only the first fragment holds the header (IPv6 toward the
  // path MTU, RFC 8201).
  const std::uint32_t mtu =
      dst.is_v6() ? stack_.ipv6().mtu_toward(dst.as_v6()) : stack_.config().netif.mtu;
  const bool fits = len + Stack::ip_header_len(dst) <= mtu;
  if (stack_.caps().tx_l4_cksum && fits) {
    // The driver completes the sum over the datagram.
    wire::store_be16(h + 6, wire::ip_pseudo_header_for_offload(src, dst, wire::kIpProtoUdp, len));
    m->ol_flags |= ol::kTxUdpCksum | wire::tx_family_flag(src);
  } else {
    const std::uint32_t sum = wire::checksum_mbuf(
        m, 0, len, wire::ip_pseudo_header_sum(src, dst, wire::kIpProtoUdp, len));
    // RFC 768 (and RFC 8200 §8.1 for IPv6): a computed zero is sent as
    // all ones (zero means "none").
    const std::uint16_t c = wire::checksum_finish(sum);
    wire::store_be16(h + 6, c == 0 ? 0xffff : c);
  }
  tx_.inc();
  return stack_.ip_output(m, src, dst, wire::kIpProtoUdp);
}

UdpLayer::Check UdpLayer::check(Mbuf* m, const IpAddr& src, const IpAddr& dst, UdpSocket** socket) {
  rx_.inc();
  if (m->data_len < 8) {
    drop_malformed_.inc();
    return Check::kDrop;
  }
  const std::byte* h = m->data();
  const std::uint16_t src_port = wire::load_be16(h);
  const std::uint16_t dst_port = wire::load_be16(h + 2);
  const std::uint16_t len = wire::load_be16(h + 4);
  const std::uint16_t csum = wire::load_be16(h + 6);
  // RFC 768: the length covers header and data; more bytes than it says is
  // padding (trimmed), fewer is a truncated datagram.
  if (len < 8 || len > m->pkt_len) {
    drop_malformed_.inc();
    return Check::kDrop;
  }
  m->trim(m->pkt_len - len);
  // A zero checksum means the sender computed none (RFC 768): allowed over
  // IPv4 only; RFC 8200 §8.1: "IPv6 receivers must discard UDP packets
  // containing a zero checksum".
  if (csum == 0 && src.is_v6()) {
    drop_checksum_.inc();
    return Check::kDrop;
  }
  if (wire::l4_checksum_known_bad(*m) ||
      (csum != 0 && wire::l4_checksum_needs_verify(*m) &&
       wire::checksum_finish(wire::checksum_mbuf(
           m, 0, len, wire::ip_pseudo_header_sum(src, dst, wire::kIpProtoUdp, len))) != 0)) {
    drop_checksum_.inc();
    return Check::kDrop;
  }
  UdpSocket* s = by_port_[dst_port].get();
  if (s == nullptr) {
    drop_no_socket_.inc();
    return Check::kNoSocket;
  }
  if (s->connected() && (s->peer_ != src || s->peer_port_ != src_port)) {
    drop_not_peer_.inc();
    return Check::kDrop;
  }
  *socket = s;
  return Check::kDeliver;
}

void UdpLayer::deliver(UdpSocket& s, Mbuf* m, const IpAddr& src, const IpAddr& dst,
                       std::uint8_t ttl, bool broadcast) {
  UdpDatagram d;
  d.src = src;
  d.src_port = wire::load_be16(m->data());
  d.dst = dst;
  d.dst_port = wire::load_be16(m->data() + 2);
  m->l4_len = 8;
  m->adj(8);
  d.payload = m;
  d.ttl = ttl;
  d.broadcast = broadcast;
  s.handler_->on_datagram(s, d);
}

void UdpLayer::ipv4_input(Mbuf* m, const Ipv4Meta& meta) {
  const IpAddr src = IpAddr::v4(meta.src), dst = IpAddr::v4(meta.dst);
  UdpSocket* s = nullptr;
  switch (check(m, src, dst, &s)) {
    case Check::kDeliver:
      return deliver(*s, m, src, dst, meta.ttl, meta.ip_broadcast);
    case Check::kNoSocket:
      // RFC 1122 §4.1.3.1: port unreachable when no one listens.
      stack_.icmp().send_dest_unreachable(wire::kIcmpUnreachPort, meta, m);
      break;
    case Check::kDrop:
      break;
  }
  mbuf_free(m);
}

void UdpLayer::ipv6_input(Mbuf* m, const Ipv6Meta& meta) {
  const IpAddr src = IpAddr::v6(meta.src), dst = IpAddr::v6(meta.dst);
  UdpSocket* s = nullptr;
  switch (check(m, src, dst, &s)) {
    case Check::kDeliver:
      return deliver(*s, m, src, dst, meta.hop_limit, meta.dst_multicast);
    case Check::kNoSocket:
      // RFC 4443 §3.1: code 4, port unreachable.
      stack_.icmpv6().send_dest_unreachable(wire::kIcmpv6UnreachPort, meta, m);
      break;
    case Check::kDrop:
      break;
  }
  mbuf_free(m);
}

void UdpLayer::icmp_error(const IcmpError& e) {
  UdpSocket* s = by_port_[e.src_port].get();
  if (s == nullptr) return;
  s->handler_->on_error(*s, e);
}

}  // namespace ustack
