// TCP input: RFC 9293 §3.10.7 "SEGMENT ARRIVES", step by step, with RFC
// 5961's defenses, RFC 7323's PAWS and RTT measurement, and RFC 5681 /
// RFC 6582 (NewReno) for the sender's reaction to ACKs.
#include <algorithm>
#include <array>

#include "proto/stack.h"
#include "proto/tcp/tcp.h"
#include "proto/tcp/tcp_segment.h"
#include "proto/wire/tcp.h"

namespace ustack {
namespace {

// Calls an application callback and says whether the connection survived it
// (the callback may close, abort or replace it).
template <typename F>
bool callback(TcpConn& c, std::uint32_t gen, const std::uint32_t& live_gen, F&& f) {
  f();
  return live_gen == gen && c.state() != TcpState::kClosed;
}

}  // namespace

// §3.10.7.1: no connection. "An incoming segment containing a RST is
// discarded. An incoming segment not containing a RST causes a RST to be
// sent in response."
void TcpLayer::input_closed(const Segment& seg) {
  if (seg.rst()) return;
  if (seg.ack_flag()) {
    send_reset(seg.key, seg.ack, SeqNum(0), false);
  } else {
    send_reset(seg.key, SeqNum(0), seg.seq + seg.len(), true);
  }
}

void TcpLayer::apply_syn_options(TcpConn& c, const Segment& seg) {
  const wire::TcpOptions& o = seg.opts;
  // RFC 9293 §3.7.1: without the option assume 536. A tiny MSS turns one
  // byte into one segment (the low-MSS resource drain): clamp it to 88 bytes,
  // Linux's floor.
  std::uint32_t peer_mss = o.mss ? *o.mss : 536u;
  peer_mss = std::max<std::uint32_t>(peer_mss, 88);
  // RFC 7323 §2.2: scaling only when both sides sent the option.
  c.ws_ok_ = cfg_.window_scaling && o.window_scale.has_value();
  c.snd_wscale_ = c.ws_ok_ ? std::min<std::uint8_t>(*o.window_scale, 14) : 0;
  if (!c.ws_ok_) c.rcv_wscale_ = 0;
  c.ts_ok_ = cfg_.timestamps && seg.has_ts;
  if (c.ts_ok_) {
    c.ts_recent_ = o.timestamps->tsval;
    c.ts_recent_time_ = now();
  }
  c.sack_ok_ = cfg_.sack_permitted && o.sack_permitted;
  // RFC 9293 §3.7.1 / RFC 8200 §8.3: the MTU less the IP and TCP headers.
  const std::uint32_t our_mss =
      stack_.link_mtu(c.key_.local) - 20 - Stack::ip_header_len(c.key_.local);
  c.mss_ = std::min(peer_mss, our_mss) - (c.ts_ok_ ? 12u : 0u);
}

// §3.10.7.2: LISTEN.
void TcpLayer::input_listen(TcpListener& l, Segment& seg) {
  if (seg.rst()) return;  // "An incoming RST should be ignored."
  if (seg.ack_flag()) {   // "Any acknowledgment is bad if it arrives on a
                          // connection still in the LISTEN state" -- unless
                          // it completes a SYN cookie handshake.
    if (!seg.syn() && cfg_.syn_cookies && accept_cookie(l, seg)) return;
    send_reset(seg.key, seg.ack, SeqNum(0), false);
    return;
  }
  if (!seg.syn()) return;
  // A full backlog (or table) answers with a SYN cookie and keeps nothing
  // (RFC 4987 §3.6); without cookies the SYN is dropped and the client
  // retries.
  // The drop counters count drops only: a SYN answered by a cookie is
  // counted by tcp.syncookies.sent.
  if (l.pending_ >= cfg_.max_syn_backlog) {
    if (cfg_.syn_cookies) {
      send_cookie_synack(l, seg);
    } else {
      c_drop_backlog_.inc();
    }
    return;
  }
  TcpConn* c = alloc_conn();
  if (c == nullptr || !table_.insert(seg.key, c)) {
    if (c != nullptr) release(*c);
    if (cfg_.syn_cookies) {
      send_cookie_synack(l, seg);
    } else {
      c_drop_table_full_.inc();
    }
    return;
  }
  init_conn(*c, seg.key, nullptr);
  c->listener_ = &l;
  c->cc_.algo = l.cc_;
  ++l.pending_;
  c_passive_opens_.inc();
  c->irs_ = seg.seq;
  c->rcv_nxt_ = seg.seq + 1;
  // No window offered yet (RCV.NXT + RCV.WND is set by the SYN,ACK): a
  // right edge left from before would be taken for an offered window, up to
  // 2^31 bytes of it (RFC 9293 §3.10.7.4, first check, uses RCV.WND).
  c->rcv_adv_ = c->rcv_nxt_;
  apply_syn_options(*c, seg);
  c->iss_ = make_isn(seg.key);
  c->snd_una_ = c->snd_nxt_ = c->snd_max_ = c->iss_;
  c->snd_wnd_ = c->max_snd_wnd_ = seg.wnd;  // never scaled in a SYN (RFC 7323 §2.2)
  c->snd_wl1_ = seg.seq;
  c->snd_wl2_ = c->iss_;
  c->state_ = TcpState::kSynReceived;
  // Data in a SYN is not queued: the peer sends it again once established.
  send_syn(*c, /*with_ack=*/true);
}

// §3.10.7.3: SYN-SENT.
void TcpLayer::input_syn_sent(TcpConn& c, Segment& seg) {
  const bool ack_ok = seg.ack_flag() && seg.ack > c.iss_ && seg.ack <= c.snd_max_;
  if (seg.ack_flag() && !ack_ok) {
    if (!seg.rst()) send_reset(seg.key, seg.ack, SeqNum(0), false);
    return;
  }
  if (seg.rst()) {
    // RFC 5961 §3.2 does not change this: with an acceptable ACK, the RST
    // means "connection refused".
    if (ack_ok) {
      c_rx_rst_.inc();
      teardown(c, TcpCloseReason::kRefused);
    }
    return;
  }
  if (!seg.syn()) return;
  c.irs_ = seg.seq;
  c.rcv_nxt_ = seg.seq + 1;
  c.rcv_adv_ = c.rcv_nxt_;  // no window offered yet (see input_listen)
  apply_syn_options(c, seg);
  c.snd_wnd_ = c.max_snd_wnd_ = seg.wnd;
  c.snd_wl1_ = seg.seq;
  c.snd_wl2_ = seg.ack;
  if (ack_ok) {
    c.snd_una_ = seg.ack;
    if (c.syn_retries_ == 0 && !c.ts_ok_) update_rtt(c, now() - c.rtt_start_);  // Karn
    if (c.ts_ok_ && seg.opts.timestamps->tsecr != 0)
      update_rtt(c, std::chrono::milliseconds(ts_now(c) - seg.opts.timestamps->tsecr));
    stack_.timers().cancel(c.rto_timer_);
    c.ack_now_ = true;
    established(c);
    if (c.state_ != TcpState::kClosed) output(c);
    return;
  }
  // Simultaneous open (§3.5, figure 7): SYN-RECEIVED, send SYN,ACK.
  c.state_ = TcpState::kSynReceived;
  send_syn(c, /*with_ack=*/true);
}

// §3.10.7.4, first check: is the segment within the receive window?
bool TcpLayer::acceptable(const TcpConn& c, const Segment& seg) const {
  const std::uint32_t wnd =
      static_cast<std::uint32_t>(std::max<std::int32_t>(c.rcv_adv_ - c.rcv_nxt_, 0));
  const std::uint32_t len = seg.len();
  if (len == 0) {
    return wnd == 0 ? seg.seq == c.rcv_nxt_ : seq_in(seg.seq, c.rcv_nxt_, c.rcv_nxt_ + wnd);
  }
  if (wnd == 0) return false;
  return seq_in(seg.seq, c.rcv_nxt_, c.rcv_nxt_ + wnd) ||
         seq_in(seg.seq + (len - 1), c.rcv_nxt_, c.rcv_nxt_ + wnd);
}

void TcpLayer::update_rtt(TcpConn& c, Duration r) {
  if (r.count() < 0) return;
  // RFC 6298 §2.2 and §2.3, with G = the timer tick. A first measurement
  // of 0 (under the clock's resolution) is a measurement all the same.
  if (!c.rtt_measured_) {
    c.rtt_measured_ = true;
    c.srtt_ = r;
    c.rttvar_ = r / 2;
  } else {
    const Duration err = c.srtt_ > r ? c.srtt_ - r : r - c.srtt_;
    c.rttvar_ = (3 * c.rttvar_ + err) / 4;
    c.srtt_ = (7 * c.srtt_ + r) / 8;
  }
  const Duration g = stack_.timers().tick();
  c.rto_ = std::clamp(c.srtt_ + std::max(g, 4 * c.rttvar_), cfg_.rto_min, cfg_.rto_max);
  // RFC 6298 §5 (after 5.7): a new measurement "may result in 'collapsing'
  // RTO back down after it has been doubled" -- and only a measurement
  // does (Karn's algorithm keeps the backed-off RTO until then).
  c.backoff_ = 0;
}

void TcpLayer::input_synchronized(TcpConn& c, Segment& seg) {
  const std::uint32_t gen = c.gen_;
  c.last_rx_ = now();
  c.keepalive_probes_sent_ = 0;

  // RFC 7323 §5.3 PAWS: a timestamp older than TS.Recent marks an old
  // duplicate (unless TS.Recent is over 24 days old).
  if (c.ts_ok_ && seg.has_ts && !seg.rst()) {
    const std::uint32_t tsval = seg.opts.timestamps->tsval;
    if (static_cast<std::int32_t>(tsval - c.ts_recent_) < 0 &&
        now() - c.ts_recent_time_ < std::chrono::hours(24 * 24)) {
      c_drop_paws_.inc();
      c.ack_now_ = true;
      output(c);
      return;
    }
  }

  // RFC 9293 §3.5, figure 7 (simultaneous open): in SYN-RECEIVED entered
  // from SYN-SENT, the peer's SYN,ACK (SEG.SEQ = IRS, acknowledging our SYN)
  // takes us to ESTABLISHED (line 6). Its SYN was processed already, so
  // only the rest of it is: answering it with our SYN,ACK again, as for a
  // retransmitted SYN, would go on forever between two such stacks.
  if (c.state_ == TcpState::kSynReceived && c.listener_ == nullptr && seg.syn() && seg.ack_flag() &&
      !seg.rst() && seg.seq == c.irs_ && c.snd_una_ < seg.ack && seg.ack <= c.snd_max_) {
    seg.flags &= static_cast<std::uint8_t>(~wire::kTcpSyn);
    seg.seq += 1;
    // Its window is not scaled (RFC 7323 §2.2); the ACK processing below
    // scales what it finds.
    seg.wnd = static_cast<std::uint16_t>(seg.wnd >> c.snd_wscale_);
  }

  // First: sequence number acceptability.
  if (!acceptable(c, seg)) {
    c_drop_unacceptable_.inc();
    if (!seg.rst()) {
      if (c.state_ == TcpState::kSynReceived) {
        send_syn(c, /*with_ack=*/true);  // our SYN,ACK was lost; say it again
      } else {
        // RFC 9293 §3.10.7.4, TIME-WAIT: "The only thing that can arrive in
        // this state is a retransmission of the remote FIN. Acknowledge it,
        // and restart the 2 MSL timeout." Being below RCV.NXT, it ends up
        // here.
        if (c.state_ == TcpState::kTimeWait && seg.fin() && seg.seq + seg.len() == c.rcv_nxt_)
          stack_.timers().arm(c.timewait_timer_, now() + 2 * cfg_.msl);
        // RFC 7323 §4.3 (2): a retransmission we had already (its first copy
        // arrived, our ACK was lost) still updates TS.Recent, so the ACK
        // below echoes the retransmission's TSval: echoing an older one
        // would hand the sender an RTT sample that includes its timeout.
        if (c.ts_ok_ && seg.has_ts && seg.seq <= c.last_ack_sent_ &&
            static_cast<std::int32_t>(seg.opts.timestamps->tsval - c.ts_recent_) >= 0) {
          c.ts_recent_ = seg.opts.timestamps->tsval;
          c.ts_recent_time_ = now();
        }
        // Data we had already: report it (D-SACK, RFC 2883 §4).
        if (seg.payload > 0 && seg.seq + seg.payload <= c.rcv_nxt_ &&
            c.rcv_nxt_ - (seg.seq + seg.payload) < static_cast<std::int32_t>(c.recv_buffer_))
          note_duplicate(c, seg.seq, seg.seq + seg.payload);
        c.ack_now_ = true;
        output(c);
      }
    }
    return;
  }

  // Second: RST. RFC 5961 §3.2: only an RST at exactly RCV.NXT resets; one
  // elsewhere in the window earns a challenge ACK.
  if (seg.rst()) {
    c_rx_rst_.inc();
    if (seg.seq != c.rcv_nxt_) {
      challenge_ack(c);
      return;
    }
    if (c.state_ == TcpState::kSynReceived && c.listener_ != nullptr) {
      c.closed_notified_ = true;  // nobody knew of it: back to LISTEN quietly
      teardown(c, TcpCloseReason::kReset);
    } else if (c.state_ == TcpState::kSynReceived) {
      teardown(c, TcpCloseReason::kRefused);
    } else if (c.state_ == TcpState::kClosing || c.state_ == TcpState::kLastAck ||
               c.state_ == TcpState::kTimeWait) {
      teardown(c, TcpCloseReason::kNormal);
    } else {
      teardown(c, TcpCloseReason::kReset);
    }
    return;
  }

  // Fourth: SYN in a synchronized state. RFC 5961 §4.2: challenge ACK.
  if (seg.syn()) {
    if (c.state_ == TcpState::kSynReceived) {
      send_syn(c, /*with_ack=*/true);
      return;
    }
    challenge_ack(c);
    return;
  }

  // Fifth: the ACK field. "if the ACK bit is off, drop the segment".
  if (!seg.ack_flag()) return;
  if (c.state_ == TcpState::kSynReceived) {
    if (!(c.snd_una_ < seg.ack && seg.ack <= c.snd_max_)) {
      send_reset(seg.key, seg.ack, SeqNum(0), false);
      return;
    }
    c.snd_wnd_ = std::uint32_t{seg.wnd} << c.snd_wscale_;
    c.max_snd_wnd_ = std::max(c.max_snd_wnd_, c.snd_wnd_);
    c.snd_wl1_ = seg.seq;
    c.snd_wl2_ = seg.ack;
    c.snd_una_ = seg.ack;
    stack_.timers().cancel(c.rto_timer_);
    if (c.syn_retries_ == 0) {
      if (c.ts_ok_ && seg.has_ts && seg.opts.timestamps->tsecr != 0) {
        update_rtt(c, std::chrono::milliseconds(ts_now(c) - seg.opts.timestamps->tsecr));
      } else {
        update_rtt(c, now() - c.rtt_start_);
      }
    }
    established(c);
    if (c.gen_ != gen || c.state_ == TcpState::kClosed) return;
  }
  // RFC 5961 §5.2: an ACK acceptable only within [SND.UNA - MAX.SND.WND,
  // SND.NXT]; beyond SND.NXT "send an ACK, drop the segment".
  if (seg.ack > c.snd_max_) {
    challenge_ack(c);  // rate limited like the others, as Linux does
    return;
  }
  if (seg.ack < c.snd_una_ - c.max_snd_wnd_) {
    challenge_ack(c);
    return;
  }
  // RFC 7323 §4.3: remember the timestamp of the segment that covers the
  // last ACK we sent.
  if (c.ts_ok_ && seg.has_ts && seg.seq <= c.last_ack_sent_ &&
      static_cast<std::int32_t>(seg.opts.timestamps->tsval - c.ts_recent_) >= 0) {
    c.ts_recent_ = seg.opts.timestamps->tsval;
    c.ts_recent_time_ = now();
  }
  process_ack(c, seg);
  if (c.gen_ != gen || c.state_ == TcpState::kClosed) return;

  switch (c.state_) {
    case TcpState::kFinWait1:
      if (c.fin_sent_ && c.snd_una_ == c.snd_max_) {
        c.state_ = TcpState::kFinWait2;
        // An orphaned FIN-WAIT-2 does not wait forever for the peer's FIN.
        if (c.app_closed_) stack_.timers().arm(c.timewait_timer_, now() + 2 * cfg_.msl);
      }
      break;
    case TcpState::kClosing:
      if (c.fin_sent_ && c.snd_una_ == c.snd_max_) {
        enter_time_wait(c);
        return;
      }
      break;
    case TcpState::kLastAck:
      if (c.fin_sent_ && c.snd_una_ == c.snd_max_) {
        teardown(c, TcpCloseReason::kNormal);
        return;
      }
      break;
    case TcpState::kTimeWait:
      // Only the peer's FIN can come again: ACK it and wait 2 MSL anew.
      if (seg.fin()) {
        c.ack_now_ = true;
        output(c);
        stack_.timers().arm(c.timewait_timer_, now() + 2 * cfg_.msl);
      }
      return;
    default:
      break;
  }

  // Seventh: the segment text (URG, the sixth, is read as plain data, RFC
  // 6093).
  const bool had_data = c.rcvq_.bytes() > 0;
  const bool data_ok = c.state_ == TcpState::kEstablished || c.state_ == TcpState::kFinWait1 ||
                       c.state_ == TcpState::kFinWait2;
  if (seg.payload > 0 && data_ok) {
    if (c.app_closed_) {
      // RFC 9293 §3.10.4 / RFC 2525 §2.17: data for an application that has
      // closed cannot be delivered: reset.
      send_reset(c.key_, c.snd_nxt_, c.rcv_nxt_ + seg.payload, true);
      teardown(c, TcpCloseReason::kAborted);
      return;
    }
    process_data(c, seg);
  }
  // Eighth: FIN.
  FinResult fin = FinResult::kNone;
  if (seg.fin() || (c.peer_fin_ && c.state_ != TcpState::kCloseWait)) fin = process_fin(c, seg);

  // Tell the application, in order: data first, then the end of it; then
  // send whatever is due (data, ACK, FIN).
  if (c.rcvq_.bytes() > 0 && (!had_data || seg.payload > 0) && c.handler_ != nullptr) {
    if (!callback(c, gen, c.gen_, [&] { c.handler_->on_readable(c); })) return;
    // What the application left unread may stay for long (a peer that
    // stops reading our answers stops the application reading too): out
    // of the driver's ring with it (mbuf_unpin).
    if (c.rcvq_.bytes() > 0 && !c.rcvq_.unpin(stack_.pool())) c_rcvq_pinned_.inc();
  }
  if (fin != FinResult::kNone && c.handler_ != nullptr) {
    if (!callback(c, gen, c.gen_, [&] { c.handler_->on_peer_closed(c); })) return;
  }
  if (fin == FinResult::kTimeWait) {
    send_ack(c);
    enter_time_wait(c);  // on_closed
    return;
  }
  maybe_writable(c);
  if (c.gen_ != gen || c.state_ == TcpState::kClosed) return;
  output(c);
}

void TcpLayer::process_ack(TcpConn& c, const Segment& seg) {
  const std::uint32_t old_wnd = c.snd_wnd_;
  // Window update (§3.10.7.4, fifth check): "If SND.UNA =< SEG.ACK =<
  // SND.NXT, the send window should be updated" -- from the newest segment
  // only. (SND.WND is an offset from SND.UNA: an older ACK's window is not.)
  if (c.snd_una_ <= seg.ack &&
      (c.snd_wl1_ < seg.seq || (c.snd_wl1_ == seg.seq && c.snd_wl2_ <= seg.ack))) {
    c.snd_wnd_ = std::uint32_t{seg.wnd} << c.snd_wscale_;
    c.max_snd_wnd_ = std::max(c.max_snd_wnd_, c.snd_wnd_);
    c.snd_wl1_ = seg.seq;
    c.snd_wl2_ = seg.ack;
    if (c.snd_wnd_ > 0) stack_.timers().cancel(c.persist_timer_);
  }
  // SACK blocks (RFC 2018 §3) into the scoreboard (RFC 6675 §3).
  bool sack_new = false;
  if (c.sack_ok_ && seg.opts.sack_count > 0) {
    std::array<SeqRange, wire::TcpOptions::kMaxSackBlocks> blocks{};
    for (std::size_t i = 0; i < seg.opts.sack_count; ++i)
      blocks[i] = {SeqNum(seg.opts.sack_blocks[i].left), SeqNum(seg.opts.sack_blocks[i].right)};
    bool dsack = false;
    sack_new = c.sack_.update({blocks.data(), seg.opts.sack_count}, seq_max(c.snd_una_, seg.ack),
                              c.snd_max_, &dsack) == SackScoreboard::Update::kNew;
    if (dsack) {
      c_dsack_rx_.inc();
      if (c.tlp_outstanding_ && c.tlp_retrans_ && blocks[0].end == c.tlp_end_)
        c.tlp_dsacked_ = true;
      dsack_undo(c, blocks[0]);
    }
  }
  if (seg.ack <= c.snd_una_) {
    // RFC 5681 §2: a duplicate ACK carries no data, no SYN or FIN, does not
    // move the window, and comes while data is outstanding; RFC 6675 §2
    // counts one that SACKs new data although the window moved.
    // With SACK in use, RFC 6675 §2 counts only a duplicate that SACKs new
    // data: a duplicated ACK frame (which a network may well make) is not
    // news of a loss.
    const bool dup = seg.ack == c.snd_una_ && seg.payload == 0 && !seg.fin() &&
                     c.snd_max_ > c.snd_una_ && (c.sack_ok_ ? sack_new : c.snd_wnd_ == old_wnd);
    if (!dup) return;
    ++c.dupacks_;
    // RFC 6582 §3.2 step 1 and RFC 6675 §5.1: only if the ACK covers more
    // than recover (recover_ holds one past it), so not for data sent
    // before a timeout. RFC 6675 §5: DupThresh duplicates, or the
    // scoreboard says the first unacknowledged segment is lost.
    if (!c.in_recovery_ && seg.ack >= c.recover_ &&
        (c.dupacks_ >= dupthresh(c) ||
         (c.sack_ok_ && c.sack_.is_lost(c.snd_una_, c.mss_, dupthresh(c))))) {
      enter_recovery(c);
    } else if (c.in_recovery_ && !c.sack_ok_) {
      c.cc_.cwnd += c.mss_;  // RFC 6582 §3.2 step 4: each duplicate inflates the window
    } else if (c.in_recovery_) {
      resend_lost_retransmission(c);
    }
    // (In SACK recovery, output() sends what the new pipe allows.)
    return;
  }
  // New data acknowledged.
  const std::uint32_t flight_before = static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_);
  const std::uint32_t acked = static_cast<std::uint32_t>(seg.ack - c.snd_una_);
  const std::uint32_t data_acked = std::min(acked, c.sndq_.bytes());
  c.sndq_.drop_front(data_acked);
  // RTT: RFC 7323 §4.1 from the echoed timestamp, else the timed segment
  // (Karn: never a retransmitted one).
  if (c.ts_ok_ && seg.has_ts && seg.opts.timestamps->tsecr != 0) {
    update_rtt(c, std::chrono::milliseconds(ts_now(c) - seg.opts.timestamps->tsecr));
  } else if (c.rtt_timing_ && seg.ack > c.rtt_seq_) {
    update_rtt(c, now() - c.rtt_start_);
    c.rtt_timing_ = false;
  }
  detect_reordering(c, seg);
  if (c.tlp_outstanding_ && seg.ack >= c.tlp_end_) tlp_acked(c);
  c.snd_una_ = seg.ack;
  if (c.snd_nxt_ < c.snd_una_) c.snd_nxt_ = c.snd_una_;
  c.sack_.advance(c.snd_una_);
  // The backoff stays until an RTT sample is taken (update_rtt, RFC 6298
  // §5) -- or until data first sent after the last timeout (beyond
  // recover_, which the timeout set to SND.MAX) is acknowledged: the path
  // delivers again. Without timestamps one segment per round trip is
  // timed and, under heavy loss, each is resent before its ACK comes
  // (Karn), so no sample may come for minutes while the backoff doubles
  // past the user timeout. (Linux times every segment and gets there.)
  if (c.backoff_ > 0 && seg.ack > c.recover_ && !c.in_recovery_) c.backoff_ = 0;
  // The oldest unacknowledged data is new, and so is its user timeout.
  c.first_retransmit_ = Instant{};
  c.una_rxt_valid_ = false;
  c.dupacks_ = 0;
  c.limited_sent_ = 0;
  // recover_ follows SND.UNA once passed, so that it never falls 2^31 behind
  // (where the comparison above would turn round).
  if (!c.in_recovery_ && c.recover_ < c.snd_una_) c.recover_ = c.snd_una_;
  // Congestion control.
  if (c.in_recovery_) {
    if (seg.ack >= c.recover_) {
      // RFC 6582 §3.2 step 3 and RFC 6675 §5: a full ACK ends recovery;
      // deflate to at most ssthresh.
      // NewReno deflates its inflated window (RFC 6582 §3.2 step 3, option
      // 1); SACK recovery never inflated it and leaves cwnd at ssthresh
      // (RFC 6675 §5, as Linux does): deflating to the flight, which can be
      // near zero here, would restart from one segment and wait out the
      // peer's delayed ACK after every recovery.
      const std::uint32_t flight = static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_);
      cc_on_recovery_exit(c.cc_, c.sack_ok_ ? c.cc_.ssthresh : flight, now());
      c.in_recovery_ = false;
      if (c.undo_at_exit_) undo_recovery(c);
    } else if (c.sack_ok_) {
      // RFC 6675 §5 (C): a partial ACK; output() sends by pipe. The data at
      // SND.UNA is lost when nothing SACKed says otherwise (RFC 6582's
      // partial-ACK rule, which RFC 6675 §5 keeps for this case).
      if (c.high_rxt_ < c.snd_una_) c.high_rxt_ = c.snd_una_;
      if (c.sack_.empty() && c.high_rxt_ == c.snd_una_) {
        const std::uint32_t len = std::min({seg_mss(c), flight_before - acked, c.sndq_.bytes()});
        if (len > 0 && send_segment(c, c.snd_una_, len, wire::kTcpAck)) c.high_rxt_ += len;
      }
    } else {
      // Partial ACK: retransmit the next hole, deflate by what was acked;
      // RFC 6582 §3.2 step 3: "If the partial ACK acknowledges at least one
      // SMSS of new data, then add back SMSS bytes".
      const std::uint32_t len =
          std::min(seg_mss(c),
                   std::min(static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_), c.sndq_.bytes()));
      if (len > 0) send_segment(c, c.snd_una_, len, wire::kTcpAck);
      c.cc_.cwnd = (c.cc_.cwnd > acked ? c.cc_.cwnd - acked : 0) + (acked >= c.mss_ ? c.mss_ : 0);
    }
  } else if (c.sack_ok_ && seg.ack >= c.recover_ &&
             c.sack_.is_lost(c.snd_una_, c.mss_, dupthresh(c))) {
    // RFC 6675 §5: the scoreboard shows a loss although the cumulative ACK
    // moved (reordering or ACK loss hid the duplicates).
    enter_recovery(c);
  } else {
    // Growth (slow start, congestion avoidance), only while cwnd is what
    // holds the sender back (RFC 7661 §4.3, RFC 9438 §5.8).
    const bool limited = c.cwnd_limited_ || flight_before + c.mss_ > c.cc_.cwnd;
    cc_on_ack(c.cc_, acked, limited, c.srtt_, now());
  }
  // RFC 6298 §5.2/5.3: restart the timer if data is still out, else stop.
  if (c.snd_una_ == c.snd_max_) {
    stack_.timers().cancel(c.rto_timer_);
  } else {
    arm_rto(c);
  }
}

void TcpLayer::enter_recovery(TcpConn& c) {
  // RFC 6582 §3.2 step 2 / RFC 6675 §5 step 4: ssthresh from the flight
  // (RFC 5681 eq. 4), RecoveryPoint = HighData, retransmit the first
  // unacknowledged segment.
  // RFC 5681 §3.2 step 2: "additional data sent in limited transmit MUST
  // NOT be included in this calculation".
  const std::uint32_t flight =
      static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_) -
      std::min(c.limited_sent_, static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_));
  c.limited_sent_ = 0;
  // What to go back to if D-SACKs show every retransmission of this
  // recovery was needless (dsack_undo).
  c.prior_cwnd_ = c.cc_.cwnd;
  c.prior_ssthresh_ = c.cc_.ssthresh;
  c.undo_marker_ = c.snd_una_;
  c.undo_retrans_ = 0;
  c.undo_valid_ = c.sack_ok_;
  c.undo_at_exit_ = false;
  c.retrans_ts_ = ts_now(c);               // the TSval of the retransmission below
  cc_on_congestion(c.cc_, flight, now());  // ssthresh, and cwnd = ssthresh
  c.recover_ = c.snd_max_;
  c.in_recovery_ = true;
  c.rtt_timing_ = false;
  c_fast_retransmits_.inc();
  const std::uint32_t len =
      std::min({seg_mss(c), static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_), c.sndq_.bytes()});
  if (c.sack_ok_) {
    c_sack_recoveries_.inc();
    c.high_rxt_ = c.snd_una_;
    // Step 4.3: HighRxt is set past the retransmitted segment.
    if (len > 0 && send_segment(c, c.snd_una_, len, wire::kTcpAck)) c.high_rxt_ += len;
  } else {
    if (len > 0) send_segment(c, c.snd_una_, len, wire::kTcpAck);
    c.cc_.cwnd += 3 * c.mss_;  // RFC 6582 §3.2 step 2: ssthresh + 3 * SMSS
  }
}

void TcpLayer::dsack_undo(TcpConn& c, SeqRange dup) {
  // RFC 2883 §5 and RFC 3708: a D-SACK for data this recovery resent says
  // the first copy had arrived: the segment was reordered or delayed, not
  // lost. When every retransmission of the recovery has been reported so,
  // the window reduction was spurious and is undone (RFC 3708 §3, as
  // Linux's tcp_try_undo_dsack does). A duplicate the network made looks
  // the same and may undo a real reduction once: the price Linux pays too.
  if (!c.undo_valid_ || c.undo_retrans_ == 0 || dup.start < c.undo_marker_ || dup.end > c.recover_)
    return;
  if (--c.undo_retrans_ > 0) return;
  undo_recovery(c);
}

void TcpLayer::resend_lost_retransmission(TcpConn& c) {
  // RFC 6675 sends each hole once; a retransmission that is lost too waits
  // for the RTO. RFC 8985 §6.2: a segment is lost when one sent after it has
  // been delivered (and the reordering window passed). Data SACKed more than
  // DupThresh - 1 segments beyond where SND.MAX stood when SND.UNA was last
  // resent was all sent after that retransmission: it is lost as well.
  if (!c.una_rxt_valid_ || c.sack_.empty()) return;
  const std::int32_t beyond = c.sack_.highest() - c.una_rxt_mark_;
  if (beyond <= static_cast<std::int32_t>((dupthresh(c) - 1) * c.mss_)) return;
  const std::uint32_t len =
      std::min({seg_mss(c), static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_), c.sndq_.bytes()});
  if (len == 0) return;
  c_lost_rxt_.inc();
  send_segment(c, c.snd_una_, len, wire::kTcpAck);  // moves the mark to today's SND.MAX
}

void TcpLayer::detect_reordering(TcpConn& c, const Segment& seg) {
  // An ACK that moves SND.UNA (not yet moved) while SACKed data lies above.
  if (!c.sack_ok_ || c.sack_.empty()) return;
  if (c.in_recovery_ && c.undo_valid_ && c.ts_ok_ && seg.has_ts) {
    // RFC 3522 (Eifel detection): the ACK for the first retransmitted
    // segment echoes a timestamp older than the retransmission's, so the
    // first copy arrived: the recovery was spurious.
    const std::uint32_t tsecr = seg.opts.timestamps->tsecr;
    if (tsecr != 0 && static_cast<std::int32_t>(tsecr - c.retrans_ts_) < 0) {
      undo_recovery(c);
      raise_dupthresh(c, static_cast<std::uint32_t>(c.sack_.highest() - c.snd_una_) / c.mss_ + 1);
    }
    return;
  }
  // Outside recovery and above any data a timeout resent, the hole at
  // SND.UNA was filled by its only copy: it came after that many segments
  // above it (Linux's tcp_check_sack_reordering). Let as many arrive
  // before calling it lost next time.
  if (!c.in_recovery_ && c.snd_una_ >= c.recover_)
    raise_dupthresh(c, static_cast<std::uint32_t>(c.sack_.highest() - c.snd_una_) / c.mss_ + 1);
}

void TcpLayer::undo_recovery(TcpConn& c) {
  // Not in the middle of a recovery: the holes SACK shows may hold real
  // losses as well, and leaving recovery would leave them to the RTO. The
  // window comes back when the recovery ends (process_ack).
  if (c.in_recovery_) {
    c.undo_at_exit_ = true;
    return;
  }
  c.undo_at_exit_ = false;
  c.undo_valid_ = false;
  c.cc_.cwnd = std::max(c.cc_.cwnd, c.prior_cwnd_);
  c.cc_.ssthresh = std::max(c.cc_.ssthresh, c.prior_ssthresh_);
  c.cc_.epoch_valid = false;
  c.in_recovery_ = false;
  // Reordering that deep will come again: wait for more evidence before
  // the next recovery (RFC 4653 §3's idea; Linux's reordering metric).
  raise_dupthresh(c, 2u * c.dupthresh_);
  c_undo_.inc();
}

void TcpLayer::raise_dupthresh(TcpConn& c, std::uint32_t segments) {
  if (segments > c.dupthresh_)
    c.dupthresh_ = static_cast<std::uint8_t>(std::min(segments, kMaxDupThresh));
}

std::uint32_t TcpLayer::dupthresh(const TcpConn& c) {
  // A raised DupThresh must not leave a small window to the timeout: at
  // most half the segments in flight are awaited (RFC 5827's reasoning).
  const std::uint32_t segs = static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_) / c.mss_;
  return std::max<std::uint32_t>(SackScoreboard::kDupThresh,
                                 std::min<std::uint32_t>(c.dupthresh_, segs / 2));
}

void TcpLayer::process_data(TcpConn& c, Segment& seg) {
  Mbuf* m = seg.m;
  seg.m = nullptr;
  SeqNum seq = seg.seq;
  std::uint32_t len = seg.payload;
  // Strip the header, and what we have already (in front of RCV.NXT).
  std::uint32_t skip = seg.hlen;
  if (seq < c.rcv_nxt_) {
    const std::uint32_t old = static_cast<std::uint32_t>(c.rcv_nxt_ - seq);
    note_duplicate(c, seq, c.rcv_nxt_);
    skip += old;
    len -= old;
    seq = c.rcv_nxt_;
  }
  m = chain_trim_front(m, skip);
  // And what lies past the window we offered.
  const SeqNum right = c.rcv_adv_;
  if (seq + len > right) {
    const std::uint32_t over = static_cast<std::uint32_t>((seq + len) - right);
    m->trim(over);
    len -= over;
    seg.flags &= static_cast<std::uint8_t>(~wire::kTcpFin);  // the FIN was past it too
  }
  if (len == 0) {
    mbuf_free(m);
    return;
  }
  m->ol_flags = 0;
  if (seq == c.rcv_nxt_) {
    c.rcvq_.append(m);
    c.rcv_nxt_ += len;
    if (!c.ooo_.empty()) {
      c.rcv_nxt_ = c.ooo_.drain(c.rcv_nxt_, c.rcvq_);
      c.ack_now_ = true;  // RFC 5681 §4.2: ACK at once when a hole fills
    }
    ++c.segs_unacked_;
    if (c.quickack_ > 0) {
      --c.quickack_;
      c.ack_now_ = true;
    }
    // RFC 9293 §3.8.6.3: an ACK for at least every second full segment.
    if (c.segs_unacked_ >= 2) c.ack_now_ = true;
    if (!c.ack_now_ && !c.delack_timer_.armed())
      stack_.timers().arm(c.delack_timer_, now() + cfg_.delayed_ack);
  } else {
    // Ahead of a hole: keep it, and send a duplicate ACK at once (RFC 5681
    // §4.2) so the sender learns of the hole. A segment still in a driver's
    // receive ring is copied first (mbuf_unpin): held until the hole fills,
    // it would pin the ring -- and the frame that fills the hole may need
    // that ring space to arrive.
    if (!mbuf_unpin(&m, stack_.pool())) {
      mbuf_free(m);
      c_drop_ooo_.inc();
      c.ack_now_ = true;
      return;
    }
    SeqRange dup;
    if (c.ooo_.insert(seq, m, &dup) == OutOfOrderQueue::Insert::kFull) c_drop_ooo_.inc();
    if (dup.len() > 0) note_duplicate(c, dup.start, dup.end);
    if (seg.fin()) {
      c.peer_fin_ = true;  // remembered until the hole fills
      c.peer_fin_seq_ = seq + len;
    }
    c.ack_now_ = true;
  }
}

void TcpLayer::challenge_ack(TcpConn& c) {
  // RFC 5961 §7: challenge ACKs are rate limited. Per connection, not
  // globally: a global budget is a side channel that tells an off-path
  // attacker when it guessed a 4-tuple (CVE-2016-5696); the limit also
  // varies at random from one second to the next, so counting replies
  // tells nothing.
  const Instant t = now();
  if (c.challenge_limit_ == 0 || t - c.challenge_since_ >= std::chrono::seconds(1)) {
    c.challenge_since_ = t;
    c.challenge_sent_ = 0;
    const std::uint32_t base = cfg_.challenge_ack_limit;
    c.challenge_limit_ = static_cast<std::uint16_t>(std::clamp<std::uint32_t>(
        base / 2 + static_cast<std::uint32_t>(rng_.below(base + 1)), 1, 0xffff));
  }
  if (c.challenge_sent_ >= c.challenge_limit_) {
    c_challenge_acks_limited_.inc();
    return;
  }
  ++c.challenge_sent_;
  c_challenge_acks_.inc();
  send_ack(c);
}

void TcpLayer::note_duplicate(TcpConn& c, SeqNum start, SeqNum end) {
  // RFC 2883 §4: the next ACK's first SACK block reports the duplicate;
  // only the latest one is kept (§4.1 reports each once).
  if (c.sack_ok_) c.dsack_ = SeqRange{start, end};
}

TcpLayer::FinResult TcpLayer::process_fin(TcpConn& c, const Segment& seg) {
  if (c.state_ == TcpState::kCloseWait || c.state_ == TcpState::kClosing ||
      c.state_ == TcpState::kLastAck || c.state_ == TcpState::kTimeWait)
    return FinResult::kNone;  // "remain in the state": the FIN was seen before
  SeqNum fin_seq;
  if (seg.fin()) {
    fin_seq = seg.seq + seg.payload;
    if (fin_seq != c.rcv_nxt_) {
      // A FIN beyond a hole: remember it.
      if (fin_seq > c.rcv_nxt_) {
        c.peer_fin_ = true;
        c.peer_fin_seq_ = fin_seq;
      }
      return FinResult::kNone;
    }
  } else {
    if (!c.peer_fin_ || c.peer_fin_seq_ != c.rcv_nxt_) return FinResult::kNone;
  }
  // The FIN is in order: "advance RCV.NXT over the FIN, send an ACK".
  c.peer_fin_ = false;
  c.rcv_nxt_ += 1;
  c.ack_now_ = true;
  switch (c.state_) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
      c.state_ = TcpState::kCloseWait;
      break;
    case TcpState::kFinWait1:
      // Our FIN is acknowledged too: TIME-WAIT, once the application has
      // read what came with this FIN.
      if (c.fin_sent_ && c.snd_una_ == c.snd_max_) return FinResult::kTimeWait;
      c.state_ = TcpState::kClosing;
      break;
    case TcpState::kFinWait2:
      return FinResult::kTimeWait;
    default:
      break;
  }
  return FinResult::kPeerClosed;
}

}  // namespace ustack
