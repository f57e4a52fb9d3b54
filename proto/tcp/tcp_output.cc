// TCP output: what may be sent now (window, congestion window, Nagle,
// sender-side silly window avoidance), building segments with their options
// and checksum, the receive window we advertise, and resets.
#include <algorithm>

#include "proto/stack.h"
#include "proto/tcp/tcp.h"
#include "proto/wire/bytes.h"
#include "proto/wire/checksum.h"
#include "proto/wire/tcp.h"

namespace ustack {

std::uint32_t TcpLayer::ts_now(const TcpConn& c) const {
  // RFC 7323 §5.4: a millisecond clock with a random offset per connection.
  return static_cast<std::uint32_t>(ns_of(now()) / 1'000'000) + c.ts_offset_;
}

bool TcpLayer::tlp_allowed(const TcpConn& c) const {
  // RFC 8985 §7.2: SACK in use, not in recovery (nor after a timeout), no
  // probe out, an RTT measured. (Not with our FIN out: the RTO resends it.)
  return cfg_.tail_loss_probe && c.sack_ok_ && !c.in_recovery_ && c.backoff_ == 0 &&
         !c.tlp_outstanding_ && c.srtt_ > Duration{0} && !c.fin_sent_ &&
         (c.state_ == TcpState::kEstablished || c.state_ == TcpState::kCloseWait);
}

void TcpLayer::arm_rto(TcpConn& c, std::uint32_t sending) {
  const Duration rto = std::min(c.rto_ * (1u << std::min(c.backoff_, 16u)), cfg_.rto_max);
  Instant deadline = now() + rto;
  c.pto_armed_ = tlp_allowed(c);
  if (c.pto_armed_) {
    // RFC 8985 §7.2: PTO = 2 * SRTT, plus the receiver's worst-case
    // delayed ACK when one segment is out; never past the RTO. At least
    // 10 ms, as Linux: a timer tick, and the peer's ACK scheduling.
    Duration pto = std::max<Duration>(2 * c.srtt_, std::chrono::milliseconds(10));
    if (static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_) + sending <= c.mss_)
      pto += std::chrono::milliseconds(200);
    if (now() + pto < deadline) deadline = now() + pto;
  }
  // Every ACK of new data restarts the timer (RFC 6298 §5.3), almost always
  // to a later time: then only the deadline moves, and a timer that fires
  // before it re-arms itself (on_rto). The wheel is touched when the
  // deadline comes earlier or the timer is not armed.
  if (c.rto_timer_.armed() && deadline >= c.rto_deadline_) {
    c.rto_deadline_ = deadline;
    return;
  }
  c.rto_deadline_ = deadline;
  stack_.timers().arm(c.rto_timer_, deadline);
}

std::uint32_t TcpLayer::receive_window(TcpConn& c) {
  const std::uint32_t held = c.rcvq_.bytes() + c.ooo_.bytes();
  // At most what the window field can say: RCV.WND is the window advertised
  // (RFC 9293 §3.10.7.4 accepts only segments within it; RFC 7323 §2.3).
  const std::uint32_t space =
      std::min(c.recv_buffer_ > held ? c.recv_buffer_ - held : 0, 0xffffu << c.rcv_wscale_);
  // The right edge moves in units of the scale, and (RFC 9293 §3.8.6.2.2,
  // receiver SWS avoidance) only by at least min(buffer / 2, MSS) -- from a
  // closed window too: "keep RCV.NXT+RCV.WND fixed until the reduction
  // satisfies" that; it never moves left (§3.8.6: "SHOULD NOT shrink").
  const std::uint32_t unit = 1u << c.rcv_wscale_;
  const SeqNum edge = c.rcv_nxt_ + (space / unit) * unit;
  const std::uint32_t step = std::min(c.recv_buffer_ / 2, c.mss_);
  if (edge > c.rcv_adv_ && edge - c.rcv_adv_ >= static_cast<std::int32_t>(step)) {
    c.rcv_adv_ = edge;
  }
  if (c.rcv_adv_ < c.rcv_nxt_) c.rcv_adv_ = c.rcv_nxt_;
  return static_cast<std::uint32_t>(c.rcv_adv_ - c.rcv_nxt_);
}

namespace {

// Bytes of a SACK option with n blocks as emitted (two NOPs, kind, length,
// 8 bytes a block; RFC 2018 §3).
constexpr std::uint32_t kTimestampsOptionLen = 12;  // two NOPs and the option (RFC 7323 §3)
constexpr std::uint32_t sack_option_len(std::size_t n) {
  return n == 0 ? 0 : 4 + 8 * static_cast<std::uint32_t>(n);
}

}  // namespace

void TcpLayer::add_sack_blocks(TcpConn& c, wire::TcpOptions& o, std::size_t max_blocks) {
  // RFC 2018 §4 (most recent first) and RFC 2883 §4 (a duplicate first).
  std::array<SeqRange, wire::TcpOptions::kMaxSackBlocks> b{};
  max_blocks = std::min(max_blocks, b.size());
  std::size_t n = 0;
  if (c.dsack_.len() > 0 && max_blocks > 0) {
    b[n++] = c.dsack_;
    c.dsack_ = SeqRange{};
    c_dsack_tx_.inc();
  }
  n += c.ooo_.sack_blocks(std::span(b).subspan(n, max_blocks - n));
  for (std::size_t i = 0; i < n; ++i) o.sack_blocks[i] = {b[i].start.raw(), b[i].end.raw()};
  o.sack_count = static_cast<std::uint8_t>(n);
}

std::uint32_t TcpLayer::seg_mss(const TcpConn& c) const {
  if (!c.sack_ok_ || (c.dsack_.len() == 0 && c.ooo_.empty())) return c.mss_;
  // With timestamps three blocks fit in the 40 option bytes, else four.
  const std::size_t room = c.ts_ok_ ? 3 : 4;
  const std::size_t n = std::min(room, (c.dsack_.len() > 0 ? 1 : 0) + c.ooo_.intervals());
  // mss_ already leaves room for the timestamps; keep at least 64 bytes
  // (the floor the ICMP path MTU code keeps too).
  return std::max<std::uint32_t>(c.mss_ > sack_option_len(n) ? c.mss_ - sack_option_len(n) : 0, 64);
}

bool TcpLayer::send_segment(TcpConn& c, SeqNum seq, std::uint32_t len, std::uint8_t flags) {
  MbufPool& pool = stack_.pool();
  Mbuf* m = pool.alloc();
  if (m == nullptr) return false;
  Mbuf* data = nullptr;
  if (len > 0) {
    data = c.sndq_.clone(static_cast<std::uint32_t>(seq - c.snd_una_), len, pool);
    if (data == nullptr) {
      mbuf_free(m);
      return false;
    }
  }
  const bool syn = (flags & wire::kTcpSyn) != 0;
  wire::TcpOptions o;
  if (syn) {
    c.adv_mss_ = static_cast<std::uint16_t>(stack_.link_mtu(c.key_.local) - 20 -
                                            Stack::ip_header_len(c.key_.local));
    o.mss = c.adv_mss_;
    // In a SYN,ACK only what the peer offered (RFC 7323 §2.2, §3.2; RFC 2018).
    const bool reply = (flags & wire::kTcpAck) != 0;
    if (cfg_.window_scaling && (!reply || c.ws_ok_)) o.window_scale = c.rcv_wscale_;
    if (cfg_.sack_permitted && (!reply || c.sack_ok_)) o.sack_permitted = true;
    if (cfg_.timestamps && (!reply || c.ts_ok_))
      o.timestamps = wire::TcpTimestamps{ts_now(c), reply ? c.ts_recent_ : 0};
  } else {
    if (c.ts_ok_) o.timestamps = wire::TcpTimestamps{ts_now(c), c.ts_recent_};
    if (c.sack_ok_ && (flags & wire::kTcpAck) != 0 && (c.dsack_.len() > 0 || !c.ooo_.empty())) {
      // RFC 9293 §3.7.1 (and RFC 6691): data and options within the MSS
      // (mss_ already leaves out the timestamps; it follows the peer's MSS,
      // our MTU and the path MTU, whichever family). Callers size data by
      // seg_mss(), so this trims blocks only for a segment sized before
      // out-of-order data arrived; SACK information is advisory (RFC 2018
      // §3 lets the option carry fewer blocks than the receiver holds).
      const std::uint32_t room = c.mss_ > len ? c.mss_ - len : 0;
      const std::uint32_t options_left = 40 - (o.timestamps ? kTimestampsOptionLen : 0);
      const std::size_t fit =
          room >= sack_option_len(1) ? (std::min(room, options_left) - 4) / 8 : 0;
      add_sack_blocks(c, o, fit);
    }
  }
  const std::size_t olen = o.encoded_len();
  const auto hlen = static_cast<std::uint16_t>(20 + olen);
  std::byte* h = m->append(hlen);
  wire::store_be16(h, c.key_.local_port);
  wire::store_be16(h + 2, c.key_.remote_port);
  wire::store_be32(h + 4, seq.raw());
  const bool ack = (flags & wire::kTcpAck) != 0;
  wire::store_be32(h + 8, ack ? c.rcv_nxt_.raw() : 0);
  h[12] = std::byte(static_cast<std::uint8_t>((hlen / 4) << 4));
  h[13] = std::byte(flags);
  std::uint32_t wnd = 0;
  if (syn) {
    // The window of a SYN is never scaled (RFC 7323 §2.2).
    wnd = std::min<std::uint32_t>(c.recv_buffer_, 0xffff);
    if (c.rcv_adv_ <= c.rcv_nxt_) c.rcv_adv_ = c.rcv_nxt_ + wnd;
  } else {
    wnd = std::min<std::uint32_t>(receive_window(c) >> c.rcv_wscale_, 0xffff);
  }
  wire::store_be16(h + 14, static_cast<std::uint16_t>(wnd));
  wire::store_be16(h + 16, 0);
  wire::store_be16(h + 18, 0);
  o.emit({h + 20, olen});
  m->l4_len = hlen;
  if (data != nullptr) m->chain(data);
  if (ack) {
    c.last_ack_sent_ = c.rcv_nxt_;
    c.ack_now_ = false;
    c.segs_unacked_ = 0;
    // The delayed-ACK timer is left to run out: on_delack sends nothing
    // when no segment is waiting (saves a cancel and re-arm per ACK).
  }
  const bool retransmission = seq < c.snd_max_;
  if (retransmission && (len > 0 || syn || (flags & wire::kTcpFin) != 0)) {
    ++c.retransmits_;
    c_retransmits_.inc();
    if (c.in_recovery_ && c.undo_valid_ && len > 0) ++c.undo_retrans_;
    if (seq == c.snd_una_ && len > 0) {
      c.una_rxt_mark_ = c.snd_max_;
      c.una_rxt_valid_ = true;
    }
  }
  // Time one new segment per round trip when timestamps are off (RFC 6298
  // §3, Karn's algorithm: never a retransmission).
  if (!c.ts_ok_ && !c.rtt_timing_ && !retransmission && len > 0) {
    c.rtt_timing_ = true;
    c.rtt_seq_ = seq;
    c.rtt_start_ = now();
  }
  c_tx_.inc();
  finish_and_send(m, h, c.key_, stack_.caps().tx_l4_cksum);
  // The RTO runs while anything is outstanding. The probe timeout takes its
  // place while a probe is allowed, restarted by every new segment (RFC
  // 8985 §7.2: "after transmitting new data"); only the deadline moves.
  const bool new_data = seq + len > c.snd_max_;
  if ((len > 0 || syn || (flags & wire::kTcpFin) != 0) &&
      (!c.rto_timer_.armed() || (new_data && tlp_allowed(c))))
    arm_rto(c, new_data ? static_cast<std::uint32_t>(seq + len - c.snd_max_) : 0);
  return true;
}

void TcpLayer::finish_and_send(Mbuf* m, std::byte* h, const ConnKey& key, bool offload) {
  // The checksum field (h + 16) is 0. The driver's checksum when it offers
  // one (either family: the field holds the family's pseudo-header sum),
  // else ours over the chain with the pseudo-header of the family (RFC 9293
  // §3.1; RFC 8200 §8.1).
  const IpAddr& src = key.local;
  const IpAddr& dst = key.remote;
  const std::uint32_t total = m->pkt_len;
  if (offload) {
    wire::store_be16(h + 16,
                     wire::ip_pseudo_header_for_offload(src, dst, wire::kIpProtoTcp, total));
    m->ol_flags |= ol::kTxTcpCksum | wire::tx_family_flag(src);
  } else {
    wire::store_be16(
        h + 16, wire::checksum_finish(wire::checksum_mbuf(
                    m, 0, total, wire::ip_pseudo_header_sum(src, dst, wire::kIpProtoTcp, total))));
  }
  stack_.ip_output(m, src, dst, wire::kIpProtoTcp);
}

void TcpLayer::send_ack(TcpConn& c) {
  // A pure ACK carries SND.MAX, not SND.NXT (as FreeBSD's tcp_output does):
  // after a timeout SND.NXT goes back to SND.UNA, and an ACK numbered there
  // can fall below the peer's RCV.NXT, where RFC 9293 §3.10.7.4's first
  // check discards it unread. Two ends both backing off would then ignore
  // each other's ACKs for good (found by the duplex test under loss).
  send_segment(c, c.snd_max_, 0, wire::kTcpAck);
}

void TcpLayer::send_syn(TcpConn& c, bool with_ack) {
  if (c.syn_retries_ == 0) c.rtt_start_ = now();
  const std::uint8_t flags = wire::kTcpSyn | (with_ack ? wire::kTcpAck : 0);
  send_segment(c, c.iss_, 0, flags);
  c.snd_nxt_ = c.iss_ + 1;
  c.snd_max_ = seq_max(c.snd_max_, c.snd_nxt_);
}

void TcpLayer::send_reset(const ConnKey& key, SeqNum seq, SeqNum ack, bool with_ack) {
  Mbuf* m = stack_.pool().alloc();
  if (m == nullptr) return;
  std::byte* h = m->append(20);
  wire::store_be16(h, key.local_port);
  wire::store_be16(h + 2, key.remote_port);
  wire::store_be32(h + 4, seq.raw());
  wire::store_be32(h + 8, with_ack ? ack.raw() : 0);
  h[12] = std::byte(0x50);
  h[13] = std::byte(wire::kTcpRst | (with_ack ? wire::kTcpAck : 0));
  wire::store_be32(h + 14, 0);  // window and checksum
  wire::store_be16(h + 18, 0);
  c_tx_rst_.inc();
  finish_and_send(m, h, key, false);
}

void TcpLayer::send_probe(TcpConn& c) {
  // RFC 8985 §7.3: new data if there is some and the peer's window takes
  // it, else the last segment sent again. Either draws an ACK whose SACK
  // blocks start ordinary recovery for any tail loss.
  c_tlp_probes_.inc();
  c.pto_armed_ = false;
  c.tlp_outstanding_ = true;
  c.tlp_dsacked_ = false;
  const SeqNum before = c.snd_max_;
  const std::uint32_t queued = c.sndq_.bytes();
  const std::uint32_t out = static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_);
  const std::uint32_t usable =
      c.snd_wnd_ > out ? std::min(c.snd_wnd_ - out, queued - std::min(queued, out)) : 0;
  if (c.snd_nxt_ == c.snd_max_ && usable >= std::min(c.mss_, queued - std::min(queued, out)) &&
      usable > 0) {
    const std::uint32_t len = std::min(seg_mss(c), usable);
    if (send_segment(c, c.snd_nxt_, len, wire::kTcpAck | wire::kTcpPsh)) {
      c.snd_nxt_ += len;
      c.snd_max_ = c.snd_nxt_;
    }
  }
  c.tlp_retrans_ = c.snd_max_ == before;
  if (c.tlp_retrans_) {
    const std::uint32_t len = std::min({seg_mss(c), out, queued});
    if (len > 0) send_segment(c, c.snd_max_ - len, len, wire::kTcpAck);
  }
  c.tlp_end_ = c.snd_max_;
  c.last_data_tx_ = now();
}

void TcpLayer::tlp_acked(TcpConn& c) {
  // RFC 8985 §7.4: the probe's episode ends with the ACK past it. A resent
  // probe that was not reported as a duplicate repaired a real loss: the
  // congestion response fast recovery would have made is made now.
  c.tlp_outstanding_ = false;
  if (c.tlp_retrans_ && !c.tlp_dsacked_) {
    c_tlp_repaired_.inc();
    cc_on_congestion(c.cc_, static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_), now());
    cc_on_recovery_exit(c.cc_, c.cc_.ssthresh, now());
  }
}

void TcpLayer::sack_retransmit(TcpConn& c, std::uint32_t& budget, bool lost_only) {
  // Each call sends at most a window's worth; the loop is bounded by the
  // budget and by the holes (each send moves HighRxt past one).
  while (budget >= c.mss_) {
    const auto hole = c.sack_.next_hole(c.high_rxt_, c.snd_una_, c.mss_, lost_only, dupthresh(c));
    if (!hole) return;
    // Only data: our FIN (past the queue) is resent by the RTO path.
    const std::uint32_t off = static_cast<std::uint32_t>(hole->start - c.snd_una_);
    if (off >= c.sndq_.bytes()) return;
    const std::uint32_t len = std::min({seg_mss(c), hole->len(), c.sndq_.bytes() - off});
    if (!send_segment(c, hole->start, len, wire::kTcpAck)) return;
    c_sack_retransmits_.inc();
    c.high_rxt_ = hole->start + len;
    budget -= std::min(budget, len);
  }
}

void TcpLayer::output(TcpConn& c) {
  switch (c.state_) {
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
    case TcpState::kFinWait1:
    case TcpState::kClosing:
    case TcpState::kLastAck:
      break;
    default:
      if (c.ack_now_ && c.state_ != TcpState::kSynSent && c.state_ != TcpState::kClosed)
        send_ack(c);
      return;
  }
  bool sent_any = false;
  // RFC 5681 §4.1: after an idle period longer than the RTO, slow start
  // again from at most the initial window.
  if (c.snd_una_ == c.snd_max_ && c.sndq_.bytes() > 0 && c.last_data_tx_ != Instant{} &&
      now() - c.last_data_tx_ > c.rto_) {
    cc_after_idle(c.cc_, cc_initial_window(c.mss_, cfg_.initial_window_segments));
    c.last_data_tx_ = Instant{};
  }
  // SACK-based loss recovery (RFC 6675 §5 (C)): what may be sent is
  // cwnd - pipe, lost holes first (NextSeg rule 1), then new data (rule 2),
  // then holes not yet deemed lost (rule 3).
  const bool sack_recovery = c.in_recovery_ && c.sack_ok_;
  std::uint32_t budget = 0xffffffffu;
  if (sack_recovery) {
    if (c.high_rxt_ < c.snd_una_) c.high_rxt_ = c.snd_una_;
    const std::uint32_t pipe =
        c.sack_.pipe(c.snd_una_, c.snd_max_, c.high_rxt_, c.mss_, dupthresh(c));
    budget = c.cc_.cwnd > pipe ? c.cc_.cwnd - pipe : 0;
    const std::uint64_t before = c.retransmits_;
    sack_retransmit(c, budget, /*lost_only=*/true);
    sent_any = c.retransmits_ != before;
  }
  // RFC 3042 (limited transmit, RFC 5681 §3.2 step 1): each of the
  // duplicate ACKs before recovery lets one new segment out beyond cwnd, so
  // that a small window still gets its loss reported by enough duplicates
  // (RFC 4653 §3.1 extends it to a raised DupThresh).
  const std::uint32_t limited_transmit =
      cfg_.limited_transmit && !c.in_recovery_ && c.dupacks_ > 0 && c.snd_nxt_ == c.snd_max_
          ? std::min<std::uint32_t>(c.dupacks_, dupthresh(c) - 1) * c.mss_
          : 0;
  for (;;) {
    // After a timeout SND.NXT walks through data sent before: skip what the
    // receiver holds (RFC 6675 §5.1 lets the scoreboard outlive the RTO)
    // and stop short of the next range it holds.
    std::uint32_t sack_cap = 0xffffffffu;
    if (!c.sack_.empty() && c.snd_nxt_ < c.snd_max_) {
      if (auto r = c.sack_.first_after(c.snd_nxt_)) {
        if (r->start <= c.snd_nxt_) {
          c.snd_nxt_ = seq_min(r->end, c.snd_max_);
          continue;
        }
        sack_cap = static_cast<std::uint32_t>(r->start - c.snd_nxt_);
      }
    }
    const std::uint32_t queued = c.sndq_.bytes();
    // Data offset of SND.NXT in the queue (our FIN, once sent, sits after it).
    const std::uint32_t off = std::min(static_cast<std::uint32_t>(c.snd_nxt_ - c.snd_una_), queued);
    const bool fin_here = c.fin_queued_ && (!c.fin_sent_ || c.snd_nxt_ <= c.fin_seq_);
    const std::uint32_t avail = queued - off;
    // In SACK recovery cwnd limits through the budget, not SND.UNA + cwnd.
    const std::uint32_t win =
        sack_recovery ? c.snd_wnd_ : std::min(c.snd_wnd_, c.cc_.cwnd + limited_transmit);
    const std::int32_t usable_s = (c.snd_una_ + win) - c.snd_nxt_;
    const std::uint32_t usable = usable_s > 0 ? static_cast<std::uint32_t>(usable_s) : 0;
    const std::uint32_t mss = seg_mss(c);
    std::uint32_t len = std::min({mss, avail, usable, budget, sack_cap});
    // FIN rides on the segment that empties the queue (or goes alone).
    const bool fin = fin_here && off + len == queued;
    if (len == 0 && !fin) {
      // Data left and cwnd the tighter limit: cwnd may grow (RFC 7661).
      c.cwnd_limited_ = avail > 0 && c.cc_.cwnd <= c.snd_wnd_;
      break;
    }
    if (len > 0 && len < mss) {
      // RFC 9293 §3.8.6.2.1 (sender SWS avoidance) with Nagle (RFC 896,
      // §3.7.4): a short segment goes only when it empties the queue and
      // nothing is outstanding (or Nagle is off), or it is at least half
      // the largest window the peer offered.
      const bool last = len == avail;
      const bool idle = c.snd_nxt_ == c.snd_una_ || c.nodelay_ || fin;
      const bool half = c.max_snd_wnd_ > 0 && len >= c.max_snd_wnd_ / 2;
      if (!((last && idle) || half || c.sws_override_)) {
        c.cwnd_limited_ = !last && c.cc_.cwnd <= c.snd_wnd_;
        break;
      }
    }
    std::uint8_t flags = wire::kTcpAck;
    if (len > 0 && off + len == queued) flags |= wire::kTcpPsh;
    if (fin) flags |= wire::kTcpFin;
    if (!send_segment(c, c.snd_nxt_, len, flags)) break;
    sent_any = true;
    if (limited_transmit > 0) {
      const std::uint32_t out = static_cast<std::uint32_t>(c.snd_nxt_ + len - c.snd_una_);
      if (out > c.cc_.cwnd) c.limited_sent_ += std::min(len, out - c.cc_.cwnd);
    }
    if (sack_recovery) budget -= len;
    c.snd_nxt_ += len;
    if (fin) {
      c.fin_seq_ = c.snd_nxt_;
      c.fin_sent_ = true;
      c.snd_nxt_ += 1;
      if (c.state_ == TcpState::kEstablished) c.state_ = TcpState::kFinWait1;
      if (c.state_ == TcpState::kCloseWait) c.state_ = TcpState::kLastAck;
    }
    c.snd_max_ = seq_max(c.snd_max_, c.snd_nxt_);
    if (fin) break;
  }
  if (sent_any) c.last_data_tx_ = now();
  if (sack_recovery && budget >= c.mss_) {
    const std::uint64_t before = c.retransmits_;
    sack_retransmit(c, budget, /*lost_only=*/false);
    sent_any = sent_any || c.retransmits_ != before;
  }
  if (!sent_any && c.ack_now_) send_ack(c);
  // Data waiting and nothing in flight that an ACK could answer: the window
  // is zero (probe it after an RTO, RFC 9293 §3.8.6.1, SHLD-29) or too small
  // for sender SWS avoidance, whose override timeout (§3.8.6.2.1 (4): "To
  // avoid a resulting deadlock, it is necessary to have a timeout to force
  // transmission of data") is the same timer, as §3.8.6.2.1 suggests.
  if (c.sndq_.bytes() > static_cast<std::uint32_t>(c.snd_nxt_ - c.snd_una_) &&
      c.snd_nxt_ == c.snd_una_ && !c.persist_timer_.armed() && !c.rto_timer_.armed()) {
    c.persist_backoff_ = 0;
    stack_.timers().arm(c.persist_timer_, now() + std::max(c.rto_, cfg_.rto_min));
  }
}

}  // namespace ustack
