// Receiving data and acknowledging it: RFC 9293 §3.10.7.4 (acceptability,
// segment text), §3.8.6.3 (delayed ACKs), RFC 5681 §4.2 (immediate ACKs
// for out-of-order data and for filled holes).
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

ScriptOptions no_quickack() {
  ScriptOptions o;
  o.tcp.quickack_segments = 0;
  return o;
}

// RFC 9293 §3.10.7.4, seventh: "When the TCP endpoint takes responsibility
// for delivering the data to the user, it must also acknowledge the receipt
// of the data ... <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>".
TEST(DataAck, InOrderDataIsDeliveredAndAcked) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 100});
  // The right edge stays where it was (receiver SWS avoidance, §3.8.6.2.2):
  // the window shrinks by what came in, though the application read it.
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101, .win = 65435}));
  t.inject({.flags = kAck | kPsh, .seq = 101, .ack = 1, .len = 1460});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 1561}));
  EXPECT_EQ(t.app.received, pattern(1, 1560));
}

// Linux-style quick ACKs: the first quickack_segments data segments are
// acknowledged at once (to open the peer's congestion window), then ACKs
// are delayed.
TEST(DataAck, QuickAckAtTheStartThenDelayed) {
  TcpScript t;  // quickack_segments = 16
  ASSERT_TRUE(t.accept());
  std::uint32_t seq = 1;
  for (int i = 0; i < 16; ++i) {
    t.inject({.flags = kAck, .seq = seq, .ack = 1, .len = 100});
    seq += 100;
    ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = seq})) << "segment " << i;
  }
  t.inject({.flags = kAck, .seq = seq, .ack = 1, .len = 100});
  EXPECT_EQ(t.pending_segments(), 0u) << "the 17th segment's ACK is delayed";
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = seq + 100}, milliseconds(40)));
}

// RFC 9293 §3.8.6.3: "A TCP endpoint SHOULD implement a delayed ACK
// (SHLD-18), but an ACK should not be excessively delayed; in particular,
// the delay MUST be less than 0.5 seconds (MUST-40)." Here: 40 ms.
TEST(DataAck, DelayedAckAtMost40Ms) {
  TcpScript t(no_quickack());
  ASSERT_TRUE(t.accept());
  const Instant t0 = t.now();
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect_nothing_for(milliseconds(39)));
  auto ack = t.expect({.flags = kAck, .seq = 1, .ack = 101}, milliseconds(1));
  ASSERT_TRUE(ack);
  EXPECT_EQ(ms(ack->at - t0), 40);
  EXPECT_TRUE(t.expect_nothing_for(seconds(1))) << "one ACK only";
}

// RFC 9293 §3.8.6.3: "An ACK SHOULD be generated for at least every second
// full-sized segment or 2*RMSS bytes of new data (SHLD-19)."
TEST(DataAck, EverySecondFullSegmentIsAckedAtOnce) {
  TcpScript t(no_quickack());
  ASSERT_TRUE(t.accept());
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 1460});
  EXPECT_EQ(t.pending_segments(), 0u);
  t.inject({.flags = kAck, .seq = 1461, .ack = 1, .len = 1460});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 2921}));
  t.inject({.flags = kAck, .seq = 2921, .ack = 1, .len = 1460});
  EXPECT_EQ(t.pending_segments(), 0u);
  t.inject({.flags = kAck, .seq = 4381, .ack = 1, .len = 1460});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 5841}));
}

// RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate duplicate ACK
// when an out-of-order segment arrives." The purpose of this ACK is to
// inform the sender that a segment was received out-of-order and which
// sequence number is expected.
TEST(DataAck, OutOfOrderSegmentGetsImmediateDuplicateAck) {
  TcpScript t(no_quickack());
  ASSERT_TRUE(t.accept());
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 100});
  EXPECT_EQ(t.pending_segments(), 0u);
  t.inject({.flags = kAck, .seq = 201, .ack = 1, .len = 100});  // 101..200 missing
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  t.inject({.flags = kAck, .seq = 301, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  EXPECT_EQ(t.app.received, pattern(1, 100)) << "nothing past the hole is delivered";
}

// RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate ACK when the
// incoming segment fills in all or part of a gap in the sequence space."
TEST(DataAck, FillingAHoleGetsImmediateAck) {
  TcpScript t(no_quickack());
  ASSERT_TRUE(t.accept());
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 100});
  t.inject({.flags = kAck, .seq = 201, .ack = 1, .len = 100});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  t.inject({.flags = kAck, .seq = 401, .ack = 1, .len = 100});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  // Part of the gap: 101..200 fills the first hole.
  t.inject({.flags = kAck, .seq = 101, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 301}));
  // The rest.
  t.inject({.flags = kAck, .seq = 301, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 501}));
  EXPECT_EQ(t.app.received, pattern(1, 500));
}

// RFC 9293 §3.10.7.4, first check: a segment is acceptable if it overlaps
// RCV.NXT .. RCV.NXT+RCV.WND-1; "If an incoming segment is not acceptable,
// an acknowledgment should be sent in reply ... After sending the
// acknowledgment, drop the unacceptable segment and return." RCV.WND is the
// window we advertised.
TEST(DataAck, DataBeyondTheWindowIsAckedAndDropped) {
  ScriptOptions o = no_quickack();
  o.tcp.recv_buffer = 4000;
  TcpScript t(o);
  auto synack = t.accept();
  ASSERT_TRUE(synack);
  EXPECT_EQ(synack->win, 4000);
  t.inject({.flags = kAck, .seq = 4001, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 1, .win = 4000}));
  EXPECT_EQ(t.counter("tcp.drop.unacceptable"), 1u);
  // The window is filled in order; had the segment past it been kept, the
  // ACK would cover it too.
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 1460});
  t.inject({.flags = kAck, .seq = 1461, .ack = 1, .len = 1460});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 2921}));
  t.inject({.flags = kAck, .seq = 2921, .ack = 1, .len = 1080});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 4001}, milliseconds(40)));
  EXPECT_EQ(t.app.received, pattern(1, 4000));
}

// The same with the peer's ISN in the lower half of the sequence space.
TEST(DataAck, DataBeyondTheWindowIsDroppedWhateverTheIsn) {
  for (std::uint32_t isn : {0u, 0x10000000u, 0x7fffff00u, 0x80000000u, 0xfffff000u}) {
    ScriptOptions o = no_quickack();
    o.tcp.recv_buffer = 4000;
    o.peer_isn = isn;
    TcpScript t(o);
    ASSERT_TRUE(t.accept());
    t.inject({.flags = kAck, .seq = 4001, .ack = 1, .len = 100});
    EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 1, .win = 4000})) << "ISN " << isn;
    EXPECT_EQ(t.counter("tcp.drop.unacceptable"), 1u) << "ISN " << isn;
  }
}

// Without window scaling the advertised window stops at 65535, whatever
// the buffer: data beyond what was advertised is outside RCV.WND.
TEST(DataAck, UnscaledWindowIsTheAdvertisedOne) {
  TcpScript t(no_quickack());  // 1 MiB buffer, no window scaling offered
  ASSERT_TRUE(t.accept());
  t.inject({.flags = kAck, .seq = 65536, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 1, .win = 65535}));
  EXPECT_EQ(t.counter("tcp.drop.unacceptable"), 1u);
  // The last byte inside the window is taken (out of order).
  t.inject({.flags = kAck, .seq = 65535, .ack = 1, .len = 1});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 1}));
  EXPECT_EQ(t.counter("tcp.drop.unacceptable"), 1u);
}

// An old duplicate (entirely below RCV.NXT) is not acceptable: ACK at once,
// deliver nothing twice.
TEST(DataAck, DuplicateSegmentIsAckedNotDeliveredTwice) {
  TcpScript t(no_quickack());
  ASSERT_TRUE(t.accept());
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 100});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}, milliseconds(40)));
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  EXPECT_EQ(t.app.received, pattern(1, 100));
}

// "If a segment's contents straddle the boundary between old and new, only
// the new parts are processed."
TEST(DataAck, OverlappingSegmentDeliversOnlyTheNewPart) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 100});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  t.inject({.flags = kAck, .seq = 51, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 151}));
  EXPECT_EQ(t.app.received, pattern(1, 150));
}

// Sequence numbers wrap modulo 2^32 (RFC 9293 §3.4).
TEST(DataAck, SequenceNumbersWrap) {
  ScriptOptions o;
  o.peer_isn = 0xffffff00u;
  TcpScript t(o);
  ASSERT_TRUE(t.accept());
  std::uint32_t seq = 1;
  for (int i = 0; i < 4; ++i) {
    t.inject({.flags = kAck, .seq = seq, .ack = 1, .len = 100});
    seq += 100;
    auto a = t.expect({.flags = kAck, .seq = 1, .ack = seq});
    ASSERT_TRUE(a);
    EXPECT_EQ(a->raw_ack, 0xffffff00u + seq);
  }
  EXPECT_EQ(t.app.received, pattern(1, 400));
}

// RFC 9293 §3.10.7.4, fifth: "If SND.UNA =< SEG.ACK =< SND.NXT, the send
// window should be updated. If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
// SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND". An ACK below SND.UNA (a
// reordered older one) carries a window relative to an older left edge and
// must not update it, even with newer data.
TEST(DataAck, OlderAckDoesNotUpdateTheSendWindow) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  t.call([](TcpConn& c) { c.set_nodelay(true); });
  ASSERT_EQ(t.send(2000), 2000u);
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .len = 1460}));
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1461, .len = 540}));
  t.inject({.flags = kAck, .seq = 1, .ack = 2001, .win = 10000});
  EXPECT_EQ(t.conn()->send_window(), 10000u);
  // A segment with a newer sequence number (SND.WL1 < SEG.SEQ) but an ACK
  // from before SND.UNA.
  t.inject({.flags = kAck, .seq = 101, .ack = 1461, .win = 5000, .len = 100});
  EXPECT_EQ(t.conn()->send_window(), 10000u);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 2001, .ack = 1})) << "out of order: ACK at once";
  t.inject({.flags = kAck, .seq = 1, .ack = 2001, .win = 10000, .len = 100});
  EXPECT_EQ(t.app.received, pattern(1, 200)) << "its data is still taken";
}

// RFC 9293 §3.10.7.4: the ACK "should be piggybacked on a segment being
// transmitted if possible without incurring undue delay": data sent while
// an ACK is delayed carries it, and the delayed ACK is not sent on its own.
TEST(DataAck, DelayedAckRidesOnData) {
  TcpScript t(no_quickack());
  ASSERT_TRUE(t.accept());
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 100});
  EXPECT_EQ(t.pending_segments(), 0u);
  t.advance(milliseconds(10));
  ASSERT_EQ(t.send(50), 50u);
  EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1, .ack = 101, .len = 50}));
  t.inject({.flags = kAck, .seq = 101, .ack = 51});
  EXPECT_TRUE(t.expect_nothing_for(milliseconds(100)));
}

}  // namespace
}  // namespace ustack::testing
