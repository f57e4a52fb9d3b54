// The tail loss probe of RFC 8985 §7: with SACK in use and no ACK for
// about two round trips, one segment goes out to draw an ACK before the
// RTO; when the probe resent the last segment and that repaired a real
// loss, the congestion response follows (§7.4).
//
// The peer's MSS is 1000 (no timestamps); the handshake's RTT of 100 ms
// gives SRTT 100 ms, PTO 200 ms and RTO 300 ms.
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

constexpr std::uint32_t kMss = 1000;

struct ProbeSender {
  ProbeSender(std::uint32_t bytes, bool sack = true) {
    EXPECT_TRUE(t.accept({.mss = kMss, .sack_ok = sack}, 65535, milliseconds(100)));
    EXPECT_EQ(t.send(bytes), bytes);
    const std::uint32_t segs = std::min(bytes / kMss, 10u);
    for (std::uint32_t i = 0; i < segs; ++i)
      EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1 + i * kMss, .len = kMss}));
  }
  TcpScript t;
};

// RFC 8985 §7.2-7.3: PTO = 2 * SRTT; the probe is new data when there is
// some and the window takes it; the RTO then follows from the probe.
TEST(TailLossProbe, NewDataProbeAfterTwoRoundTrips) {
  ProbeSender s(20 * kMss);
  EXPECT_TRUE(s.t.expect_nothing_for(milliseconds(195)));
  EXPECT_TRUE(s.t.expect({.flags = kAck, .seq = 10001, .len = kMss}, milliseconds(10)))
      << "the probe: the next new segment";
  EXPECT_EQ(s.t.counter("tcp.tlp.probes"), 1u);
  // Still nothing: the RTO, one RTO after the probe, resends SND.UNA.
  EXPECT_TRUE(s.t.expect_nothing_for(milliseconds(290)));
  EXPECT_TRUE(s.t.expect({.flags = kAck, .seq = 1, .len = kMss}, milliseconds(20)));
  EXPECT_EQ(s.t.counter("tcp.rto_fired"), 1u);
  EXPECT_EQ(s.t.counter("tcp.tlp.probes"), 1u) << "one probe per episode";
  s.t.discard_segments();
}

// With nothing new to send, the probe is the last segment again. The peer
// lacked it (its ACK covers the probe, no D-SACK): a loss was repaired,
// and cwnd is reduced as fast recovery would have (§7.4.2).
TEST(TailLossProbe, ResentProbeThatRepairedALossReducesCwnd) {
  ProbeSender s(10 * kMss);
  const std::uint32_t cwnd = s.t.conn()->cwnd();
  // The last segment is lost, and with it every ACK (or the peer delays them).
  EXPECT_TRUE(s.t.expect({.flags = kAck, .seq = 9001, .len = kMss}, milliseconds(250)))
      << "the probe resends the last segment";
  s.t.inject({.flags = kAck, .seq = 1, .ack = 10001});
  EXPECT_EQ(s.t.counter("tcp.tlp.repaired"), 1u);
  EXPECT_LT(s.t.conn()->cwnd(), cwnd);
  EXPECT_EQ(s.t.counter("tcp.rto_fired"), 0u);
}

// The peer had the last segment (only the ACKs were lost): it reports the
// probe as a duplicate, and nothing is reduced (§7.4.1).
TEST(TailLossProbe, DuplicateProbeLeavesCwnd) {
  ProbeSender s(10 * kMss);
  const std::uint32_t cwnd = s.t.conn()->cwnd();
  ASSERT_TRUE(s.t.expect({.flags = kAck, .seq = 9001, .len = kMss}, milliseconds(250)));
  wire::TcpOptions o;
  o.sack_blocks[o.sack_count++] = {s.t.stack_isn() + 9001, s.t.stack_isn() + 10001};
  s.t.inject({.flags = kAck, .seq = 1, .ack = 10001, .opts = o});
  EXPECT_EQ(s.t.counter("tcp.sack.rx_dsack"), 1u);
  EXPECT_EQ(s.t.counter("tcp.tlp.repaired"), 0u);
  EXPECT_GE(s.t.conn()->cwnd(), cwnd);
}

// RFC 8985 §7.2: no probe without SACK: the RTO alone.
TEST(TailLossProbe, NoProbeWithoutSack) {
  ProbeSender s(20 * kMss, /*sack=*/false);
  EXPECT_TRUE(s.t.expect_nothing_for(milliseconds(295)));
  EXPECT_TRUE(s.t.expect({.flags = kAck, .seq = 1, .len = kMss}, milliseconds(20)));
  EXPECT_EQ(s.t.counter("tcp.tlp.probes"), 0u);
  s.t.discard_segments();
}

}  // namespace
}  // namespace ustack::testing
