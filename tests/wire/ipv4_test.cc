// Ipv4View / Ipv4Repr against datagrams built with scapy 2.5.
// Each array is bytes(<the scapy 2.5 expression in the comment above it>),
// evaluated after `from scapy.all import *`.
#include "proto/wire/ipv4.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "proto/wire/checksum.h"
#include "proto/wire/ethernet.h"
#include "wire_test_util.h"

namespace ustack::wire {
namespace {

using testing::as_text;
using testing::bytes_of;
using testing::copy_of;

// clang-format off
// IP(src="192.0.2.1", dst="198.51.100.2", id=0x1234, ttl=64, tos=0xb8, flags="DF")/UDP(sport=1234, dport=53)/Raw(b"hello")
constexpr std::uint8_t kIpUdp[] = {
    0x45, 0xb8, 0x00, 0x21, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x3b, 0xa9,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x04, 0xd2, 0x00, 0x35,
    0x00, 0x0d, 0xca, 0xc3, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};
// IP(src="192.0.2.1", dst="198.51.100.2", options=[IPOption_RR(routers=["203.0.113.9"]), IPOption_NOP(), IPOption_EOL()])/ICMP()
constexpr std::uint8_t kIpOptions[] = {
    0x48, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x76, 0x59,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x07, 0x07, 0x04, 0xcb,
    0x00, 0x71, 0x09, 0x01, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0xf7, 0xff,
    0x00, 0x00, 0x00, 0x00,
};
// IP(src="192.0.2.1", dst="198.51.100.2", proto=2, options=[IPOption_Router_Alert()])/Raw(b"\x11\x64\xee\x9b\x00\x00\x00\x00")
constexpr std::uint8_t kIpRouterAlert[] = {
    0x46, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x40, 0x02, 0xf9, 0x9f,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x94, 0x04, 0x00, 0x00,
    0x11, 0x64, 0xee, 0x9b, 0x00, 0x00, 0x00, 0x00,
};
// IP(src="192.0.2.1", dst="198.51.100.2", id=7, flags="MF", frag=185, proto=17)/Raw(b"x" * 16)
constexpr std::uint8_t kIpFragment[] = {
    0x45, 0x00, 0x00, 0x24, 0x00, 0x07, 0x20, 0xb9, 0x40, 0x11, 0x6d, 0xd2,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
};
// IP(src="192.0.2.1", dst="198.51.100.2", id=7, frag=8187, proto=17)/Raw(b"x" * 16)
constexpr std::uint8_t kIpLastFragment[] = {
    0x45, 0x00, 0x00, 0x24, 0x00, 0x07, 0x1f, 0xfb, 0x40, 0x11, 0x6e, 0x90,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
};
// Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")/IP(src="192.0.2.1", dst="198.51.100.2", proto=17)/Raw(b"ab")/Padding(b"\x00" * 24)
constexpr std::uint8_t kEthIpPadded[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x16, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11,
    0x8e, 0x9f, 0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x61, 0x62,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
// bytes(IP(src="192.0.2.1", dst="198.51.100.2")/UDP(sport=1, dport=2))[:19]
constexpr std::uint8_t kIpTruncated[] = {
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x8e, 0x99,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64,
};
// IP(src="192.0.2.1", dst="198.51.100.2", version=6)/UDP(sport=1, dport=2)
constexpr std::uint8_t kIpVersion6[] = {
    0x65, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x6e, 0x99,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x00, 0x01, 0x00, 0x02,
    0x00, 0x08, 0x13, 0xa4,
};
// IP(src="192.0.2.1", dst="198.51.100.2", ihl=4)/UDP(sport=1, dport=2)
constexpr std::uint8_t kIpIhl4[] = {
    0x44, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x8f, 0x99,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x00, 0x01, 0x00, 0x02,
    0x00, 0x08, 0x13, 0xa4,
};
// IP(src="192.0.2.1", dst="198.51.100.2", ihl=15)/UDP(sport=1, dport=2)
constexpr std::uint8_t kIpIhlPastBuffer[] = {
    0x4f, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x84, 0x99,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x00, 0x01, 0x00, 0x02,
    0x00, 0x08, 0x13, 0xa4,
};
// IP(src="192.0.2.1", dst="198.51.100.2", len=100)/Raw(b"x" * 10)
constexpr std::uint8_t kIpTotalLenPastBuffer[] = {
    0x45, 0x00, 0x00, 0x64, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00, 0x8e, 0x62,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
};
// IP(src="192.0.2.1", dst="198.51.100.2", len=19)/Raw(b"x" * 10)
constexpr std::uint8_t kIpTotalLenBelowHeader[] = {
    0x45, 0x00, 0x00, 0x13, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00, 0x8e, 0xb3,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
};
// IP(src="192.0.2.1", dst="198.51.100.2", ihl=6)/Raw(b"\x07\x00\x00\x00")
constexpr std::uint8_t kIpOptionLen0[] = {
    0x46, 0x00, 0x00, 0x18, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00, 0x8d, 0xae,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x07, 0x00, 0x00, 0x00,
};
// IP(src="192.0.2.1", dst="198.51.100.2", ihl=6)/Raw(b"\x07\x01\x00\x00")
constexpr std::uint8_t kIpOptionLen1[] = {
    0x46, 0x00, 0x00, 0x18, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00, 0x8d, 0xae,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x07, 0x01, 0x00, 0x00,
};
// IP(src="192.0.2.1", dst="198.51.100.2", ihl=6)/Raw(b"\x07\x08\x04\x00")
constexpr std::uint8_t kIpOptionOverrun[] = {
    0x46, 0x00, 0x00, 0x18, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00, 0x8d, 0xae,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x07, 0x08, 0x04, 0x00,
};
// IP(src="192.0.2.1", dst="198.51.100.2", ihl=6)/Raw(b"\x01\x01\x01\x07")
constexpr std::uint8_t kIpOptionNoLenByte[] = {
    0x46, 0x00, 0x00, 0x18, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00, 0x8d, 0xae,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x01, 0x01, 0x01, 0x07,
};
// IP(src="192.0.2.1", dst="198.51.100.2", frag=8189, proto=1)/Raw(b"x" * 100)
constexpr std::uint8_t kIpPingOfDeath[] = {
    0x45, 0x00, 0x00, 0x78, 0x00, 0x01, 0x1f, 0xfd, 0x40, 0x01, 0x6e, 0x50,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
};
// clang-format on

const Ipv4Addr kSrc{{192, 0, 2, 1}};
const Ipv4Addr kDst{{198, 51, 100, 2}};

TEST(Ipv4, ParsesDatagram) {
  const auto ip = Ipv4View::parse(bytes_of(kIpUdp));
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->version(), 4);
  EXPECT_EQ(ip->ihl(), 5);
  EXPECT_EQ(ip->header_len(), 20u);
  EXPECT_EQ(ip->tos(), 0xb8);
  EXPECT_EQ(ip->dscp(), 46);  // EF
  EXPECT_EQ(ip->ecn(), 0);
  EXPECT_EQ(ip->total_length(), 33);
  EXPECT_EQ(ip->ident(), 0x1234);
  EXPECT_TRUE(ip->dont_fragment());
  EXPECT_FALSE(ip->more_fragments());
  EXPECT_EQ(ip->frag_offset(), 0);
  EXPECT_FALSE(ip->is_fragment());
  EXPECT_EQ(ip->ttl(), 64);
  EXPECT_EQ(ip->protocol(), kIpProtoUdp);
  EXPECT_EQ(ip->checksum(), 0x3ba9);
  EXPECT_EQ(ip->src(), kSrc);
  EXPECT_EQ(ip->dst(), kDst);
  EXPECT_TRUE(ip->header_checksum_ok());
  EXPECT_TRUE(ip->options_bytes().empty());
  EXPECT_EQ(ip->options().begin(), ip->options().end());
  EXPECT_EQ(ip->payload().size(), 13u);
  EXPECT_EQ(as_text(ip->payload().subspan(8)), "hello");
}

TEST(Ipv4, WalksOptions) {
  const auto ip = Ipv4View::parse(bytes_of(kIpOptions));
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->ihl(), 8);
  EXPECT_EQ(ip->header_len(), 32u);
  EXPECT_TRUE(ip->header_checksum_ok());
  EXPECT_EQ(ip->payload().size(), 8u);
  EXPECT_EQ(ip->payload()[0], std::byte{8});  // the ICMP echo request
  std::vector<RawOption> opts(ip->options().begin(), ip->options().end());
  ASSERT_EQ(opts.size(), 1u) << "NOP skipped, EOL ends the list";
  EXPECT_EQ(opts[0].kind, kIpv4OptRecordRoute);
  ASSERT_EQ(opts[0].data.size(), 5u);
  EXPECT_EQ(opts[0].data[0], std::byte{4});  // pointer
  EXPECT_EQ(Ipv4Addr::from_bytes(&opts[0].data[1]), (Ipv4Addr{{203, 0, 113, 9}}));
}

TEST(Ipv4, WalksRouterAlert) {
  const auto ip = Ipv4View::parse(bytes_of(kIpRouterAlert));
  ASSERT_TRUE(ip);
  auto it = ip->options().begin();
  ASSERT_NE(it, ip->options().end());
  EXPECT_EQ((*it).kind, kIpv4OptRouterAlert);
  EXPECT_EQ((*it).data.size(), 2u);
  EXPECT_EQ(++it, ip->options().end());
  EXPECT_EQ(ip->payload().size(), 8u);
}

TEST(Ipv4, ReadsFragmentFields) {
  const auto first = Ipv4View::parse(bytes_of(kIpFragment));
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->more_fragments());
  EXPECT_FALSE(first->dont_fragment());
  EXPECT_EQ(first->frag_offset(), 185);
  EXPECT_EQ(first->frag_offset_bytes(), 1480u);
  EXPECT_TRUE(first->is_fragment());

  const auto last = Ipv4View::parse(bytes_of(kIpLastFragment));
  ASSERT_TRUE(last);
  EXPECT_FALSE(last->more_fragments());
  EXPECT_EQ(last->frag_offset_bytes(), 8187u * 8);
  EXPECT_TRUE(last->is_fragment()) << "offset != 0";
}

TEST(Ipv4, CutsLinkPadding) {
  const auto eth = EthernetView::parse(bytes_of(kEthIpPadded));
  ASSERT_TRUE(eth);
  ASSERT_EQ(eth->payload().size(), 46u);
  const auto ip = Ipv4View::parse(eth->payload());
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->bytes().size(), 22u);
  EXPECT_EQ(as_text(ip->payload()), "ab");
}

TEST(Ipv4, RefusesTruncatedHeader) {
  EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpTruncated)));
  // Every prefix shorter than the total length fails (header or data short).
  for (std::size_t n = 0; n < sizeof kIpUdp; ++n)
    EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpUdp).first(n))) << n;
  for (std::size_t n = 0; n < sizeof kIpOptions; ++n)
    EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpOptions).first(n))) << n;
}

TEST(Ipv4, RefusesOtherVersion) {
  EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpVersion6)));
}

TEST(Ipv4, RefusesIhlBelowFive) {
  EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpIhl4)));
}

TEST(Ipv4, RefusesIhlPastBuffer) {
  EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpIhlPastBuffer)));
}

TEST(Ipv4, RefusesTotalLengthPastBuffer) {
  EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpTotalLenPastBuffer)));
}

TEST(Ipv4, RefusesTotalLengthBelowHeader) {
  EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpTotalLenBelowHeader)));
}

TEST(Ipv4, RefusesMalformedOptions) {
  EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpOptionLen0)));
  EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpOptionLen1)));
  EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpOptionOverrun)));
  EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpOptionNoLenByte)));
}

TEST(Ipv4, RefusesFragmentPastLargestDatagram) {
  EXPECT_FALSE(Ipv4View::parse(bytes_of(kIpPingOfDeath)));
}

TEST(Ipv4, ParseQuotedAcceptsCutData) {
  // The header says 33 bytes; 28 are here (header + 8 data bytes).
  const auto cut = bytes_of(kIpUdp).first(28);
  EXPECT_FALSE(Ipv4View::parse(cut));
  const auto ip = Ipv4View::parse_quoted(cut);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->total_length(), 33);
  EXPECT_EQ(ip->payload().size(), 8u);
  // Fewer than 8 data bytes is too little to find the ports.
  EXPECT_FALSE(Ipv4View::parse_quoted(bytes_of(kIpUdp).first(27)));
  // The other checks still apply.
  EXPECT_FALSE(Ipv4View::parse_quoted(bytes_of(kIpIhl4)));
  EXPECT_FALSE(Ipv4View::parse_quoted(bytes_of(kIpOptionOverrun)));
  // A whole datagram parses the same either way.
  EXPECT_EQ(Ipv4View::parse_quoted(bytes_of(kIpUdp))->payload().size(), 13u);
}

TEST(Ipv4, DetectsCorruptHeader) {
  auto pkt = copy_of(kIpUdp);
  pkt[8] = std::byte{63};
  EXPECT_FALSE(Ipv4View::parse(std::span<const std::byte>(pkt))->header_checksum_ok());
}

TEST(Ipv4, MutableViewSetsFieldsAndChecksum) {
  auto pkt = copy_of(kIpUdp);
  const auto ip = Ipv4MutView::parse(pkt);
  ASSERT_TRUE(ip);
  ip->set_src(kDst);
  ip->set_dst(kSrc);
  ip->set_ident(7);
  ip->set_tos(0);
  ip->set_fragment(false, true, 100);
  ip->set_protocol(kIpProtoTcp);
  ip->fill_checksum();
  const Ipv4View ro = *ip;
  EXPECT_EQ(ro.src(), kDst);
  EXPECT_EQ(ro.dst(), kSrc);
  EXPECT_EQ(ro.ident(), 7);
  EXPECT_EQ(ro.tos(), 0);
  EXPECT_FALSE(ro.dont_fragment());
  EXPECT_TRUE(ro.more_fragments());
  EXPECT_EQ(ro.frag_offset(), 100);
  EXPECT_EQ(ro.protocol(), kIpProtoTcp);
  EXPECT_TRUE(ro.header_checksum_ok());
}

// A forwarder's TTL decrement (RFC 1812 §5.3.1) with the RFC 1624 update
// gives the same checksum as recomputing it.
TEST(Ipv4, TtlDecrementWithIncrementalChecksum) {
  auto pkt = copy_of(kIpUdp);
  const auto ip = Ipv4MutView::parse(pkt);
  ASSERT_TRUE(ip);
  const std::uint16_t old_word = static_cast<std::uint16_t>(ip->ttl() << 8 | ip->protocol());
  ip->set_ttl(static_cast<std::uint8_t>(ip->ttl() - 1));
  const std::uint16_t new_word = static_cast<std::uint16_t>(ip->ttl() << 8 | ip->protocol());
  ip->set_checksum(checksum_update16(ip->checksum(), old_word, new_word));
  const std::uint16_t incremental = ip->checksum();
  ip->fill_checksum();
  EXPECT_EQ(incremental, ip->checksum());
  EXPECT_TRUE(Ipv4View(*ip).header_checksum_ok());
}

TEST(Ipv4, ReprEmitsScapyHeader) {
  const auto ip = Ipv4View::parse(bytes_of(kIpUdp));
  ASSERT_TRUE(ip);
  const Ipv4Repr repr = Ipv4Repr::parse(*ip);
  EXPECT_EQ(repr.payload_len, 13);
  EXPECT_TRUE(repr.dont_fragment);
  std::array<std::byte, 20> out{};
  ASSERT_TRUE(repr.emit(out));
  EXPECT_TRUE(std::equal(out.begin(), out.end(), bytes_of(kIpUdp).begin()));

  ASSERT_TRUE(repr.emit(out, /*compute_checksum=*/false));
  EXPECT_EQ(out[10], std::byte{0});
  EXPECT_EQ(out[11], std::byte{0});
}

TEST(Ipv4, ReprEmitsFragmentFields) {
  const auto ip = Ipv4View::parse(bytes_of(kIpFragment));
  ASSERT_TRUE(ip);
  const Ipv4Repr repr = Ipv4Repr::parse(*ip);
  std::array<std::byte, 20> out{};
  ASSERT_TRUE(repr.emit(out));
  EXPECT_TRUE(std::equal(out.begin(), out.end(), bytes_of(kIpFragment).begin()));
}

TEST(Ipv4, ReprRefusesShortBufferAndOversizedPayload) {
  Ipv4Repr repr;
  repr.src = kSrc;
  repr.dst = kDst;
  std::array<std::byte, 20> out{};
  EXPECT_FALSE(repr.emit(std::span(out).first(19)));
  repr.payload_len = 65515;
  EXPECT_TRUE(repr.emit(out));
  repr.payload_len = 65516;
  EXPECT_FALSE(repr.emit(out));
}

}  // namespace
}  // namespace ustack::wire
