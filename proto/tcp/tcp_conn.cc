// The application's side of a TCP connection.
#include <algorithm>

#include "proto/stack.h"
#include "proto/tcp/tcp.h"

namespace ustack {

std::size_t TcpConn::read(std::span<std::byte> out) {
  const std::size_t n = rcvq_.read(out);
  if (n > 0) layer_->window_opened(*this);
  return n;
}

void TcpConn::consume(std::uint32_t n) {
  rcvq_.consume(n);
  if (n > 0) layer_->window_opened(*this);
}

Mbuf* TcpConn::take(std::uint32_t max) {
  Mbuf* m = rcvq_.take(max);
  if (m != nullptr) layer_->window_opened(*this);
  return m;
}

std::uint32_t TcpConn::send_space() const {
  if (fin_queued_) return 0;
  return send_buffer_ > sndq_.bytes() ? send_buffer_ - sndq_.bytes() : 0;
}

std::uint32_t TcpConn::send(std::span<const std::byte> data) {
  if (fin_queued_ || state_ == TcpState::kClosed || state_ == TcpState::kTimeWait) return 0;
  const std::uint32_t n = sndq_.append_copy(data, send_space(), layer_->stack_.pool());
  if (n < data.size()) writable_wanted_ = true;
  if (n > 0) layer_->output(*this);
  return n;
}

bool TcpConn::send(Mbuf* chain) {
  if (fin_queued_ || state_ == TcpState::kClosed || state_ == TcpState::kTimeWait ||
      chain->pkt_len > send_space()) {
    writable_wanted_ = true;
    return false;
  }
  sndq_.append(chain, layer_->stack_.pool());
  layer_->output(*this);
  return true;
}

void TcpConn::shutdown_write() {
  if (fin_queued_) return;
  switch (state_) {
    case TcpState::kSynSent:
      // RFC 9293 §3.10.4: CLOSE in SYN-SENT deletes the TCB.
      layer_->teardown(*this, TcpCloseReason::kAborted);
      return;
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
      fin_queued_ = true;
      layer_->output(*this);
      return;
    default:
      return;
  }
}

void TcpConn::close() {
  if (state_ == TcpState::kClosed) return;
  // RFC 2525 §2.17: closing with unread data resets the connection (the
  // peer must learn that data was lost).
  if (rcvq_.bytes() > 0) {
    abort();
    return;
  }
  app_closed_ = true;
  shutdown_write();
}

void TcpConn::set_congestion_control(CcAlgorithm a) {
  if (cc_.algo == a) return;
  cc_.algo = a;
  cc_.epoch_valid = false;  // CUBIC starts its own epoch from the window as it is
}

void TcpConn::abort() {
  if (state_ == TcpState::kClosed) return;
  if (state_ != TcpState::kSynSent && state_ != TcpState::kTimeWait)
    layer_->send_reset(key_, snd_nxt_, rcv_nxt_, true);
  layer_->teardown(*this, TcpCloseReason::kAborted);
}

void TcpLayer::window_opened(TcpConn& c) {
  // A window update when reading opened the window by a worthwhile step
  // (receiver SWS avoidance, RFC 9293 §3.8.6.2.2), and only if the window
  // the peer knows had fallen below half of the most we offer: otherwise
  // the new edge rides on the next ACK, which may be delayed (§3.8.6.3;
  // an update for every segment read would acknowledge each at once).
  const SeqNum before = c.rcv_adv_;
  const std::int32_t known = before - c.rcv_nxt_;
  const std::uint32_t most = std::min(c.recv_buffer_, 0xffffu << c.rcv_wscale_);
  receive_window(c);
  if (c.rcv_adv_ - before >= static_cast<std::int32_t>(std::min(c.recv_buffer_ / 2, c.mss_)) &&
      known < static_cast<std::int32_t>(most / 2) &&
      (c.state_ == TcpState::kEstablished || c.state_ == TcpState::kFinWait1 ||
       c.state_ == TcpState::kFinWait2)) {
    c.rcv_adv_ = before;  // send_segment advertises it anew
    send_ack(c);
  }
}

}  // namespace ustack
