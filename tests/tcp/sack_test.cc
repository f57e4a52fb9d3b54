// SACK on the wire: the receiver's blocks (RFC 2018 §4) and duplicate
// reports (RFC 2883), and the sender's SACK-based loss recovery (RFC 6675).
//
// The peer's MSS is 1000 (no timestamps), so SMSS = 1000 and the initial
// window is 10 segments.
#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

constexpr std::uint32_t kMss = 1000;
using Blocks = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

ScriptOptions no_quickack() {
  ScriptOptions o;
  o.tcp.quickack_segments = 0;
  return o;
}

// The SACK blocks of a segment the stack sent, relative to the peer's ISN.
Blocks blocks_of(const SentSeg& s, std::uint32_t isn) {
  Blocks b;
  for (const auto& x : s.opts.sack()) b.emplace_back(x.left - isn, x.right - isn);
  return b;
}

// SACK blocks the peer sends, relative to the stack's ISN.
wire::TcpOptions sack_opts(const TcpScript& t, const Blocks& b) {
  wire::TcpOptions o;
  for (const auto& [l, r] : b)
    o.sack_blocks[o.sack_count++] = {t.stack_isn() + l, t.stack_isn() + r};
  return o;
}

// ---- receiver

// RFC 9293 §3.7.1: the data a segment carries shrinks by the options it
// carries, so that header and data stay within the MTU. With timestamps
// (12 bytes, already left out of the MSS) and three SACK blocks (28 more)
// a full segment carries 1448 - 28 = 1420 bytes; before this, data segments
// with SACK blocks were 28 bytes too long and left to IP fragmentation
// (found by the tcp_conn fuzz target; TcpScript now fails on any
// fragmented segment).
TEST(SackReceiver, DataSegmentsShrinkToCarryTheBlocks) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.mss = 1460, .sack_ok = true, .ts = true}));
  ASSERT_TRUE(t.conn()->sack_permitted());
  ASSERT_TRUE(t.ts_negotiated());
  // Three holes: 1..100, 201..300, 401..500 missing.
  for (std::uint32_t seq : {101u, 301u, 501u})
    t.inject({.flags = kAck, .seq = seq, .ack = 1, .len = 100});
  t.discard_segments();
  ASSERT_EQ(t.send(5 * 1420), 5u * 1420);
  std::uint32_t data = 0;
  while (auto s = t.next_segment()) {
    if (s->len() == 0) continue;
    EXPECT_EQ(s->opts.sack().size(), 3u) << s->str();
    EXPECT_LE(20 + 20 + s->opts.encoded_len() + s->len(), 1500u) << s->str();
    EXPECT_EQ(s->len(), 1420u) << s->str();
    data += s->len();
  }
  EXPECT_EQ(data, 5u * 1420);
  // With the holes filled the blocks go and segments are full size again.
  t.inject({.flags = kAck, .seq = 1, .ack = 1 + data, .len = 600});
  t.discard_segments();
  ASSERT_EQ(t.send(2 * 1448), 2u * 1448);
  std::uint32_t full = 0;
  while (auto s = t.next_segment())
    if (s->len() == 1448 && s->opts.sack().empty()) ++full;
  EXPECT_EQ(full, 2u);
}

// RFC 2018 §4: "The first SACK block (i.e., the one immediately following
// the kind and length fields in the option) MUST specify the contiguous
// block of data containing the segment which triggered this ACK ... The
// SACK option SHOULD be filled out by repeating the most recently reported
// SACK blocks".
TEST(SackReceiver, BlocksForSeveralHolesMostRecentFirst) {
  TcpScript t(no_quickack());
  ASSERT_TRUE(t.accept({.mss = kMss, .sack_ok = true}));
  ASSERT_TRUE(t.conn()->sack_permitted());
  const std::uint32_t isn = t.peer_isn();
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 100});
  t.inject({.flags = kAck, .seq = 201, .ack = 1, .len = 100});  // hole 101..200
  auto a = t.expect({.flags = kAck, .ack = 101});
  ASSERT_TRUE(a);
  EXPECT_EQ(blocks_of(*a, isn), (Blocks{{201, 301}}));
  t.inject({.flags = kAck, .seq = 401, .ack = 1, .len = 100});  // hole 301..400
  a = t.expect({.flags = kAck, .ack = 101});
  ASSERT_TRUE(a);
  EXPECT_EQ(blocks_of(*a, isn), (Blocks{{401, 501}, {201, 301}}));
  t.inject({.flags = kAck, .seq = 601, .ack = 1, .len = 100});  // hole 501..600
  a = t.expect({.flags = kAck, .ack = 101});
  ASSERT_TRUE(a);
  EXPECT_EQ(blocks_of(*a, isn), (Blocks{{601, 701}, {401, 501}, {201, 301}}));
  // 301..400 joins two blocks; the joined one comes first.
  t.inject({.flags = kAck, .seq = 301, .ack = 1, .len = 100});
  a = t.expect({.flags = kAck, .ack = 101});
  ASSERT_TRUE(a);
  EXPECT_EQ(blocks_of(*a, isn), (Blocks{{201, 501}, {601, 701}}));
  // The first hole fills: the cumulative ACK jumps, one block left.
  t.inject({.flags = kAck, .seq = 101, .ack = 1, .len = 100});
  a = t.expect({.flags = kAck, .ack = 501});
  ASSERT_TRUE(a);
  EXPECT_EQ(blocks_of(*a, isn), (Blocks{{601, 701}}));
  t.inject({.flags = kAck, .seq = 501, .ack = 1, .len = 100});
  a = t.expect({.flags = kAck, .ack = 701});
  ASSERT_TRUE(a);
  EXPECT_TRUE(blocks_of(*a, isn).empty());
  EXPECT_EQ(t.app.received, pattern(1, 700));
}

// With timestamps only three blocks fit (RFC 2018 §3); the newest go.
TEST(SackReceiver, ThreeBlocksWithTimestamps) {
  TcpScript t(no_quickack());
  ASSERT_TRUE(t.accept({.mss = kMss, .sack_ok = true, .ts = true}));
  for (std::uint32_t i = 1; i <= 5; ++i) {
    t.inject({.flags = kAck, .seq = 1 + 200 * i, .ack = 1, .len = 100});
    ASSERT_TRUE(t.expect({.flags = kAck, .ack = 1}));
  }
  t.inject({.flags = kAck, .seq = 1201, .ack = 1, .len = 100});
  auto a = t.expect({.flags = kAck, .ack = 1});
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->opts.timestamps);
  EXPECT_EQ(blocks_of(*a, t.peer_isn()), (Blocks{{1201, 1301}, {1001, 1101}, {801, 901}}));
}

TEST(SackReceiver, NoBlocksUnlessNegotiated) {
  TcpScript t(no_quickack());
  ASSERT_TRUE(t.accept({.mss = kMss}));
  t.inject({.flags = kAck, .seq = 201, .ack = 1, .len = 100});
  auto a = t.expect({.flags = kAck, .ack = 1});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->opts.sack_count, 0u);
}

// RFC 2883 §4: "If the data receiver receives a duplicate segment, the
// first SACK block reports the duplicate"; §4.1.1: below the cumulative
// ACK.
TEST(SackReceiver, DsackForDataBelowTheCumulativeAck) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.mss = kMss, .sack_ok = true}));
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 500});
  ASSERT_TRUE(t.expect({.flags = kAck, .ack = 501}));
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 500});
  auto a = t.expect({.flags = kAck, .ack = 501});
  ASSERT_TRUE(a);
  EXPECT_EQ(blocks_of(*a, t.peer_isn()), (Blocks{{1, 501}}));
  EXPECT_EQ(t.counter("tcp.sack.tx_dsack"), 1u);
  // Partly old, partly new: the old part is reported.
  t.inject({.flags = kAck, .seq = 301, .ack = 1, .len = 500});
  a = t.expect({.flags = kAck, .ack = 801});
  ASSERT_TRUE(a);
  EXPECT_EQ(blocks_of(*a, t.peer_isn()), (Blocks{{301, 501}}));
  EXPECT_EQ(t.app.received, pattern(1, 800));
}

// RFC 2883 §4.1.2: a duplicate of out-of-order data: the D-SACK block,
// then the block holding it.
TEST(SackReceiver, DsackForOutOfOrderData) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.mss = kMss, .sack_ok = true}));
  t.inject({.flags = kAck, .seq = 1001, .ack = 1, .len = 500});
  ASSERT_TRUE(t.expect({.flags = kAck, .ack = 1}));
  t.inject({.flags = kAck, .seq = 1001, .ack = 1, .len = 500});
  auto a = t.expect({.flags = kAck, .ack = 1});
  ASSERT_TRUE(a);
  EXPECT_EQ(blocks_of(*a, t.peer_isn()), (Blocks{{1001, 1501}, {1001, 1501}}));
  // Reported once.
  t.inject({.flags = kAck, .seq = 2001, .ack = 1, .len = 100});
  a = t.expect({.flags = kAck, .ack = 1});
  ASSERT_TRUE(a);
  EXPECT_EQ(blocks_of(*a, t.peer_isn()), (Blocks{{2001, 2101}, {1001, 1501}}));
}

// SegmentSmack: a flood of tiny segments, each beyond its own hole, costs
// a bounded amount of memory; the connection then works as before.
TEST(SackReceiver, TinyOutOfOrderFloodIsCapped) {
  ScriptOptions o;
  o.tcp.max_ooo_intervals = 32;
  TcpScript t(o);
  ASSERT_TRUE(t.accept({.mss = kMss, .sack_ok = true}));
  const std::uint32_t in_use = t.stack().pool().in_use();
  for (std::uint32_t i = 0; i < 2000; ++i) {
    t.inject({.flags = kAck, .seq = 1001 + 2 * i, .ack = 1, .len = 1});
    t.discard_segments();
  }
  EXPECT_GT(t.counter("tcp.drop.ooo_full"), 1900u);
  EXPECT_LE(t.stack().pool().in_use(), in_use + 32u);
  // The hole fills with a normal segment; what was kept is delivered.
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .len = 1000});
  auto a = t.expect({.flags = kAck, .ack = 1002});
  ASSERT_TRUE(a);
  EXPECT_EQ(t.app.received.size(), 1001u);
}

// ---- sender

// Established with SACK, MSS 1000, RTT 100 ms; `bytes` queued and the
// first 10 segments sent and taken.
struct SackSender {
  explicit SackSender(std::uint32_t bytes, CcAlgorithm cc = CcAlgorithm::kNewReno)
      : t([&] {
          ScriptOptions o;
          o.tcp.congestion_control = cc;
          return o;
        }()) {
    EXPECT_TRUE(t.accept({.mss = kMss, .sack_ok = true}, 65535, milliseconds(100)));
    EXPECT_TRUE(t.conn()->sack_permitted());
    EXPECT_EQ(t.send(bytes), bytes);
    for (std::uint32_t i = 0; i < 10; ++i)
      EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1 + i * kMss, .len = kMss}));
  }
  void ack(std::uint32_t ack, const Blocks& b) {
    t.inject({.flags = kAck, .seq = 1, .ack = ack, .opts = sack_opts(t, b)});
  }
  // Everything the stack sent since the last call, as (seq, len).
  Blocks sent() {
    Blocks v;
    while (auto s = t.next_segment())
      if (s->len() > 0) v.emplace_back(s->seq, s->len());
    return v;
  }
  TcpScript t;
};

// RFC 6675 §5: three segments lost in one window are all resent in the
// first round trip of recovery, each once, without a timeout.
TEST(SackSender, SeveralLossesInOneWindowRecoverWithoutTimeout) {
  SackSender s(30 * kMss);
  // Lost: 1, 3001, 6001. The peer SACKs the rest as it arrives.
  s.ack(1, {{1001, 2001}});
  s.ack(1, {{1001, 3001}});
  EXPECT_EQ(s.sent(), (Blocks{{10001, kMss}, {11001, kMss}}))
      << "two duplicates, 2000 bytes SACKed: no recovery yet, limited transmit (RFC 3042)";
  s.ack(1, {{4001, 5001}, {1001, 3001}});
  Blocks out = s.sent();
  ASSERT_FALSE(out.empty()) << "third duplicate: recovery";
  EXPECT_EQ(out[0], (std::pair<std::uint32_t, std::uint32_t>{1, kMss}));
  EXPECT_EQ(s.t.counter("tcp.sack.recoveries"), 1u);
  EXPECT_EQ(s.t.conn()->ssthresh(), 5 * kMss);
  s.ack(1, {{4001, 6001}, {1001, 3001}});
  s.ack(1, {{7001, 8001}, {4001, 6001}, {1001, 3001}});
  s.ack(1, {{7001, 9001}, {4001, 6001}, {1001, 3001}});
  s.ack(1, {{7001, 10001}, {4001, 6001}, {1001, 3001}});
  for (const auto& x : s.sent()) out.push_back(x);
  // Every hole resent exactly once; SACKed data never.
  int resent_3001 = 0, resent_6001 = 0;
  for (const auto& [seq, len] : out) {
    if (seq < 10001) {
      EXPECT_TRUE(seq == 1 || seq == 3001 || seq == 6001) << "resent " << seq;
    }
    resent_3001 += seq == 3001;
    resent_6001 += seq == 6001;
  }
  EXPECT_EQ(resent_3001, 1);
  EXPECT_EQ(resent_6001, 1);
  EXPECT_EQ(s.t.conn()->retransmits(), 3u);
  // The resent segments arrive: a full ACK ends recovery.
  std::uint32_t end = 0;
  for (const auto& [seq, len] : out) end = std::max(end, seq + len);
  s.ack(end, {});
  EXPECT_EQ(s.t.counter("tcp.timeouts"), 0u);
  EXPECT_LE(s.t.conn()->cwnd(), 5 * kMss) << "deflated to ssthresh at most";
  s.t.discard_segments();
}

// RFC 6675 §5: with enough SACKed above it, the first segment is lost
// before three duplicate ACKs come (IsLost(HighACK + 1)).
TEST(SackSender, EnoughSackedMeansLostBeforeThreeDuplicates) {
  SackSender s(20 * kMss);
  s.ack(1, {{1001, 4001}});
  Blocks out = s.sent();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0], (std::pair<std::uint32_t, std::uint32_t>{1, kMss}));
  EXPECT_EQ(s.t.counter("tcp.sack.recoveries"), 1u);
}

// RFC 6675 §5 (C) and §4 SetPipe: during recovery new data goes out only
// as pipe falls below cwnd; SACKed bytes leave the pipe.
TEST(SackSender, NewDataFollowsPipe) {
  SackSender s(40 * kMss);
  s.ack(1, {{1001, 4001}});  // recovery: ssthresh = cwnd = 5000
  ASSERT_EQ(s.sent().size(), 1u) << "only the retransmission: pipe 6000 + 1000 >= cwnd 5000";
  // 4001..9001 SACKed too: the pipe is 1000 (the retransmission) + 9001..10001.
  s.ack(1, {{1001, 9001}});
  Blocks out = s.sent();
  ASSERT_EQ(out.size(), 3u) << "cwnd 5000 - pipe 2000";
  EXPECT_EQ(out[0].first, 10001u);
  EXPECT_EQ(out[2].first, 12001u);
}

// RFC 9438 §4.6: with CUBIC, a loss sets ssthresh to cwnd * beta_cubic
// (0.7), not half the flight; the recovery itself is the same.
TEST(SackSender, CubicReducesToSevenTenths) {
  SackSender s(20 * kMss, CcAlgorithm::kCubic);
  EXPECT_EQ(s.t.conn()->congestion_control(), CcAlgorithm::kCubic);
  s.ack(1, {{1001, 4001}});
  ASSERT_FALSE(s.sent().empty());
  EXPECT_EQ(s.t.conn()->ssthresh(), 7 * kMss);
  EXPECT_EQ(s.t.conn()->cwnd(), 7 * kMss);
}

// RFC 2883 D-SACK from the peer is recognised and not taken as new SACK
// information.
TEST(SackSender, DsackFromThePeerIsCounted) {
  SackSender s(10 * kMss);
  s.ack(2001, {});
  s.ack(2001, {{1, 1001}});
  EXPECT_EQ(s.t.counter("tcp.sack.rx_dsack"), 1u);
  EXPECT_EQ(s.t.counter("tcp.sack.recoveries"), 0u);
}

// RFC 3708 / RFC 2883 §5: the first segment was only delayed. Recovery
// resends it, its first copy then arrives, and the peer reports the
// resent copy as a duplicate: the reduction is undone, and DupThresh
// grows so that the same reordering does not start another recovery.
TEST(SackSender, SpuriousRecoveryIsUndoneByDsack) {
  SackSender s(40 * kMss);
  const std::uint32_t cwnd_before = s.t.conn()->cwnd();
  s.ack(1, {{1001, 4001}});  // segment 1 late, not lost: recovery resends it
  ASSERT_EQ(s.sent().size(), 1u);
  ASSERT_EQ(s.t.counter("tcp.sack.recoveries"), 1u);
  ASSERT_EQ(s.t.conn()->cwnd(), 5 * kMss);
  s.ack(10001, {});  // the first copy arrived: the full ACK ends recovery
  EXPECT_EQ(s.t.conn()->cwnd(), 5 * kMss);
  EXPECT_EQ(s.t.counter("tcp.sack.spurious_undone"), 0u);
  s.ack(10001, {{1, 1001}});  // and the resent copy was a duplicate
  EXPECT_EQ(s.t.counter("tcp.sack.spurious_undone"), 1u);
  EXPECT_GE(s.t.conn()->cwnd(), cwnd_before);
  EXPECT_GT(s.t.conn()->ssthresh(), 5 * kMss);
  // The window is back: ten new segments go out.
  Blocks out = s.sent();
  ASSERT_GE(out.size(), 10u);
  EXPECT_EQ(out[0].first, 10001u);
  // Three segments SACKed above a late one no longer start a recovery
  // (DupThresh 6, at most half of the ten in flight: 5) ...
  s.ack(10001, {{11001, 14001}});
  EXPECT_EQ(s.t.counter("tcp.sack.recoveries"), 1u);
  // ... more than DupThresh - 1 segments SACKed above it do.
  s.ack(10001, {{11001, 16001}});
  EXPECT_EQ(s.t.counter("tcp.sack.recoveries"), 2u);
  s.t.discard_segments();
}

// RFC 8985 §6.2: the retransmission of the first hole is lost too. Data
// sent after it (new data beyond where SND.MAX stood) is SACKed: it is
// resent at once instead of waiting for the RTO; once, until more such
// evidence comes.
TEST(SackSender, LostRetransmissionIsResentWithoutTimeout) {
  SackSender s(40 * kMss);
  s.ack(1, {{1001, 4001}});  // recovery: 1 resent while SND.MAX is 10001
  ASSERT_EQ(s.sent(), (Blocks{{1, kMss}}));
  s.ack(1, {{1001, 10001}});  // all but the hole: new data goes out
  Blocks out = s.sent();
  ASSERT_FALSE(out.empty());
  EXPECT_GE(out[0].first, 10001u);
  s.ack(1, {{1001, 11001}});  // one new segment SACKed: within DupThresh, not yet
  for (const auto& [seq, len] : s.sent()) EXPECT_NE(seq, 1u);
  s.ack(1, {{1001, 13001}});  // three beyond the mark: the retransmission was lost
  out = s.sent();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0], (std::pair<std::uint32_t, std::uint32_t>{1, kMss}));
  EXPECT_EQ(s.t.counter("tcp.sack.lost_retransmits"), 1u);
  s.ack(1, {{1001, 13001}, {14001, 15001}});  // more, but not beyond the new mark
  for (const auto& [seq, len] : s.sent()) EXPECT_NE(seq, 1u) << "once per evidence";
  EXPECT_EQ(s.t.counter("tcp.rto_fired"), 0u);
  s.t.discard_segments();
}

// Undo needs every retransmission of the recovery reported as a
// duplicate: one D-SACK of two leaves the reduction in place.
TEST(SackSender, RealLossIsNotUndone) {
  SackSender s(40 * kMss);
  s.ack(1, {{1001, 3001}, {4001, 5001}});  // 1 and 3001 missing
  s.ack(1, {{4001, 8001}, {1001, 3001}});
  Blocks out = s.sent();
  int resent = 0;
  for (const auto& [seq, len] : out) resent += seq == 1 || seq == 3001;
  ASSERT_EQ(resent, 2);
  s.ack(10001, {});
  s.ack(10001, {{1, 1001}});  // only 1 was a duplicate: 3001 was lost
  EXPECT_EQ(s.t.counter("tcp.sack.rx_dsack"), 1u);
  EXPECT_EQ(s.t.counter("tcp.sack.spurious_undone"), 0u);
  EXPECT_LE(s.t.conn()->cwnd(), 5 * kMss);
  s.t.discard_segments();
}

// A D-SACK for data the recovery did not resend (here an old segment the
// network duplicated) undoes nothing.
TEST(SackSender, DsackOutsideTheRecoveryUndoesNothing) {
  SackSender s(40 * kMss);
  s.ack(2001, {});
  s.sent();
  s.ack(2001, {{3001, 6001}});  // recovery from 2001
  ASSERT_EQ(s.t.counter("tcp.sack.recoveries"), 1u);
  const std::uint32_t cwnd = s.t.conn()->cwnd();
  s.ack(2001, {{1, 1001}, {3001, 6001}});  // below the recovery: not ours to undo
  EXPECT_EQ(s.t.counter("tcp.sack.rx_dsack"), 1u);
  EXPECT_EQ(s.t.counter("tcp.sack.spurious_undone"), 0u);
  EXPECT_EQ(s.t.conn()->cwnd(), cwnd);
  s.t.discard_segments();
}

}  // namespace
}  // namespace ustack::testing
