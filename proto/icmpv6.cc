#include "proto/icmpv6.h"

#include <algorithm>

#include "proto/echo_data.h"
#include "proto/stack.h"
#include "proto/wire/bytes.h"
#include "proto/wire/checksum.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/mld.h"

namespace ustack {
namespace {

std::uint32_t pseudo_sum(const Ipv6Addr& src, const Ipv6Addr& dst, std::uint32_t len) {
  return wire::ipv6_pseudo_header_sum(src, dst, wire::kIpProtoIcmpv6, len);
}

}  // namespace

Icmpv6Layer::Icmpv6Layer(Stack& stack)
    // RFC 4443 §2.4 (f): errors MUST be rate-limited; the ICMP limits
    // (Linux shares icmp_ratelimit between the families too).
    : IcmpCommon(stack.config().icmp, stack.config().seed ^ 0x1c36, stack.now(), stack.counters(),
                 "icmpv6"),
      stack_(stack),
      tx_error_(stack.counters().get("icmpv6.tx.error")),
      drop_tentative_(stack.counters().get("icmpv6.drop.to_tentative")),
      pmtu_updates_(stack.counters().get("ipv6.pmtu.lowered")) {}

void Icmpv6Layer::ipv6_input(Mbuf* m, const Ipv6Meta& meta) {
  rx_.inc();
  if (m->pkt_len < wire::Icmpv6View::kHeaderLen || m->data_len < wire::Icmpv6View::kHeaderLen) {
    drop_malformed_.inc();
    return mbuf_free(m);
  }
  // RFC 4443 §2.3: the checksum covers the pseudo-header and the message.
  if (wire::checksum_finish(
          wire::checksum_mbuf(m, 0, m->pkt_len, pseudo_sum(meta.src, meta.dst, m->pkt_len))) != 0) {
    drop_checksum_.inc();
    return mbuf_free(m);
  }
  const std::uint8_t type = wire::load_u8(m->data());
  if (meta.to_tentative && type != wire::kIcmpv6NeighborSolicit &&
      type != wire::kIcmpv6NeighborAdvert) {
    // RFC 4862 §5.4: a tentative address receives only DAD's messages.
    drop_tentative_.inc();
    return mbuf_free(m);
  }
  switch (type) {
    case wire::kIcmpv6EchoRequest:
      return echo_request(m, meta);
    case wire::kIcmpv6EchoReply:
      return echo_reply(m, meta);
    case wire::kIcmpv6NeighborSolicit:
    case wire::kIcmpv6NeighborAdvert:
      return stack_.nd().input(m, meta);
    case wire::kIcmpv6RouterAdvert:
      return stack_.nd().routers().input(m, meta);
    case wire::kIcmpv6MldQuery:
      return stack_.nd().mld().query(m, meta);
    case wire::kIcmpv6DestUnreachable:
    case wire::kIcmpv6PacketTooBig:
    case wire::kIcmpv6TimeExceeded:
    case wire::kIcmpv6ParamProblem:
      return error(m, meta);
    default:
      // RFC 4443 §2.4 (a), (b): unknown informational messages are
      // discarded; unknown errors would go to the upper layer, which has
      // nothing to learn from them. Router Solicitations are for routers
      // (RFC 4861 §6.2.6); Redirects are not followed.
      drop_unhandled_type_.inc();
      return mbuf_free(m);
  }
}

void Icmpv6Layer::echo_request(Mbuf* m, const Ipv6Meta& meta) {
  rx_echo_request_.inc();
  if (meta.src.is_unspecified()) {
    drop_malformed_.inc();  // nobody to answer
    return mbuf_free(m);
  }
  m = writable_request(m, stack_.pool());
  if (m == nullptr) {
    drop_no_mbuf_.inc();
    return;
  }
  // RFC 4443 §4.2: the reply's source is the request's destination, or for
  // a request to a multicast group a unicast address of ours.
  const Ipv6Addr src = meta.dst_multicast ? stack_.ipv6().source_for(meta.src) : meta.dst;
  const auto view = *wire::Icmpv6MutView::parse(m->span());
  const std::uint16_t old_word = wire::load_be16(m->data());
  view.set_type(wire::kIcmpv6EchoReply);
  if (src == meta.dst) {
    // The pseudo-header sums the same with the addresses swapped, so only
    // the type word changed: RFC 1624's incremental update.
    view.set_checksum(
        wire::checksum_update16(view.checksum(), old_word, wire::load_be16(m->data())));
  } else {
    view.set_checksum(0);
    view.set_checksum(wire::checksum_finish(
        wire::checksum_mbuf(m, 0, m->pkt_len, pseudo_sum(src, meta.src, m->pkt_len))));
  }
  Ipv6TxOptions opts;
  opts.traffic_class = meta.traffic_class;
  tx_echo_reply_.inc();
  stack_.ipv6().output(m, src, meta.src, wire::kIpProtoIcmpv6, opts);
}

void Icmpv6Layer::echo_reply(Mbuf* m, const Ipv6Meta& meta) {
  rx_echo_reply_.inc();
  MbufPtr hold(m);
  if (echo_listener_ != nullptr)
    echo_listener_->on_echo_reply(
        echo_reply_of(m, IpAddr::v6(meta.src), meta.hop_limit, stack_.now()));
}

void Icmpv6Layer::error(Mbuf* m, const Ipv6Meta& meta) {
  rx_error_.inc();
  // The quoted fixed header and the first 8 bytes behind it (RFC 4443 §2.4
  // (c) quotes as much as fits, always more than that).
  if (!mbuf_pullup(&m, std::min<std::uint32_t>(m->pkt_len, 8 + 40 + 8), stack_.pool())) {
    drop_no_mbuf_.inc();
    return mbuf_free(m);
  }
  MbufPtr hold(m);
  const auto view = *wire::Icmpv6View::parse(std::as_const(*m).span());
  const auto quoted = view.quoted_ipv6();
  if (!quoted || quoted->payload().size() < 8) {
    drop_malformed_.inc();
    return;
  }
  if (!stack_.ipv6().is_local(quoted->src())) {
    drop_not_ours_.inc();
    return;
  }
  // The transport header right behind the fixed header; a quoted packet
  // with extension headers is not traced further.
  IcmpError e =
      IcmpError::about(view.type(), view.code(), IpAddr::v6(meta.src), IpAddr::v6(quoted->src()),
                       IpAddr::v6(quoted->dst()), quoted->next_header(), quoted->payload());
  if (e.type == wire::kIcmpv6PacketTooBig) {
    e.next_hop_mtu = static_cast<std::uint16_t>(std::min<std::uint32_t>(view.word(), 0xffff));
    // RFC 8201 §4: the path MTU toward the quoted destination drops to the
    // reported MTU (not below 1280), for every packet sent there.
    if (stack_.ipv6().path_mtu().update(quoted->dst(), view.word(), stack_.now()))
      pmtu_updates_.inc();
  }
  if (IcmpErrorSink* sink = sinks_[e.protocol]) sink->icmp_error(e);
}

SendResult Icmpv6Layer::send_echo_request(const Ipv6Addr& dst, std::uint16_t id, std::uint16_t seq,
                                          std::uint32_t data_len, std::uint8_t hop_limit) {
  const std::uint32_t len = wire::Icmpv6View::kHeaderLen + data_len;
  if (len > 0xffff) return SendResult::kTooBig;
  const Ipv6Addr src = stack_.ipv6().source_for(dst);
  if (src.is_unspecified()) return SendResult::kNoRoute;  // DAD still running
  Mbuf* m = make_echo_message(stack_.pool(), data_len, stack_.now());
  if (m == nullptr) {
    drop_no_mbuf_.inc();
    return SendResult::kNoBuffers;
  }
  const auto hdr = *wire::Icmpv6MutView::parse(m->span());
  wire::store_u8(m->data(), wire::kIcmpv6EchoRequest);
  wire::store_be16(m->data() + 4, id);
  wire::store_be16(m->data() + 6, seq);
  hdr.set_checksum(
      wire::checksum_finish(wire::checksum_mbuf(m, 0, len, pseudo_sum(src, dst, len))));
  tx_echo_request_.inc();
  Ipv6TxOptions opts;
  opts.hop_limit = hop_limit;
  return stack_.ipv6().output(m, src, dst, wire::kIpProtoIcmpv6, opts);
}

void Icmpv6Layer::send_param_problem(std::uint8_t code, std::uint32_t pointer, const Ipv6Meta& meta,
                                     const Mbuf* packet, bool multicast_ok) {
  send_error(wire::kIcmpv6ParamProblem, code, pointer, meta, nullptr, packet, multicast_ok);
}

void Icmpv6Layer::send_dest_unreachable(std::uint8_t code, const Ipv6Meta& meta,
                                        const Mbuf* upper) {
  // The invoking packet's fixed header, rebuilt from what it said (its
  // extension headers, if any, are left out, as the ICMP side does with
  // IPv4 options); then its upper-layer bytes.
  std::byte header[wire::Ipv6View::kHeaderLen];
  wire::Ipv6Repr q;
  q.src = meta.src;
  q.dst = meta.dst;
  q.next_header = meta.next_header;
  q.hop_limit = meta.hop_limit;
  q.traffic_class = meta.traffic_class;
  q.payload_len = static_cast<std::uint16_t>(std::min<std::uint32_t>(upper->pkt_len, 0xffff));
  q.emit(header);
  send_error(wire::kIcmpv6DestUnreachable, code, 0, meta, header, upper, false);
}

void Icmpv6Layer::send_error(std::uint8_t type, std::uint8_t code, std::uint32_t word,
                             const Ipv6Meta& meta, const std::byte* header, const Mbuf* body,
                             bool multicast_ok) {
  if (!meta.may_send_icmp_error(multicast_ok)) return;
  if (!limiter_.allow(stack_.now())) {
    rate_limited_.inc();
    return;
  }
  // RFC 4443 §2.4 (c): as much of the invoking packet as fits without the
  // error exceeding the minimum IPv6 MTU. The source: the packet's
  // destination when it was ours, else an address of ours.
  const Ipv6Addr src = meta.dst_multicast || !stack_.ipv6().is_local(meta.dst)
                           ? stack_.ipv6().source_for(meta.src)
                           : meta.dst;
  if (src.is_unspecified()) return;
  const std::uint32_t hlen = header != nullptr ? wire::Ipv6View::kHeaderLen : 0;
  const std::uint32_t room = wire::kIpv6MinMtu - wire::Ipv6View::kHeaderLen - 8 - hlen;
  const std::uint32_t quote = std::min<std::uint32_t>(body->pkt_len, room);
  const std::uint32_t len = 8 + hlen + quote;
  Mbuf* m = mbuf_alloc_chain(stack_.pool(), len);
  if (m == nullptr) {
    drop_no_mbuf_.inc();
    return;
  }
  // The first segment holds at least the 8-byte header (a data room is
  // far larger); the quote is copied across the chain.
  std::byte head[8 + wire::Ipv6View::kHeaderLen];
  wire::store_u8(head, type);
  wire::store_u8(head + 1, code);
  wire::store_be16(head + 2, 0);
  wire::store_be32(head + 4, word);
  if (header != nullptr) std::memcpy(head + 8, header, hlen);
  std::uint32_t pos = 0;
  std::uint32_t body_off = 0;
  for (Mbuf* s = m; s != nullptr; s = s->next) {
    std::uint32_t i = 0;
    for (; i < s->data_len && pos < 8 + hlen; ++i, ++pos) s->data()[i] = head[pos];
    const std::uint32_t n = s->data_len - i;
    if (n > 0) mbuf_read(body, body_off, {s->data() + i, n});
    body_off += n;
    pos += n;
  }
  const std::uint16_t c =
      wire::checksum_finish(wire::checksum_mbuf(m, 0, len, pseudo_sum(src, meta.src, len)));
  wire::store_be16(m->data() + 2, c);
  tx_error_.inc();
  stack_.ipv6().output(m, src, meta.src, wire::kIpProtoIcmpv6);
}

}  // namespace ustack
