#include "proto/icmp.h"

#include <algorithm>
#include <cstring>

#include "proto/echo_data.h"
#include "proto/stack.h"
#include "proto/wire/bytes.h"
#include "proto/wire/checksum.h"
#include "proto/wire/icmp.h"
#include "proto/wire/ipv4.h"

namespace ustack {
namespace {

// RFC 1812 §4.3.2.3: an error quotes as much of the datagram as fits in 576
// bytes (Linux does the same); RFC 792 asks for at least 8 bytes of data.
constexpr std::uint32_t kMaxErrorDatagram = 576;

bool icmp_checksum_ok(const Mbuf* m) {
  return wire::checksum_finish(wire::checksum_mbuf(m, 0, m->pkt_len)) == 0;
}

}  // namespace

IcmpLayer::IcmpLayer(Stack& stack)
    : IcmpCommon(stack.config().icmp, stack.config().seed ^ 0x1c3b, stack.now(), stack.counters(),
                 "icmp"),
      stack_(stack),
      tx_unreachable_(stack.counters().get("icmp.tx.dest_unreachable")),
      drop_broadcast_echo_(stack.counters().get("icmp.drop.broadcast_echo")) {}

void IcmpLayer::ipv4_input(Mbuf* m, const Ipv4Meta& meta) {
  rx_.inc();
  if (m->pkt_len < wire::IcmpView::kHeaderLen || m->data_len < wire::IcmpView::kHeaderLen) {
    drop_malformed_.inc();
    return mbuf_free(m);
  }
  if (!icmp_checksum_ok(m)) {
    drop_checksum_.inc();
    return mbuf_free(m);
  }
  const std::uint8_t type = wire::load_u8(m->data());
  switch (type) {
    case wire::kIcmpEchoRequest:
      return echo_request(m, meta);
    case wire::kIcmpEchoReply:
      return echo_reply(m, meta);
    case wire::kIcmpDestUnreachable:
    case wire::kIcmpTimeExceeded:
    case wire::kIcmpParameterProblem:
    case wire::kIcmpSourceQuench:
      return error(m, meta);
    default:
      // Timestamp, address mask, router advertisement, redirect (a host
      // without routes learns nothing from one): dropped and counted.
      drop_unhandled_type_.inc();
      return mbuf_free(m);
  }
}

void IcmpLayer::echo_request(Mbuf* m, const Ipv4Meta& meta) {
  rx_echo_request_.inc();
  if (meta.ip_broadcast && !stack_.config().icmp.echo_broadcasts) {
    drop_broadcast_echo_.inc();
    return mbuf_free(m);
  }
  m = writable_request(m, stack_.pool());
  if (m == nullptr) {
    drop_no_mbuf_.inc();
    return;
  }
  // RFC 792: "the type code changed to 0 and the checksum recomputed"; the
  // change is one 16-bit word, so RFC 1624's incremental update suffices.
  const auto view = *wire::IcmpMutView::parse(m->span());
  const std::uint16_t old_word = wire::load_be16(m->data());
  view.set_type(wire::kIcmpEchoReply);
  view.set_checksum(wire::checksum_update16(view.checksum(), old_word, wire::load_be16(m->data())));
  // RFC 1122 §3.2.2.6: the reply's source is the request's specific
  // destination (for a broadcast echo, our own address).
  const Ipv4Addr src = meta.ip_broadcast ? stack_.ipv4().source_for(meta.src) : meta.dst;
  Ipv4TxOptions opts;
  opts.tos = meta.tos;
  tx_echo_reply_.inc();
  stack_.ipv4().output(m, src, meta.src, wire::kIpProtoIcmp, opts);
}

void IcmpLayer::echo_reply(Mbuf* m, const Ipv4Meta& meta) {
  rx_echo_reply_.inc();
  MbufPtr hold(m);
  if (echo_listener_ != nullptr)
    echo_listener_->on_echo_reply(echo_reply_of(m, IpAddr::v4(meta.src), meta.ttl, stack_.now()));
}

void IcmpLayer::error(Mbuf* m, const Ipv4Meta& meta) {
  rx_error_.inc();
  // The quoted header (up to 60 bytes) and the first 8 bytes of its
  // transport header are read from the first segment.
  if (!mbuf_pullup(&m, std::min<std::uint32_t>(m->pkt_len, 8 + 60 + 8), stack_.pool())) {
    drop_no_mbuf_.inc();
    return mbuf_free(m);
  }
  MbufPtr hold(m);
  const auto view = *wire::IcmpView::parse(std::as_const(*m).span());
  const auto quoted = wire::Ipv4View::parse_quoted(view.payload());
  if (!quoted || quoted->payload().size() < 8) {
    drop_malformed_.inc();
    return;
  }
  // Only errors about datagrams we sent concern us.
  if (!stack_.ipv4().is_local(quoted->src())) {
    drop_not_ours_.inc();
    return;
  }
  IcmpError e =
      IcmpError::about(view.type(), view.code(), IpAddr::v4(meta.src), IpAddr::v4(quoted->src()),
                       IpAddr::v4(quoted->dst()), quoted->protocol(), quoted->payload());
  if (e.type == wire::kIcmpDestUnreachable && e.code == wire::kIcmpUnreachFragNeeded)
    e.next_hop_mtu = view.next_hop_mtu();
  if (IcmpErrorSink* sink = sinks_[e.protocol]) sink->icmp_error(e);
}

SendResult IcmpLayer::send_echo_request(Ipv4Addr dst, std::uint16_t id, std::uint16_t seq,
                                        std::uint32_t data_len, std::uint8_t ttl) {
  const std::uint32_t len = wire::IcmpView::kHeaderLen + data_len;
  if (len > Ipv4Reassembler::kMaxPayload) return SendResult::kTooBig;
  Mbuf* m = make_echo_message(stack_.pool(), data_len, stack_.now());
  if (m == nullptr) {
    drop_no_mbuf_.inc();
    return SendResult::kNoBuffers;
  }
  const auto hdr = *wire::IcmpMutView::parse(m->span());
  hdr.set_type(wire::kIcmpEchoRequest);
  hdr.set_code(0);
  hdr.set_echo_id(id);
  hdr.set_echo_seq(seq);
  hdr.set_checksum(0);
  hdr.set_checksum(wire::checksum_finish(wire::checksum_mbuf(m, 0, len)));
  tx_echo_request_.inc();
  Ipv4TxOptions opts;
  opts.ttl = ttl;
  return stack_.ipv4().output(m, stack_.ipv4().source_for(dst), dst, wire::kIpProtoIcmp, opts);
}

void IcmpLayer::send_dest_unreachable(std::uint8_t code, const Ipv4Meta& meta,
                                      const Mbuf* offending) {
  // RFC 1122 §3.2.2: never about a broadcast or multicast, or a source that
  // is not one host. (About ICMP errors: the caller never asks.)
  if (!meta.may_send_icmp_error()) return;
  if (!limiter_.allow(stack_.now())) {
    rate_limited_.inc();
    return;
  }
  Mbuf* m = stack_.pool().alloc();
  if (m == nullptr) {
    drop_no_mbuf_.inc();
    return;
  }
  const std::uint32_t quote_data =
      std::min<std::uint32_t>(offending->pkt_len, kMaxErrorDatagram - 20 - 8 - 20);
  const std::uint32_t len = 8 + 20 + quote_data;
  std::byte* p = m->append(static_cast<std::uint16_t>(len));
  wire::IcmpRepr::dest_unreachable(code).emit({p, len}, /*compute_checksum=*/false);
  // The quoted header, rebuilt from what the datagram said (any options are
  // left out: RFC 792 asks for "the internet header", and the receiver only
  // needs the addresses, protocol and ports).
  wire::Ipv4Repr q;
  q.src = meta.src;
  q.dst = meta.dst;
  q.protocol = meta.protocol;
  q.ttl = meta.ttl;
  q.tos = meta.tos;
  q.payload_len = static_cast<std::uint16_t>(std::min<std::uint32_t>(offending->pkt_len, 65515));
  q.emit({p + 8, 20});
  mbuf_read(offending, 0, {p + 28, quote_data});
  wire::store_be16(p + 2, wire::internet_checksum({p, len}));
  tx_unreachable_.inc();
  stack_.ipv4().output(m, meta.dst, meta.src, wire::kIpProtoIcmp);
}

}  // namespace ustack
