// Resets and blind-attack defenses: RFC 5961 §3 (RST), §4 (SYN), §5 (ACK),
// as RFC 9293 §3.10.7.4 takes them in; RST in the closing states.
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

// Established, with 100 bytes received (RCV.NXT = 101) and a receive
// window of 65535 - 100 (no window scaling).
struct Conn {
  Conn() {
    EXPECT_TRUE(t.accept());
    t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 100});
    EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  }
  TcpScript t;
};

// RFC 5961 §3.2: "3) If the RST bit is set and the sequence number does not
// exactly match the next expected sequence value, yet is within the current
// receive window, TCP endpoints MUST send an acknowledgment (challenge
// ACK): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. After sending the challenge
// ACK, TCP endpoints MUST drop the unacceptable segment".
TEST(RstRules, InWindowRstGetsAChallengeAck) {
  Conn c;
  TcpScript& t = c.t;
  t.inject({.flags = kRst, .seq = 102});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  t.inject({.flags = kRst | kAck, .seq = 5000, .ack = 1});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  EXPECT_EQ(t.app.closed, 0);
  ASSERT_NE(t.conn(), nullptr);
  EXPECT_EQ(t.conn()->state(), TcpState::kEstablished);
  EXPECT_EQ(t.counter("tcp.tx.challenge_ack"), 2u);
}

// "2) If the RST bit is set and the sequence number exactly matches the
// next expected sequence number (RCV.NXT), then TCP endpoints MUST reset
// the connection"; ESTABLISHED: "Users should also receive an unsolicited
// general 'connection reset' signal. Enter the CLOSED state".
TEST(RstRules, ExactRstResets) {
  Conn c;
  TcpScript& t = c.t;
  t.inject({.flags = kRst, .seq = 101});
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kReset);
  EXPECT_EQ(t.connections(), 0u);
  EXPECT_EQ(t.pending_segments(), 0u) << "RFC 9293: no RST answers a RST";
}

// "1) If the RST bit is set and the sequence number is outside the current
// receive window, silently drop the segment."
TEST(RstRules, OutOfWindowRstIsIgnored) {
  Conn c;
  TcpScript& t = c.t;
  t.inject({.flags = kRst, .seq = 101 + 65435});  // just past the window
  t.inject({.flags = kRst, .seq = 100});          // just before RCV.NXT
  t.inject({.flags = kRst, .seq = 0x80000000u});
  EXPECT_EQ(t.pending_segments(), 0u);
  EXPECT_EQ(t.app.closed, 0);
  EXPECT_EQ(t.conn()->state(), TcpState::kEstablished);
  // The last byte of the window is in it.
  t.inject({.flags = kRst, .seq = 101 + 65434});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
}

// RFC 5961 §4.2: "If the SYN bit is set, irrespective of the sequence
// number, TCP MUST send an ACK (also referred to as challenge ACK) to the
// remote peer: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. After sending the
// acknowledgment, TCP MUST drop the unacceptable segment and stop
// processing further."
TEST(RstRules, SynInEstablishedGetsAChallengeAck) {
  Conn c;
  TcpScript& t = c.t;
  for (std::uint32_t seq : {101u, 200u, 50u, 0x90000000u}) {
    t.inject({.flags = kSyn, .seq = seq, .opts = TcpScript::syn_options({}, 0)});
    EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101})) << "SYN at " << seq;
  }
  t.inject({.flags = kSyn | kAck, .seq = 101, .ack = 1, .len = 10});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101})) << "its data is not taken";
  EXPECT_EQ(t.app.closed, 0);
  EXPECT_EQ(t.conn()->state(), TcpState::kEstablished);
  EXPECT_EQ(t.app.received, pattern(1, 100));
}

// RFC 5961 §5.2: "the ACK value is acceptable only if it is in the range of
// ((SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT). All incoming segments
// whose ACK value doesn't satisfy the above condition MUST be discarded and
// an ACK sent back."
TEST(RstRules, UnacceptableAckIsDiscardedAndAcked) {
  Conn c;
  TcpScript& t = c.t;
  t.inject({.flags = kAck | kPsh, .seq = 101, .ack = 1000, .len = 10});  // acks unsent data
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  t.inject({.flags = kAck | kPsh, .seq = 101, .ack = 1u - 70000u, .len = 10});  // too old
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  EXPECT_EQ(t.app.received, pattern(1, 100)) << "neither segment's data is taken";
  // Within MAX.SND.WND below SND.UNA: an old but acceptable ACK.
  t.inject({.flags = kAck | kPsh, .seq = 101, .ack = 1u - 1000u, .len = 10});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 111}));
}

// RFC 9293 §3.10.7.4, second check: "CLOSE-WAIT STATE: If the RST bit is
// set, then any outstanding RECEIVEs and SEND should receive 'reset'
// responses ... Enter the CLOSED state".
TEST(RstRules, RstInCloseWait) {
  Conn c;
  TcpScript& t = c.t;
  t.inject({.flags = kFin | kAck, .seq = 101, .ack = 1});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 102}));
  ASSERT_EQ(t.conn()->state(), TcpState::kCloseWait);
  t.inject({.flags = kRst, .seq = 102});
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kReset);
  EXPECT_EQ(t.connections(), 0u);
}

// FIN-WAIT-2 likewise.
TEST(RstRules, RstInFinWait2) {
  Conn c;
  TcpScript& t = c.t;
  t.call([](TcpConn& conn) { conn.shutdown_write(); });
  ASSERT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 101}));
  t.inject({.flags = kAck, .seq = 101, .ack = 2});
  ASSERT_EQ(t.conn()->state(), TcpState::kFinWait2);
  t.inject({.flags = kRst, .seq = 101});
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kReset);
  EXPECT_EQ(t.connections(), 0u);
}

// RFC 9293 §3.10.7.4, second check: "CLOSING STATE, LAST-ACK STATE,
// TIME-WAIT STATE: If the RST bit is set, then enter the CLOSED state,
// delete the TCB, and return." (With RFC 5961: at RCV.NXT exactly.)
TEST(RstRules, RstEndsTimeWait) {
  Conn c;
  TcpScript& t = c.t;
  t.close();
  ASSERT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 101}));
  t.inject({.flags = kFin | kAck, .seq = 101, .ack = 2});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 2, .ack = 102}));
  ASSERT_EQ(t.tcp().count_in_state(TcpState::kTimeWait), 1u);
  t.inject({.flags = kRst, .seq = 5000});  // in the window, not exact
  EXPECT_EQ(t.tcp().count_in_state(TcpState::kTimeWait), 1u);
  t.discard_segments();
  t.inject({.flags = kRst, .seq = 102});
  EXPECT_EQ(t.connections(), 0u);
  EXPECT_EQ(t.app.closed, 1) << "on_closed came once, at TIME-WAIT";
}

// LAST-ACK: the exact RST ends it too.
TEST(RstRules, RstInLastAck) {
  Conn c;
  TcpScript& t = c.t;
  t.inject({.flags = kFin | kAck, .seq = 101, .ack = 1});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 102}));
  t.close();
  ASSERT_TRUE(t.expect({.flags = kFin | kAck, .seq = 1, .ack = 102}));
  t.inject({.flags = kRst, .seq = 102});
  EXPECT_EQ(t.connections(), 0u);
  EXPECT_EQ(t.app.closed, 1);
}

// With a zero receive window only an RST at exactly RCV.NXT is acceptable
// (RFC 9293 table 6: length 0, window 0: "SEG.SEQ = RCV.NXT").
TEST(RstRules, ZeroWindowAcceptsOnlyTheExactRst) {
  ScriptOptions o;
  o.tcp.recv_buffer = 2000;
  TcpScript t(o);
  ASSERT_TRUE(t.accept());
  t.app.auto_read = false;
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 1000});
  t.inject({.flags = kAck, .seq = 1001, .ack = 1, .len = 1000});
  t.discard_segments();
  t.inject({.flags = kRst, .seq = 2002});
  EXPECT_EQ(t.pending_segments(), 0u) << "outside a zero window: silently dropped";
  EXPECT_EQ(t.app.closed, 0);
  t.inject({.flags = kRst, .seq = 2001});
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kReset);
}

}  // namespace
}  // namespace ustack::testing
