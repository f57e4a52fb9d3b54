// Silly window syndrome avoidance, RFC 9293 §3.8.6.2: the receiver does
// not advertise small window increases, the sender does not send small
// segments into small windows.
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

// A 10000-byte receive buffer, the peer's MSS 1000 (so Eff.snd.MSS = 1000
// and the threshold is min(Fr * RCV.BUFF, Eff.snd.MSS) = 1000).
ScriptOptions small_buffer() {
  ScriptOptions o;
  o.tcp.recv_buffer = 10000;
  return o;
}

// RFC 9293 §3.8.6.2.2: "The suggested SWS avoidance algorithm for the
// receiver is to keep RCV.NXT+RCV.WND fixed until the reduction satisfies:
// RCV.BUFF - RCV.USER - RCV.WND >= min( Fr * RCV.BUFF, Eff.snd.MSS )
// where Fr is a fraction whose recommended value is 1/2 ... When the
// inequality is satisfied, RCV.WND is set to RCV.BUFF-RCV.USER."
TEST(ReceiverSws, RightEdgeMovesOnlyByAnMss) {
  TcpScript t(small_buffer());
  ASSERT_TRUE(t.accept({.mss = 1000}));
  std::uint32_t seq = 1;
  for (int i = 1; i <= 9; ++i) {
    t.inject({.flags = kAck, .seq = seq, .ack = 1, .len = 100});
    seq += 100;
    // The application read it all, yet the edge stays.
    EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = seq, .win = 10000 - 100 * i})) << i;
  }
  t.inject({.flags = kAck, .seq = seq, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = seq + 100, .win = 10000}))
      << "1000 bytes of reduction: the whole buffer again";
}

// The same from a closed window: reading less than the threshold does not
// reopen it, not even to answer a probe.
TEST(ReceiverSws, ZeroWindowIsNotReopenedForASmallRead) {
  TcpScript t(small_buffer());
  ASSERT_TRUE(t.accept({.mss = 1000}));
  t.app.auto_read = false;
  for (std::uint32_t i = 0; i < 10; ++i)
    t.inject({.flags = kAck, .seq = 1 + 1000 * i, .ack = 1, .len = 1000});
  std::optional<SentSeg> last;
  while (auto s = t.next_segment()) last = s;
  ASSERT_TRUE(last);
  EXPECT_EQ(last->ack, 10001u);
  EXPECT_EQ(last->win, 0);
  std::byte buf[600];
  t.call([&](TcpConn& c) { EXPECT_EQ(c.read(std::span(buf, 500)), 500u); });
  EXPECT_EQ(t.pending_segments(), 0u) << "no update for 500 bytes";
  t.inject({.flags = kAck, .seq = 10000, .ack = 1});  // a probe
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 10001, .win = 0}));
  t.call([&](TcpConn& c) { EXPECT_EQ(c.read(std::span(buf, 600)), 600u); });
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 10001, .win = 1100}))
      << "1100 >= 1000: the update goes at once";
}

// RFC 9293 §3.8.6.2.1, the sender: send "(1) if a maximum-sized segment can
// be sent ... (2) or if the data is pushed and all queued data can be sent
// now ... (3) or if at least a fraction Fs of the maximum window can be
// sent ... (4) or if the override timeout occurs." A window of 500 bytes
// (after one of 65535) with more than 500 bytes queued meets none of
// (1)-(3).
TEST(SenderSws, NoSmallSegmentIntoASmallWindow) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));  // RTO 300 ms
  ASSERT_EQ(t.send(1460), 1460u);
  ASSERT_TRUE(t.expect({.seq = 1, .len = 1460}));
  t.inject({.flags = kAck, .seq = 1, .ack = 1461, .win = 500});
  const Duration rto = t.conn()->rto();
  ASSERT_EQ(t.send(2000), 2000u);
  EXPECT_TRUE(t.expect_nothing_for(rto - milliseconds(1)));
  // (4): "The override timeout should be in the range 0.1 - 1.0 seconds. It
  // may be convenient to combine this timer with the timer used to probe
  // zero windows" -- which the stack does. Without it a lost window update
  // would leave both sides waiting for ever.
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1461, .len = 500}, milliseconds(2)));
  t.inject({.flags = kAck, .seq = 1, .ack = 1961, .win = 65535});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1961, .len = 1460}));
  EXPECT_EQ(t.pending_segments(), 0u) << "the 40-byte tail waits for the ACK (Nagle)";
}

// (2): all queued data fits and nothing is outstanding: it goes.
TEST(SenderSws, AllQueuedDataFitsTheWindow) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 65535, milliseconds(100)));
  ASSERT_EQ(t.send(1460), 1460u);
  ASSERT_TRUE(t.expect({.seq = 1, .len = 1460}));
  t.inject({.flags = kAck, .seq = 1, .ack = 1461, .win = 500});
  ASSERT_EQ(t.send(300), 300u);
  EXPECT_TRUE(t.expect({.flags = kAck | kPsh, .seq = 1461, .len = 300}));
}

// (3): "at least a fraction Fs of the maximum window": a peer whose largest
// window was 2000 gets 1000-byte segments.
TEST(SenderSws, HalfTheLargestWindowIsWorthSending) {
  TcpScript t;
  ASSERT_TRUE(t.accept({}, 2000, milliseconds(100)));
  ASSERT_EQ(t.send(1460), 1460u);
  ASSERT_TRUE(t.expect({.seq = 1, .len = 1460}));
  t.inject({.flags = kAck, .seq = 1, .ack = 1461, .win = 1000});
  ASSERT_EQ(t.send(5000), 5000u);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1461, .len = 1000}));
  EXPECT_EQ(t.pending_segments(), 0u);
}

}  // namespace
}  // namespace ustack::testing
