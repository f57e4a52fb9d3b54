// Closing a connection: RFC 9293 §3.6 (active and passive close, half
// close), §3.10.7.4 (eighth, the FIN bit), TIME-WAIT (§3.4.2, §3.10.8).
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

// RFC 9293 §3.6, case 1 ("the local user initiates the close"): FIN-WAIT-1,
// FIN-WAIT-2 once the FIN is acknowledged, TIME-WAIT on the peer's FIN;
// "Enter the TIME-WAIT state. Start the time-wait timer" (eighth check);
// "If the time-wait timeout expires on a connection, delete the TCB, enter
// the CLOSED state" (§3.10.8) after 2 MSL (MSL 30 s here, as Linux).
TEST(FinTimeWait, ActiveClose) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.close();
  EXPECT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 1}));
  ASSERT_NE(t.conn(), nullptr);
  EXPECT_EQ(t.conn()->state(), TcpState::kFinWait1);
  t.inject({.flags = kAck, .seq = 1, .ack = 2});
  EXPECT_EQ(t.conn()->state(), TcpState::kFinWait2);
  EXPECT_EQ(t.pending_segments(), 0u);
  t.inject({.flags = kFin | kAck, .seq = 1, .ack = 2});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 2, .ack = 2}));
  EXPECT_EQ(t.tcp().count_in_state(TcpState::kTimeWait), 1u);
  EXPECT_EQ(t.app.closed, 1) << "the application is done with it";
  EXPECT_EQ(t.app.reason, TcpCloseReason::kNormal);
  t.advance(seconds(60) - milliseconds(1), milliseconds(10));
  EXPECT_EQ(t.tcp().count_in_state(TcpState::kTimeWait), 1u);
  t.advance(milliseconds(1));
  EXPECT_EQ(t.connections(), 0u) << "2 MSL later";
  EXPECT_EQ(t.pending_segments(), 0u);
}

// RFC 9293 §3.10.7.4, fifth check, TIME-WAIT: "The only thing that can
// arrive in this state is a retransmission of the remote FIN. Acknowledge
// it, and restart the 2 MSL timeout."
TEST(FinTimeWait, RetransmittedFinIsAckedAndRestartsTimeWait) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.close();
  ASSERT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 1}));
  t.inject({.flags = kFin | kAck, .seq = 1, .ack = 2});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 2, .ack = 2}));
  ASSERT_EQ(t.tcp().count_in_state(TcpState::kTimeWait), 1u);
  t.advance(seconds(30), milliseconds(10));
  // Our ACK was lost: the peer sends its FIN again.
  t.inject({.flags = kFin | kAck, .seq = 1, .ack = 2});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 2, .ack = 2}));
  t.advance(seconds(60) - milliseconds(10), milliseconds(10));
  EXPECT_EQ(t.tcp().count_in_state(TcpState::kTimeWait), 1u) << "restarted: 2 MSL from the FIN";
  t.advance(milliseconds(20));
  EXPECT_EQ(t.connections(), 0u);
}

// A FIN that arrives with our FIN's ACK goes straight to TIME-WAIT
// (eighth check, FIN-WAIT-1: "If our FIN has been ACKed (perhaps in this
// segment), then enter TIME-WAIT").
TEST(FinTimeWait, FinAndAckTogetherInFinWait1) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.close();
  ASSERT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 1}));
  t.inject({.flags = kFin | kAck, .seq = 1, .ack = 2});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 2, .ack = 2}));
  EXPECT_EQ(t.tcp().count_in_state(TcpState::kTimeWait), 1u);
}

// RFC 9293 §3.10.4, CLOSE in ESTABLISHED: "Queue this until all preceding
// SENDs have been segmentized, then form a FIN segment and send it." The
// FIN rides on the last data segment.
TEST(FinTimeWait, FinFollowsTheData) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  ASSERT_EQ(t.send(100), 100u);
  ASSERT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1, .len = 100}));
  ASSERT_EQ(t.send(3000), 3000u);
  t.close();
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 101, .len = 1460}));
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1561, .len = 1460}));
  EXPECT_TRUE(t.expect({.flags = kAck | kPsh | kFin, .seq = 3021, .len = 80}))
      << "the tail goes with the FIN";
  t.inject({.flags = kAck, .seq = 1, .ack = 3102});
  EXPECT_EQ(t.conn()->state(), TcpState::kFinWait2);
}

// The FIN is retransmitted like data (RFC 9293 §3.10.8, RETRANSMISSION
// TIMEOUT: "send the segment at the front of the retransmission queue
// again").
TEST(FinTimeWait, LostFinIsRetransmitted) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));  // RTO 300 ms
  t.close();
  auto fin = t.expect({.flags = kFin | kAck, .seq = 1, .ack = 1});
  ASSERT_TRUE(fin);
  auto again = t.expect({.flags = kFin | kAck, .seq = 1, .ack = 1}, seconds(1));
  ASSERT_TRUE(again);
  EXPECT_EQ(ms(again->at - fin->at), 300);
  t.inject({.flags = kAck, .seq = 1, .ack = 2});
  EXPECT_EQ(t.conn()->state(), TcpState::kFinWait2);
}

// RFC 9293 §3.6, case 2 ("TCP receives a FIN from the network"): "If an
// unsolicited FIN arrives from the network, the receiving TCP endpoint can
// ACK it and tell the user that the connection is closing. The user will
// respond with a CLOSE, upon which the TCP endpoint can send a FIN to the
// other TCP peer after sending any remaining data. The TCP endpoint then
// waits until its own FIN is acknowledged whereupon it deletes the
// connection."
TEST(FinTimeWait, PassiveClose) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.inject({.flags = kFin | kAck, .seq = 1, .ack = 1});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 2}));
  EXPECT_EQ(t.app.peer_closed, 1);
  ASSERT_NE(t.conn(), nullptr);
  EXPECT_EQ(t.conn()->state(), TcpState::kCloseWait);
  // Still open for sending (§3.6.1, half-closed).
  ASSERT_EQ(t.send(100), 100u);
  EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1, .ack = 2, .len = 100}));
  t.inject({.flags = kAck, .seq = 2, .ack = 101});
  t.close();
  EXPECT_TRUE(t.expect({.flags = kFin | kAck, .seq = 101, .ack = 2}));
  ASSERT_NE(t.conn(), nullptr);
  EXPECT_EQ(t.conn()->state(), TcpState::kLastAck);
  t.inject({.flags = kAck, .seq = 2, .ack = 102});
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kNormal);
  EXPECT_EQ(t.connections(), 0u) << "no TIME-WAIT on the passive side";
}

// LAST-ACK retransmits its FIN until it is acknowledged.
TEST(FinTimeWait, LastAckRetransmitsFin) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  t.inject({.flags = kFin | kAck, .seq = 1, .ack = 1});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 2}));
  t.close();
  ASSERT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 2}));
  EXPECT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 2}, seconds(1)));
  t.inject({.flags = kAck, .seq = 2, .ack = 2});
  EXPECT_EQ(t.connections(), 0u);
}

// RFC 9293 §3.6.1: "CLOSE means 'I have no more to send' but does not mean
// 'I will not receive any more.'" After a half close the peer's data is
// still delivered in FIN-WAIT-2.
TEST(FinTimeWait, HalfCloseStillReceives) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.call([](TcpConn& c) { c.shutdown_write(); });
  ASSERT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 1}));
  t.inject({.flags = kAck, .seq = 1, .ack = 2});
  ASSERT_EQ(t.conn()->state(), TcpState::kFinWait2);
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 2, .len = 300});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 2, .ack = 301}));
  EXPECT_EQ(t.app.received, pattern(1, 300));
  t.inject({.flags = kFin | kAck, .seq = 301, .ack = 2});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 2, .ack = 302}));
  EXPECT_EQ(t.tcp().count_in_state(TcpState::kTimeWait), 1u);
}

// A FIN beyond a hole waits for it: "further processing is done in SEG.SEQ
// order" (§3.10.7.4, first check).
TEST(FinTimeWait, FinAfterAHoleWaitsForTheHole) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.inject({.flags = kFin | kAck, .seq = 101, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 1}));
  EXPECT_EQ(t.app.peer_closed, 0);
  EXPECT_EQ(t.conn()->state(), TcpState::kEstablished);
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 202}));
  EXPECT_EQ(t.app.received, pattern(1, 200));
  EXPECT_EQ(t.app.peer_closed, 1);
  EXPECT_EQ(t.conn()->state(), TcpState::kCloseWait);
}

}  // namespace
}  // namespace ustack::testing
