// TCP timers (retransmission, delayed ACK, persist, keepalive, TIME-WAIT)
// and the transitions that end a connection.
#include <algorithm>

#include "proto/stack.h"
#include "proto/tcp/tcp.h"
#include "proto/wire/tcp.h"

namespace ustack {

void TcpLayer::on_rto(Timer&, void* arg) {
  TcpConn& c = *static_cast<TcpConn*>(arg);
  TcpLayer& t = *c.layer_;
  const Instant now = t.now();
  if (now < c.rto_deadline_) {
    // Restarted since it was armed (arm_rto moved only the deadline).
    t.stack_.timers().arm(c.rto_timer_, c.rto_deadline_);
    return;
  }
  if (c.state_ == TcpState::kSynSent || c.state_ == TcpState::kSynReceived) {
    if (c.syn_retries_ >= t.cfg_.syn_retries) {
      t.c_timeouts_.inc();
      if (c.listener_ != nullptr) c.closed_notified_ = true;  // never accepted
      t.teardown(c, TcpCloseReason::kTimeout);
      return;
    }
    ++c.syn_retries_;
    ++c.backoff_;  // 1, 2, 4, 8 ... seconds, as Linux: 127 s for 6 retries
    t.send_syn(c, c.state_ == TcpState::kSynReceived);
    t.arm_rto(c);
    return;
  }
  if (c.snd_una_ == c.snd_max_) return;  // nothing outstanding any more
  if (c.pto_armed_) {
    // The probe timeout (RFC 8985 §7.3): one probe, then the RTO proper --
    // which is all that is left when recovery began since it was armed.
    if (t.tlp_allowed(c)) t.send_probe(c);
    c.pto_armed_ = false;
    t.arm_rto(c);
    return;
  }
  if (c.first_retransmit_ == Instant{}) c.first_retransmit_ = now;
  if (now - c.first_retransmit_ >= t.cfg_.user_timeout) {
    // RFC 9293 §3.8.3: R2 passed; the connection is given up.
    t.c_timeouts_.inc();
    t.teardown(c, TcpCloseReason::kTimeout);
    return;
  }
  // RFC 5681 §3.1 (eq. 4) and §3.2: after a timeout, ssthresh is half the
  // flight and cwnd one segment; RFC 6298 §5.4-5.6: back off, resend the
  // earliest unacknowledged segment (and what follows, as cwnd opens).
  const std::uint32_t flight = static_cast<std::uint32_t>(c.snd_max_ - c.snd_una_);
  t.c_rto_fired_.inc();
  cc_on_rto(c.cc_, flight, now);
  c.in_recovery_ = false;
  c.undo_valid_ = c.undo_at_exit_ = false;  // a timeout's reduction is not undone (no F-RTO)
  c.tlp_outstanding_ = false;
  c.dupacks_ = 0;
  // RFC 6582 §3.2 step 4: "After a retransmit timeout, record the highest
  // sequence number transmitted in the variable recover".
  c.recover_ = c.snd_max_;
  c.rtt_timing_ = false;
  c.snd_nxt_ = c.snd_una_;
  // RFC 6675 §5.1 lets the scoreboard outlive a timeout (the resend skips
  // what the receiver holds); RFC 2018 §8 warns the receiver may have
  // reneged: a second timeout in a row forgets it all.
  if (c.backoff_ > 0) c.sack_.clear();
  ++c.backoff_;
  t.stack_.timers().cancel(c.rto_timer_);
  t.output(c);
  if (!c.rto_timer_.armed() && c.state_ != TcpState::kClosed) t.arm_rto(c);
}

void TcpLayer::on_delack(Timer&, void* arg) {
  TcpConn& c = *static_cast<TcpConn*>(arg);
  if (c.segs_unacked_ > 0 || c.ack_now_) c.layer_->send_ack(c);
}

void TcpLayer::on_persist(Timer&, void* arg) {
  TcpConn& c = *static_cast<TcpConn*>(arg);
  TcpLayer& t = *c.layer_;
  const Instant now = t.now();
  const std::uint32_t off = static_cast<std::uint32_t>(c.snd_nxt_ - c.snd_una_);
  if (c.sndq_.bytes() <= off || c.snd_nxt_ != c.snd_una_) return;  // an ACK will come
  // RFC 9293 §3.8.6.1: "As long as the receiving TCP peer continues to send
  // acknowledgments in response to the probe segments, the sending TCP peer
  // MUST allow the connection to stay open (MUST-37)"; a peer silent for
  // the user timeout, its last probe unanswered, is given up (§3.8.3).
  if (c.persist_backoff_ > 0 && c.last_rx_ < c.last_probe_ &&
      now - c.last_rx_ >= t.cfg_.user_timeout) {
    t.c_timeouts_.inc();
    t.teardown(c, TcpCloseReason::kTimeout);
    return;
  }
  if (c.snd_wnd_ > 0) {
    // The SWS override (§3.8.6.2.1 (4)): send what the window takes.
    c.sws_override_ = true;
    t.output(c);
    c.sws_override_ = false;
    if (c.state_ == TcpState::kClosed || c.snd_nxt_ != c.snd_una_) return;  // RTO from here
  } else {
    // A zero-window probe: SEG.SEQ = SND.UNA - 1 and no data, as Linux
    // sends; below the window, so the peer answers with an ACK carrying its
    // window (§3.10.7.4, first check). Not data: no retransmission timer,
    // no RTT sample, no congestion signal, nothing for dupack counting.
    t.send_segment(c, c.snd_una_ - 1, 0, wire::kTcpAck);
  }
  // SHLD-30: "increase exponentially the interval between successive probes".
  ++c.persist_backoff_;
  c.last_probe_ = now;
  const Duration base = std::max(c.rto_, t.cfg_.rto_min);
  t.stack_.timers().arm(
      c.persist_timer_,
      now + std::min(base * (1u << std::min(c.persist_backoff_, 16u)), t.cfg_.rto_max));
}

void TcpLayer::on_keepalive(Timer&, void* arg) {
  TcpConn& c = *static_cast<TcpConn*>(arg);
  TcpLayer& t = *c.layer_;
  const Instant now = t.now();
  const Instant due = c.last_rx_ + t.cfg_.keepalive_idle;
  if (now < due) {
    t.stack_.timers().arm(c.keepalive_timer_, due);
    return;
  }
  // RFC 9293 §3.8.4: "Keep-alive packets MUST only be sent when no sent
  // data is outstanding" (MUST-26): the retransmission (or persist) timer
  // watches the peer meanwhile.
  if (c.snd_max_ != c.snd_una_ || c.sndq_.bytes() > 0) {
    t.stack_.timers().arm(c.keepalive_timer_, now + t.cfg_.keepalive_idle);
    return;
  }
  if (c.keepalive_probes_sent_ >= t.cfg_.keepalive_probes) {
    t.c_timeouts_.inc();
    t.teardown(c, TcpCloseReason::kTimeout);
    return;
  }
  // RFC 9293 §3.8.4: a segment with SEG.SEQ = SND.NXT - 1, no data; the
  // peer answers with an ACK.
  ++c.keepalive_probes_sent_;
  t.send_segment(c, c.snd_una_ - 1, 0, wire::kTcpAck);
  t.stack_.timers().arm(c.keepalive_timer_, now + t.cfg_.keepalive_interval);
}

void TcpLayer::on_timewait(Timer&, void* arg) {
  TcpConn& c = *static_cast<TcpConn*>(arg);
  // TIME-WAIT over, or an orphaned FIN-WAIT-2 that waited long enough.
  c.layer_->teardown(c, TcpCloseReason::kNormal);
}

void TcpLayer::established(TcpConn& c) {
  c.state_ = TcpState::kEstablished;
  // RFC 6582 §3.2: recover "is initialized to the initial send sequence
  // number" (one past it here, as recover_ is kept).
  c.recover_ = c.snd_una_;
  // RFC 6928: IW = min(10 * MSS, max(2 * MSS, 14600)).
  cc_init(c.cc_, c.cc_.algo, c.mss_, cc_initial_window(c.mss_, cfg_.initial_window_segments));
  // RFC 6298 §5.7: when the SYN or SYN,ACK had to be sent again and no RTT
  // could be measured, data starts with an RTO of 3 s.
  if (c.syn_retries_ > 0 && !c.rtt_measured_)
    c.rto_ = std::max(c.rto_, std::chrono::duration_cast<Duration>(std::chrono::seconds(3)));
  c.backoff_ = 0;
  c.syn_retries_ = 0;
  if (cfg_.keepalive) stack_.timers().arm(c.keepalive_timer_, now() + cfg_.keepalive_idle);
  const std::uint32_t gen = c.gen_;
  if (c.listener_ != nullptr) {
    TcpListener* l = c.listener_;
    c.listener_ = nullptr;
    --l->pending_;
    c.handler_ = l->handler_.on_accept(c);
    if (c.gen_ != gen || c.state_ == TcpState::kClosed) return;
    if (c.handler_ == nullptr) {
      c.closed_notified_ = true;
      c.abort();
      return;
    }
  }
  if (c.handler_ != nullptr) c.handler_->on_connected(c);
  if (c.gen_ != gen || c.state_ == TcpState::kClosed) return;
  maybe_writable(c);
}

void TcpLayer::maybe_writable(TcpConn& c) {
  // on_writable when a writer that found the buffer full has room again
  // (a third of the buffer, so it is not woken for every ACK).
  if (c.writable_wanted_ && c.handler_ != nullptr && c.send_space() >= c.send_buffer_ / 3) {
    c.writable_wanted_ = false;
    c.handler_->on_writable(c);
  }
}

void TcpLayer::notify_closed(TcpConn& c, TcpCloseReason reason) {
  if (c.closed_notified_) return;
  c.closed_notified_ = true;
  if (c.handler_ != nullptr) c.handler_->on_closed(c, reason);
}

void TcpLayer::enter_time_wait(TcpConn& c) {
  if (time_wait_ >= cfg_.max_time_wait) {
    c_time_wait_overflow_.inc();
    teardown(c, TcpCloseReason::kNormal);
    return;
  }
  ++time_wait_;
  c.state_ = TcpState::kTimeWait;
  c.timewait_since_ = now();
  TimerWheel& w = stack_.timers();
  w.cancel(c.rto_timer_);
  w.cancel(c.persist_timer_);
  w.cancel(c.keepalive_timer_);
  w.cancel(c.delack_timer_);
  w.arm(c.timewait_timer_, now() + 2 * cfg_.msl);
  c.sndq_.clear();
  c.rcvq_.clear();
  c.ooo_.clear();
  // The application is done with it; the stack keeps the 4-tuple for 2 MSL.
  notify_closed(c, TcpCloseReason::kNormal);
  c.handler_ = nullptr;
}

void TcpLayer::teardown(TcpConn& c, TcpCloseReason reason) {
  if (c.state_ == TcpState::kTimeWait) --time_wait_;
  TimerWheel& w = stack_.timers();
  w.cancel(c.rto_timer_);
  w.cancel(c.delack_timer_);
  w.cancel(c.persist_timer_);
  w.cancel(c.keepalive_timer_);
  w.cancel(c.timewait_timer_);
  table_.erase(c.key_);
  if (c.listener_ != nullptr) {
    --c.listener_->pending_;
    c.listener_ = nullptr;
  }
  c.state_ = TcpState::kClosed;
  notify_closed(c, reason);
  release(c);
}

}  // namespace ustack
