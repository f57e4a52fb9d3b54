// Attack resistance: SYN cookies (RFC 4987 §3.6), the challenge ACK rate
// limit (RFC 5961 §7), and unpredictable initial sequence numbers (RFC
// 6528).
#include <gtest/gtest.h>

#include <set>

#include "tcp/tcp_script.h"

namespace ustack::testing {
namespace {

ScriptOptions cookies_only() {
  ScriptOptions o;
  o.tcp.max_syn_backlog = 0;  // every SYN is answered with a cookie
  return o;
}

// The whole handshake through a cookie, with timestamps carrying window
// scale and SACK-permitted: the connection has what the SYN asked for, and
// no state existed before the final ACK.
TEST(SynCookies, HandshakeWithTimestampsKeepsEveryOption) {
  TcpScript t(cookies_only());
  t.listen();
  t.inject({.flags = kSyn,
            .seq = 0,
            .opts = TcpScript::syn_options({.mss = 1460, .wscale = 7, .sack_ok = true, .ts = true},
                                           t.peer_tsval())});
  auto synack = t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1});
  ASSERT_TRUE(synack);
  EXPECT_EQ(t.counter("tcp.syncookies.sent"), 1u);
  EXPECT_EQ(t.connections(), 0u) << "nothing kept for a cookie";
  EXPECT_TRUE(synack->opts.window_scale);
  EXPECT_TRUE(synack->opts.sack_permitted);
  ASSERT_TRUE(synack->opts.timestamps);
  EXPECT_EQ(synack->tsval() & 0x3f, 0x10u | 7u) << "SACK-permitted and the shift, in TSval";
  t.advance(milliseconds(5));
  t.inject({.flags = kAck, .seq = 1, .ack = 1});
  ASSERT_EQ(t.counter("tcp.syncookies.ok"), 1u);
  ASSERT_NE(t.conn(), nullptr);
  EXPECT_EQ(t.conn()->state(), TcpState::kEstablished);
  EXPECT_EQ(t.app.accepted, 1);
  EXPECT_EQ(t.conn()->send_wscale(), 7);
  EXPECT_TRUE(t.conn()->sack_permitted());
  EXPECT_TRUE(t.conn()->timestamps_on());
  EXPECT_EQ(t.conn()->mss(), 1460u - 12u);
  // And it carries data both ways.
  t.inject({.flags = kAck | kPsh, .seq = 1, .ack = 1, .len = 100});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101}));
  EXPECT_EQ(t.app.received, pattern(1, 100));
  EXPECT_EQ(t.send(500), 500u);
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 101, .len = 500}));
}

// Without timestamps the cookie keeps only the MSS (from its table: the
// largest entry not above the peer's), and the SYN,ACK offers no options
// that could not be honoured.
TEST(SynCookies, WithoutTimestampsOnlyTheMss) {
  TcpScript t(cookies_only());
  auto synack = t.accept({.mss = 1400, .wscale = 7, .sack_ok = true});
  ASSERT_TRUE(synack);
  EXPECT_FALSE(synack->opts.window_scale);
  EXPECT_FALSE(synack->opts.sack_permitted);
  EXPECT_EQ(t.counter("tcp.syncookies.ok"), 1u);
  EXPECT_EQ(t.conn()->mss(), 1360u);
  EXPECT_EQ(t.conn()->send_wscale(), 0);
  EXPECT_FALSE(t.conn()->sack_permitted());
}

// A forged or stale final ACK makes nothing and is reset as any ACK to a
// listener is (RFC 9293 §3.10.7.2).
TEST(SynCookies, ForgedAckIsReset) {
  TcpScript t(cookies_only());
  t.listen();
  t.inject({.flags = kSyn, .seq = 0, .opts = TcpScript::syn_options({}, 0)});
  ASSERT_TRUE(t.expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}));
  t.inject({.flags = kAck, .seq = 1, .ack = 2});  // one off
  EXPECT_TRUE(t.expect({.flags = kRst}));
  EXPECT_EQ(t.counter("tcp.syncookies.bad"), 1u);
  EXPECT_EQ(t.connections(), 0u);
  // Another 4-tuple's ACK with this cookie fails too.
  t.inject({.flags = kAck, .seq = 1, .ack = 1}, kPeerPort + 1);
  EXPECT_TRUE(t.expect({.flags = kRst}));
  EXPECT_EQ(t.counter("tcp.syncookies.bad"), 2u);
  // Two cookie periods later the genuine one is stale as well.
  t.advance(seconds(129), milliseconds(100));
  t.inject({.flags = kAck, .seq = 1, .ack = 1});
  EXPECT_TRUE(t.expect({.flags = kRst}));
  EXPECT_EQ(t.connections(), 0u);
}

// While no cookie was sent, an ACK is not even checked (no 2^-24 lottery
// for an ACK flood).
TEST(SynCookies, NotCheckedUnlessCookiesWereSent) {
  TcpScript t;
  t.listen();
  t.inject({.flags = kAck, .seq = 1, .ack = 1});
  EXPECT_TRUE(t.expect({.flags = kRst}));
  EXPECT_EQ(t.counter("tcp.syncookies.bad"), 0u);
}

// With cookies off, a full backlog drops the SYN (the client retries).
TEST(SynCookies, OffMeansDrop) {
  ScriptOptions o = cookies_only();
  o.tcp.syn_cookies = false;
  TcpScript t(o);
  t.listen();
  t.inject({.flags = kSyn, .seq = 0, .opts = TcpScript::syn_options({}, 0)});
  EXPECT_TRUE(t.expect_nothing_for(milliseconds(10)));
  EXPECT_EQ(t.counter("tcp.drop.backlog_full"), 1u);
}

// RFC 5961 §7: "implementations SHOULD include an ACK throttling
// mechanism". Per connection, between 5 and 15 a second with the default
// limit of 10; the budget comes back the next second.
TEST(ChallengeAck, RateLimitedPerConnection) {
  TcpScript t;
  ASSERT_TRUE(t.accept());
  for (std::uint32_t i = 0; i < 100; ++i) t.inject({.flags = kRst, .seq = 1000 + 10 * i});
  std::size_t acks = 0;
  while (auto s = t.next_segment()) acks += s->flags == kAck;
  EXPECT_GE(acks, 5u);
  EXPECT_LE(acks, 15u);
  EXPECT_EQ(t.counter("tcp.tx.challenge_ack") + t.counter("tcp.challenge_ack_limited"), 100u);
  EXPECT_EQ(t.conn()->state(), TcpState::kEstablished) << "no RST at RCV.NXT: it survives";
  t.advance(milliseconds(1001));
  t.inject({.flags = kSyn, .seq = 5000});
  EXPECT_TRUE(t.expect({.flags = kAck, .seq = 1, .ack = 1})) << "a new second, a new budget";
}

// RFC 6528: ISNs from a keyed hash of the 4-tuple plus a clock: no two
// 4-tuples share a sequence, and a restarted stack (new key) starts
// elsewhere for the same 4-tuple.
TEST(Isn, UnpredictableAcrossTuplesAndRestarts) {
  std::set<std::uint32_t> isns;
  std::vector<std::uint32_t> same_tuple;
  for (int run = 0; run < 4; ++run) {
    TcpScript t;
    for (std::uint16_t p = 0; p < 16; ++p) {
      std::string err;
      TcpConn* c = t.tcp().connect(IpAddr::v4(kPeerAddr), kRemotePort, t.app, &err,
                                   static_cast<std::uint16_t>(40000 + p));
      ASSERT_NE(c, nullptr) << err;
      t.run();
      auto syn = t.wait_segment(milliseconds(10));
      ASSERT_TRUE(syn);
      ASSERT_TRUE(syn->has(kSyn));
      isns.insert(syn->raw_seq);
      if (p == 0) same_tuple.push_back(syn->raw_seq);
    }
  }
  EXPECT_EQ(isns.size(), 64u) << "no two connections share an ISN";
  // Consecutive ports do not give consecutive ISNs (a hash, not a counter).
  std::set<std::uint32_t> unique(same_tuple.begin(), same_tuple.end());
  EXPECT_EQ(unique.size(), same_tuple.size()) << "each restart picks a new key";
}

}  // namespace
}  // namespace ustack::testing
