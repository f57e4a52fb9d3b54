// Keep-alives, RFC 9293 §3.8.4.
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

ScriptOptions keepalive_on() {
  ScriptOptions o;
  o.tcp.keepalive = true;
  o.tcp.keepalive_idle = seconds(10);
  o.tcp.keepalive_interval = seconds(2);
  o.tcp.keepalive_probes = 3;
  return o;
}

// "Such a segment generally contains SEG.SEQ = SND.NXT-1 and may or may not
// contain one garbage octet of data"; "An implementation SHOULD send a
// keep-alive segment with no data (SHLD-12)".
::testing::AssertionResult is_keepalive(const std::optional<SentSeg>& s) {
  if (!s) return ::testing::AssertionFailure() << "no keep-alive";
  if (s->flags == kAck && s->seq == 0 && s->ack == 1 && s->len() == 0)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "not a keep-alive: " << s->str();
}

// "If keep-alives are included, ... they MUST default to off (MUST-25)."
// And the interval "MUST default to no less than two hours (MUST-28)".
TEST(Keepalive, OffByDefault) {
  EXPECT_FALSE(TcpConfig{}.keepalive);
  EXPECT_GE(TcpConfig{}.keepalive_idle, std::chrono::hours(2));
  TcpScript t;
  ASSERT_TRUE(t.accept());
  EXPECT_TRUE(t.expect_nothing_for(std::chrono::hours(3), seconds(1)));
  EXPECT_EQ(t.app.closed, 0);
}

// "Keep-alive packets MUST only be sent when no sent data is outstanding,
// and no data or acknowledgment packets have been received for the
// connection within an interval (MUST-26). This interval MUST be
// configurable (MUST-27)". An answer makes the connection live again: the
// next probe comes an idle interval after it.
TEST(Keepalive, ProbeAfterIdleAndAnswered) {
  TcpScript t(keepalive_on());
  ASSERT_TRUE(t.accept());
  const Instant t0 = t.now();
  auto p = t.wait_segment(seconds(11));
  ASSERT_TRUE(is_keepalive(p));
  EXPECT_EQ(ms(p->at - t0), 10000);
  t.advance(milliseconds(500));
  t.inject({.flags = kAck, .seq = 1, .ack = 1});  // the answer
  const Instant answered = t.now();
  auto q = t.wait_segment(seconds(11));
  ASSERT_TRUE(is_keepalive(q));
  EXPECT_EQ(ms(q->at - answered), 10000);
  EXPECT_EQ(t.app.closed, 0);
}

// "it MUST NOT interpret failure to respond to any specific probe as a dead
// connection (MUST-29)": keepalive_probes unanswered probes, an interval
// apart, then the connection is given up.
TEST(Keepalive, GivesUpAfterUnansweredProbes) {
  TcpScript t(keepalive_on());
  ASSERT_TRUE(t.accept());
  const Instant t0 = t.now();
  for (int i = 0; i < 3; ++i) {
    auto p = t.wait_segment(seconds(11));
    ASSERT_TRUE(is_keepalive(p)) << i;
    EXPECT_EQ(ms(p->at - t0), 10000 + 2000 * i) << i;
    EXPECT_EQ(t.app.closed, 0);
  }
  t.advance(seconds(2));
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kTimeout);
  EXPECT_EQ(t.connections(), 0u);
}

// Traffic from the peer restarts the idle interval.
TEST(Keepalive, IncomingDataPostponesTheProbe) {
  TcpScript t(keepalive_on());
  ASSERT_TRUE(t.accept());
  t.advance(seconds(5));
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 10});
  const Instant rx = t.now();
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 11}));
  auto p = t.wait_segment(seconds(11));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->seq, 0u);
  EXPECT_EQ(p->ack, 11u);
  EXPECT_EQ(p->len(), 0u);
  EXPECT_EQ(ms(p->at - rx), 10000);
}

// MUST-26 again: "only ... when no sent data is outstanding". With data
// unacknowledged the retransmission timer is in charge (and its user
// timeout, not the keep-alive count, ends the connection).
TEST(Keepalive, NoProbesWhileDataIsOutstanding) {
  ScriptOptions o = keepalive_on();
  o.tcp.keepalive_idle = seconds(2);
  o.tcp.keepalive_interval = seconds(1);
  o.tcp.keepalive_probes = 2;
  TcpScript t(o);
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  ASSERT_EQ(t.send(100), 100u);
  const Instant t0 = t.now();
  while (t.now() - t0 < seconds(20)) {
    if (auto s = t.wait_segment(seconds(1))) {
      EXPECT_EQ(s->len(), 100u) << "only retransmissions: " << s->str();
    }
  }
  EXPECT_EQ(t.app.closed, 0) << "the user timeout (100 s) has not passed";
}

}  // namespace
}  // namespace ustack::testing
