// IcmpView / IcmpRepr against messages built with scapy 2.5.
// Each array is bytes(<the scapy 2.5 expression in the comment above it>),
// evaluated after `from scapy.all import *`.
#include "proto/wire/icmp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "proto/wire/checksum.h"
#include "proto/wire/ipv4.h"
#include "proto/wire/udp.h"
#include "wire_test_util.h"

namespace ustack::wire {
namespace {

using testing::as_text;
using testing::bytes_of;
using testing::copy_of;

// clang-format off
// ICMP(type=8, id=0x1234, seq=7)/Raw(b"abcdefgh")
constexpr std::uint8_t kEchoRequestMsg[] = {
    0x08, 0x00, 0x54, 0x2f, 0x12, 0x34, 0x00, 0x07, 0x61, 0x62, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68,
};
// ICMP(type=0, id=0x1234, seq=7)/Raw(b"abcdefgh")
constexpr std::uint8_t kEchoReplyMsg[] = {
    0x00, 0x00, 0x5c, 0x2f, 0x12, 0x34, 0x00, 0x07, 0x61, 0x62, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68,
};
// IP(src="192.0.2.1", dst="198.51.100.2")/ICMP(type=8, id=0xbeef, seq=1)/Raw(b"ping")
constexpr std::uint8_t kIpIcmpEcho[] = {
    0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x8e, 0xa5,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x08, 0x00, 0x5a, 0x3e,
    0xbe, 0xef, 0x00, 0x01, 0x70, 0x69, 0x6e, 0x67,
};
// ICMP(type=3, code=3)/IP(src="198.51.100.2", dst="192.0.2.1")/UDP(sport=5000, dport=9)/Raw(b"payload")
constexpr std::uint8_t kIcmpPortUnreachable[] = {
    0x03, 0x03, 0xe9, 0x54, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x23,
    0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x8e, 0x92, 0xc6, 0x33, 0x64, 0x02,
    0xc0, 0x00, 0x02, 0x01, 0x13, 0x88, 0x00, 0x09, 0x00, 0x0f, 0x42, 0xd8,
    0x70, 0x61, 0x79, 0x6c, 0x6f, 0x61, 0x64,
};
// ICMP(type=3, code=4, nexthopmtu=1400)/bytes(IP(src="192.0.2.1", dst="198.51.100.2", flags="DF")/TCP(sport=40000, dport=80, seq=1, flags="A")/Raw(b"x" * 1460))[:28]
constexpr std::uint8_t kIcmpFragNeeded[] = {
    0x03, 0x04, 0x5a, 0xf2, 0x00, 0x00, 0x05, 0x78, 0x45, 0x00, 0x05, 0xdc,
    0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x48, 0xe4, 0xc0, 0x00, 0x02, 0x01,
    0xc6, 0x33, 0x64, 0x02, 0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01,
};
// ICMP(type=3, code=4, nexthopmtu=1400)/bytes(IP(src="192.0.2.1", dst="198.51.100.2", flags="DF")/TCP(sport=40000, dport=80, seq=1, flags="A")/Raw(b"x" * 1460))[:24]
constexpr std::uint8_t kIcmpQuoteHeaderOnly[] = {
    0x03, 0x04, 0x5a, 0xf3, 0x00, 0x00, 0x05, 0x78, 0x45, 0x00, 0x05, 0xdc,
    0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x48, 0xe4, 0xc0, 0x00, 0x02, 0x01,
    0xc6, 0x33, 0x64, 0x02, 0x9c, 0x40, 0x00, 0x50,
};
// ICMP(type=11, code=0)/IP(src="192.0.2.1", dst="198.51.100.2", ttl=1)/UDP(sport=33434, dport=33435)
constexpr std::uint8_t kIcmpTimeExceeded[] = {
    0x0b, 0x00, 0xe1, 0x50, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x1c,
    0x00, 0x01, 0x00, 0x00, 0x01, 0x11, 0xcd, 0x99, 0xc0, 0x00, 0x02, 0x01,
    0xc6, 0x33, 0x64, 0x02, 0x82, 0x9a, 0x82, 0x9b, 0x00, 0x08, 0x0e, 0x71,
};
// bytes(ICMP(type=8, id=1, seq=1))[:7]
constexpr std::uint8_t kIcmpTruncated[] = {
    0x08, 0x00, 0xf7, 0xfd, 0x00, 0x01, 0x00,
};
// clang-format on

TEST(Icmp, ParsesEchoRequest) {
  const auto icmp = IcmpView::parse(bytes_of(kEchoRequestMsg));
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type(), kIcmpEchoRequest);
  EXPECT_EQ(icmp->code(), 0);
  EXPECT_EQ(icmp->echo_id(), 0x1234);
  EXPECT_EQ(icmp->echo_seq(), 7);
  EXPECT_EQ(icmp->rest_of_header(), 0x12340007u);
  EXPECT_EQ(as_text(icmp->payload()), "abcdefgh");
  EXPECT_TRUE(icmp->checksum_ok());
  EXPECT_FALSE(icmp_is_error(icmp->type()));
  EXPECT_FALSE(icmp->quoted_ipv4()) << "echo quotes nothing";
}

TEST(Icmp, ParsesEchoInsideIpv4) {
  const auto ip = Ipv4View::parse(bytes_of(kIpIcmpEcho));
  ASSERT_TRUE(ip);
  ASSERT_EQ(ip->protocol(), kIpProtoIcmp);
  const auto icmp = IcmpView::parse(ip->payload());
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->echo_id(), 0xbeef);
  EXPECT_EQ(icmp->echo_seq(), 1);
  EXPECT_EQ(as_text(icmp->payload()), "ping");
  EXPECT_TRUE(icmp->checksum_ok());
}

TEST(Icmp, DetectsCorruptMessage) {
  auto msg = copy_of(kEchoRequestMsg);
  msg[12] ^= std::byte{0x01};
  EXPECT_FALSE(IcmpView::parse(std::span<const std::byte>(msg))->checksum_ok());
}

// The echo responder's in-place rewrite (RFC 792: "the type code changed to
// 0, and the checksum recomputed"), both by recomputation and by RFC 1624.
TEST(Icmp, EchoRequestBecomesReplyInPlace) {
  auto msg = copy_of(kEchoRequestMsg);
  const auto icmp = IcmpMutView::parse(msg);
  ASSERT_TRUE(icmp);
  const std::uint16_t incremental = checksum_update16(
      icmp->checksum(), static_cast<std::uint16_t>(kIcmpEchoRequest << 8), kIcmpEchoReply << 8);
  icmp->set_type(kIcmpEchoReply);
  icmp->fill_checksum();
  EXPECT_EQ(msg, copy_of(kEchoReplyMsg));
  EXPECT_EQ(icmp->checksum(), incremental);
}

TEST(Icmp, PortUnreachableQuotesUdpDatagram) {
  const auto icmp = IcmpView::parse(bytes_of(kIcmpPortUnreachable));
  ASSERT_TRUE(icmp);
  EXPECT_TRUE(icmp->checksum_ok());
  EXPECT_EQ(icmp->type(), kIcmpDestUnreachable);
  EXPECT_EQ(icmp->code(), kIcmpUnreachPort);
  EXPECT_TRUE(icmp_is_error(icmp->type()));
  const auto quoted = icmp->quoted_ipv4();
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->src(), (Ipv4Addr{{198, 51, 100, 2}}));
  EXPECT_EQ(quoted->dst(), (Ipv4Addr{{192, 0, 2, 1}}));
  EXPECT_EQ(quoted->protocol(), kIpProtoUdp);
  const auto udp = UdpView::parse(quoted->payload());
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->src_port(), 5000);
  EXPECT_EQ(udp->dst_port(), 9);
}

TEST(Icmp, FragNeededCarriesMtuAndCutQuote) {
  const auto icmp = IcmpView::parse(bytes_of(kIcmpFragNeeded));
  ASSERT_TRUE(icmp);
  EXPECT_TRUE(icmp->checksum_ok());
  EXPECT_EQ(icmp->code(), kIcmpUnreachFragNeeded);
  EXPECT_EQ(icmp->next_hop_mtu(), 1400);
  const auto quoted = icmp->quoted_ipv4();
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->total_length(), 1500);
  EXPECT_TRUE(quoted->dont_fragment());
  EXPECT_EQ(quoted->protocol(), kIpProtoTcp);
  ASSERT_EQ(quoted->payload().size(), 8u);
  EXPECT_EQ(load_be16(quoted->payload().data()), 40000);
  EXPECT_EQ(load_be16(quoted->payload().data() + 2), 80);
}

TEST(Icmp, QuoteWithoutEightDataBytesIsRefused) {
  const auto icmp = IcmpView::parse(bytes_of(kIcmpQuoteHeaderOnly));
  ASSERT_TRUE(icmp);
  EXPECT_FALSE(icmp->quoted_ipv4());
}

TEST(Icmp, TimeExceededQuotesDatagram) {
  const auto icmp = IcmpView::parse(bytes_of(kIcmpTimeExceeded));
  ASSERT_TRUE(icmp);
  EXPECT_TRUE(icmp->checksum_ok());
  EXPECT_TRUE(icmp_is_error(icmp->type()));
  const auto quoted = icmp->quoted_ipv4();
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->ttl(), 1);
  EXPECT_EQ(quoted->payload().size(), 8u);
}

TEST(Icmp, RefusesTruncatedHeader) {
  EXPECT_FALSE(IcmpView::parse(bytes_of(kIcmpTruncated)));
  for (std::size_t n = 0; n < 8; ++n)
    EXPECT_FALSE(IcmpView::parse(bytes_of(kEchoRequestMsg).first(n))) << n;
  EXPECT_TRUE(IcmpView::parse(bytes_of(kEchoRequestMsg).first(8)));
}

TEST(Icmp, ReprEmitsEcho) {
  auto msg = copy_of(kEchoRequestMsg);
  std::fill(msg.begin(), msg.begin() + 8, std::byte{0xaa});
  const IcmpRepr repr = IcmpRepr::echo(kIcmpEchoRequest, 0x1234, 7);
  ASSERT_TRUE(repr.emit(msg));
  EXPECT_EQ(msg, copy_of(kEchoRequestMsg));
  EXPECT_EQ(IcmpRepr::parse(*IcmpView::parse(std::span<const std::byte>(msg))), repr);
}

TEST(Icmp, ReprEmitsFragNeeded) {
  auto msg = copy_of(kIcmpFragNeeded);
  std::fill(msg.begin(), msg.begin() + 8, std::byte{0});
  ASSERT_TRUE(IcmpRepr::dest_unreachable(kIcmpUnreachFragNeeded, 1400).emit(msg));
  EXPECT_EQ(msg, copy_of(kIcmpFragNeeded));
  std::array<std::byte, 7> small{};
  EXPECT_FALSE(IcmpRepr::echo(kIcmpEchoReply, 1, 1).emit(small));
}

}  // namespace
}  // namespace ustack::wire
