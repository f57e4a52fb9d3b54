// UdpView / UdpRepr against datagrams built with scapy 2.5.
// Each array is bytes(<the scapy 2.5 expression in the comment above it>),
// evaluated after `from scapy.all import *`.
#include "proto/wire/udp.h"

#include <gtest/gtest.h>

#include <vector>

#include "proto/wire/checksum.h"
#include "proto/wire/ipv4.h"
#include "wire_test_util.h"

namespace ustack::wire {
namespace {

using testing::as_text;
using testing::bytes_of;
using testing::copy_of;
using testing::to_vec;

// clang-format off
// IP(src="192.0.2.1", dst="198.51.100.2")/UDP(sport=5353, dport=53)/Raw(b"query")
constexpr std::uint8_t kIpUdpDns[] = {
    0x45, 0x00, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x8e, 0x94,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x14, 0xe9, 0x00, 0x35,
    0x00, 0x0d, 0xae, 0x96, 0x71, 0x75, 0x65, 0x72, 0x79,
};
// IP(src="192.0.2.1", dst="198.51.100.2")/UDP(sport=1000, dport=2000)/Raw(b"abc")
constexpr std::uint8_t kIpUdpOddLen[] = {
    0x45, 0x00, 0x00, 0x1f, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x8e, 0x96,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x03, 0xe8, 0x07, 0xd0,
    0x00, 0x0b, 0x43, 0x86, 0x61, 0x62, 0x63,
};
// IP(src="192.0.2.1", dst="198.51.100.2")/UDP(sport=1000, dport=2000, chksum=0)/Raw(b"abc")
constexpr std::uint8_t kIpUdpNoChecksum[] = {
    0x45, 0x00, 0x00, 0x1f, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x8e, 0x96,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x03, 0xe8, 0x07, 0xd0,
    0x00, 0x0b, 0x00, 0x00, 0x61, 0x62, 0x63,
};
// UDP(sport=1000, dport=2000, len=10)/Raw(b"hello")
constexpr std::uint8_t kUdpShorterThanPayload[] = {
    0x03, 0xe8, 0x07, 0xd0, 0x00, 0x0a, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c,
    0x6f,
};
// bytes(UDP(sport=1000, dport=2000))[:7]
constexpr std::uint8_t kUdpTruncated[] = {
    0x03, 0xe8, 0x07, 0xd0, 0x00, 0x08, 0x00,
};
// UDP(sport=1000, dport=2000, len=7)/Raw(b"abc")
constexpr std::uint8_t kUdpLenBelowHeader[] = {
    0x03, 0xe8, 0x07, 0xd0, 0x00, 0x07, 0x00, 0x00, 0x61, 0x62, 0x63,
};
// UDP(sport=1000, dport=2000, len=100)/Raw(b"abc")
constexpr std::uint8_t kUdpLenPastBuffer[] = {
    0x03, 0xe8, 0x07, 0xd0, 0x00, 0x64, 0x00, 0x00, 0x61, 0x62, 0x63,
};
// clang-format on

const Ipv4Addr kSrc{{192, 0, 2, 1}};
const Ipv4Addr kDst{{198, 51, 100, 2}};

TEST(Udp, ParsesDatagramInsideIpv4) {
  const auto ip = Ipv4View::parse(bytes_of(kIpUdpDns));
  ASSERT_TRUE(ip);
  const auto udp = UdpView::parse(ip->payload());
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->src_port(), 5353);
  EXPECT_EQ(udp->dst_port(), 53);
  EXPECT_EQ(udp->length(), 13);
  EXPECT_TRUE(udp->has_checksum());
  EXPECT_EQ(as_text(udp->payload()), "query");
  EXPECT_TRUE(udp->checksum_ok(ip->src(), ip->dst()));
  EXPECT_FALSE(udp->checksum_ok(ip->dst(), Ipv4Addr{{1, 2, 3, 4}})) << "pseudo-header counts";
}

TEST(Udp, ChecksumCoversOddLength) {
  const auto ip = Ipv4View::parse(bytes_of(kIpUdpOddLen));
  ASSERT_TRUE(ip);
  const auto udp = UdpView::parse(ip->payload());
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->length(), 11);
  EXPECT_TRUE(udp->checksum_ok(kSrc, kDst));
  auto bad = to_vec(udp->bytes());
  bad.back() ^= std::byte{0x80};
  EXPECT_FALSE(UdpView::parse(std::span<const std::byte>(bad))->checksum_ok(kSrc, kDst));
}

TEST(Udp, ZeroChecksumMeansNone) {
  const auto ip = Ipv4View::parse(bytes_of(kIpUdpNoChecksum));
  ASSERT_TRUE(ip);
  const auto udp = UdpView::parse(ip->payload());
  ASSERT_TRUE(udp);
  EXPECT_FALSE(udp->has_checksum());
  EXPECT_TRUE(udp->checksum_ok(kSrc, kDst));
}

TEST(Udp, LengthShorterThanPayloadCutsIt) {
  const auto udp = UdpView::parse(bytes_of(kUdpShorterThanPayload));
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->length(), 10);
  EXPECT_EQ(udp->bytes().size(), 10u);
  EXPECT_EQ(as_text(udp->payload()), "he");
}

TEST(Udp, RefusesTruncatedHeader) {
  EXPECT_FALSE(UdpView::parse(bytes_of(kUdpTruncated)));
  const auto ip = Ipv4View::parse(bytes_of(kIpUdpDns));
  for (std::size_t n = 0; n < 13; ++n) EXPECT_FALSE(UdpView::parse(ip->payload().first(n))) << n;
}

TEST(Udp, RefusesLengthBelowHeader) {
  EXPECT_FALSE(UdpView::parse(bytes_of(kUdpLenBelowHeader)));
}

TEST(Udp, RefusesLengthPastPayload) {
  EXPECT_FALSE(UdpView::parse(bytes_of(kUdpLenPastBuffer)));
}

TEST(Udp, MutableViewSetsPortsAndChecksum) {
  auto pkt = copy_of(kIpUdpDns);
  const auto ip = Ipv4MutView::parse(pkt);
  ASSERT_TRUE(ip);
  const auto udp = UdpMutView::parse(ip->payload());
  ASSERT_TRUE(udp);
  udp->set_src_port(53);
  udp->set_dst_port(5353);
  udp->fill_checksum(kDst, kSrc);
  const UdpView ro = *udp;
  EXPECT_EQ(ro.src_port(), 53);
  EXPECT_EQ(ro.dst_port(), 5353);
  EXPECT_TRUE(ro.checksum_ok(kDst, kSrc));
}

TEST(Udp, ReprEmitsScapyBytes) {
  const auto ip = Ipv4View::parse(bytes_of(kIpUdpDns));
  ASSERT_TRUE(ip);
  const UdpRepr repr = UdpRepr::parse(*UdpView::parse(ip->payload()));
  EXPECT_EQ(repr.src_port, 5353);
  auto dgram = to_vec(ip->payload());
  std::fill(dgram.begin(), dgram.begin() + 8, std::byte{0xee});
  ASSERT_TRUE(repr.emit(dgram, kSrc, kDst));
  EXPECT_EQ(dgram, to_vec(ip->payload()));
  ASSERT_TRUE(repr.emit(dgram, kSrc, kDst, /*compute_checksum=*/false));
  EXPECT_FALSE(UdpView::parse(std::span<const std::byte>(dgram))->has_checksum());
  EXPECT_FALSE(repr.emit(std::span(dgram).first(7), kSrc, kDst));
}

// RFC 768: a computed checksum of 0 goes out as 0xffff.
TEST(Udp, ComputedZeroChecksumIsSentAsAllOnes) {
  std::vector<std::byte> dgram(10);
  const UdpRepr repr{1000, 2000};
  ASSERT_TRUE(repr.emit(dgram, kSrc, kDst, /*compute_checksum=*/false));
  // Choose the last data word so that the checksum comes out 0: the sum
  // must be 0xffff, so the word is the complement of the rest's sum.
  const std::uint16_t rest = checksum_fold(checksum_partial(
      std::span(dgram).first(6), ipv4_pseudo_header_sum(kSrc, kDst, kIpProtoUdp, 10)));
  store_be16(dgram.data() + 8, static_cast<std::uint16_t>(~rest));
  ASSERT_EQ(ipv4_l4_checksum(kSrc, kDst, kIpProtoUdp, std::span(dgram)), 0);  // field is 0
  ASSERT_TRUE(repr.emit(dgram, kSrc, kDst));
  const auto udp = UdpView::parse(std::span<const std::byte>(dgram));
  EXPECT_EQ(udp->checksum(), 0xffff);
  EXPECT_TRUE(udp->checksum_ok(kSrc, kDst));
  UdpMutView::parse(std::span<std::byte>(dgram))->fill_checksum(kSrc, kDst);
  EXPECT_EQ(udp->checksum(), 0xffff);
}

}  // namespace
}  // namespace ustack::wire
