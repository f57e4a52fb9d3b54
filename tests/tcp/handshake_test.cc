// Connection establishment: RFC 9293 §3.5 and §3.10.7.1-3, the options of
// RFC 7323 and RFC 2018 in SYN and SYN,ACK, RFC 6298's SYN timer.
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

// RFC 7323 §2.2: "If a Window Scale option was received in the initial
// <SYN> segment, then this option MAY be sent in the <SYN,ACK> segment."
// §3.2: a TCP "MAY send a TSopt in <SYN,ACK> only if it received a TSopt in
// the initial <SYN> segment". RFC 2018 §2: SACK-permitted is sent in a SYN
// and "MUST NOT be sent on non-SYN segments". The window field of a SYN
// "MUST NOT be scaled" (RFC 7323 §2.2).
TEST(Handshake, SynAckOffersWhatTheSynOffered) {
  TcpScript t;
  auto synack = t.accept({.mss = 1400, .wscale = 7, .sack_ok = true, .ts = true});
  ASSERT_TRUE(synack);
  EXPECT_EQ(synack->opts.mss, 1460) << "our MSS: MTU 1500 - 40";
  EXPECT_EQ(synack->opts.window_scale, 5) << "1 MiB buffer needs a shift of 5";
  EXPECT_TRUE(synack->opts.sack_permitted);
  ASSERT_TRUE(synack->opts.timestamps);
  EXPECT_EQ(synack->tsecr(), 1000u) << "echoes the SYN's TSval";
  EXPECT_EQ(synack->win, 65535) << "a SYN's window is never scaled";
  TcpConn* c = t.conn();
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->timestamps_on());
  EXPECT_TRUE(c->sack_permitted());
  EXPECT_EQ(c->send_wscale(), 7);
  EXPECT_EQ(c->recv_wscale(), 5);
  // RFC 6691 §2 / RFC 9293 §3.7.1: the segment size is the peer's MSS less
  // the options carried in every segment (12 bytes of timestamps).
  EXPECT_EQ(c->mss(), 1400u - 12u);
}

TEST(Handshake, SynAckCarriesOnlyMssWhenTheSynHadNothingElse) {
  TcpScript t;
  auto synack = t.accept({.mss = 1460});
  ASSERT_TRUE(synack);
  EXPECT_EQ(synack->opts.mss, 1460);
  EXPECT_FALSE(synack->opts.window_scale);
  EXPECT_FALSE(synack->opts.sack_permitted);
  EXPECT_FALSE(synack->opts.timestamps);
  TcpConn* c = t.conn();
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->timestamps_on());
  EXPECT_FALSE(c->sack_permitted());
  EXPECT_EQ(c->send_wscale(), 0);
  EXPECT_EQ(c->recv_wscale(), 0);
  EXPECT_EQ(c->mss(), 1460u);
}

// RFC 9293 §3.7.1: "If an MSS Option is not received at connection setup,
// TCP implementations MUST assume a default send MSS of 536 (576 - 40) for
// IPv4" (MUST-15).
TEST(Handshake, NoMssOptionMeans536) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.mss = std::nullopt}));
  EXPECT_EQ(t.conn()->mss(), 536u);
  t.call([](TcpConn& c) { c.set_nodelay(true); });
  EXPECT_EQ(t.send(1000), 1000u);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 1, .len = 536}));
  EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 537, .ack = 1, .len = 464}));
}

// The MSS we announce is what our MTU allows (RFC 9293 §3.7.1: "the MTU
// minus the fixed IP and TCP headers").
TEST(Handshake, AnnouncedMssFollowsTheMtu) {
  TcpScript t({.mtu = 9000});
  auto synack = t.accept({.mss = 8960});
  ASSERT_TRUE(synack);
  EXPECT_EQ(synack->opts.mss, 8960);
}

// RFC 6298 §2.1: "Until a round-trip time (RTT) measurement has been made
// for a segment sent between the sender and receiver, the sender SHOULD set
// RTO <- 1 second"; §5.5: "The host MUST set RTO <- RTO * 2 ('back off the
// timer')". The SYN,ACK is retransmitted at 1, 3, 7, 15 ... s.
TEST(Handshake, LostSynAckIsRetransmittedWithBackoff) {
  TcpScript t;
  t.listen();
  t.inject({.flags = kSyn, .seq = 0, .opts = TcpScript::syn_options({}, 0)});
  auto first = t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1});
  ASSERT_TRUE(first);
  const Instant t0 = first->at;
  std::int64_t expected_ms = 0;
  for (int i = 0; i < 6; ++i) {
    expected_ms += 1000 << i;
    auto again = t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}, seconds(100));
    ASSERT_TRUE(again) << "retransmission " << i + 1;
    EXPECT_EQ(ms(again->at - t0), expected_ms) << "retransmission " << i + 1;
  }
  // After the last retry the half-open connection is dropped quietly: the
  // application never heard of it, and the listener is free again.
  EXPECT_TRUE(t.expect_nothing_for(seconds(64), milliseconds(10)));
  EXPECT_EQ(t.connections(), 0u);
  EXPECT_EQ(t.app.accepted, 0);
  EXPECT_EQ(t.app.closed, 0);
}

// The handshake completes when the ACK finally comes.
TEST(Handshake, LateAckAfterSynAckRetransmissionEstablishes) {
  TcpScript t;
  t.listen();
  t.inject({.flags = kSyn, .seq = 0, .opts = TcpScript::syn_options({}, 0)});
  ASSERT_TRUE(t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}));
  ASSERT_TRUE(t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}, seconds(2)));
  t.inject({.flags = kAck, .seq = 1, .ack = 1});
  EXPECT_EQ(t.app.accepted, 1);
  ASSERT_NE(t.conn(), nullptr);
  EXPECT_EQ(t.conn()->state(), TcpState::kEstablished);
  // RFC 6298 §5.7: "If the timer expires awaiting the ACK of a SYN segment
  // and the TCP implementation is using an RTO less than 3 seconds, the RTO
  // MUST be re-initialized to 3 seconds when data transmission begins".
  EXPECT_EQ(ms(t.conn()->rto()), 3000);
}

// Closing a listener resets the connections it has half opened (they
// point to it), and the handshake's ACK that comes later finds nothing.
TEST(Handshake, ClosingAListenerResetsItsHalfOpenConnections) {
  TcpScript t;
  t.listen();
  t.inject({.flags = kSyn, .seq = 0, .opts = TcpScript::syn_options({}, 0)});
  ASSERT_TRUE(t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}));
  ASSERT_NE(t.listener(), nullptr);
  ASSERT_EQ(t.listener()->pending(), 1u);
  t.listener()->close();
  t.run();  // the worker flushes what close() queued
  EXPECT_TRUE(t.expect({.flags = kRst | kAck, .seq = 1, .ack = 1}));
  t.inject({.flags = kAck, .seq = 1, .ack = 1});
  EXPECT_TRUE(t.expect({.flags = kRst, .seq = 1}));
  EXPECT_EQ(t.app.accepted, 0);
  EXPECT_TRUE(t.expect_nothing_for(seconds(5))) << "no SYN,ACK retransmission";
}

// A retransmitted SYN in SYN-RECEIVED means our SYN,ACK was lost: it is
// sent again at once.
TEST(Handshake, RetransmittedSynIsAnsweredWithSynAck) {
  TcpScript t;
  t.listen();
  t.inject({.flags = kSyn, .seq = 0, .opts = TcpScript::syn_options({}, 0)});
  ASSERT_TRUE(t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}));
  t.inject({.flags = kSyn, .seq = 0, .opts = TcpScript::syn_options({}, 0)});
  EXPECT_TRUE(t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}));
  EXPECT_EQ(t.connections(), 1u);
}

// The script answers ARP: with the peer's address unknown, the SYN waits
// for the resolution and then goes.
TEST(Handshake, ScriptAnswersArp) {
  TcpScript t;
  t.stack().arp().cache().clear();
  ASSERT_EQ(t.stack().arp().cache().peek(kPeerAddr), nullptr);
  ASSERT_TRUE(t.connect());
  EXPECT_NE(t.stack().arp().cache().peek(kPeerAddr), nullptr);
}

// The SYN timer of an active open: 1 s, then doubling (RFC 6298 §2.1,
// §5.5); "An attempt to open a TCP connection could fail with excessive
// retransmissions of the SYN segment" (RFC 9293 §3.8.3): after
// syn_retries, on_closed(kTimeout).
TEST(Handshake, LostSynIsRetransmittedWithBackoffThenGivesUp) {
  TcpScript t;
  auto syn = t.open();
  ASSERT_TRUE(syn);
  EXPECT_EQ(syn->opts.mss, 1460);
  EXPECT_EQ(syn->opts.window_scale, 5);
  EXPECT_TRUE(syn->opts.sack_permitted);
  EXPECT_TRUE(syn->opts.timestamps);
  EXPECT_EQ(syn->tsecr(), 0u) << "RFC 7323 §3.2: TSecr of a SYN is 0";
  EXPECT_EQ(syn->win, 65535);
  std::int64_t expected_ms = 0;
  for (int i = 0; i < 6; ++i) {
    expected_ms += 1000 << i;
    auto again = t.expect({.flags = kSyn, .seq = 0}, seconds(100));
    ASSERT_TRUE(again);
    EXPECT_EQ(ms(again->at - syn->at), expected_ms) << "retransmission " << i + 1;
  }
  EXPECT_EQ(t.app.closed, 0);
  t.advance(seconds(64), milliseconds(10));
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kTimeout);
  EXPECT_EQ(t.connections(), 0u);
}

TEST(Handshake, ActiveOpenWithRetransmittedSynStillConnects) {
  TcpScript t;
  ASSERT_TRUE(t.open());
  ASSERT_TRUE(t.expect({.flags = kSyn, .seq = 0}, seconds(1)));
  t.inject(
      {.flags = kSyn | kAck, .seq = 0, .ack = 1, .opts = TcpScript::syn_options({.mss = 1460}, 0)});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 1}));
  EXPECT_EQ(t.app.connected, 1);
  // RFC 6298 §5.7 again, on the active side.
  EXPECT_EQ(ms(t.conn()->rto()), 3000);
}

// RFC 9293 §3.5, figure 7 (simultaneous initiation): both sides send SYN;
// each, in SYN-RECEIVED, receives the other's SYN,ACK and is ESTABLISHED:
//   3.  SYN-RECEIVED <-- <SEQ=300><CTL=SYN>              <-- SYN-SENT
//   5.  SYN-RECEIVED --> <SEQ=100><ACK=301><CTL=SYN,ACK> ...
//   6.  ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED
// (A SYN,ACK answered with another SYN,ACK would loop between two such
// stacks.)
TEST(Handshake, SimultaneousOpen) {
  TcpScript t;
  ASSERT_TRUE(t.open());
  t.inject({.flags = kSyn, .seq = 0, .opts = TcpScript::syn_options({.mss = 1460}, 0)});
  EXPECT_EQ(t.conn()->state(), TcpState::kSynReceived);
  auto synack = t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1});
  ASSERT_TRUE(synack);
  EXPECT_EQ(synack->opts.mss, 1460);
  EXPECT_FALSE(synack->opts.timestamps) << "the peer's SYN did not offer timestamps";
  EXPECT_FALSE(synack->opts.window_scale);
  t.inject(
      {.flags = kSyn | kAck, .seq = 0, .ack = 1, .opts = TcpScript::syn_options({.mss = 1460}, 0)});
  ASSERT_NE(t.conn(), nullptr);
  EXPECT_EQ(t.conn()->state(), TcpState::kEstablished);
  EXPECT_EQ(t.app.connected, 1);
  // Nothing but (at most) an ACK in answer.
  if (auto s = t.next_segment()) {
    EXPECT_EQ(s->flags, kAck) << s->str();
  }
  // Data flows.
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 10});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 11}));
  EXPECT_EQ(t.app.received, pattern(1, 10));
}

// RFC 9293 §3.10.7.3, SYN-SENT, second check: "If the ACK was acceptable,
// then signal to the user 'error: connection reset', drop the segment,
// enter CLOSED state, delete TCB, and return."
TEST(Handshake, RstWithAcceptableAckInSynSentRefuses) {
  TcpScript t;
  ASSERT_TRUE(t.open());
  t.inject({.flags = kRst | kAck, .seq = 0, .ack = 1});
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kRefused);
  EXPECT_EQ(t.connections(), 0u);
  EXPECT_TRUE(t.expect_nothing_for(seconds(2)));
}

// "Otherwise (no ACK), drop the segment and return."
TEST(Handshake, RstWithoutAckInSynSentIsIgnored) {
  TcpScript t;
  ASSERT_TRUE(t.open());
  t.inject({.flags = kRst, .seq = 0});
  EXPECT_EQ(t.app.closed, 0);
  EXPECT_EQ(t.conn()->state(), TcpState::kSynSent);
  EXPECT_TRUE(t.expect({.flags = kSyn, .seq = 0}, seconds(1))) << "the SYN timer still runs";
}

// First check in SYN-SENT: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a
// reset (unless the RST bit is set, if so drop the segment and return)
// <SEQ=SEG.ACK><CTL=RST>".
TEST(Handshake, RstWithUnacceptableAckInSynSentIsDropped) {
  TcpScript t;
  ASSERT_TRUE(t.open());
  t.inject({.flags = kRst | kAck, .seq = 0, .ack = 1000});
  EXPECT_EQ(t.app.closed, 0);
  EXPECT_EQ(t.conn()->state(), TcpState::kSynSent);
  EXPECT_EQ(t.pending_segments(), 0u) << "no RST answers a RST";
}

TEST(Handshake, SynAckWithUnacceptableAckInSynSentGetsRst) {
  TcpScript t;
  ASSERT_TRUE(t.open());
  t.inject({.flags = kSyn | kAck, .seq = 0, .ack = 1000, .opts = TcpScript::syn_options({}, 0)});
  auto rst = t.expect({.flags = kRst, .seq = 1000});
  ASSERT_TRUE(rst);
  EXPECT_EQ(t.conn()->state(), TcpState::kSynSent);
  t.inject({.flags = kSyn | kAck, .seq = 0, .ack = 0, .opts = TcpScript::syn_options({}, 0)});
  EXPECT_TRUE(t.expect({.flags = kRst, .seq = 0})) << "SEG.ACK =< ISS";
  EXPECT_EQ(t.conn()->state(), TcpState::kSynSent);
}

// RFC 9293 §3.10.7.2, LISTEN: "Any acknowledgment is bad if it arrives on a
// connection still in the LISTEN state. An acceptable reset segment should
// be formed for any arriving ACK-bearing segment ... <SEQ=SEG.ACK><CTL=RST>".
TEST(Handshake, AckToListenerIsAnsweredByRst) {
  TcpScript t;
  t.listen();
  t.inject({.flags = kAck, .seq = 5, .ack = 0x12345678, .absolute = true});
  auto rst = t.expect({.flags = kRst});
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->raw_seq, 0x12345678u);
  EXPECT_EQ(t.connections(), 0u);
  // "An incoming RST should be ignored."
  t.inject({.flags = kRst, .seq = 5, .absolute = true});
  EXPECT_EQ(t.pending_segments(), 0u);
  // "Fourth, other data or control ... Drop the segment and return."
  t.inject({.flags = kFin, .seq = 5, .absolute = true});
  EXPECT_EQ(t.pending_segments(), 0u);
  EXPECT_EQ(t.connections(), 0u);
}

// RFC 9293 §3.10.7.1, CLOSED: "If the ACK bit is off, sequence number zero
// is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"; "If the ACK bit is
// on, <SEQ=SEG.ACK><CTL=RST>"; "An incoming segment containing a RST is
// discarded."
TEST(Handshake, SegmentsToAClosedPortAreReset) {
  TcpScript t;
  t.inject({.flags = kSyn, .seq = 100, .len = 20, .absolute = true});
  auto rst = t.expect({.flags = kRst | kAck});
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->raw_seq, 0u);
  EXPECT_EQ(rst->raw_ack, 100u + 1u + 20u) << "SEG.SEQ + SEG.LEN (SYN and data)";
  t.inject({.flags = kAck, .seq = 100, .ack = 777, .absolute = true});
  rst = t.expect({.flags = kRst});
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->raw_seq, 777u);
  t.inject({.flags = kRst | kAck, .seq = 100, .ack = 777, .absolute = true});
  EXPECT_EQ(t.pending_segments(), 0u);
  EXPECT_EQ(t.counter("tcp.tx.rst"), 2u);
}

// RFC 9293 §3.10.7.4, fifth check, SYN-RECEIVED: "If the segment
// acknowledgment is not acceptable, form a reset segment
// <SEQ=SEG.ACK><CTL=RST> and send it."
TEST(Handshake, BadAckInSynReceivedGetsRst) {
  TcpScript t;
  t.listen();
  t.inject({.flags = kSyn, .seq = 0, .opts = TcpScript::syn_options({}, 0)});
  ASSERT_TRUE(t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}));
  t.inject({.flags = kAck, .seq = 1, .ack = 500});
  EXPECT_TRUE(t.expect({.flags = kRst, .seq = 500}));
  EXPECT_EQ(t.app.accepted, 0);
  // The right ACK still completes the handshake.
  t.inject({.flags = kAck, .seq = 1, .ack = 1});
  EXPECT_EQ(t.app.accepted, 1);
}

// RFC 9293 §3.10.7.4, second check, SYN-RECEIVED: "If this connection was
// initiated with a passive OPEN (i.e., came from the LISTEN state), then
// return this connection to LISTEN state and return. The user need not be
// informed."
TEST(Handshake, RstInSynReceivedReturnsToListen) {
  TcpScript t;
  t.listen();
  t.inject({.flags = kSyn, .seq = 0, .opts = TcpScript::syn_options({}, 0)});
  ASSERT_TRUE(t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}));
  t.inject({.flags = kRst, .seq = 1});
  EXPECT_EQ(t.connections(), 0u);
  EXPECT_EQ(t.app.accepted, 0);
  EXPECT_EQ(t.app.closed, 0);
  EXPECT_TRUE(t.expect_nothing_for(seconds(3))) << "no SYN,ACK retransmission";
  // The listener takes a new connection.
  ASSERT_TRUE(t.accept());
}

// Data on the third segment of the handshake is delivered (RFC 9293
// §3.10.7.4: after the ACK establishes the connection, processing
// "continue[s]" with the segment text).
TEST(Handshake, DataOnTheHandshakeAck) {
  TcpScript t;
  t.listen();
  t.inject({.flags = kSyn, .seq = 0, .opts = TcpScript::syn_options({}, 0)});
  ASSERT_TRUE(t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}));
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 100});
  EXPECT_EQ(t.app.accepted, 1);
  EXPECT_EQ(t.app.received, pattern(1, 100));
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
}

}  // namespace
}  // namespace ustack::testing
