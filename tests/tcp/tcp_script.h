// Scripted-segment TCP tests in the spirit of packetdrill, on the virtual
// clock.
//
// One ustack Stack (10.0.0.1) is the system under test; its port is end A of
// a memlink. The test plays the remote peer (10.0.0.2) on end B: it injects
// hand-built Ethernet/IPv4/TCP frames (correct checksums) and reads back what
// the stack emits, parsed into a SentSeg. The stack's ARP cache is seeded
// with the peer's MAC, and ARP requests are answered anyway.
//
// Sequence numbers are relative, as tcpdump prints them: in a TcpSeg the
// peer's `seq` counts from the peer's ISN and `ack` from the stack's ISN
// (learned from the stack's SYN or SYN,ACK); a SentSeg's `seq` counts from
// the stack's ISN and `ack` from the peer's. The SYNs are at 0, the first
// data bytes at 1.
//
// Time moves only in advance() (and the waiting helpers), in 1 ms steps by
// default, the worker running once after each step, so a timer armed for T
// fires, and its segment is captured, at exactly T (the wheel's tick is
// 1 ms and the clock stays on whole milliseconds).
//
//   TcpScript t;
//   t.accept();                                    // three-way handshake
//   t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 100});
//   t.expect({.flags = kAck, .seq = 1, .ack = 101});
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <source_location>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/worker.h"
#include "drivers/memlink/memlink.h"
#include "proto/stack.h"
#include "proto/wire/tcp.h"

namespace ustack {

// Readable states and reasons in gtest messages.
inline void PrintTo(TcpState s, std::ostream* os) {
  *os << to_string(s);
}
inline void PrintTo(TcpCloseReason r, std::ostream* os) {
  *os << to_string(r);
}

}  // namespace ustack

namespace ustack::testing {

// The caller's file and line in failure messages. clang 14 with libstdc++
// 12 (the fuzz build) has no std::source_location; there failures name the
// script's own lines instead.
#if defined(__cpp_lib_source_location)
using SourceLocation = std::source_location;
#else
struct SourceLocation {
  static constexpr SourceLocation current() { return {}; }
  constexpr const char* file_name() const { return "tcp_script"; }
  constexpr std::uint_least32_t line() const { return 0; }
};
#endif

inline constexpr std::uint8_t kFin = wire::kTcpFin;
inline constexpr std::uint8_t kSyn = wire::kTcpSyn;
inline constexpr std::uint8_t kRst = wire::kTcpRst;
inline constexpr std::uint8_t kPsh = wire::kTcpPsh;
inline constexpr std::uint8_t kAck = wire::kTcpAck;

inline const Ipv4Addr kStackAddr = Ipv4Addr::from_u32(0x0a000001);  // 10.0.0.1
inline const Ipv4Addr kPeerAddr = Ipv4Addr::from_u32(0x0a000002);   // 10.0.0.2
inline constexpr std::uint16_t kServerPort = 8080;                  // the stack's listener
inline constexpr std::uint16_t kPeerPort = 40000;    // the peer's port (server tests)
inline constexpr std::uint16_t kClientPort = 50000;  // the stack's port (client tests)
inline constexpr std::uint16_t kRemotePort = 80;     // the peer's port (client tests)

using std::chrono::milliseconds;
using std::chrono::seconds;

// Whole milliseconds of a duration (for readable EXPECT_EQ messages).
inline std::int64_t ms(Duration d) {
  return std::chrono::duration_cast<milliseconds>(d).count();
}

// The payload bytes the peer sends at relative sequence number `seq`: a
// pattern of the sequence number, so received data can be checked.
std::vector<std::byte> pattern(std::uint32_t seq, std::uint32_t len);

// Options as a peer's SYN carries them.
struct SynOpts {
  std::optional<std::uint16_t> mss = 1460;
  std::optional<std::uint8_t> wscale;
  bool sack_ok = false;
  bool ts = false;
};

// A segment the peer injects.
struct TcpSeg {
  std::uint8_t flags = kAck;
  std::uint32_t seq = 0;      // relative to the peer's ISN
  std::uint32_t ack = 0;      // relative to the stack's ISN
  std::uint16_t win = 65535;  // the raw window field
  std::uint32_t len = 0;      // payload bytes, pattern(seq, len), unless `data` is set
  std::vector<std::byte> data;
  // The options, verbatim. Unset: none, except the timestamps option when
  // timestamps were negotiated (TSval = peer_tsval(), TSecr = the stack's
  // last TSval), which `ts` overrides and `no_ts` suppresses.
  std::optional<wire::TcpOptions> opts;
  std::optional<wire::TcpTimestamps> ts;
  bool no_ts = false;
  bool absolute = false;  // seq and ack are raw sequence numbers
};

// A segment the stack sent.
struct SentSeg {
  Instant at{};
  std::uint8_t flags = 0;
  std::uint32_t seq = 0;  // relative to the stack's ISN
  std::uint32_t ack = 0;  // relative to the peer's ISN
  std::uint32_t raw_seq = 0;
  std::uint32_t raw_ack = 0;
  std::uint16_t win = 0;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  wire::TcpOptions opts;
  std::vector<std::byte> payload;

  std::uint32_t len() const { return static_cast<std::uint32_t>(payload.size()); }
  bool has(std::uint8_t f) const { return (flags & f) == f; }
  std::uint32_t tsval() const { return opts.timestamps ? opts.timestamps->tsval : 0; }
  std::uint32_t tsecr() const { return opts.timestamps ? opts.timestamps->tsecr : 0; }
  std::string str() const;
};

// What expect() compares; unset fields match anything. `flags` must match
// exactly, except that PSH is ignored unless asked for.
struct Want {
  std::optional<std::uint8_t> flags;
  std::optional<std::uint32_t> seq;
  std::optional<std::uint32_t> ack;
  std::optional<std::uint16_t> win;
  std::optional<std::uint32_t> len;
};

std::string flags_str(std::uint8_t flags);

// The application: records every event; reads everything it is told about
// unless auto_read is off.
class Recorder : public TcpListenHandler, public TcpHandler {
 public:
  TcpHandler* on_accept(TcpConn& c) override;
  void on_connected(TcpConn& c) override;
  void on_readable(TcpConn& c) override;
  void on_writable(TcpConn& c) override;
  void on_peer_closed(TcpConn& c) override;
  void on_closed(TcpConn& c, TcpCloseReason reason) override;
  // Reads everything readable into `received`.
  void drain(TcpConn& c);

  bool auto_read = true;
  bool close_on_peer_close = false;
  TcpConn* conn = nullptr;  // nullptr again once on_closed ran
  int accepted = 0;
  int connected = 0;
  int readable = 0;
  int writable = 0;
  int peer_closed = 0;
  int closed = 0;
  TcpCloseReason reason = TcpCloseReason::kNormal;
  std::vector<std::byte> received;
  std::vector<std::string> events;  // "accept", "connected", "peer_closed", "closed: <reason>"
};

struct ScriptOptions {
  TcpConfig tcp;
  std::uint32_t mtu = 1500;
  // The peer's ISN. The default has the top bit set, where a receive-window
  // edge left at 0 would look far ahead of RCV.NXT.
  std::uint32_t peer_isn = 0xc0000000u;
  std::uint32_t pool_size = 8192;  // the stack's mbufs (the peer's: half)
};

// Options with NewReno (RFC 5681 / 6582) instead of the default CUBIC, for
// tests that check NewReno's arithmetic.
inline ScriptOptions newreno(ScriptOptions o = ScriptOptions{}) {
  o.tcp.congestion_control = CcAlgorithm::kNewReno;
  return o;
}

// RFC 5681 and RFC 6582 as written: NewReno, no limited transmit (RFC 3042)
// and no tail loss probe (RFC 8985), whose extra segments the tests of
// those RFCs' own steps would otherwise have to account for.
inline ScriptOptions rfc5681(ScriptOptions o = ScriptOptions{}) {
  o = newreno(o);
  o.tcp.limited_transmit = false;
  o.tcp.tail_loss_probe = false;
  return o;
}

class TcpScript {
 public:
  explicit TcpScript(const ScriptOptions& o = ScriptOptions{});
  ~TcpScript();
  TcpScript(const TcpScript&) = delete;
  TcpScript& operator=(const TcpScript&) = delete;

  // ---- time
  Instant now() const { return clock_.now(); }
  // One worker iteration at the current time (receive, timers, transmit).
  void run();
  // Moves the clock by `d` in steps of `step`, running the worker after
  // each step. Segments emitted meanwhile are captured with their time.
  void advance(Duration d, Duration step = milliseconds(1));

  // ---- the peer's side
  // Builds the segment (Ethernet, IPv4, TCP, checksums) and delivers it to
  // the stack; runs the worker once.
  void inject(const TcpSeg& s, std::uint16_t peer_port = 0);
  // Delivers a raw Ethernet frame.
  void inject_frame(std::span<const std::byte> frame);
  // The oldest captured segment not yet taken, without moving time.
  std::optional<SentSeg> next_segment();
  // next_segment(), advancing the clock up to `max` until there is one.
  std::optional<SentSeg> wait_segment(Duration max, Duration step = milliseconds(1));
  // wait_segment(within) and compare; a failure (none, or a mismatch) is a
  // test failure at the caller's line, and nullopt.
  std::optional<SentSeg> expect(const Want& w, Duration within = Duration::zero(),
                                SourceLocation loc = SourceLocation::current());
  // Advances `d`; anything the stack sends meanwhile (or had sent and was
  // not taken) is a test failure. True when nothing came.
  bool expect_nothing_for(Duration d, Duration step = milliseconds(1),
                          SourceLocation loc = SourceLocation::current());
  // Forgets captured segments.
  void discard_segments() { captured_.clear(); }
  std::size_t pending_segments() const { return captured_.size(); }

  // ---- connection setup
  // A listener on kServerPort; the peer sends SYN with `syn`, the SYN,ACK
  // is expected (and returned), and the peer's ACK completes the handshake
  // `rtt` later.
  std::optional<SentSeg> accept(const SynOpts& syn = SynOpts{}, std::uint16_t win = 65535,
                                Duration rtt = Duration::zero(),
                                SourceLocation loc = SourceLocation::current());
  void listen();
  TcpListener* listener() { return listener_; }
  // connect() to the peer from kClientPort; the SYN is expected (within
  // 10 ms, for ARP) and returned (the stack's ISN recorded).
  std::optional<SentSeg> open(SourceLocation loc = SourceLocation::current());
  // open(), then the peer's SYN,ACK with `synack`, then the stack's ACK.
  std::optional<SentSeg> connect(const SynOpts& synack = SynOpts{}, std::uint16_t win = 65535,
                                 SourceLocation loc = SourceLocation::current());
  static wire::TcpOptions syn_options(const SynOpts& s, std::uint32_t tsval);

  // ---- the application
  TcpConn* conn() const { return app.conn; }
  // Runs `f` at the current time and then the worker once (to send what
  // the call queued).
  void call(const std::function<void(TcpConn&)>& f);
  // conn()->send(n bytes of a pattern); returns what was taken.
  std::uint32_t send(std::uint32_t n);
  void close();

  // ---- the peer's view of the numbers
  std::uint32_t peer_isn() const { return peer_isn_; }
  std::uint32_t stack_isn() const { return stack_isn_; }
  bool ts_negotiated() const { return peer_ts_ && stack_ts_; }
  // The peer's timestamp clock: 1 per ms of virtual time, from 1000.
  std::uint32_t peer_tsval() const;
  // The last TSval the stack sent.
  std::uint32_t stack_tsval() const { return last_stack_tsval_; }

  Stack& stack() { return *stack_; }
  TcpLayer& tcp() { return stack_->tcp(); }
  std::uint64_t counter(const char* name) { return worker_->counters().value(name); }
  std::uint32_t connections() { return tcp().connections(); }

  Recorder app;
  std::uint16_t local_port = kServerPort;  // the stack's port in the test connection
  std::uint16_t peer_port = kPeerPort;     // the peer's port in the test connection
  std::vector<std::byte> sent;             // what send() gave the stack

 private:
  void collect();
  void handle_frame(std::span<const std::byte> f);

  VirtualClock clock_;
  Instant start_;
  std::unique_ptr<Memlink> link_;
  std::unique_ptr<MbufPool> pool_;       // the stack's
  std::unique_ptr<MbufPool> peer_pool_;  // the injected frames'
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<Stack> stack_;
  MacAddr stack_mac_;
  MacAddr peer_mac_;
  std::uint32_t peer_isn_;
  std::uint32_t mtu_;
  std::uint32_t stack_isn_ = 0;
  bool stack_isn_known_ = false;
  bool peer_ts_ = false;
  bool stack_ts_ = false;
  std::uint32_t last_stack_tsval_ = 0;
  std::uint16_t ip_id_ = 1;
  std::deque<SentSeg> captured_;
  TcpListener* listener_ = nullptr;
};

}  // namespace ustack::testing
