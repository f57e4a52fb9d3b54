// EthernetView / EthernetRepr against frames built with scapy 2.5.
// Each array is bytes(<the scapy 2.5 expression in the comment above it>),
// evaluated after `from scapy.all import *`.
#include "proto/wire/ethernet.h"

#include <gtest/gtest.h>

#include <array>

#include "wire_test_util.h"

namespace ustack::wire {
namespace {

using testing::bytes_of;
using testing::copy_of;

// clang-format off
// Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01", type=0x0800)/Raw(b"\x45\x00\x00\x14")
constexpr std::uint8_t kEthIpv4[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x14,
};
// Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01")/ARP(op=1, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.2")
constexpr std::uint8_t kEthArp[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
};
// Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")/Dot1Q(vlan=100, prio=5, id=1)/IP(src="192.0.2.1", dst="198.51.100.2")
constexpr std::uint8_t kEthVlan[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x81, 0x00, 0xb0, 0x64, 0x08, 0x00, 0x45, 0x00, 0x00, 0x14, 0x00, 0x01,
    0x00, 0x00, 0x40, 0x00, 0x8e, 0xb2, 0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33,
    0x64, 0x02,
};
// Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")/Dot1Q(vlan=10)/Dot1Q(vlan=20)/IP(src="192.0.2.1", dst="198.51.100.2")
constexpr std::uint8_t kEthQinQ[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x81, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00, 0x8e, 0xb2, 0xc0, 0x00,
    0x02, 0x01, 0xc6, 0x33, 0x64, 0x02,
};
// bytes(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01", type=0x0800))[:13]
constexpr std::uint8_t kEthTruncated[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08,
};
// bytes(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")/Dot1Q(vlan=100)/IP(src="192.0.2.1", dst="198.51.100.2"))[:17]
constexpr std::uint8_t kEthVlanTruncated[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x81, 0x00, 0x00, 0x64, 0x08,
};
// bytes(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")/Dot1Q(vlan=100, type=0x0800))[:18]
constexpr std::uint8_t kEthVlanTagOnly[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x81, 0x00, 0x00, 0x64, 0x08, 0x00,
};
// clang-format on

const MacAddr kMac1{{0x02, 0, 0, 0, 0, 0x01}};
const MacAddr kMac2{{0x02, 0, 0, 0, 0, 0x02}};

TEST(Ethernet, ParsesUntaggedFrame) {
  const auto eth = EthernetView::parse(bytes_of(kEthIpv4));
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->dst(), kMac2);
  EXPECT_EQ(eth->src(), kMac1);
  EXPECT_EQ(eth->ethertype(), kEtherTypeIpv4);
  EXPECT_FALSE(eth->has_vlan());
  EXPECT_EQ(eth->vlan_tci(), 0);
  EXPECT_EQ(eth->header_len(), 14u);
  ASSERT_EQ(eth->payload().size(), 4u);
  EXPECT_EQ(eth->payload()[0], std::byte{0x45});
}

TEST(Ethernet, ParsesArpFrame) {
  const auto eth = EthernetView::parse(bytes_of(kEthArp));
  ASSERT_TRUE(eth);
  EXPECT_TRUE(eth->dst().is_broadcast());
  EXPECT_EQ(eth->ethertype(), kEtherTypeArp);
  EXPECT_EQ(eth->payload().size(), 28u);
}

TEST(Ethernet, ParsesOneVlanTag) {
  const auto eth = EthernetView::parse(bytes_of(kEthVlan));
  ASSERT_TRUE(eth);
  EXPECT_TRUE(eth->has_vlan());
  EXPECT_EQ(eth->vlan_tci(), (5 << 13) | (1 << 12) | 100);
  EXPECT_EQ(eth->vlan_id(), 100);
  EXPECT_EQ(eth->vlan_pcp(), 5);
  EXPECT_TRUE(eth->vlan_dei());
  EXPECT_EQ(eth->ethertype(), kEtherTypeIpv4);
  EXPECT_EQ(eth->header_len(), 18u);
  ASSERT_EQ(eth->payload().size(), 20u);
  EXPECT_EQ(eth->payload()[0], std::byte{0x45});
}

TEST(Ethernet, SecondTagIsReportedNotUnwrapped) {
  const auto eth = EthernetView::parse(bytes_of(kEthQinQ));
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->vlan_id(), 10);
  EXPECT_EQ(eth->ethertype(), kEtherTypeVlan);
  EXPECT_EQ(eth->header_len(), 18u);
}

TEST(Ethernet, TagWithNothingAfterItParses) {
  const auto eth = EthernetView::parse(bytes_of(kEthVlanTagOnly));
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->ethertype(), kEtherTypeIpv4);
  EXPECT_TRUE(eth->payload().empty());
}

TEST(Ethernet, RefusesTruncatedHeader) {
  EXPECT_FALSE(EthernetView::parse(bytes_of(kEthTruncated)));
  for (std::size_t n = 0; n < 14; ++n)
    EXPECT_FALSE(EthernetView::parse(bytes_of(kEthIpv4).first(n))) << n;
}

TEST(Ethernet, RefusesTruncatedVlanTag) {
  EXPECT_FALSE(EthernetView::parse(bytes_of(kEthVlanTruncated)));
  for (std::size_t n = 0; n < 18; ++n)
    EXPECT_FALSE(EthernetView::parse(bytes_of(kEthVlan).first(n))) << n;
  EXPECT_TRUE(EthernetView::parse(bytes_of(kEthVlan).first(18)));
}

TEST(Ethernet, MutableViewSetsFields) {
  auto frame = copy_of(kEthVlan);
  const auto eth = EthernetMutView::parse(frame);
  ASSERT_TRUE(eth);
  eth->set_dst(kMac1);
  eth->set_src(kMac2);
  eth->set_vlan_id(4094);
  eth->set_ethertype(kEtherTypeArp);
  const EthernetView ro = *eth;
  EXPECT_EQ(ro.dst(), kMac1);
  EXPECT_EQ(ro.src(), kMac2);
  EXPECT_EQ(ro.vlan_id(), 4094);
  EXPECT_EQ(ro.vlan_pcp(), 5) << "PCP kept";
  EXPECT_TRUE(ro.vlan_dei()) << "DEI kept";
  EXPECT_EQ(ro.ethertype(), kEtherTypeArp);
  EXPECT_EQ(frame[16], std::byte{0x08});
  EXPECT_EQ(frame[17], std::byte{0x06});
}

TEST(Ethernet, ReprRoundTripsUntaggedAndTagged) {
  for (const auto frame : {bytes_of(kEthIpv4), bytes_of(kEthVlan), bytes_of(kEthQinQ)}) {
    const auto eth = EthernetView::parse(frame);
    ASSERT_TRUE(eth);
    const EthernetRepr repr = EthernetRepr::parse(*eth);
    EXPECT_EQ(repr.header_len(), eth->header_len());
    std::array<std::byte, 18> out{};
    ASSERT_TRUE(repr.emit(out));
    EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + repr.header_len(), out.begin()));
  }
}

TEST(Ethernet, ReprEmitRefusesShortBuffer) {
  EthernetRepr repr{kMac2, kMac1, kEtherTypeIpv4, 100};
  std::array<std::byte, 17> out{};
  EXPECT_FALSE(repr.emit(out));
  repr.vlan_tci.reset();
  EXPECT_FALSE(repr.emit(std::span(out).first(13)));
  EXPECT_TRUE(repr.emit(std::span(out).first(14)));
}

}  // namespace
}  // namespace ustack::wire
