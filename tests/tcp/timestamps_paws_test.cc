// Timestamps and PAWS, RFC 7323 §3, §4.3 and §5.
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

wire::TcpTimestamps ts(std::uint32_t val, std::uint32_t ecr) {
  return {val, ecr};
}

// RFC 7323 §3.2: "The Timestamp Echo Reply field (TSecr) is only valid if
// the ACK bit is set in the TCP header ... it echoes a timestamp value that
// was sent by the remote TCP in the TSval field of a Timestamps option."
// TSval is a clock: "The timestamp value to be sent in TSval is to be
// obtained from a (virtual) clock" (§5.4), here one tick per millisecond.
TEST(TimestampsPaws, TsvalIsEchoedAndOurClockTicks) {
  TcpScript t;
  auto synack = t.accept({.ts = true});
  ASSERT_TRUE(synack);
  const std::uint32_t synack_tsval = synack->tsval();
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 10, .ts = ts(5000, synack_tsval)});
  auto a = t.expect({.flags = kAck, .seq = 1, .ack = 11});
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->opts.timestamps);
  EXPECT_EQ(a->tsecr(), 5000u);
  EXPECT_EQ(a->tsval(), synack_tsval) << "no time passed";
  t.advance(milliseconds(100));
  t.inject({.flags = kAck | kPsh, .seq = 11, .ack = 1, .len = 10, .ts = ts(5100, a->tsval())});
  auto b = t.expect({.flags = kAck, .seq = 1, .ack = 21});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->tsecr(), 5100u);
  EXPECT_EQ(b->tsval() - a->tsval(), 100u);
}

// RFC 7323 §3.2: "Once TSopt has been successfully negotiated, that is both
// <SYN> and <SYN,ACK> contain TSopt, the TSopt MUST be sent in every
// non-<RST> segment for the duration of the connection".
TEST(TimestampsPaws, EverySegmentCarriesTimestampsOnceNegotiated) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.ts = true}));
  ASSERT_TRUE(t.ts_negotiated());
  ASSERT_EQ(t.send(3000), 3000u);
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 3001, .len = 10});
  t.close();
  t.inject({.flags = kAck | kFin, .seq = 11, .ack = 3002});
  int n = 0;
  while (auto s = t.next_segment()) {
    ++n;
    EXPECT_TRUE(s->opts.timestamps) << s->str();
  }
  EXPECT_GE(n, 4) << "data, ACK, FIN, ACK of the FIN";
}

// RFC 7323 §3.2: "If a TSopt is received in a <SYN> ... [and not otherwise,]
// ... a TCP ... MUST NOT send a TSopt" on the connection: no option in any
// segment when the SYN had none.
TEST(TimestampsPaws, NoTimestampsUnlessTheSynOfferedThem) {
  TcpScript t;
  auto synack = t.accept({.mss = 1460});
  ASSERT_TRUE(synack);
  EXPECT_FALSE(synack->opts.timestamps);
  ASSERT_EQ(t.send(3000), 3000u);
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 3001, .len = 10});
  t.close();
  while (auto s = t.next_segment()) EXPECT_FALSE(s->opts.timestamps) << s->str();
  EXPECT_FALSE(t.conn() != nullptr && t.conn()->timestamps_on());
}

// RFC 7323 §5.3, R1: "If there is a Timestamps option in the arriving
// segment, SEG.TSval < TS.Recent, TS.Recent is valid (see later
// discussion), and the RST bit is not set, then treat the arriving segment
// as not acceptable: Send an acknowledgment in reply as specified in
// [RFC793], page 69 and drop the segment."
TEST(TimestampsPaws, OlderTsvalIsDroppedAndAcked) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.ts = true}));
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 100, .ts = ts(5000, 0)});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  t.inject({.flags = kAck | kPsh, .seq = 101, .ack = 1, .len = 100, .ts = ts(4999, 0)});
  auto a = t.expect({.flags = kAck, .seq = 1, .ack = 101});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->tsecr(), 5000u) << "TS.Recent is unchanged";
  EXPECT_EQ(t.app.received, pattern(1, 100)) << "the old segment's data is dropped";
  EXPECT_EQ(t.counter("tcp.drop.paws"), 1u);
  // An equal TSval passes (R1 drops only SEG.TSval < TS.Recent).
  t.inject({.flags = kAck | kPsh, .seq = 101, .ack = 1, .len = 100, .ts = ts(5000, 0)});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 201}));
}

// R1 does not apply to RST: "and the RST bit is not set".
TEST(TimestampsPaws, RstIsNotSubjectToPaws) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.ts = true}));
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 10, .ts = ts(5000, 0)});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 11}));
  t.inject({.flags = kRst, .seq = 11, .ts = ts(10, 0)});
  EXPECT_EQ(t.app.closed, 1);
  EXPECT_EQ(t.app.reason, TcpCloseReason::kReset);
}

// TSval comparisons are modulo 2^32 (RFC 7323 §5.2: "TSval ... compared ...
// using 32-bit modular arithmetic").
TEST(TimestampsPaws, TsvalWrapsAround) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.ts = true}));
  // TS.Recent is 1000 (the SYN's): each step is less than 2^31 ahead.
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 10, .ts = ts(0x7ffff000u, 0)});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 11}));
  t.inject({.flags = kAck, .seq = 11, .ack = 1, .len = 10, .ts = ts(0xf0000000u, 0)});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 21}));
  t.inject({.flags = kAck, .seq = 21, .ack = 1, .len = 10, .ts = ts(0x10, 0)});
  auto a = t.expect({.flags = kAck, .seq = 1, .ack = 31});
  ASSERT_TRUE(a) << "0x10 is newer than 0xfffffff0";
  EXPECT_EQ(a->tsecr(), 0x10u);
}

// RFC 7323 §4.3: "(2) If: SEG.TSval >= TS.Recent and SEG.SEQ <=
// Last.ACK.sent then SEG.TSval is copied to TS.Recent; otherwise, it is
// ignored." Case (A), delayed ACKs: "<A, TSval=1> ... <B, TSval=2> ...
// <ACK(B), TSecr=1>": the ACK echoes the earliest unacknowledged segment.
TEST(TimestampsPaws, DelayedAckEchoesTheEarliestSegment) {
  ScriptOptions o;
  o.tcp.quickack_segments = 0;
  TcpScript t(o);
  ASSERT_TRUE(t.accept({.ts = true}));
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 1448, .ts = ts(2100, 0)});
  EXPECT_EQ(t.pending_segments(), 0u);
  t.inject({.flags = kAck, .seq = 1449, .ack = 1, .len = 1448, .ts = ts(2200, 0)});
  auto a = t.expect({.flags = kAck, .seq = 1, .ack = 2897});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->tsecr(), 2100u);
  // The next segment starts at Last.ACK.sent: its TSval is taken.
  t.inject({.flags = kAck, .seq = 2897, .ack = 1, .len = 100, .ts = ts(2300, 0)});
  a = t.expect({.flags = kAck, .seq = 1, .ack = 2997}, milliseconds(40));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->tsecr(), 2300u);
}

// RFC 7323 §4.3, case (B), a hole: "An ACK for an out-of-order segment
// should therefore contain the timestamp from the most recent segment that
// advanced RCV.NXT"; case (C), the hole filled: the segment that fills it
// "represents the RTT ... its timestamp" is echoed (<ACK(C), TSecr=2>).
TEST(TimestampsPaws, HoleEchoesTheLastInOrderSegmentThenTheFiller) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.ts = true}));
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 100, .ts = ts(2100, 0)});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  t.inject({.flags = kAck, .seq = 201, .ack = 1, .len = 100, .ts = ts(2300, 0)});
  auto a = t.expect({.flags = kAck, .seq = 1, .ack = 101});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->tsecr(), 2100u) << "not the out-of-order segment's";
  t.inject({.flags = kAck, .seq = 101, .ack = 1, .len = 100, .ts = ts(2400, 0)});
  a = t.expect({.flags = kAck, .seq = 1, .ack = 301});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->tsecr(), 2400u) << "the segment that filled the hole";
}

// RFC 7323 §5.5: "If a connection remains idle for more than 24 days ...
// TS.Recent ... [is] invalid", so PAWS does not drop a segment after such
// a gap even if its TSval looks old.
TEST(TimestampsPaws, TsRecentExpiresAfter24Days) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.ts = true}));
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 10, .ts = ts(0x70000000u, 0)});
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 11}));
  t.advance(std::chrono::hours(24 * 24 + 1), std::chrono::hours(1));
  t.inject({.flags = kAck, .seq = 11, .ack = 1, .len = 10, .ts = ts(5, 0)});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 21}));
  EXPECT_EQ(t.counter("tcp.drop.paws"), 0u);
}

}  // namespace
}  // namespace ustack::testing
