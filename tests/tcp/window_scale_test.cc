// Window scaling, RFC 7323 §2.
#include <gtest/gtest.h>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

// RFC 7323 §2.3: "the window field (SEG.WND) of every outgoing segment,
// with the exception of <SYN> segments, MUST be right-shifted by
// Rcv.Wind.Shift bits: SEG.WND = RCV.WND >> Rcv.Wind.Shift".
TEST(WindowScale, OutgoingWindowFieldIsScaled) {
  TcpScript t;  // 1 MiB receive buffer: shift 5
  auto synack = t.accept({.wscale = 7});
  ASSERT_TRUE(synack);
  EXPECT_EQ(synack->opts.window_scale, 5);
  EXPECT_EQ(synack->win, 65535) << "never scaled in a SYN";
  t.app.auto_read = false;
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .win = 512, .len = 1000});
  // 1 MiB - 1000 bytes, in units of 32.
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 1001, .win = (1048576 - 1000) >> 5}));
}

// RFC 7323 §2.3: "the window field (SEG.WND) in the header of every
// incoming segment, with the exception of <SYN> segments, MUST be
// left-shifted by Snd.Wind.Shift bits before updating SND.WND:
// SND.WND = SEG.WND << Snd.Wind.Shift".
TEST(WindowScale, IncomingWindowIsScaledExceptInSyn) {
  TcpScript t;
  t.listen();
  t.inject(
      {.flags = kSyn, .seq = 0, .win = 1000, .opts = TcpScript::syn_options({.wscale = 7}, 0)});
  ASSERT_TRUE(t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}));
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .win = 100});
  ASSERT_NE(t.conn(), nullptr);
  EXPECT_EQ(t.conn()->send_window(), 100u << 7);
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .win = 512});
  EXPECT_EQ(t.conn()->send_window(), 512u << 7);
}

// RFC 7323 §2.2: "The window field in a segment where the SYN bit is set
// (i.e., a <SYN> or <SYN,ACK>) MUST NOT be scaled."
TEST(WindowScale, SynAckWindowIsNotScaled) {
  TcpScript t;
  ASSERT_TRUE(t.connect({.wscale = 7}, 1000));
  EXPECT_EQ(t.conn()->send_wscale(), 7);
  EXPECT_EQ(t.conn()->send_window(), 1000u) << "from the SYN,ACK, unscaled";
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .win = 1000});
  EXPECT_EQ(t.conn()->send_window(), 1000u << 7);
}

// RFC 7323 §2.2: "If a Window Scale option is received with a shift.cnt
// value ... [a TCP] MAY send [it] in the <SYN,ACK> segment" only "If a
// Window Scale option was received in the initial <SYN>"; §1.3/§2.2: both
// sides must send the option for scaling to be in effect.
TEST(WindowScale, NoScalingUnlessThePeerOffersIt) {
  TcpScript t;
  auto synack = t.accept({.mss = 1460});
  ASSERT_TRUE(synack);
  EXPECT_FALSE(synack->opts.window_scale);
  EXPECT_EQ(t.conn()->recv_wscale(), 0);
  EXPECT_EQ(t.conn()->send_wscale(), 0);
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .win = 1000, .len = 10});
  auto ack = t.expect({.flags = kAck, .seq = 1, .ack = 11});
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->win, 65535 - 10) << "unscaled, at most 65535 (1 MiB buffer)";
  EXPECT_EQ(t.conn()->send_window(), 1000u);
}

// The active side: our SYN offers scaling; a SYN,ACK without the option
// turns it off in both directions.
TEST(WindowScale, NoScalingWhenTheSynAckLacksIt) {
  TcpScript t;
  auto syn = t.connect({.mss = 1460}, 2000);
  ASSERT_TRUE(syn);
  EXPECT_EQ(syn->opts.window_scale, 5) << "we offer it";
  EXPECT_EQ(t.conn()->recv_wscale(), 0);
  EXPECT_EQ(t.conn()->send_wscale(), 0);
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .win = 2000, .len = 10});
  auto ack = t.expect({.flags = kAck, .seq = 1, .ack = 11});
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->win, 65535 - 10);
  EXPECT_EQ(t.conn()->send_window(), 2000u);
}

// RFC 7323 §2.3: "If a Window Scale option is received with a shift.cnt
// value larger than 14, the TCP SHOULD log the error but MUST use 14
// instead of the specified value."
TEST(WindowScale, ShiftAbove14MeansFourteen) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.wscale = 15}));
  EXPECT_EQ(t.conn()->send_wscale(), 14);
  t.inject({.flags = kAck, .seq = 1, .ack = 1, .win = 2});
  EXPECT_EQ(t.conn()->send_window(), 2u << 14);
}

// The sender keeps within the scaled window: 30 << 7 = 3840 bytes.
TEST(WindowScale, SenderStaysWithinTheScaledWindow) {
  TcpScript t;
  ASSERT_TRUE(t.accept({.wscale = 7}, 30));
  EXPECT_EQ(t.conn()->send_window(), 3840u);
  ASSERT_EQ(t.send(10000), 10000u);
  std::uint32_t sent = 0;
  while (auto s = t.next_segment()) {
    EXPECT_EQ(s->seq, 1 + sent);
    sent += s->len();
  }
  EXPECT_LE(sent, 3840u);
  EXPECT_GE(sent, 2u * 1460u);
  // More window, more data.
  t.inject({.flags = kAck, .seq = 1, .ack = 1 + sent, .win = 100});
  std::uint32_t more = 0;
  while (auto s = t.next_segment()) more += s->len();
  EXPECT_GT(more, 0u);
  EXPECT_LE(more, 100u << 7);
}

}  // namespace
}  // namespace ustack::testing
