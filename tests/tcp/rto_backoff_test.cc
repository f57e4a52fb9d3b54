// The retransmission timer, RFC 6298; what a timeout does to the
// congestion window, RFC 5681 §3.1; giving up, RFC 9293 §3.8.3.
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

using std::chrono::microseconds;

// RFC 6298 §2.1: "Until a round-trip time (RTT) measurement has been made
// for a segment sent between the sender and receiver, the sender SHOULD set
// RTO <- 1 second". The first segment is the SYN.
TEST(RtoBackoff, InitialRtoIsOneSecond) {
  TcpScript t;
  auto syn = t.open();
  ASSERT_TRUE(syn);
  EXPECT_EQ(ms(t.conn()->rto()), 1000);
  auto again = t.expect({.flags = kSyn, .seq = 0}, seconds(2));
  ASSERT_TRUE(again);
  EXPECT_EQ(ms(again->at - syn->at), 1000);
}

// RFC 6298 §2.2: "When the first RTT measurement R is made, the host MUST
// set SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max (G, K*RTTVAR) where K =
// 4." The handshake gives the first measurement: 100 ms, so RTO = 300 ms.
TEST(RtoBackoff, FirstMeasurementSetsRto) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  EXPECT_EQ(ms(t.conn()->srtt()), 100);
  EXPECT_EQ(ms(t.conn()->rto()), 300);
}

// RFC 6298 §5.4: "Retransmit the earliest segment that has not been
// acknowledged"; §5.5: "The host MUST set RTO <- RTO * 2 ('back off the
// timer')"; §5.6: "Start the retransmission timer, such that it expires
// after RTO seconds".
TEST(RtoBackoff, RetransmissionsBackOffExponentially) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  ASSERT_EQ(t.send(100), 100u);
  auto first = t.expect({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 100});
  ASSERT_TRUE(first);
  std::int64_t at = 0;
  for (int i = 0; i < 6; ++i) {
    at += 300 << i;
    auto again = t.expect({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 100}, seconds(30));
    ASSERT_TRUE(again) << "retransmission " << i + 1;
    EXPECT_EQ(ms(again->at - first->at), at) << "retransmission " << i + 1;
    EXPECT_EQ(again->payload, pattern(1, 100));
  }
  EXPECT_EQ(t.conn()->retransmits(), 6u);
  // An ACK ends it.
  t.inject({.flags = kAck, .seq = 1, .ack = 101});
  EXPECT_TRUE(t.expect_nothing_for(seconds(60), milliseconds(10)));
}

// RFC 6298 §2.4: "Whenever RTO is computed, if it is less than 1 second,
// then the RTO SHOULD be rounded up to 1 second." Like Linux the stack
// rounds up to rto_min, 200 ms by default (tcp_config.h).
TEST(RtoBackoff, MinimumRto) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(10)));
  EXPECT_EQ(ms(t.conn()->rto()), 200) << "10 ms + 4 * 5 ms = 30 ms, rounded up";
  ASSERT_EQ(t.send(100), 100u);
  auto first = t.expect({.flags = kAck | kPsh, .seq = 1, .len = 100});
  ASSERT_TRUE(first);
  auto again = t.expect({.flags = kAck | kPsh, .seq = 1, .len = 100}, seconds(1));
  ASSERT_TRUE(again);
  EXPECT_EQ(ms(again->at - first->at), 200);
}

// RFC 6298 §2.5: "A maximum value MAY be placed on RTO provided it is at
// least 60 seconds." The backed-off timer stops growing at rto_max = 60 s.
TEST(RtoBackoff, BackoffStopsAtRtoMax) {
  ScriptOptions o;
  o.tcp.user_timeout = seconds(600);
  TcpScript t(o);
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  ASSERT_EQ(t.send(100), 100u);
  auto prev = t.expect({.flags = kAck | kPsh, .seq = 1, .len = 100});
  ASSERT_TRUE(prev);
  for (int i = 0; i < 10; ++i) {
    auto again = t.expect({.flags = kAck | kPsh, .seq = 1, .len = 100}, seconds(61));
    ASSERT_TRUE(again);
    EXPECT_EQ(ms(again->at - prev->at), std::min<std::int64_t>(300 << i, 60000)) << i;
    prev = again;
  }
}

// RFC 6298 §2.3: "When a subsequent RTT measurement R' is made, a host MUST
// set RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|, SRTT <- (1 -
// alpha) * SRTT + alpha * R'" (alpha 1/8, beta 1/4). A first measurement
// of 0 ms (the handshake ACK comes back at once) is still the first: the
// next one is smoothed into it, not taken as a new first.
TEST(RtoBackoff, SecondMeasurementIsSmoothed) {
  TcpScript t;
  ASSERT_TRUE(t.accept());  // R = 0: SRTT 0, RTTVAR 0, RTO 200 ms (the floor)
  ASSERT_EQ(t.send(100), 100u);
  ASSERT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1, .len = 100}));
  t.advance(milliseconds(150));
  t.inject({.flags = kAck, .seq = 1, .ack = 101});  // R' = 150 ms
  // RTTVAR = 3/4 * 0 + 1/4 * 150 = 37.5 ms; SRTT = 7/8 * 0 + 1/8 * 150 = 18.75 ms.
  EXPECT_EQ(t.conn()->srtt().count(), Duration(microseconds(18750)).count());
  EXPECT_EQ(ms(t.conn()->rto()), 200) << "18.75 + 4 * 37.5 ms = 168.75 ms, rounded up";
}

// RFC 6298 §3: "RTT samples MUST NOT be made using segments that were
// retransmitted"; §5, after 5.7: "once a new RTT measurement is obtained
// (which can only happen when new data has been sent and acknowledged),
// the computations outlined in Section 2 are performed, including the
// computation of RTO, which may result in 'collapsing' RTO back down after
// it has been doubled." Until then the backed-off RTO stays: the timer
// restarted by the ACK of the retransmission (§5.3, "for the current value
// of RTO") runs 600 ms, not 300.
TEST(RtoBackoff, KarnNoSampleFromRetransmissionAndBackoffKept) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));  // RTO 300 ms
  ASSERT_EQ(t.send(2920), 2920u);
  auto s1 = t.expect({.flags = kAck, .seq = 1, .len = 1460});
  ASSERT_TRUE(s1);
  ASSERT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1461, .len = 1460}));
  // The timeout: only the first segment goes again (cwnd is one segment).
  auto r1 = t.expect({.flags = kAck, .seq = 1, .len = 1460}, milliseconds(300));
  ASSERT_TRUE(r1);
  EXPECT_EQ(ms(r1->at - s1->at), 300);
  EXPECT_TRUE(t.expect_nothing_for(milliseconds(50)));
  // Its ACK: ambiguous, no sample; the second segment goes again.
  t.inject({.flags = kAck, .seq = 1, .ack = 1461});
  const Instant acked = t.now();
  EXPECT_EQ(ms(t.conn()->srtt()), 100) << "no RTT sample from a retransmitted segment";
  ASSERT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1461, .len = 1460}));
  auto r2 = t.expect({.flags = kAck | kPsh, .seq = 1461, .len = 1460}, seconds(2));
  ASSERT_TRUE(r2);
  EXPECT_EQ(ms(r2->at - acked), 600) << "the backed-off RTO, still";
}

// With timestamps the ACK of a retransmission is a valid sample (RFC 6298
// §3: "The only case when TCP can safely take RTT samples from
// retransmitted segments is when the TCP timestamp option is employed"):
// it collapses the RTO.
TEST(RtoBackoff, TimestampSampleCollapsesBackedOffRto) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.ts = true}, 65535, milliseconds(100)));  // RTO 300 ms
  ASSERT_EQ(t.send(2896), 2896u);
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .len = 1448}));
  ASSERT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1449, .len = 1448}));
  auto r1 = t.expect({.flags = kAck, .seq = 1, .len = 1448}, milliseconds(300));
  ASSERT_TRUE(r1);
  t.advance(milliseconds(100));
  t.inject({.flags = kAck, .seq = 1, .ack = 1449, .ts = wire::TcpTimestamps{2000, r1->tsval()}});
  const Instant acked = t.now();
  EXPECT_EQ(ms(t.conn()->srtt()), 100);
  ASSERT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1449, .len = 1448}));
  auto r2 = t.expect({.flags = kAck | kPsh, .seq = 1449, .len = 1448}, seconds(2));
  ASSERT_TRUE(r2);
  EXPECT_EQ(ms(r2->at - acked), ms(t.conn()->rto()));
  EXPECT_LE(ms(t.conn()->rto()), 300);
}

// RFC 5681 §3.1: on a timeout "ssthresh = max (FlightSize / 2, 2*SMSS)"
// (4) and "cwnd [is set] to no more than the loss window, LW, which equals
// 1 full-sized segment"; then slow start.
TEST(RtoBackoff, TimeoutResetsTheCongestionWindow) {
  TcpScript t{newreno()};
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  EXPECT_EQ(t.conn()->cwnd(), 14600u) << "RFC 6928: min(10*MSS, max(2*MSS, 14600))";
  ASSERT_EQ(t.send(14600), 14600u);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(t.expect({.seq = 1 + 1460u * i, .len = 1460}));
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .len = 1460}, milliseconds(300)));
  EXPECT_EQ(t.conn()->ssthresh(), 7300u);
  EXPECT_EQ(t.conn()->cwnd(), 1460u);
  EXPECT_TRUE(t.expect_nothing_for(milliseconds(100))) << "one segment only";
  t.inject({.flags = kAck, .seq = 1, .ack = 1461});
  EXPECT_EQ(t.conn()->cwnd(), 2920u);
  EXPECT_TRUE(t.expect({.seq = 1461, .len = 1460}));
  EXPECT_TRUE(t.expect({.seq = 2921, .len = 1460}));
  EXPECT_EQ(t.pending_segments(), 0u);
}

// RFC 9293 §3.8.3: the connection is given up after R2 ("The value of R2
// SHOULD correspond to at least 100 seconds"), here the user timeout, and
// the application hears of it (§3.10.8, USER TIMEOUT: "signal the user
// 'error: connection aborted due to user timeout'").
TEST(RtoBackoff, GivesUpAfterUserTimeout) {
  ScriptOptions o;
  o.tcp.user_timeout = seconds(10);
  TcpScript t(o);
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  ASSERT_EQ(t.send(100), 100u);
  auto first = t.expect({.flags = kAck | kPsh, .seq = 1, .len = 100});
  ASSERT_TRUE(first);
  Instant last = first->at;
  while (t.app.closed == 0 && t.now() - first->at < seconds(30)) {
    if (auto s = t.wait_segment(milliseconds(100))) last = s->at;
  }
  ASSERT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kTimeout);
  EXPECT_EQ(t.connections(), 0u);
  const Instant closed = t.now();
  EXPECT_GE(closed - first->at, seconds(10)) << "not before the user timeout";
  EXPECT_LE(closed - last, milliseconds(9600)) << "at the first timeout after it";
  EXPECT_TRUE(t.expect_nothing_for(seconds(10), milliseconds(10)));
}

// Before any RTT sample, RFC 6298 §5.7: "If the timer expires awaiting the
// ACK of a SYN segment and the TCP implementation is using an RTO less than
// 3 seconds, the RTO MUST be re-initialized to 3 seconds when data
// transmission begins (i.e., after the three-way handshake completes)."
TEST(RtoBackoff, ThreeSecondsAfterALostSyn) {
  TcpScript t;
  ASSERT_TRUE(t.open());
  ASSERT_TRUE(t.expect({.flags = kSyn, .seq = 0}, seconds(1)));
  t.inject({.flags = kSyn | kAck, .seq = 0, .ack = 1, .opts = TcpScript::syn_options({}, 0)});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 1}));
  ASSERT_EQ(t.send(100), 100u);
  auto first = t.expect({.flags = kAck | kPsh, .seq = 1, .len = 100});
  ASSERT_TRUE(first);
  auto again = t.expect({.flags = kAck | kPsh, .seq = 1, .len = 100}, seconds(4));
  ASSERT_TRUE(again);
  EXPECT_EQ(ms(again->at - first->at), 3000);
}

}  // namespace
}  // namespace ustack::testing
