// Fast retransmit and fast recovery: RFC 5681 §3.2 and NewReno, RFC 6582
// §3.2; slow start and congestion avoidance, RFC 5681 §3.1.
//
// The peer's MSS is 1000 (no timestamps), so SMSS = 1000 and the initial
// window is 10 segments (RFC 6928: min(10*MSS, max(2*MSS, 14600))).
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

constexpr std::uint32_t kMss = 1000;

// Established with the peer's MSS 1000 and an RTT of 100 ms (RTO 300 ms);
// `bytes` queued, the first 10 segments sent and taken. RFC 5681's steps
// alone (limited transmit has its own tests below).
struct Sender {
  explicit Sender(std::uint32_t bytes, const ScriptOptions& o = rfc5681()) : t(o) {
    EXPECT_TRUE(t.accept({.mss = kMss}, 65535, milliseconds(100)));
    EXPECT_EQ(t.conn()->cwnd(), 10 * kMss);
    EXPECT_EQ(t.send(bytes), bytes);
    for (std::uint32_t i = 0; i < 10; ++i)
      EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1 + i * kMss, .len = kMss}));
    EXPECT_EQ(t.pending_segments(), 0u);
  }
  void dupack(std::uint32_t ack, std::uint16_t win = 65535) {
    t.inject({.flags = kAck, .seq = 1, .ack = ack, .win = win});
  }
  TcpScript t;
};

// RFC 5681 §3.2: "2. When the third duplicate ACK is received, a TCP MUST
// set ssthresh to no more than the value given in equation (4) [max
// (FlightSize / 2, 2*SMSS)]" "3. The lost segment starting at SND.UNA MUST
// be retransmitted and cwnd set to ssthresh plus 3*SMSS." "4. For each
// additional duplicate ACK received (after the third), cwnd MUST be
// incremented by SMSS." "5. When previously unsent data is available and
// the new value of cwnd and the receiver's advertised window allow, a TCP
// SHOULD send 1*SMSS bytes of previously unsent data."
TEST(FastRetransmit, ThirdDuplicateAckRetransmits) {
  Sender s(20 * kMss);
  TcpScript& t = s.t;
  s.dupack(1);
  s.dupack(1);
  EXPECT_EQ(t.pending_segments(), 0u) << "two duplicates are not enough";
  s.dupack(1);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .len = kMss}));
  EXPECT_EQ(t.conn()->ssthresh(), 5 * kMss) << "FlightSize 10000 / 2";
  EXPECT_EQ(t.conn()->cwnd(), 8 * kMss) << "ssthresh + 3*SMSS";
  EXPECT_EQ(t.counter("tcp.fast_retransmits"), 1u);
  s.dupack(1);
  EXPECT_EQ(t.conn()->cwnd(), 9 * kMss);
  s.dupack(1);
  EXPECT_EQ(t.conn()->cwnd(), 10 * kMss);
  EXPECT_EQ(t.pending_segments(), 0u) << "cwnd == FlightSize: nothing new yet";
  s.dupack(1);
  EXPECT_EQ(t.conn()->cwnd(), 11 * kMss);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 10001, .len = kMss})) << "new data";
  EXPECT_EQ(t.pending_segments(), 0u);
}

// RFC 6582 §3.2, step 3, full acknowledgment: "If this ACK acknowledges all
// of the data up to and including recover, then the ACK acknowledges all
// the intermediate segments sent between the original transmission of the
// lost segment and the receipt of the third duplicate ACK. Set cwnd to
// either (1) min (ssthresh, max(FlightSize, SMSS) + SMSS) or (2) ssthresh
// ... Exit the fast recovery procedure." The stack takes (1).
TEST(FastRetransmit, FullAckExitsRecovery) {
  Sender s(20 * kMss);
  TcpScript& t = s.t;
  for (int i = 0; i < 3; ++i) s.dupack(1);
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .len = kMss}));
  t.inject({.flags = kAck, .seq = 1, .ack = 10001});  // recover = 10001
  // FlightSize 0: cwnd = min(5000, 1000 + 1000).
  EXPECT_EQ(t.conn()->cwnd(), 2 * kMss);
  EXPECT_EQ(t.conn()->ssthresh(), 5 * kMss);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 10001, .len = kMss}));
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 11001, .len = kMss}));
  EXPECT_EQ(t.pending_segments(), 0u);
  // Out of recovery: three more duplicates start a new one.
  for (int i = 0; i < 3; ++i) s.dupack(10001);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 10001, .len = kMss}));
  EXPECT_EQ(t.counter("tcp.fast_retransmits"), 2u);
}

// RFC 6582 §3.2, step 3, partial acknowledgment: "If this ACK does *not*
// acknowledge all of the data up to and including recover, then this is a
// partial ACK. In this case, retransmit the first unacknowledged segment.
// Deflate the congestion window by the amount of new data acknowledged by
// the Cumulative Acknowledgment field. If the partial ACK acknowledges at
// least one SMSS of new data, then add back SMSS bytes to the congestion
// window. ... Do not exit the fast recovery procedure".
TEST(FastRetransmit, PartialAckRetransmitsTheNextHole) {
  Sender s(20 * kMss);
  TcpScript& t = s.t;
  // Segments 1 and 5 (seq 1 and 4001) were lost.
  for (int i = 0; i < 3; ++i) s.dupack(1);
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .len = kMss}));
  EXPECT_EQ(t.conn()->cwnd(), 8 * kMss);
  t.inject({.flags = kAck, .seq = 1, .ack = 4001});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 4001, .len = kMss})) << "the next hole, at once";
  EXPECT_EQ(t.conn()->cwnd(), 8 * kMss - 4 * kMss + kMss);
  EXPECT_EQ(t.pending_segments(), 0u) << "cwnd allows nothing new";
  EXPECT_EQ(t.counter("tcp.fast_retransmits"), 1u) << "still the same recovery";
  // More duplicates inflate the window again (step 4).
  s.dupack(4001);
  EXPECT_EQ(t.conn()->cwnd(), 6 * kMss);
  // The full ACK.
  t.inject({.flags = kAck, .seq = 1, .ack = 10001});
  EXPECT_EQ(t.conn()->cwnd(), 2 * kMss);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 10001, .len = kMss}));
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 11001, .len = kMss}));
}

// The same step: a partial ACK of less than one SMSS adds nothing back.
TEST(FastRetransmit, PartialAckOfLessThanOneSegmentAddsNothingBack) {
  Sender s(20 * kMss);
  TcpScript& t = s.t;
  for (int i = 0; i < 3; ++i) s.dupack(1);
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .len = kMss}));
  t.inject({.flags = kAck, .seq = 1, .ack = 501});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 501, .len = kMss}));
  EXPECT_EQ(t.conn()->cwnd(), 8 * kMss - 500);
}

// RFC 5681 §2, DUPLICATE ACKNOWLEDGMENT: "(a) the receiver of the ACK has
// outstanding data, (b) the incoming acknowledgment carries no data, (c)
// the SYN and FIN bits are both off, (d) the acknowledgment number is equal
// to the greatest acknowledgment received on the given connection (TCP.UNA
// from [RFC793]) and (e) the advertised window in the incoming
// acknowledgment equals the advertised window in the last incoming
// acknowledgment."
TEST(FastRetransmit, OnlyTrueDuplicatesCount) {
  Sender s(20 * kMss);
  TcpScript& t = s.t;
  // (e): each changes the window.
  s.dupack(1, 60000);
  s.dupack(1, 59000);
  s.dupack(1, 58000);
  // (b): each carries data.
  for (std::uint32_t i = 0; i < 3; ++i)
    t.inject({.flags = kAck, .seq = 1 + 10 * i, .ack = 1, .win = 58000, .len = 10});
  while (auto seg = t.next_segment()) EXPECT_EQ(seg->len(), 0u) << seg->str();
  EXPECT_EQ(t.counter("tcp.fast_retransmits"), 0u);
  // Three true duplicates.
  for (int i = 0; i < 3; ++i) t.inject({.flags = kAck, .seq = 31, .ack = 1, .win = 58000});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .len = kMss}));
  EXPECT_EQ(t.counter("tcp.fast_retransmits"), 1u);
}

// (a): with nothing outstanding, repeated ACKs are not duplicates.
TEST(FastRetransmit, NoDuplicatesWithoutOutstandingData) {
  TcpScript t{newreno()};
  ASSERT_TRUE(t.accept({.mss = kMss}));
  ASSERT_EQ(t.send(kMss), kMss);
  ASSERT_TRUE(t.expect({.seq = 1, .len = kMss}));
  t.inject({.flags = kAck, .seq = 1, .ack = 1 + kMss});
  for (int i = 0; i < 5; ++i) t.inject({.flags = kAck, .seq = 1, .ack = 1 + kMss});
  EXPECT_TRUE(t.expect_nothing_for(seconds(1)));
  EXPECT_EQ(t.counter("tcp.fast_retransmits"), 0u);
}

// RFC 6582 §3.2: "4) Retransmit timeouts: After a retransmit timeout,
// record the highest sequence number transmitted in the variable recover";
// "1) Three duplicate ACKs: When the third duplicate ACK is received, the
// TCP sender first checks the value of recover to see if the Cumulative
// Acknowledgment field covers more than recover. ... If not, the TCP does
// not enter fast retransmit and does not reset ssthresh." Duplicates of
// data sent before a timeout (late segments, go-back-N copies) must not
// halve the window a second time.
TEST(FastRetransmit, NoFastRetransmitForDataSentBeforeATimeout) {
  Sender s(20 * kMss);
  TcpScript& t = s.t;
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .len = kMss}, milliseconds(300)));  // RTO
  EXPECT_EQ(t.conn()->ssthresh(), 5 * kMss);
  for (int i = 0; i < 4; ++i) s.dupack(1);
  EXPECT_EQ(t.pending_segments(), 0u);
  EXPECT_EQ(t.counter("tcp.fast_retransmits"), 0u);
  EXPECT_EQ(t.conn()->ssthresh(), 5 * kMss);
  // Everything up to recover acknowledged: losses after it are fast
  // retransmitted again.
  t.inject({.flags = kAck, .seq = 1, .ack = 10001});
  t.discard_segments();
  const std::uint32_t una = 10001;
  for (int i = 0; i < 3; ++i) s.dupack(una);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = una, .len = kMss}));
  EXPECT_EQ(t.counter("tcp.fast_retransmits"), 1u);
}

// RFC 5681 §3.1: "During slow start, a TCP increments cwnd by at most SMSS
// bytes for each ACK received that cumulatively acknowledges new data" --
// cwnd += min (N, SMSS) (2) -- "[RFC3465] allows for cwnd increases of more
// than SMSS bytes for incoming acknowledgments during slow start on an
// experimental basis; however, such behavior is not allowed as part of the
// standard."
TEST(SlowStart, AtMostOneSegmentPerAck) {
  Sender s(40 * kMss);
  TcpScript& t = s.t;
  t.inject({.flags = kAck, .seq = 1, .ack = 1 + 2 * kMss});  // delayed ACK: two segments
  EXPECT_EQ(t.conn()->cwnd(), 11 * kMss);
  t.inject({.flags = kAck, .seq = 1, .ack = 1 + 2 * kMss + 500});  // half a segment
  EXPECT_EQ(t.conn()->cwnd(), 11 * kMss + 500);
}

// RFC 5681 §3.1: "The slow start algorithm is used when cwnd < ssthresh,
// while the congestion avoidance algorithm is used when cwnd > ssthresh";
// in congestion avoidance cwnd grows by about one SMSS per RTT -- "the
// RECOMMENDED way to increase cwnd during congestion avoidance is to count
// the number of bytes that have been acknowledged by ACKs for new data ...
// When the number of bytes acknowledged reaches cwnd, then cwnd can be
// incremented by up to SMSS bytes."
TEST(SlowStart, CongestionAvoidanceAboveSsthresh) {
  Sender s(100 * kMss);
  TcpScript& t = s.t;
  for (int i = 0; i < 3; ++i) s.dupack(1);
  ASSERT_TRUE(t.expect({.flags = kAck, .seq = 1, .len = kMss}));
  t.inject({.flags = kAck, .seq = 1, .ack = 10001});  // cwnd 2000, ssthresh 5000
  ASSERT_EQ(t.conn()->cwnd(), 2 * kMss);
  // Acknowledge segment by segment as they are sent.
  std::uint32_t acked = 10001;
  auto ack_one = [&] {
    acked += kMss;
    t.inject({.flags = kAck, .seq = 1, .ack = acked});
  };
  ack_one();
  EXPECT_EQ(t.conn()->cwnd(), 3 * kMss) << "slow start";
  ack_one();
  EXPECT_EQ(t.conn()->cwnd(), 4 * kMss);
  ack_one();
  EXPECT_EQ(t.conn()->cwnd(), 5 * kMss) << "reaches ssthresh";
  for (int i = 0; i < 4; ++i) {
    ack_one();
    EXPECT_EQ(t.conn()->cwnd(), 5 * kMss) << "congestion avoidance, " << i;
  }
  ack_one();
  EXPECT_EQ(t.conn()->cwnd(), 6 * kMss) << "one SMSS after a cwnd's worth of bytes";
  t.discard_segments();
}

// RFC 3042 §2: "a TCP SHOULD send a new data segment in response to each
// of the first two duplicate acknowledgments that arrive at the sender"
// (when the receiver's window allows), and RFC 5681 §3.2 step 2:
// "additional data sent in limited transmit MUST NOT be included" in the
// FlightSize that sets ssthresh.
TEST(LimitedTransmit, FirstTwoDuplicatesEachSendANewSegment) {
  Sender s(20 * kMss, newreno());
  TcpScript& t = s.t;
  s.dupack(1);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 10001, .len = kMss}));
  EXPECT_EQ(t.pending_segments(), 0u);
  s.dupack(1);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 11001, .len = kMss}));
  EXPECT_EQ(t.pending_segments(), 0u);
  EXPECT_EQ(t.conn()->cwnd(), 10 * kMss) << "cwnd itself unchanged";
  s.dupack(1);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .len = kMss})) << "fast retransmit";
  EXPECT_EQ(t.conn()->ssthresh(), 5 * kMss) << "FlightSize 12000 less the 2000 sent by RFC 3042";
}

// Limited transmit respects the receiver's window.
TEST(LimitedTransmit, NotBeyondTheReceiverWindow) {
  Sender s(20 * kMss, newreno());
  TcpScript& t = s.t;
  s.dupack(1, 10 * kMss);  // the window ends at SND.MAX
  EXPECT_EQ(t.pending_segments(), 0u);
  s.dupack(1, 10 * kMss);
  EXPECT_EQ(t.pending_segments(), 0u);
}

}  // namespace
}  // namespace ustack::testing
