// TcpLayer: the connection pool, listeners, active opens, demultiplexing of
// arriving segments, ISNs, and ICMP errors.
#include <algorithm>
#include <array>
#include <cstring>

#include "proto/stack.h"
#include "proto/tcp/tcp.h"
#include "proto/tcp/tcp_segment.h"
#include "proto/wire/checksum.h"
#include "proto/wire/icmp.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/tcp.h"

namespace ustack {

const char* to_string(TcpState s) {
  switch (s) {
    case TcpState::kClosed:
      return "CLOSED";
    case TcpState::kListen:
      return "LISTEN";
    case TcpState::kSynSent:
      return "SYN-SENT";
    case TcpState::kSynReceived:
      return "SYN-RECEIVED";
    case TcpState::kEstablished:
      return "ESTABLISHED";
    case TcpState::kFinWait1:
      return "FIN-WAIT-1";
    case TcpState::kFinWait2:
      return "FIN-WAIT-2";
    case TcpState::kCloseWait:
      return "CLOSE-WAIT";
    case TcpState::kClosing:
      return "CLOSING";
    case TcpState::kLastAck:
      return "LAST-ACK";
    case TcpState::kTimeWait:
      return "TIME-WAIT";
  }
  return "?";
}

const char* to_string(TcpCloseReason r) {
  switch (r) {
    case TcpCloseReason::kNormal:
      return "closed";
    case TcpCloseReason::kReset:
      return "connection reset by peer";
    case TcpCloseReason::kRefused:
      return "connection refused";
    case TcpCloseReason::kTimeout:
      return "connection timed out";
    case TcpCloseReason::kAborted:
      return "connection aborted";
  }
  return "?";
}

TcpLayer::TcpLayer(Stack& stack, const TcpConfig& cfg)
    : stack_(stack),
      cfg_(cfg),
      table_(cfg.max_connections, stack.config().seed * 0x2545f4914f6cdd1dull + 1),
      isn_key_(sip_random_key()),
      cookie_key_(sip_random_key()),
      listener_by_port_(std::make_unique<TcpListener*[]>(65536)),
      rng_(stack.config().seed ^ 0x7c9),
      c_rx_(stack.counters().get("tcp.rx")),
      c_tx_(stack.counters().get("tcp.tx")),
      c_retransmits_(stack.counters().get("tcp.tx.retransmits")),
      c_drop_malformed_(stack.counters().get("tcp.drop.malformed")),
      c_drop_checksum_(stack.counters().get("tcp.drop.bad_checksum")),
      c_drop_no_conn_(stack.counters().get("tcp.drop.no_connection")),
      c_drop_unacceptable_(stack.counters().get("tcp.drop.unacceptable")),
      c_drop_paws_(stack.counters().get("tcp.drop.paws")),
      c_drop_backlog_(stack.counters().get("tcp.drop.backlog_full")),
      c_drop_table_full_(stack.counters().get("tcp.drop.table_full")),
      c_drop_ooo_(stack.counters().get("tcp.drop.ooo_full")),
      c_rcvq_pinned_(stack.counters().get("tcp.rcvq.pinned")),
      c_tx_rst_(stack.counters().get("tcp.tx.rst")),
      c_rx_rst_(stack.counters().get("tcp.rx.rst")),
      c_active_opens_(stack.counters().get("tcp.active_opens")),
      c_passive_opens_(stack.counters().get("tcp.passive_opens")),
      c_timeouts_(stack.counters().get("tcp.timeouts")),
      c_rto_fired_(stack.counters().get("tcp.rto_fired")),
      c_tlp_probes_(stack.counters().get("tcp.tlp.probes")),
      c_tlp_repaired_(stack.counters().get("tcp.tlp.repaired")),
      c_lost_rxt_(stack.counters().get("tcp.sack.lost_retransmits")),
      c_fast_retransmits_(stack.counters().get("tcp.fast_retransmits")),
      c_challenge_acks_(stack.counters().get("tcp.tx.challenge_ack")),
      c_challenge_acks_limited_(stack.counters().get("tcp.challenge_ack_limited")),
      c_cookies_sent_(stack.counters().get("tcp.syncookies.sent")),
      c_cookies_ok_(stack.counters().get("tcp.syncookies.ok")),
      c_cookies_bad_(stack.counters().get("tcp.syncookies.bad")),
      c_sack_recoveries_(stack.counters().get("tcp.sack.recoveries")),
      c_undo_(stack.counters().get("tcp.sack.spurious_undone")),
      c_sack_retransmits_(stack.counters().get("tcp.sack.retransmits")),
      c_dsack_rx_(stack.counters().get("tcp.sack.rx_dsack")),
      c_dsack_tx_(stack.counters().get("tcp.sack.tx_dsack")),
      c_time_wait_reused_(stack.counters().get("tcp.time_wait_reused")),
      c_time_wait_overflow_(stack.counters().get("tcp.time_wait_overflow")) {}

TcpLayer::~TcpLayer() {
  // Every connection goes without callbacks: the application is going too.
  for (auto& chunk : chunks_) {
    for (std::uint32_t i = 0; i < kChunk; ++i) {
      TcpConn& c = chunk[i];
      if (c.layer_ != nullptr && c.state_ != TcpState::kClosed) {
        c.closed_notified_ = true;
        teardown(c, TcpCloseReason::kAborted);
      }
    }
  }
}

Instant TcpLayer::now() const {
  return stack_.now();
}

TcpConn* TcpLayer::alloc_conn() {
  if (free_ == nullptr) {
    if (allocated_ >= cfg_.max_connections) return nullptr;
    // Connections come in chunks, allocated at connection-setup rate and
    // never per packet.
    std::unique_ptr<TcpConn[]> chunk(new TcpConn[kChunk]);
    for (std::uint32_t i = kChunk; i > 0; --i) {
      chunk[i - 1].next_free_ = free_;
      free_ = &chunk[i - 1];
    }
    chunks_.push_back(std::move(chunk));
    allocated_ += kChunk;
  }
  TcpConn* c = free_;
  free_ = c->next_free_;
  c->next_free_ = nullptr;
  return c;
}

void TcpLayer::release(TcpConn& c) {
  c.sndq_.clear();
  c.rcvq_.clear();
  c.ooo_.clear();
  c.sack_.clear();
  c.layer_ = nullptr;
  c.handler_ = nullptr;
  c.state_ = TcpState::kClosed;
  ++c.gen_;
  c.next_free_ = free_;
  free_ = &c;
}

void TcpLayer::init_conn(TcpConn& c, const ConnKey& key, TcpHandler* h) {
  // Reset every field to its initial value, keeping the timers' identity.
  c.layer_ = this;
  c.handler_ = h;
  c.listener_ = nullptr;
  c.user = nullptr;
  c.key_ = key;
  c.state_ = TcpState::kClosed;
  // A pooled object carries its last connection's sequence space: every
  // sequence variable starts again (a stale RCV.ADV once made a reused
  // connection's window garbage).
  c.iss_ = c.snd_una_ = c.snd_nxt_ = c.snd_max_ = c.snd_wl1_ = c.snd_wl2_ = SeqNum();
  c.irs_ = c.rcv_nxt_ = c.rcv_adv_ = c.last_ack_sent_ = SeqNum();
  c.rtt_seq_ = c.recover_ = c.peer_fin_seq_ = c.fin_seq_ = SeqNum();
  c.ts_recent_time_ = now();
  c.first_retransmit_ = Instant{};
  c.rtt_start_ = Instant{};
  c.snd_wnd_ = c.max_snd_wnd_ = 0;
  c.snd_wscale_ = c.rcv_wscale_ = 0;
  c.mss_ = 536;
  c.ts_ok_ = c.sack_ok_ = c.ws_ok_ = false;
  c.ts_recent_ = 0;
  // RFC 7323 §5.4 (and Linux): the timestamp offset is a keyed hash of the
  // address pair, not of the ports, so timestamps keep growing from one
  // incarnation of a 4-tuple to the next; that is what lets a new SYN take
  // over a TIME-WAIT 4-tuple safely (RFC 6191).
  c.ts_offset_ = ts_offset_of(key);
  c.srtt_ = c.rttvar_ = Duration(0);
  c.rtt_measured_ = false;
  c.rto_ = cfg_.rto_initial;
  c.rtt_timing_ = false;
  c.backoff_ = 0;
  c.limited_sent_ = 0;
  c.pto_armed_ = c.tlp_outstanding_ = c.tlp_retrans_ = c.tlp_dsacked_ = false;
  c.tlp_end_ = SeqNum();
  c.una_rxt_mark_ = SeqNum();
  c.una_rxt_valid_ = false;
  c.retransmits_ = 0;
  c.cc_ = CcState{};
  c.cc_.algo = cfg_.congestion_control;
  c.cwnd_limited_ = false;
  c.last_data_tx_ = Instant{};
  c.dupacks_ = 0;
  c.in_recovery_ = false;
  c.sack_.clear();
  c.high_rxt_ = SeqNum();
  c.dsack_ = SeqRange{};
  c.prior_cwnd_ = c.prior_ssthresh_ = c.undo_retrans_ = 0;
  c.undo_marker_ = SeqNum();
  c.undo_valid_ = c.undo_at_exit_ = false;
  c.dupthresh_ = SackScoreboard::kDupThresh;
  c.ooo_.set_limits(OooLimits{
      cfg_.recv_buffer,
      cfg_.max_ooo_segments != 0 ? cfg_.max_ooo_segments : std::max(cfg_.recv_buffer / 1024, 64u),
      cfg_.max_ooo_intervals});
  c.send_buffer_ = cfg_.send_buffer;
  c.recv_buffer_ = cfg_.recv_buffer;
  c.fin_queued_ = c.fin_sent_ = c.app_closed_ = c.peer_fin_ = c.closed_notified_ = false;
  c.nodelay_ = !cfg_.nagle;
  c.ack_now_ = false;
  c.segs_unacked_ = 0;
  c.quickack_ = cfg_.quickack_segments;
  c.writable_wanted_ = false;
  c.last_rx_ = now();
  c.keepalive_probes_sent_ = 0;
  c.syn_retries_ = 0;
  c.persist_backoff_ = 0;
  c.sws_override_ = false;
  c.challenge_since_ = Instant{};
  c.challenge_sent_ = c.challenge_limit_ = 0;
  c.rcv_wscale_ = our_wscale();
  c.rto_timer_.set_callback(&TcpLayer::on_rto, &c);
  c.delack_timer_.set_callback(&TcpLayer::on_delack, &c);
  c.persist_timer_.set_callback(&TcpLayer::on_persist, &c);
  c.keepalive_timer_.set_callback(&TcpLayer::on_keepalive, &c);
  c.timewait_timer_.set_callback(&TcpLayer::on_timewait, &c);
}

std::uint32_t TcpLayer::ts_offset_of(const ConnKey& key) const {
  std::array<std::uint8_t, 32> pair{};
  std::memcpy(pair.data(), key.local.b.data(), 16);
  std::memcpy(pair.data() + 16, key.remote.b.data(), 16);
  return static_cast<std::uint32_t>(siphash24(isn_key_, pair.data(), pair.size()) >> 32);
}

std::uint8_t TcpLayer::our_wscale() const {
  // RFC 7323 §2.3: the smallest shift that lets the buffer be advertised.
  std::uint8_t ws = 0;
  while (ws < 14 && (cfg_.recv_buffer >> ws) > 0xffff) ++ws;
  return cfg_.window_scaling ? ws : 0;
}

SeqNum TcpLayer::make_isn(const ConnKey& k) const {
  // RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport,
  // secretkey), M a 4-microsecond timer, F a keyed hash (SipHash-2-4).
  const std::uint64_t f = siphash24(isn_key_, &k, sizeof k);
  const auto m = static_cast<std::uint32_t>(ns_of(now()) / 4000);
  return SeqNum(static_cast<std::uint32_t>(f) + m);
}

TcpListener* TcpLayer::listen(std::uint16_t port, TcpListenHandler& handler, std::string* error) {
  if (port == 0 || listener_by_port_[port] != nullptr) {
    if (error)
      *error = port == 0 ? "TCP port 0 cannot be listened on"
                         : "TCP port " + std::to_string(port) + " is in use";
    return nullptr;
  }
  listeners_.push_back(std::unique_ptr<TcpListener>(new TcpListener(*this, handler, port)));
  listener_by_port_[port] = listeners_.back().get();
  listeners_.back()->cc_ = cfg_.congestion_control;
  return listeners_.back().get();
}

void TcpLayer::abort_half_open(TcpListener& l) {
  // Rare (a listener closing with handshakes in progress): a walk of the pool.
  for (auto& chunk : chunks_) {
    for (std::size_t i = 0; i < kChunk; ++i) {
      TcpConn& c = chunk[i];
      if (c.listener_ != &l || c.state_ == TcpState::kClosed) continue;
      c.closed_notified_ = true;  // never accepted: nobody to tell
      c.abort();
    }
  }
}

void TcpListener::close() {
  // Its half-open connections (SYN-RECEIVED, not yet accepted) point to it.
  if (pending_ > 0) layer_.abort_half_open(*this);
  layer_.listener_by_port_[port_] = nullptr;
  auto& v = layer_.listeners_;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it->get() == this) {
      v.erase(it);  // destroys this
      return;
    }
  }
}

bool TcpLayer::owns(const ConnKey& k) const {
  const FlowSteer* s = stack_.steer();
  if (s == nullptr) return true;
  // The flow as the peer sends it, either family (proto/flow_steer.h).
  return s->owner(k.remote, k.local, k.remote_port, k.local_port) == s->self();
}

TcpConn* TcpLayer::connect(IpAddr addr, std::uint16_t port, TcpHandler& handler, std::string* error,
                           std::uint16_t local_port) {
  ConnKey key;
  key.remote = addr;
  key.remote_port = port;
  key.local = stack_.source_for(addr);
  if (addr.is_v6() && key.local.as_v6().is_unspecified()) {
    if (error) *error = "no usable IPv6 address to connect to " + addr.to_string() + " from";
    return nullptr;
  }
  if (local_port != 0) {
    key.local_port = local_port;
    if (table_.find(key) != nullptr) {
      if (error) *error = "that connection exists already";
      return nullptr;
    }
  } else {
    // RFC 6056 §3.3.1 (algorithm 1): a random start, then the next free one
    // -- on a multi-core host, the next whose replies this core owns
    // (proto/flow_steer.h), so that the connection sees its segments.
    const std::uint32_t n = std::uint32_t{cfg_.ephemeral_hi} - cfg_.ephemeral_lo + 1;
    const auto start = static_cast<std::uint32_t>(rng_.below(n));
    for (std::uint32_t i = 0; i < n; ++i) {
      key.local_port = static_cast<std::uint16_t>(cfg_.ephemeral_lo + (start + i) % n);
      if (listener_by_port_[key.local_port] == nullptr && owns(key) && table_.find(key) == nullptr)
        break;
      key.local_port = 0;
    }
    if (key.local_port == 0) {
      // Every port to this peer is taken. Like Linux's tcp_tw_reuse, take
      // over a 4-tuple in TIME-WAIT when timestamps make it safe: the new
      // connection's timestamps exceed the old one's (the offset is per
      // address pair), so the peer's PAWS check tells old segments from
      // new (RFC 7323 §5; RFC 6191), and it has waited at least a second.
      for (std::uint32_t i = 0; i < n && key.local_port == 0; ++i) {
        ConnKey k = key;
        k.local_port = static_cast<std::uint16_t>(cfg_.ephemeral_lo + (start + i) % n);
        TcpConn* old = owns(k) ? table_.find(k) : nullptr;
        if (old != nullptr && old->state_ == TcpState::kTimeWait && old->ts_ok_ &&
            now() - old->timewait_since_ >= std::chrono::seconds(1)) {
          c_time_wait_reused_.inc();
          teardown(*old, TcpCloseReason::kNormal);
          key.local_port = k.local_port;
        }
      }
    }
    if (key.local_port == 0) {
      if (error) *error = "no free local port for " + addr.to_string();
      return nullptr;
    }
  }
  TcpConn* c = alloc_conn();
  if (c == nullptr || !table_.insert(key, c)) {
    if (c != nullptr) release(*c);
    c_drop_table_full_.inc();
    if (error) *error = "too many TCP connections";
    return nullptr;
  }
  init_conn(*c, key, &handler);
  c->iss_ = make_isn(key);
  c->snd_una_ = c->snd_nxt_ = c->snd_max_ = c->iss_;
  c->state_ = TcpState::kSynSent;
  c_active_opens_.inc();
  send_syn(*c, /*with_ack=*/false);
  return c;
}

std::uint32_t TcpLayer::count_in_state(TcpState s) const {
  std::uint32_t n = 0;
  for (const auto& chunk : chunks_)
    for (std::uint32_t i = 0; i < kChunk; ++i)
      if (chunk[i].layer_ != nullptr && chunk[i].state_ == s) ++n;
  return n;
}

void TcpLayer::ipv4_input(Mbuf* m, const Ipv4Meta& meta) {
  input(m, IpAddr::v4(meta.src), IpAddr::v4(meta.dst),
        meta.ip_broadcast || meta.dst.is_multicast());
}

void TcpLayer::ipv6_input(Mbuf* m, const Ipv6Meta& meta) {
  input(m, IpAddr::v6(meta.src), IpAddr::v6(meta.dst), meta.dst_multicast);
}

void TcpLayer::input(Mbuf* m, const IpAddr& src, const IpAddr& dst, bool to_group) {
  c_rx_.inc();
  // The header must be contiguous in the first segment: its fixed part,
  // then as much as the data offset says.
  if (m->pkt_len < 20 || !mbuf_pullup(&m, 20, stack_.pool())) {
    c_drop_malformed_.inc();
    return mbuf_free(m);
  }
  const std::uint32_t doff = (std::to_integer<std::uint32_t>(m->data()[12]) >> 4) * 4u;
  if (doff > 20 && (doff > m->pkt_len || !mbuf_pullup(&m, doff, stack_.pool()))) {
    c_drop_malformed_.inc();
    return mbuf_free(m);
  }
  Segment seg;
  seg.m = m;
  const auto tcp = wire::TcpView::parse(std::as_const(*m).span());
  if (!tcp || to_group) {
    // RFC 9293 §3.9.2.4 (RFC 1122 §4.2.3.10): no TCP to broadcast/multicast.
    c_drop_malformed_.inc();
    return mbuf_free(m);
  }
  // RFC 9293 §3.1 and RFC 8200 §8.1: the checksum covers the pseudo-header
  // of the segment's family (the IPv6 one with a 32-bit length).
  if (wire::l4_checksum_known_bad(*m) ||
      (wire::l4_checksum_needs_verify(*m) &&
       wire::checksum_finish(wire::checksum_mbuf(
           m, 0, m->pkt_len,
           wire::ip_pseudo_header_sum(src, dst, wire::kIpProtoTcp, m->pkt_len))) != 0)) {
    c_drop_checksum_.inc();
    return mbuf_free(m);
  }
  seg.seq = SeqNum(tcp->seq_number());
  seg.ack = SeqNum(tcp->ack_number());
  seg.flags = tcp->flags();
  seg.wnd = tcp->window();
  seg.hlen = static_cast<std::uint16_t>(tcp->header_len());
  seg.payload = m->pkt_len - seg.hlen;
  if (seg.hlen > wire::TcpView::kMinHeaderLen) {
    seg.opts = tcp->options();
    seg.has_ts = seg.opts.timestamps.has_value();
  }
  seg.key.local = dst;
  seg.key.remote = src;
  seg.key.local_port = tcp->dst_port();
  seg.key.remote_port = tcp->src_port();
  m->l4_len = seg.hlen;

  TcpConn* c = table_.find(seg.key);
  if (c != nullptr && c->state_ == TcpState::kTimeWait && seg.syn() && !seg.ack_flag() &&
      !seg.rst() && listener_by_port_[seg.key.local_port] != nullptr) {
    // RFC 6191 §2 (and RFC 1122 §4.2.2.13): a new SYN for a 4-tuple in
    // TIME-WAIT may open a new incarnation when it cannot be an old
    // duplicate: its timestamp is newer, or (no timestamps) its sequence
    // number lies beyond the old connection's.
    const bool newer =
        c->ts_ok_ && seg.has_ts
            ? static_cast<std::int32_t>(seg.opts.timestamps->tsval - c->ts_recent_) > 0
            : seg.seq > c->rcv_nxt_;
    if (newer) {
      c_time_wait_reused_.inc();
      teardown(*c, TcpCloseReason::kNormal);
      c = nullptr;
    }
  }
  if (c != nullptr) {
    if (c->state_ == TcpState::kSynSent) {
      input_syn_sent(*c, seg);
    } else {
      input_synchronized(*c, seg);
    }
  } else if (TcpListener* l = listener_by_port_[seg.key.local_port]) {
    input_listen(*l, seg);
  } else {
    c_drop_no_conn_.inc();
    input_closed(seg);
  }
  if (seg.m != nullptr) mbuf_free(seg.m);
}

void TcpLayer::icmp_error(const IcmpError& e) {
  ConnKey k;
  k.local = e.src;
  k.remote = e.dst;
  k.local_port = e.src_port;
  k.remote_port = e.dst_port;
  TcpConn* c = table_.find(k);
  if (c == nullptr) return;
  // RFC 1122 §4.2.3.9: port and protocol unreachable are hard errors for a
  // connection still opening; other unreachables are soft. Fragmentation
  // needed (RFC 1191) and Packet Too Big (RFC 8201 §4) lower the MSS to
  // what the reported MTU leaves.
  const bool v6 = e.src.is_v6();
  const bool too_big =
      v6 ? e.type == wire::kIcmpv6PacketTooBig
         : e.type == wire::kIcmpDestUnreachable && e.code == wire::kIcmpUnreachFragNeeded;
  const std::uint32_t min_mtu = v6 ? wire::kIpv6MinMtu : 68;
  if (too_big) {
    if (e.next_hop_mtu < min_mtu) return;  // RFC 8201 §4: below the minimum, ignored
    const std::uint32_t mss =
        e.next_hop_mtu - Stack::ip_header_len(e.src) - 20u - (c->ts_ok_ ? 12u : 0u);
    if (mss < c->mss_) {
      c->mss_ = std::max<std::uint32_t>(mss, 64);
      cc_set_mss(c->cc_, c->mss_);
    }
    return;
  }
  // ICMPv6 port unreachable (RFC 4443 §3.1 code 4) is the hard error of
  // IPv6 (RFC 5461 §4.1 treats it as ICMP's port unreachable).
  const bool hard =
      v6 ? e.type == wire::kIcmpv6DestUnreachable && e.code == wire::kIcmpv6UnreachPort
         : e.type == wire::kIcmpDestUnreachable &&
               (e.code == wire::kIcmpUnreachProtocol || e.code == wire::kIcmpUnreachPort);
  if (c->state_ == TcpState::kSynSent && hard) teardown(*c, TcpCloseReason::kRefused);
}

}  // namespace ustack
