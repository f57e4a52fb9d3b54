// Simultaneous close, RFC 9293 §3.6 case 3 and figure 13: both FINs cross,
// each side goes through CLOSING to TIME-WAIT.
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

// Figure 13:
//   2.  FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  ...
//                   <-- <SEQ=300><ACK=100><CTL=FIN,ACK>  <-- FIN-WAIT-1
//   3.  CLOSING     --> <SEQ=101><ACK=301><CTL=ACK>      ...
//   4.  TIME-WAIT   <-- <SEQ=301><ACK=101><CTL=ACK>      <-- CLOSING
// Eighth check, FIN-WAIT-1: "If our FIN has been ACKed (perhaps in this
// segment), then enter TIME-WAIT ...; otherwise, enter the CLOSING state."
// Fifth check, CLOSING: "if the ACK acknowledges our FIN, then enter the
// TIME-WAIT state; otherwise, ignore the segment."
TEST(SimultaneousClose, BothFinsCrossThroughClosing) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.close();
  ASSERT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 1}));
  t.inject({.flags = kFin | kAck, .seq = 1, .ack = 1});  // does not ACK our FIN
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 2, .ack = 2}));
  ASSERT_NE(t.conn(), nullptr);
  EXPECT_EQ(t.conn()->state(), TcpState::kClosing);
  EXPECT_EQ(t.app.peer_closed, 1);
  // An ACK that does not cover our FIN changes nothing.
  t.inject({.flags = kAck, .seq = 2, .ack = 1});
  EXPECT_EQ(t.conn()->state(), TcpState::kClosing);
  t.inject({.flags = kAck, .seq = 2, .ack = 2});
  EXPECT_EQ(t.tcp().count_in_state(TcpState::kTimeWait), 1u);
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kNormal);
  t.advance(seconds(60), milliseconds(10));
  EXPECT_EQ(t.connections(), 0u) << "2 MSL in TIME-WAIT";
  EXPECT_EQ(t.pending_segments(), 0u);
}

// In CLOSING our FIN is still unacknowledged: it is retransmitted on
// timeout until the peer's ACK comes.
TEST(SimultaneousClose, ClosingRetransmitsOurFin) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));  // RTO 300 ms
  t.close();
  auto fin = t.expect({.flags = kFin | kAck, .seq = 1, .ack = 1});
  ASSERT_TRUE(fin);
  t.inject({.flags = kFin | kAck, .seq = 1, .ack = 1});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 2, .ack = 2}));
  ASSERT_EQ(t.conn()->state(), TcpState::kClosing);
  auto again = t.expect({.flags = kFin | kAck, .seq = 1, .ack = 2}, seconds(1));
  ASSERT_TRUE(again);
  EXPECT_EQ(ms(again->at - fin->at), 300);
  t.inject({.flags = kAck, .seq = 2, .ack = 2});
  EXPECT_EQ(t.tcp().count_in_state(TcpState::kTimeWait), 1u);
}

// A full close (close(), not shutdown_write()) cannot deliver what comes
// after it: RFC 1122 §4.2.2.13, "if new data is received after CLOSE is
// called, its TCP SHOULD send a RST to show that data was lost" -- also when
// it rides on the crossing FIN.
TEST(SimultaneousClose, CrossingFinWithDataAfterFullCloseResets) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.close();
  ASSERT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 1}));
  t.inject({.flags = kFin | kAck | kPsh, .seq = 1, .ack = 1, .len = 50});
  EXPECT_TRUE(t.expect({.flags = kRst | kAck, .seq = 2}));
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kAborted);
  EXPECT_EQ(t.connections(), 0u);
}

// A half close (shutdown_write) keeps reading: the crossing FIN with data
// is delivered, and the connection closes through CLOSING.
TEST(SimultaneousClose, HalfClosedSideReadsTheCrossingData) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.call([](TcpConn& c) { c.shutdown_write(); });
  ASSERT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 1}));
  t.inject({.flags = kFin | kAck | kPsh, .seq = 1, .ack = 1, .len = 50});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 2, .ack = 52}));
  EXPECT_EQ(t.app.received, pattern(1, 50));
  ASSERT_NE(t.conn(), nullptr);
  EXPECT_EQ(t.conn()->state(), TcpState::kClosing);
  t.inject({.flags = kAck, .seq = 52, .ack = 2});
  EXPECT_EQ(t.tcp().count_in_state(TcpState::kTimeWait), 1u);
}

}  // namespace
}  // namespace ustack::testing
