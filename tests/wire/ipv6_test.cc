// IPv6 (RFC 8200), its extension header walk, ICMPv6 (RFC 4443), Neighbor
// Discovery messages (RFC 4861) and IPv6 over Ethernet (RFC 2464) against
// bytes made by scapy (tests/wire/ipv6_vectors.h, tests/wire/make_ipv6_vectors.py).
#include <gtest/gtest.h>

#include <vector>

#include "ipv6_vectors.h"
#include "proto/wire/checksum.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/ipv6_ethernet.h"
#include "proto/wire/ipv6_ext.h"
#include "proto/wire/ndp.h"
#include "proto/wire/tcp.h"
#include "proto/wire/udp.h"
#include "wire_test_util.h"

namespace ustack::wire {
namespace {

using testing::as_text;
using testing::bytes_of;
using testing::copy_of;
using namespace v6vectors;

Ipv6Addr addr(const char* s) {
  return *Ipv6Addr::parse(s);
}

// ---- The fixed header.

TEST(Ipv6, ParsesEveryField) {
  const auto ip = Ipv6View::parse(bytes_of(kUdp));
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->version(), 6);
  EXPECT_EQ(ip->traffic_class(), 0xb8);
  EXPECT_EQ(ip->flow_label(), 0x12345u);
  EXPECT_EQ(ip->payload_length(), 13);
  EXPECT_EQ(ip->next_header(), kIpProtoUdp);
  EXPECT_EQ(ip->hop_limit(), 7);
  EXPECT_EQ(ip->src(), addr("fd00::1"));
  EXPECT_EQ(ip->dst(), addr("fd00::2"));
  EXPECT_EQ(ip->payload().size(), 13u);
  EXPECT_EQ(as_text(ip->payload().subspan(8)), "hello");
}

TEST(Ipv6, CutsLinkPadding) {
  const auto ip = Ipv6View::parse(bytes_of(kUdpPadded));
  ASSERT_TRUE(ip);
  EXPECT_EQ(sizeof kUdpPadded, 40u + 10 + 6);
  EXPECT_EQ(ip->bytes().size(), 50u);
  EXPECT_EQ(ip->payload().size(), 10u);
}

TEST(Ipv6, RefusesShortWrongVersionAndOverlongPayloadLength) {
  const auto all = bytes_of(kUdp);
  EXPECT_FALSE(Ipv6View::parse(all.first(39)));
  EXPECT_FALSE(Ipv6View::parse(all.first(all.size() - 1)));  // payload length says more
  auto v4 = copy_of(kUdp);
  v4[0] = std::byte{0x46};
  EXPECT_FALSE(Ipv6View::parse(v4));
  // The header alone is fine for the first segment of a chain.
  const auto head = Ipv6View::parse_header(all.first(44));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->payload_length(), 13);
  EXPECT_EQ(head->payload().size(), 4u);
}

TEST(Ipv6, EmitMatchesScapy) {
  const auto ip = Ipv6View::parse(bytes_of(kUdp));
  ASSERT_TRUE(ip);
  const Ipv6Repr r = Ipv6Repr::parse(*ip);
  std::vector<std::byte> out(40);
  ASSERT_TRUE(r.emit(out));
  EXPECT_EQ(out, testing::to_vec(bytes_of(kUdp).first(40)));
  EXPECT_FALSE(r.emit(std::span(out).first(39)));
}

TEST(Ipv6, MutableViewSetsFields) {
  auto b = copy_of(kEchoRequest);
  const auto ip = Ipv6MutView::parse(b);
  ASSERT_TRUE(ip);
  ip->set_src(addr("fd00::2"));
  ip->set_dst(addr("fd00::1"));
  ip->set_hop_limit(255);
  const Ipv6View v = *ip;
  EXPECT_EQ(v.src(), addr("fd00::2"));
  EXPECT_EQ(v.dst(), addr("fd00::1"));
  EXPECT_EQ(v.hop_limit(), 255);
}

// ---- Addresses.

TEST(Ipv6Addr, ClassifiesAndParses) {
  EXPECT_TRUE(addr("ff02::1").is_multicast());
  EXPECT_EQ(addr("ff02::1"), Ipv6Addr::all_nodes());
  EXPECT_EQ(addr("ff05::2").multicast_scope(), 5);
  EXPECT_TRUE(addr("fe80::1").is_link_local());
  EXPECT_TRUE(addr("febf::1").is_link_local());
  EXPECT_FALSE(addr("fec0::1").is_link_local());
  EXPECT_TRUE(addr("::").is_unspecified());
  EXPECT_TRUE(addr("::1").is_loopback());
  EXPECT_TRUE(addr("::ffff:10.0.0.1").is_v4_mapped());
  EXPECT_FALSE(addr("fd00::ffff:a00:1").is_v4_mapped());
  EXPECT_TRUE(addr("fd00::1:2").in_prefix(addr("fd00::"), 64));
  EXPECT_FALSE(addr("fd00:0:0:1::2").in_prefix(addr("fd00::"), 64));
  EXPECT_TRUE(addr("fd00:0:0:1::2").in_prefix(addr("fd00::"), 47));
  EXPECT_TRUE(addr("2001:db8::1").in_prefix(addr("::"), 0));
  EXPECT_FALSE(Ipv6Addr::parse("fd00::1::2"));
  EXPECT_FALSE(Ipv6Addr::parse("10.0.0.1"));
  const auto c = Ipv6Cidr::parse("fd00::5/64");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix_len, 64);
  EXPECT_TRUE(c->contains(addr("fd00::9")));
  EXPECT_EQ(c->to_string(), "fd00::5/64");
  EXPECT_FALSE(Ipv6Cidr::parse("fd00::5/129"));
  EXPECT_FALSE(Ipv6Cidr::parse("fd00::5/064"));
  EXPECT_FALSE(Ipv6Cidr::parse("fd00::5"));
  const auto ip = IpAddr::parse("fd00::5");
  ASSERT_TRUE(ip && ip->is_v6());
  EXPECT_EQ(ip->as_v6(), addr("fd00::5"));
  EXPECT_EQ(IpAddr::v6(addr("fd00::5")), *ip);
}

TEST(Ipv6Ethernet, LinkLocalSolicitedNodeAndMulticastMacAsScapy) {
  const MacAddr a = *MacAddr::parse("02:00:00:00:00:0a");
  EXPECT_EQ(link_local_from_mac(a), addr(kLinkLocalOfA));
  EXPECT_EQ(link_local_from_mac(*MacAddr::parse("52:54:00:12:34:56")),
            addr("fe80::5054:ff:fe12:3456"));
  const Ipv6Addr sn = addr("fd00::12:3456").solicited_node();
  EXPECT_EQ(sn, addr(kSolicitedNode));
  EXPECT_EQ(multicast_mac(sn), *MacAddr::parse(kSolicitedNodeMac));
  EXPECT_EQ(multicast_mac(Ipv6Addr::all_nodes()), *MacAddr::parse("33:33:00:00:00:01"));
}

// ---- Checksums over the IPv6 pseudo-header (RFC 8200 §8.1).

TEST(Ipv6Checksum, UdpTcpAndIcmpv6VerifyAsScapyMadeThem) {
  for (auto bytes : {bytes_of(kUdp), bytes_of(kTcpSynV6), bytes_of(kEchoRequest)}) {
    const auto ip = Ipv6View::parse(bytes);
    ASSERT_TRUE(ip);
    EXPECT_EQ(ipv6_l4_checksum(ip->src(), ip->dst(), ip->next_header(), ip->payload()), 0);
    // The family-neutral sum is the same.
    EXPECT_EQ(
        checksum_finish(checksum_partial(
            ip->payload(),
            ip_pseudo_header_sum(IpAddr::v6(ip->src()), IpAddr::v6(ip->dst()), ip->next_header(),
                                 static_cast<std::uint32_t>(ip->payload().size())))),
        0);
    // A flipped payload bit, a different address or protocol all fail.
    std::vector<std::byte> p = testing::to_vec(ip->payload());
    p.back() ^= std::byte{1};
    EXPECT_NE(ipv6_l4_checksum(ip->src(), ip->dst(), ip->next_header(), p), 0);
    EXPECT_NE(ipv6_l4_checksum(addr("fd00::3"), ip->dst(), ip->next_header(), ip->payload()), 0);
    EXPECT_NE(ipv6_l4_checksum(ip->src(), ip->dst(), 99, ip->payload()), 0);
  }
}

TEST(Ipv6Checksum, LengthAbove16BitsIsSummedAsTwoWords) {
  // RFC 8200 §8.1: the length is 32 bits; 0x10000 adds 1 to the high word.
  EXPECT_EQ(ipv6_pseudo_header_sum({}, {}, 0, 0x10000), 1u);
  EXPECT_EQ(ipv6_pseudo_header_sum({}, {}, 17, 0x10003), 1u + 3 + 17);
}

// ---- ICMPv6.

TEST(Icmpv6, ParsesEchoAndVerifiesChecksum) {
  const auto ip = Ipv6View::parse(bytes_of(kEchoRequest));
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->next_header(), kIpProtoIcmpv6);
  const auto icmp = Icmpv6View::parse(ip->payload());
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), kIcmpv6EchoRequest);
  EXPECT_EQ(icmp->code(), 0);
  EXPECT_EQ(icmp->echo_id(), 0x1234);
  EXPECT_EQ(icmp->echo_seq(), 7);
  EXPECT_EQ(as_text(icmp->payload()), "abcdefgh");
  EXPECT_TRUE(icmp->checksum_ok(ip->src(), ip->dst()));
  EXPECT_FALSE(icmp->checksum_ok(ip->dst(), addr("fd00::3")));
  EXPECT_FALSE(icmpv6_is_error(icmp->type()));
  EXPECT_FALSE(Icmpv6View::parse(ip->payload().first(7)));
}

TEST(Icmpv6, EchoReplyEmittedLikeScapy) {
  // Turn the request around: type 129, addresses swapped, checksum again.
  auto b = copy_of(kEchoRequest);
  const auto ip = Ipv6MutView::parse(b);
  ASSERT_TRUE(ip);
  const Ipv6Addr s = ip->src(), d = ip->dst();
  ip->set_src(d);
  ip->set_dst(s);
  const auto icmp = Icmpv6MutView::parse(ip->payload());
  icmp->set_type(kIcmpv6EchoReply);
  icmp->fill_checksum(d, s);
  EXPECT_EQ(b, testing::to_vec(bytes_of(kEchoReply)));
  // And Icmpv6Repr writes the same header over the same body.
  std::vector<std::byte> msg = testing::to_vec(Ipv6View::parse(bytes_of(kEchoReply))->payload());
  std::vector<std::byte> again = msg;
  std::fill_n(again.begin(), 8, std::byte{0xee});
  ASSERT_TRUE(Icmpv6Repr::echo(kIcmpv6EchoReply, 0x1234, 7).emit(again, d, s));
  EXPECT_EQ(again, msg);
}

TEST(Icmpv6, ErrorsQuoteTheInvokingPacket) {
  const auto ip = Ipv6View::parse(bytes_of(kPacketTooBig));
  ASSERT_TRUE(ip);
  const auto icmp = Icmpv6View::parse(ip->payload());
  ASSERT_TRUE(icmp);
  EXPECT_TRUE(icmp->checksum_ok(ip->src(), ip->dst()));
  EXPECT_EQ(icmp->type(), kIcmpv6PacketTooBig);
  EXPECT_TRUE(icmpv6_is_error(icmp->type()));
  EXPECT_EQ(icmp->word(), 1280u);
  const auto q = icmp->quoted_ipv6();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->src(), addr("fd00::2"));
  EXPECT_EQ(q->dst(), addr("fd00::1"));
  EXPECT_EQ(q->next_header(), kIpProtoTcp);
  EXPECT_EQ(load_be16(q->payload().data()), 80);

  const auto un = Icmpv6View::parse(Ipv6View::parse(bytes_of(kPortUnreachable))->payload());
  ASSERT_TRUE(un);
  EXPECT_EQ(un->type(), kIcmpv6DestUnreachable);
  EXPECT_EQ(un->code(), kIcmpv6UnreachPort);
  ASSERT_TRUE(un->quoted_ipv6());
  // A quote cut inside the fixed header is refused.
  const auto cut = Icmpv6View::parse(un->bytes().first(8 + 39));
  EXPECT_FALSE(cut->quoted_ipv6());
  // An informational message quotes nothing.
  EXPECT_FALSE(
      Icmpv6View::parse(Ipv6View::parse(bytes_of(kEchoRequest))->payload())->quoted_ipv6());
}

// ---- Extension header walk (RFC 8200 §4).

Ipv6Walk walk(std::span<const std::byte> b) {
  return walk_ipv6_headers(b);
}

TEST(Ipv6Ext, NoExtensionHeaders) {
  const auto w = walk(bytes_of(kUdp));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kUpper);
  EXPECT_EQ(w.upper, kIpProtoUdp);
  EXPECT_EQ(w.upper_offset, 40u);
  EXPECT_EQ(w.next_header_field, 6u);
  EXPECT_EQ(w.headers, 0u);
}

TEST(Ipv6Ext, PadNAndSkippableUnknownOptionsAreWalkedOver) {
  for (auto b : {bytes_of(kHbhPadN), bytes_of(kHbhSkip)}) {
    const auto w = walk(b);
    EXPECT_EQ(w.status, Ipv6WalkStatus::kUpper);
    EXPECT_EQ(w.upper, kIpProtoUdp);
    EXPECT_EQ(w.upper_offset, 48u);
    EXPECT_EQ(w.next_header_field, 40u);
    EXPECT_FALSE(w.send_param_problem);
  }
}

TEST(Ipv6Ext, UnknownOptionActionsFollowTheHighBits) {
  // 01: discard silently.
  auto w = walk(bytes_of(kHbhDiscard));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kBadOption);
  EXPECT_FALSE(w.send_param_problem);
  // 10: discard, Parameter Problem code 2 pointing at the option type
  // (after the 2-byte header and a 4-byte PadN: offset 40 + 6).
  w = walk(bytes_of(kDestOptIcmp));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kBadOption);
  EXPECT_TRUE(w.send_param_problem);
  EXPECT_FALSE(w.param_problem_unless_multicast);
  EXPECT_EQ(w.param_code, kParamProblemOption);
  EXPECT_EQ(w.param_pointer, 46u);
  // 11: the same, but the caller holds it back for a multicast destination.
  w = walk(bytes_of(kDestOptIcmpUnlessMcast));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kBadOption);
  EXPECT_TRUE(w.send_param_problem);
  EXPECT_TRUE(w.param_problem_unless_multicast);
  EXPECT_EQ(w.param_pointer, 42u);
}

TEST(Ipv6Ext, HopByHopAfterTheFirstHeaderIsAnUnrecognizedNextHeader) {
  const auto w = walk(bytes_of(kHbhLate));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kHopByHopLate);
  EXPECT_TRUE(w.send_param_problem);
  EXPECT_EQ(w.param_code, kParamProblemNextHeader);
  EXPECT_EQ(w.param_pointer, 40u);  // the Destination Options' Next Header byte
}

TEST(Ipv6Ext, RoutingHeaderWithSegmentsLeftIsRefusedAndDoneOneIgnored) {
  auto w = walk(bytes_of(kRouting0Active));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kRouting);
  EXPECT_TRUE(w.send_param_problem);
  EXPECT_EQ(w.param_code, kParamProblemHeaderField);
  EXPECT_EQ(w.param_pointer, 42u);  // the Routing Type field
  w = walk(bytes_of(kRouting0Done));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kUpper);
  EXPECT_EQ(w.upper, kIpProtoUdp);
  EXPECT_EQ(w.upper_offset, 40u + 24);
}

TEST(Ipv6Ext, FragmentsStopTheWalkAtomicFragmentsDoNot) {
  auto w = walk(bytes_of(kFragment));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kFragment);
  EXPECT_EQ(w.frag.offset_bytes, 8u);
  EXPECT_TRUE(w.frag.more);
  EXPECT_EQ(w.frag.ident, 0xabcdu);
  EXPECT_EQ(w.frag.next_header, kIpProtoUdp);
  EXPECT_EQ(w.frag.header_offset, 40u);
  EXPECT_EQ(w.frag.data_offset, 48u);
  w = walk(bytes_of(kAtomicFragment));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kUpper);
  EXPECT_TRUE(w.atomic_fragment);
  EXPECT_EQ(w.upper, kIpProtoUdp);
  EXPECT_EQ(w.upper_offset, 48u);
}

TEST(Ipv6Ext, LongChainLimitsAndNoNextHeader) {
  auto w = walk(bytes_of(kChain));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kUpper);
  EXPECT_EQ(w.upper, kIpProtoIcmpv6);
  EXPECT_EQ(w.headers, 4u);
  EXPECT_EQ(w.upper_offset, 40u + 8 + 8 + 8 + 8);
  w = walk(bytes_of(kNineHeaders));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kTooManyHeaders);
  w = walk(bytes_of(kNoNext));
  EXPECT_EQ(w.status, Ipv6WalkStatus::kNoNextHeader);
}

TEST(Ipv6Ext, EveryTruncationIsCaughtWithoutReadingPastTheEnd) {
  // Cut each chain at every length: the walk may only succeed when the
  // upper-layer header starts inside what is left, and never reads past it
  // (ASan checks that in the sanitizer run; each cut is a fresh allocation).
  for (auto b : {bytes_of(kHbhPadN), bytes_of(kChain), bytes_of(kDestOptIcmp),
                 bytes_of(kRouting0Done), bytes_of(kAtomicFragment), bytes_of(kFragment)}) {
    const auto full = walk(b);
    for (std::size_t n = 0; n < b.size(); ++n) {
      const std::vector<std::byte> cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
      const auto w = walk(cut);
      if (w.status == Ipv6WalkStatus::kUpper) {
        EXPECT_LE(w.upper_offset, n);
        EXPECT_EQ(w.upper_offset, full.upper_offset);
      } else if (n < full.upper_offset || full.status != Ipv6WalkStatus::kUpper) {
        EXPECT_TRUE(w.status == Ipv6WalkStatus::kTruncated || w.status == full.status)
            << "cut at " << n;
      }
    }
  }
}

TEST(Ipv6Ext, OptionRunningPastItsHeaderIsTruncated) {
  auto b = copy_of(kHbhSkip);
  b[43] = std::byte{5};  // the unknown option's length: now past the header
  EXPECT_EQ(walk(b).status, Ipv6WalkStatus::kTruncated);
  auto c = copy_of(kHbhPadN);
  c[41] = std::byte{200};  // Hdr Ext Len far past the packet
  EXPECT_EQ(walk(c).status, Ipv6WalkStatus::kTruncated);
}

// ---- Neighbor Discovery messages (RFC 4861 §4.3, §4.4).

std::span<const std::byte> icmp_of(std::span<const std::byte> packet) {
  return Ipv6View::parse(packet)->payload();
}

TEST(Ndp, ParsesSolicitationWithSourceLinkAddress) {
  const auto ip = Ipv6View::parse(bytes_of(kNeighborSolicit));
  EXPECT_EQ(ip->hop_limit(), 255);
  EXPECT_EQ(ip->dst(), addr("fd00::2").solicited_node());
  EXPECT_TRUE(Icmpv6View::parse(ip->payload())->checksum_ok(ip->src(), ip->dst()));
  const auto ns = NdMessage::parse(ip->payload());
  ASSERT_TRUE(ns);
  EXPECT_EQ(ns->type, kIcmpv6NeighborSolicit);
  EXPECT_EQ(ns->target, addr("fd00::2"));
  ASSERT_TRUE(ns->source_mac);
  EXPECT_EQ(*ns->source_mac, *MacAddr::parse("02:00:00:00:00:0a"));
  EXPECT_FALSE(ns->target_mac);
}

TEST(Ndp, ParsesAdvertisementFlags) {
  const auto na = NdMessage::parse(icmp_of(bytes_of(kNeighborAdvert)));
  ASSERT_TRUE(na);
  EXPECT_EQ(na->type, kIcmpv6NeighborAdvert);
  EXPECT_FALSE(na->router());
  EXPECT_TRUE(na->solicited());
  EXPECT_TRUE(na->override_flag());
  ASSERT_TRUE(na->target_mac);
  EXPECT_EQ(*na->target_mac, *MacAddr::parse("02:00:00:00:00:0b"));
}

TEST(Ndp, DadSolicitationHasNoOption) {
  const auto ns = NdMessage::parse(icmp_of(bytes_of(kDadSolicit)));
  ASSERT_TRUE(ns);
  EXPECT_FALSE(ns->source_mac);
  EXPECT_EQ(Ipv6View::parse(bytes_of(kDadSolicit))->src(), Ipv6Addr::any());
}

TEST(Ndp, RefusesZeroLengthOptionMulticastTargetShortAndNonzeroCode) {
  EXPECT_FALSE(NdMessage::parse(icmp_of(bytes_of(kNsZeroLengthOption))));
  EXPECT_FALSE(NdMessage::parse(icmp_of(bytes_of(kNsMulticastTarget))));
  EXPECT_FALSE(NdMessage::parse(icmp_of(bytes_of(kNeighborSolicit)).first(23)));
  auto b = testing::to_vec(icmp_of(bytes_of(kNeighborSolicit)));
  b[1] = std::byte{1};
  EXPECT_FALSE(NdMessage::parse(b));
  // An option whose length runs past the message.
  auto c = testing::to_vec(icmp_of(bytes_of(kNeighborSolicit)));
  c[25] = std::byte{2};
  EXPECT_FALSE(NdMessage::parse(c));
}

TEST(Ndp, EmitsWhatScapyBuilt) {
  for (auto packet :
       {bytes_of(kNeighborSolicit), bytes_of(kNeighborAdvert), bytes_of(kDadSolicit)}) {
    const auto ip = Ipv6View::parse(packet);
    const auto m = NdMessage::parse(ip->payload());
    ASSERT_TRUE(m);
    std::vector<std::byte> out(m->len());
    ASSERT_TRUE(m->emit(out, ip->src(), ip->dst()));
    EXPECT_EQ(out, testing::to_vec(ip->payload()));
  }
}

}  // namespace
}  // namespace ustack::wire
