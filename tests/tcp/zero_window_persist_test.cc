// Zero windows: RFC 9293 §3.8.6.1 (zero-window probing) and the receiving
// side of it.
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

// A zero-window probe: one byte of new data at SND.UNA (RFC 9293
// §3.8.6.1: "transmit at least one octet of new data"), or an empty
// segment below it (SEG.SEQ = SND.UNA - 1, as Linux sends), either of which
// the receiver must answer with an ACK carrying its window.
::testing::AssertionResult is_probe(const std::optional<SentSeg>& s, std::uint32_t una) {
  if (!s) return ::testing::AssertionFailure() << "no probe";
  if ((s->seq == una && s->len() == 1) || (s->seq == una - 1 && s->len() == 0))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "not a probe at " << una << ": " << s->str();
}

// Established (RTT 100 ms, RTO 300 ms); 1000 bytes sent and acknowledged
// with a zero window; 500 more queued.
struct ZeroWindow {
  explicit ZeroWindow(const ScriptOptions& o = ScriptOptions{}) : t(o) {
    EXPECT_TRUE(t.accept({}, 65535, milliseconds(100)));
    EXPECT_EQ(t.send(1000), 1000u);
    EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1, .len = 1000}));
    t.inject({.flags = kAck, .seq = 1, .ack = 1001, .win = 0});
    closed_at = t.now();
    rto = t.conn()->rto();
    cwnd = t.conn()->cwnd();
    EXPECT_EQ(t.conn()->send_window(), 0u);
    EXPECT_EQ(t.send(500), 500u);
  }
  TcpScript t;
  Instant closed_at;
  Duration rto{};  // the RTO when the window closed
  std::uint32_t cwnd = 0;
};

// The timer wheel rounds up to its 1 ms tick.
std::int64_t ceil_ms(Duration d) {
  return (d.count() + 999'999) / 1'000'000;
}

// RFC 9293 §3.8.6: the sender sends only within SND.UNA + SND.WND.
TEST(ZeroWindow, NothingIsSentIntoAZeroWindow) {
  ZeroWindow z;
  EXPECT_TRUE(z.t.expect_nothing_for(milliseconds(299)));
}

// RFC 9293 §3.8.6.1: "The transmitting host SHOULD send the first
// zero-window probe when a zero window has existed for the retransmission
// timeout period (SHLD-29) (Section 3.8.1), and SHOULD increase
// exponentially the interval between successive probes (SHLD-30)."
TEST(ZeroWindow, ProbesBackOffExponentially) {
  ZeroWindow z;
  TcpScript& t = z.t;
  Instant prev = z.closed_at;
  for (int i = 0; i < 6; ++i) {
    auto p = t.wait_segment(seconds(30));
    ASSERT_TRUE(is_probe(p, 1001)) << "probe " << i;
    EXPECT_EQ(ms(p->at - prev), ceil_ms(z.rto * (1 << i))) << "probe " << i;
    prev = p->at;
    // "When the receiving TCP peer has a zero window and a segment arrives,
    // it must still send an acknowledgment showing its next expected
    // sequence number and current window (zero)."
    t.inject({.flags = kAck, .seq = 1, .ack = 1001, .win = 0});
  }
  EXPECT_EQ(t.conn()->cwnd(), z.cwnd) << "probes are not losses: cwnd untouched";
  EXPECT_EQ(t.counter("tcp.fast_retransmits"), 0u) << "answers to probes are not duplicates";
}

// RFC 9293 §3.8.6.1: "A TCP implementation MAY keep its offered receive
// window closed indefinitely (MAY-8). As long as the receiving TCP peer
// continues to send acknowledgments in response to the probe segments, the
// sending TCP peer MUST allow the connection to stay open (MUST-37)."
TEST(ZeroWindow, ProbingGoesOnWhileThePeerAnswers) {
  ScriptOptions o;
  o.tcp.user_timeout = seconds(10);
  ZeroWindow z(o);
  TcpScript& t = z.t;
  int probes = 0;
  while (t.now() - z.closed_at < seconds(300)) {
    auto p = t.wait_segment(seconds(61), milliseconds(10));
    ASSERT_TRUE(is_probe(p, 1001));
    ++probes;
    t.inject({.flags = kAck, .seq = 1, .ack = 1001, .win = 0});
  }
  EXPECT_EQ(t.app.closed, 0);
  ASSERT_NE(t.conn(), nullptr);
  EXPECT_EQ(t.conn()->state(), TcpState::kEstablished);
  EXPECT_GE(probes, 9);
  // The interval stops growing at rto_max (60 s).
  auto a = t.wait_segment(seconds(61), milliseconds(10));
  ASSERT_TRUE(is_probe(a, 1001));
  t.inject({.flags = kAck, .seq = 1, .ack = 1001, .win = 0});
  auto b = t.wait_segment(seconds(61), milliseconds(10));
  ASSERT_TRUE(is_probe(b, 1001));
  EXPECT_EQ(ms(b->at - a->at), 60000);
}

// A peer that stops answering is given up on (RFC 9293 §3.8.3).
TEST(ZeroWindow, UnansweredProbesTimeOut) {
  ScriptOptions o;
  o.tcp.user_timeout = seconds(10);
  ZeroWindow z(o);
  TcpScript& t = z.t;
  t.advance(seconds(80), milliseconds(10));
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kTimeout);
  t.discard_segments();
}

// A window update resumes sending at once.
TEST(ZeroWindow, WindowUpdateResumesSending) {
  ZeroWindow z;
  TcpScript& t = z.t;
  t.advance(milliseconds(100));
  t.inject({.flags = kAck, .seq = 1, .ack = 1001, .win = 65535});
  EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1001, .len = 500}));
  EXPECT_TRUE(t.expect_nothing_for(milliseconds(250)));
}

// "This retransmission is essential to guarantee that when either TCP peer
// has a zero window the reopening of the window will be reliably reported
// to the other": the window update is lost, the answer to the next probe
// reports it.
TEST(ZeroWindow, LostWindowUpdateIsRecoveredByAProbe) {
  ZeroWindow z;
  TcpScript& t = z.t;
  auto p = t.wait_segment(seconds(1));
  ASSERT_TRUE(is_probe(p, 1001));
  if (p->len() == 1) {
    // A data probe the peer takes now that its window is open.
    t.inject({.flags = kAck, .seq = 1, .ack = 1002, .win = 65535});
    EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1002, .len = 499}));
  } else {
    t.inject({.flags = kAck, .seq = 1, .ack = 1001, .win = 65535});
    EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1001, .len = 500}));
  }
  EXPECT_TRUE(t.expect_nothing_for(milliseconds(250)));
}

// The receiving side: a full buffer is a zero window, and a probe is
// answered with the window.
TEST(ZeroWindow, FullReceiveBufferAdvertisesZeroAndAnswersProbes) {
  ScriptOptions o;
  o.tcp.recv_buffer = 4000;
  TcpScript t(o);
  ASSERT_TRUE(t.accept());
  t.app.auto_read = false;
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 1460});
  t.inject({.flags = kAck, .seq = 1461, .ack = 1, .len = 1460});
  t.inject({.flags = kAck, .seq = 2921, .ack = 1, .len = 1080});
  std::optional<SentSeg> last;
  while (auto s = t.wait_segment(milliseconds(50))) last = s;
  ASSERT_TRUE(last);
  EXPECT_EQ(last->ack, 4001u);
  EXPECT_EQ(last->win, 0);
  // A one-byte probe beyond the window: not acceptable, ACKed with the
  // window (RFC 9293 §3.10.7.4, first check).
  t.inject({.flags = kAck, .seq = 4001, .ack = 1, .len = 1});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 4001, .win = 0}));
  // An empty probe below it.
  t.inject({.flags = kAck, .seq = 4000, .ack = 1});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 4001, .win = 0}));
  // The application reads: the window opens, and the peer is told at once
  // (it cannot send, so no ACK would carry the news).
  t.call([&](TcpConn& c) { t.app.drain(c); });
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 4001, .win = 4000}));
  EXPECT_EQ(t.app.received, pattern(1, 4000));
}

}  // namespace
}  // namespace ustack::testing
