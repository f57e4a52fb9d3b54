// TCP (RFC 9293) for one core: connections, listeners and the layer that
// demultiplexes segments to them.
//
// Applications work with callbacks, run to completion on the core that owns
// the connection:
//  - a TcpListener accepts connections; its handler's on_accept() gives each
//    one the TcpHandler that will hear about it;
//  - TcpLayer::connect() opens one actively;
//  - a TcpHandler hears on_connected, on_readable, on_writable,
//    on_peer_closed (FIN received) and finally on_closed (with the reason).
// A TcpConn* stays valid until on_closed() returns.
//
// Data in: read() copies, or front()/consume() and take() hand over the
// received mbufs themselves. Data out: send(span) copies into mbufs,
// send(Mbuf*) queues the caller's mbufs (zero copy); both stop at the send
// buffer (back-pressure), and on_writable says when there is room again.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/counters.h"
#include "core/mbuf.h"
#include "core/random.h"
#include "core/siphash.h"
#include "core/timer_wheel.h"
#include "proto/icmp.h"
#include "proto/ip_addr.h"
#include "proto/ipv4.h"
#include "proto/ipv6.h"
#include "proto/tcp/congestion.h"
#include "proto/tcp/conn_key.h"
#include "proto/tcp/conn_table.h"
#include "proto/tcp/ooo_queue.h"
#include "proto/tcp/recv_queue.h"
#include "proto/tcp/sack_scoreboard.h"
#include "proto/tcp/send_queue.h"
#include "proto/tcp/seq.h"
#include "proto/tcp/tcp_config.h"

namespace ustack {

class Stack;
namespace wire {
struct TcpOptions;
}
class TcpConn;
class TcpLayer;
class TcpListener;

enum class TcpState : std::uint8_t {
  kClosed,
  kListen,
  kSynSent,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kCloseWait,
  kClosing,
  kLastAck,
  kTimeWait,
};
const char* to_string(TcpState s);

enum class TcpCloseReason : std::uint8_t {
  kNormal,   // both directions closed with FIN
  kReset,    // the peer sent RST
  kRefused,  // RST in answer to our SYN
  kTimeout,  // retransmissions or keepalives went unanswered
  kAborted,  // abort() by the application, or the stack tore it down
};
const char* to_string(TcpCloseReason r);

class TcpHandler {
 public:
  virtual ~TcpHandler() = default;
  virtual void on_connected(TcpConn& /*c*/) {}
  virtual void on_readable(TcpConn& /*c*/) {}
  virtual void on_writable(TcpConn& /*c*/) {}
  // The peer sent FIN: no more data will come (data still queued is readable).
  virtual void on_peer_closed(TcpConn& /*c*/) {}
  // The last event: the connection is gone once this returns.
  virtual void on_closed(TcpConn& /*c*/, TcpCloseReason /*reason*/) {}
};

class TcpListenHandler {
 public:
  virtual ~TcpListenHandler() = default;
  // A new connection is established; return its handler, or nullptr to
  // refuse it (it is reset).
  virtual TcpHandler* on_accept(TcpConn& c) = 0;
};

class TcpConn {
 public:
  // ---- application API
  TcpState state() const { return state_; }
  const ConnKey& key() const { return key_; }

  // Bytes received in order and not yet consumed.
  std::uint32_t readable() const { return rcvq_.bytes(); }
  std::size_t read(std::span<std::byte> out);
  const Mbuf* front() const { return rcvq_.front(); }
  void consume(std::uint32_t n);
  // Whole received segments up to `max` bytes, owned by the caller; nullptr
  // when nothing is readable or the first segment is larger than `max`.
  Mbuf* take(std::uint32_t max = 0xffffffffu);

  // Room left in the send buffer.
  std::uint32_t send_space() const;
  // Copies as much of `data` as fits; returns how much.
  std::uint32_t send(std::span<const std::byte> data);
  // Queues the caller's chain (zero copy) when it fits in send_space():
  // true and ownership taken, else false and the caller keeps it.
  bool send(Mbuf* chain);
  // No more data from us: FIN after what is queued (half close).
  void shutdown_write();
  // shutdown_write(), and data arriving afterwards resets the connection.
  void close();
  // RST now; on_closed(kAborted) follows at once.
  void abort();
  void set_nodelay(bool on) { nodelay_ = on; }
  // Ask for on_writable once a third of the send buffer is free (send()
  // asks by itself when it cannot take everything).
  void want_writable() { writable_wanted_ = true; }
  void set_handler(TcpHandler* h) { handler_ = h; }
  TcpHandler* handler() const { return handler_; }
  void* user = nullptr;  // for the application

  // ---- introspection (tests, tools)
  std::uint32_t mss() const { return mss_; }
  std::uint32_t cwnd() const { return cc_.cwnd; }
  std::uint32_t ssthresh() const { return cc_.ssthresh; }
  CcAlgorithm congestion_control() const { return cc_.algo; }
  // Per connection (RFC 9438 CUBIC by default, TcpConfig): before the
  // handshake completes, or later (the window carries over).
  void set_congestion_control(CcAlgorithm a);
  std::uint32_t send_window() const { return snd_wnd_; }
  Duration srtt() const { return srtt_; }
  Duration rto() const { return rto_; }
  std::uint64_t retransmits() const { return retransmits_; }
  std::uint32_t bytes_in_flight() const { return static_cast<std::uint32_t>(snd_nxt_ - snd_una_); }
  std::uint8_t send_wscale() const { return snd_wscale_; }
  std::uint8_t recv_wscale() const { return rcv_wscale_; }
  bool timestamps_on() const { return ts_ok_; }
  bool sack_permitted() const { return sack_ok_; }

 private:
  friend class TcpLayer;
  TcpConn() = default;

  TcpLayer* layer_ = nullptr;
  TcpHandler* handler_ = nullptr;
  TcpListener* listener_ = nullptr;  // while SYN-RECEIVED from a listener
  ConnKey key_;
  TcpState state_ = TcpState::kClosed;

  // Send side (RFC 9293 §3.3.1).
  SeqNum iss_, snd_una_, snd_nxt_, snd_max_, snd_wl1_, snd_wl2_;
  std::uint32_t snd_wnd_ = 0;
  std::uint32_t max_snd_wnd_ = 0;
  std::uint8_t snd_wscale_ = 0;
  std::uint8_t rcv_wscale_ = 0;
  std::uint32_t mss_ = 536;    // payload bytes per segment we send
  std::uint16_t adv_mss_ = 0;  // what we advertised
  // Receive side.
  SeqNum irs_, rcv_nxt_, rcv_adv_;  // rcv_adv_: right edge we advertised
  SeqNum last_ack_sent_;
  // Options.
  bool ts_ok_ = false, sack_ok_ = false, ws_ok_ = false;
  std::uint32_t ts_recent_ = 0;
  Instant ts_recent_time_{};
  std::uint32_t ts_offset_ = 0;
  // RTT and RTO (RFC 6298).
  Duration srtt_{0}, rttvar_{0}, rto_{0};
  bool rtt_measured_ = false;  // SRTT holds a measurement (which may be 0)
  bool rtt_timing_ = false;
  SeqNum rtt_seq_;
  Instant rtt_start_{};
  std::uint32_t backoff_ = 0;
  Instant first_retransmit_{};
  std::uint64_t retransmits_ = 0;
  // Congestion control (congestion.h) and loss recovery: NewReno (RFC
  // 5681, RFC 6582) or SACK-based (RFC 6675).
  CcState cc_;
  bool cwnd_limited_ = false;  // the last output() stopped at cwnd with data left
  Instant last_data_tx_{};     // when data last went out (RFC 5681 §4.1 restart)
  std::uint32_t dupacks_ = 0;
  std::uint32_t limited_sent_ = 0;  // bytes limited transmit sent beyond cwnd
  bool in_recovery_ = false;
  SeqNum recover_;  // RFC 6582's recover, RFC 6675's RecoveryPoint (one past)
  // SACK (RFC 2018, RFC 6675): the sender's scoreboard and HighRxt, and the
  // duplicate the receiver reports next (RFC 2883), if any.
  SackScoreboard sack_;
  SeqNum high_rxt_;
  SeqRange dsack_{};
  // Undoing a recovery that reordering made spurious (RFC 3708-style, from
  // D-SACKs): the window before it, where it began, and how many of its
  // retransmissions are not yet reported as duplicates. DupThresh grows
  // each time (RFC 4653's idea, as Linux's reordering metric does).
  std::uint32_t prior_cwnd_ = 0;
  std::uint32_t prior_ssthresh_ = 0;
  std::uint32_t undo_retrans_ = 0;
  SeqNum undo_marker_;
  bool undo_valid_ = false;
  bool undo_at_exit_ = false;     // undo proven during recovery, done at its end
  std::uint32_t retrans_ts_ = 0;  // TSval of the recovery's first retransmission
  std::uint8_t dupthresh_ = SackScoreboard::kDupThresh;
  // Queues.
  SendQueue sndq_;
  RecvQueue rcvq_;
  OutOfOrderQueue ooo_;
  std::uint32_t send_buffer_ = 0;
  std::uint32_t recv_buffer_ = 0;
  // FIN and closing.
  bool fin_queued_ = false;  // the application is done sending
  bool fin_sent_ = false;
  bool app_closed_ = false;  // close(): further data resets
  bool peer_fin_ = false;
  bool closed_notified_ = false;
  bool nodelay_ = false;
  // ACK scheduling.
  bool ack_now_ = false;
  std::uint32_t segs_unacked_ = 0;
  std::uint32_t quickack_ = 0;
  bool writable_wanted_ = false;
  Instant last_rx_{};
  std::uint32_t keepalive_probes_sent_ = 0;
  std::uint32_t syn_retries_ = 0;
  std::uint32_t persist_backoff_ = 0;  // zero-window probes sent since the window closed
  Instant last_probe_{};               // when the last of them went
  // RFC 5961 §7 challenge ACK budget: sent in the second since `since`.
  Instant challenge_since_{};
  std::uint16_t challenge_sent_ = 0;
  std::uint16_t challenge_limit_ = 0;
  bool sws_override_ = false;  // the persist timer overrides sender SWS avoidance
  // Timers.
  Timer rto_timer_;
  Instant rto_deadline_{};  // the RTO's real expiry (the timer may be earlier)
  // RFC 8985 §7: the RTO timer runs as the probe timeout (PTO) while
  // pto_armed_; one probe at a time (TLPRxtOut), ending at tlp_end_.
  bool pto_armed_ = false;
  bool tlp_outstanding_ = false;
  bool tlp_retrans_ = false;  // the probe resent data (else it was new data)
  bool tlp_dsacked_ = false;  // ... and the peer reported it a duplicate
  SeqNum tlp_end_;
  // The last retransmission of the segment at SND.UNA went out when SND.MAX
  // was una_rxt_mark_: data SACKed well beyond it was sent later, so that
  // retransmission is lost too (RFC 8985 §6's rule, with sequence order for
  // transmit order). Valid until SND.UNA moves.
  SeqNum una_rxt_mark_;
  bool una_rxt_valid_ = false;
  Timer delack_timer_;
  Timer persist_timer_;
  Timer keepalive_timer_;
  Timer timewait_timer_;
  Instant timewait_since_{};  // when TIME-WAIT began
  SeqNum peer_fin_seq_;       // where the peer's FIN sits (peer_fin_: seen, not yet in order)
  SeqNum fin_seq_;            // our FIN's sequence number, once sent
  // Free list link in the layer's pool, and a generation that changes when
  // the object is released (a callback may close the connection under us).
  TcpConn* next_free_ = nullptr;
  std::uint32_t gen_ = 0;
};

class TcpListener {
 public:
  std::uint16_t port() const { return port_; }
  std::uint32_t pending() const { return pending_; }
  // Congestion control for the connections it accepts.
  void set_congestion_control(CcAlgorithm a) { cc_ = a; }
  void close();

 private:
  friend class TcpLayer;
  TcpListener(TcpLayer& layer, TcpListenHandler& handler, std::uint16_t port)
      : layer_(layer), handler_(handler), port_(port) {}
  TcpLayer& layer_;
  TcpListenHandler& handler_;
  std::uint16_t port_;
  std::uint32_t pending_ = 0;  // SYN-RECEIVED connections
  Instant last_cookie_{};      // when a SYN cookie was last sent (0: never)
  CcAlgorithm cc_ = CcAlgorithm::kCubic;
};

class TcpLayer final : public Ipv4Protocol, public Ipv6Protocol, public IcmpErrorSink {
 public:
  TcpLayer(Stack& stack, const TcpConfig& cfg);
  ~TcpLayer() override;
  TcpLayer(const TcpLayer&) = delete;
  TcpLayer& operator=(const TcpLayer&) = delete;

  // A listener on `port` on every local address. nullptr and *error when
  // the port is taken.
  TcpListener* listen(std::uint16_t port, TcpListenHandler& handler, std::string* error);
  // Opens a connection to (addr, port). nullptr and *error when no
  // connection or port is free, or there is no route.
  TcpConn* connect(IpAddr addr, std::uint16_t port, TcpHandler& handler, std::string* error,
                   std::uint16_t local_port = 0);

  void ipv4_input(Mbuf* m, const Ipv4Meta& meta) override;
  void ipv6_input(Mbuf* m, const Ipv6Meta& meta) override;
  void icmp_error(const IcmpError& error) override;

  const TcpConfig& config() const { return cfg_; }
  std::uint32_t connections() const { return table_.size(); }
  // Of those, in TIME-WAIT (the application is done with them).
  std::uint32_t time_wait_connections() const { return time_wait_; }
  // Connections per state (tests, tools).
  std::uint32_t count_in_state(TcpState s) const;

 private:
  friend class TcpConn;
  friend class TcpListener;
  struct Segment;

  // Connection pool.
  TcpConn* alloc_conn();
  void release(TcpConn& c);
  void init_conn(TcpConn& c, const ConnKey& key, TcpHandler* h);

  // A segment of either family (data at the TCP header) from `src` to
  // `dst`; `to_group`: sent to a broadcast or multicast address.
  void input(Mbuf* m, const IpAddr& src, const IpAddr& dst, bool to_group);
  // Checksum (partial sum of the pseudo-header, then the segment) and
  // transmit of a built segment `m` whose header starts at `h`.
  void finish_and_send(Mbuf* m, std::byte* h, const ConnKey& key, bool offload);

  // Input (tcp_input.cc), RFC 9293 §3.10.7.
  void input_closed(const Segment& seg);
  void input_listen(TcpListener& l, Segment& seg);
  void input_syn_sent(TcpConn& c, Segment& seg);
  void input_synchronized(TcpConn& c, Segment& seg);
  bool acceptable(const TcpConn& c, const Segment& seg) const;
  void process_ack(TcpConn& c, const Segment& seg);
  void process_data(TcpConn& c, Segment& seg);
  enum class FinResult : std::uint8_t { kNone, kPeerClosed, kTimeWait };
  void enter_recovery(TcpConn& c);
  // RFC 6675 §4 NextSeg rules (1) (lost_only) and (3): retransmits holes
  // while `budget` (cwnd - pipe) allows a segment, and takes from it.
  void sack_retransmit(TcpConn& c, std::uint32_t& budget, bool lost_only);
  void note_duplicate(TcpConn& c, SeqNum start, SeqNum end);
  void challenge_ack(TcpConn& c);
  void dsack_undo(TcpConn& c, SeqRange dup);
  void abort_half_open(TcpListener& l);
  // Whether this core receives the flow's segments (multi-core steering).
  bool owns(const ConnKey& k) const;
  bool tlp_allowed(const TcpConn& c) const;
  void send_probe(TcpConn& c);
  void tlp_acked(TcpConn& c);
  void resend_lost_retransmission(TcpConn& c);
  void detect_reordering(TcpConn& c, const Segment& seg);
  void undo_recovery(TcpConn& c);
  static void raise_dupthresh(TcpConn& c, std::uint32_t segments);
  // The connection's DupThresh: raised by spurious recoveries, at most half
  // the segments in flight, at least RFC 6675's 3.
  static std::uint32_t dupthresh(const TcpConn& c);
  static constexpr std::uint32_t kMaxDupThresh = 64;
  FinResult process_fin(TcpConn& c, const Segment& seg);
  void apply_syn_options(TcpConn& c, const Segment& seg);
  void update_rtt(TcpConn& c, Duration sample);

  // Output (tcp_output.cc).
  void output(TcpConn& c);
  bool send_segment(TcpConn& c, SeqNum seq, std::uint32_t len, std::uint8_t flags);
  void send_ack(TcpConn& c);
  void add_sack_blocks(TcpConn& c, wire::TcpOptions& o, std::size_t max_blocks);
  // The data a segment may carry now: the MSS less the SACK option the
  // segment will carry (Linux's tcp_current_mss).
  std::uint32_t seg_mss(const TcpConn& c) const;
  void send_syn(TcpConn& c, bool with_ack);
  void send_reset(const ConnKey& key, SeqNum seq, SeqNum ack, bool with_ack);
  std::uint32_t receive_window(TcpConn& c);
  std::uint32_t ts_now(const TcpConn& c) const;
  // `sending`: bytes of a segment being sent, not yet in SND.MAX.
  void arm_rto(TcpConn& c, std::uint32_t sending = 0);

  // Timers and teardown (tcp_timers.cc).
  static void on_rto(Timer& t, void* arg);
  static void on_delack(Timer& t, void* arg);
  static void on_persist(Timer& t, void* arg);
  static void on_keepalive(Timer& t, void* arg);
  static void on_timewait(Timer& t, void* arg);
  void enter_time_wait(TcpConn& c);
  void teardown(TcpConn& c, TcpCloseReason reason);  // to CLOSED, released
  void notify_closed(TcpConn& c, TcpCloseReason reason);
  void established(TcpConn& c);
  void maybe_writable(TcpConn& c);
  void window_opened(TcpConn& c);

  SeqNum make_isn(const ConnKey& k) const;
  // RFC 7323 §5.4 timestamp offset of an address pair, and our window scale.
  std::uint32_t ts_offset_of(const ConnKey& k) const;
  std::uint8_t our_wscale() const;
  // SYN cookies (tcp_syncookie.cc, RFC 4987 §3.6).
  void send_cookie_synack(TcpListener& l, const Segment& syn);
  // The final ACK of a cookie handshake: true when it carried a valid
  // cookie and the connection now exists (established, data processed).
  bool accept_cookie(TcpListener& l, Segment& ack);
  std::uint64_t cookie_clock() const;
  Instant now() const;

  Stack& stack_;
  TcpConfig cfg_;
  ConnTable table_;
  SipKey isn_key_;
  SipKey cookie_key_;
  static constexpr std::size_t kChunk = 256;  // connections per pool chunk
  std::vector<std::unique_ptr<TcpConn[]>> chunks_;
  TcpConn* free_ = nullptr;
  std::uint32_t allocated_ = 0;
  std::vector<std::unique_ptr<TcpListener>> listeners_;  // by port, sparse
  std::unique_ptr<TcpListener*[]> listener_by_port_;
  Rng rng_;

  Counter& c_rx_;
  Counter& c_tx_;
  Counter& c_retransmits_;
  Counter& c_drop_malformed_;
  Counter& c_drop_checksum_;
  Counter& c_drop_no_conn_;
  Counter& c_drop_unacceptable_;
  Counter& c_drop_paws_;
  Counter& c_drop_backlog_;
  Counter& c_drop_table_full_;
  Counter& c_drop_ooo_;
  Counter& c_rcvq_pinned_;
  Counter& c_tx_rst_;
  Counter& c_rx_rst_;
  Counter& c_active_opens_;
  Counter& c_passive_opens_;
  Counter& c_timeouts_;
  Counter& c_rto_fired_;
  Counter& c_tlp_probes_;
  Counter& c_tlp_repaired_;
  Counter& c_lost_rxt_;
  Counter& c_fast_retransmits_;
  Counter& c_challenge_acks_;
  Counter& c_challenge_acks_limited_;
  Counter& c_cookies_sent_;
  Counter& c_cookies_ok_;
  Counter& c_cookies_bad_;
  Counter& c_sack_recoveries_;
  Counter& c_undo_;
  Counter& c_sack_retransmits_;
  Counter& c_dsack_rx_;
  Counter& c_dsack_tx_;
  Counter& c_time_wait_reused_;
  Counter& c_time_wait_overflow_;
  std::uint32_t time_wait_ = 0;  // connections in TIME-WAIT
};

}  // namespace ustack
