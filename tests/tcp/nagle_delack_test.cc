// The Nagle algorithm (RFC 9293 §3.7.4, RFC 896) and how it meets delayed
// ACKs (§3.8.6.3).
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

// RFC 9293 §3.7.4: "If there is unacknowledged data (i.e., SND.NXT >
// SND.UNA), then the sending TCP endpoint buffers all user data (regardless
// of the PSH bit) until the outstanding data has been acknowledged or until
// the TCP endpoint can send a full-sized segment (Eff.snd.MSS bytes)."
TEST(Nagle, SmallSegmentsWaitForTheAck) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));  // RTO 300 ms
  ASSERT_EQ(t.send(100), 100u);
  EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1, .len = 100})) << "nothing outstanding";
  ASSERT_EQ(t.send(100), 100u);
  ASSERT_EQ(t.send(100), 100u);
  EXPECT_TRUE(t.expect_nothing_for(milliseconds(250)));
  t.inject({.flags = kAck, .seq = 1, .ack = 101});
  auto s = t.expect({.flags = kAck | kPsh, .seq = 101, .len = 200});
  ASSERT_TRUE(s) << "coalesced";
  EXPECT_EQ(s->payload, pattern(101, 200));
}

// "... or until the TCP endpoint can send a full-sized segment".
TEST(Nagle, FullSegmentsGoDespiteUnackedData) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  ASSERT_EQ(t.send(100), 100u);
  ASSERT_TRUE(t.expect({.seq = 1, .len = 100}));
  ASSERT_EQ(t.send(3000), 3000u);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 101, .len = 1460}));
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1561, .len = 1460}));
  EXPECT_TRUE(t.expect_nothing_for(milliseconds(250))) << "the 80-byte tail waits";
  t.inject({.flags = kAck, .seq = 1, .ack = 3021});
  EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 3021, .len = 80}));
}

// "A TCP implementation SHOULD implement the Nagle algorithm to coalesce
// short segments (SHLD-7). However, there MUST be a way for an application
// to disable the Nagle algorithm on an individual connection (MUST-17)."
TEST(Nagle, NodelaySendsAtOnce) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  t.call([](TcpConn& c) { c.set_nodelay(true); });
  for (std::uint32_t i = 0; i < 3; ++i) {
    ASSERT_EQ(t.send(100), 100u);
    EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1 + 100 * i, .len = 100}));
  }
}

// The stack-wide default can turn it off too.
TEST(Nagle, OffByConfiguration) {
  ScriptOptions o;
  o.tcp.nagle = false;
  TcpScript t(o);
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  for (std::uint32_t i = 0; i < 3; ++i) {
    ASSERT_EQ(t.send(100), 100u);
    EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1 + 100 * i, .len = 100}));
  }
}

// The ACK that releases Nagle-held data often brings data of its own: the
// held segment carries the acknowledgment (§3.10.7.4: the ACK "should be
// piggybacked on a segment being transmitted if possible"), and no delayed
// ACK follows.
TEST(Nagle, ReleasedSegmentCarriesTheAck) {
  ScriptOptions o;
  o.tcp.quickack_segments = 0;
  TcpScript t(o);
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  ASSERT_EQ(t.send(100), 100u);
  ASSERT_TRUE(t.expect({.seq = 1, .len = 100}));
  ASSERT_EQ(t.send(50), 50u);
  EXPECT_EQ(t.pending_segments(), 0u);
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 101, .len = 10});
  EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 101, .ack = 11, .len = 50}));
  EXPECT_TRUE(t.expect_nothing_for(milliseconds(100)));
}

// Delayed ACKs do not hold our own data: with an ACK pending (40 ms) and
// nothing outstanding, a small write goes at once and takes the ACK along.
TEST(DelayedAck, PendingAckDoesNotDelayData) {
  ScriptOptions o;
  o.tcp.quickack_segments = 0;
  TcpScript t(o);
  ASSERT_TRUE(t.accept());
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 10});
  EXPECT_EQ(t.pending_segments(), 0u);
  ASSERT_EQ(t.send(20), 20u);
  EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1, .ack = 11, .len = 20}));
}

// RFC 9293 §3.8.6.3: "the delay MUST be less than 0.5 seconds (MUST-40)":
// the delayed-ACK timer runs from the first unacknowledged segment; what
// arrives meanwhile without data (a pure ACK, a window update) does not
// push it back.
TEST(DelayedAck, TimerIsNotPushedBack) {
  ScriptOptions o;
  o.tcp.quickack_segments = 0;
  TcpScript t(o);
  ASSERT_TRUE(t.accept());
  const Instant t0 = t.now();
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 10});
  t.advance(milliseconds(20));
  t.inject({.flags = kAck, .seq = 11, .ack = 1});
  t.advance(milliseconds(10));
  t.inject({.flags = kAck, .seq = 11, .ack = 1, .win = 30000});
  auto a = t.expect({.flags = kAck, .seq = 1, .ack = 11}, milliseconds(40));
  ASSERT_TRUE(a);
  EXPECT_EQ(ms(a->at - t0), 40);
}

}  // namespace
}  // namespace ustack::testing
