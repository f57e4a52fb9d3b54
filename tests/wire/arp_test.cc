// ArpView / ArpRepr against packets built with scapy 2.5.
// Each array is bytes(<the scapy 2.5 expression in the comment above it>),
// evaluated after `from scapy.all import *`.
#include "proto/wire/arp.h"

#include <gtest/gtest.h>

#include <array>

#include "proto/wire/ethernet.h"
#include "wire_test_util.h"

namespace ustack::wire {
namespace {

using testing::bytes_of;
using testing::copy_of;

// clang-format off
// ARP(op=1, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.2")
constexpr std::uint8_t kArpRequest[] = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0a, 0x00, 0x00, 0x02,
};
// ARP(op=2, hwsrc="02:00:00:00:00:02", psrc="10.0.0.2", hwdst="02:00:00:00:00:01", pdst="10.0.0.1")
constexpr std::uint8_t kArpReply[] = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x02, 0x0a, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x0a, 0x00, 0x00, 0x01,
};
// Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01")/ARP(op=1, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.2")/Padding(b"\x00" * 18)
constexpr std::uint8_t kArpPaddedFrame[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x0a, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
// bytes(ARP(op=1, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.2"))[:27]
constexpr std::uint8_t kArpTruncated[] = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0a, 0x00, 0x00,
};
// ARP(hwtype=6, hwlen=6, op=1, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.2")
constexpr std::uint8_t kArpBadHwType[] = {
    0x00, 0x06, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x30, 0x32, 0x3a, 0x30,
    0x30, 0x3a, 0x0a, 0x00, 0x00, 0x01, 0x30, 0x30, 0x3a, 0x30, 0x30, 0x3a,
    0x0a, 0x00, 0x00, 0x02,
};
// ARP(ptype=0x86dd, plen=4, op=1, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.2")
constexpr std::uint8_t kArpBadProtoType[] = {
    0x00, 0x01, 0x86, 0xdd, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x31, 0x30, 0x2e, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x31, 0x30, 0x2e, 0x30,
};
// ARP(hwlen=8, op=1, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.2")
constexpr std::uint8_t kArpBadHwLen[] = {
    0x00, 0x01, 0x08, 0x00, 0x08, 0x04, 0x00, 0x01, 0x30, 0x32, 0x3a, 0x30,
    0x30, 0x3a, 0x30, 0x30, 0x0a, 0x00, 0x00, 0x01, 0x30, 0x30, 0x3a, 0x30,
    0x30, 0x3a, 0x30, 0x30, 0x0a, 0x00, 0x00, 0x02,
};
// ARP(plen=16, op=1, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.2")
constexpr std::uint8_t kArpBadProtoLen[] = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x10, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x31, 0x30, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x31, 0x30, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x32, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
};
// clang-format on

const MacAddr kMac1{{0x02, 0, 0, 0, 0, 0x01}};
const MacAddr kMac2{{0x02, 0, 0, 0, 0, 0x02}};
const Ipv4Addr kIp1{{10, 0, 0, 1}};
const Ipv4Addr kIp2{{10, 0, 0, 2}};

TEST(Arp, ParsesRequest) {
  const auto arp = ArpView::parse(bytes_of(kArpRequest));
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->hardware_type(), kArpHtypeEthernet);
  EXPECT_EQ(arp->protocol_type(), kEtherTypeIpv4);
  EXPECT_EQ(arp->operation(), kArpOpRequest);
  EXPECT_TRUE(arp->is_request());
  EXPECT_FALSE(arp->is_reply());
  EXPECT_EQ(arp->sender_mac(), kMac1);
  EXPECT_EQ(arp->sender_ip(), kIp1);
  EXPECT_TRUE(arp->target_mac().is_zero());
  EXPECT_EQ(arp->target_ip(), kIp2);
}

TEST(Arp, ParsesReply) {
  const auto arp = ArpView::parse(bytes_of(kArpReply));
  ASSERT_TRUE(arp);
  EXPECT_TRUE(arp->is_reply());
  EXPECT_EQ(arp->sender_mac(), kMac2);
  EXPECT_EQ(arp->sender_ip(), kIp2);
  EXPECT_EQ(arp->target_mac(), kMac1);
  EXPECT_EQ(arp->target_ip(), kIp1);
}

TEST(Arp, IgnoresEthernetPadding) {
  const auto eth = EthernetView::parse(bytes_of(kArpPaddedFrame));
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->payload().size(), 46u);
  const auto arp = ArpView::parse(eth->payload());
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->bytes().size(), 28u);
  EXPECT_EQ(arp->target_ip(), kIp2);
}

TEST(Arp, RefusesTruncatedPacket) {
  EXPECT_FALSE(ArpView::parse(bytes_of(kArpTruncated)));
  for (std::size_t n = 0; n < 28; ++n)
    EXPECT_FALSE(ArpView::parse(bytes_of(kArpRequest).first(n))) << n;
}

TEST(Arp, RefusesOtherHardwareOrProtocol) {
  EXPECT_FALSE(ArpView::parse(bytes_of(kArpBadHwType)));
  EXPECT_FALSE(ArpView::parse(bytes_of(kArpBadProtoType)));
}

TEST(Arp, RefusesWrongAddressLengths) {
  EXPECT_FALSE(ArpView::parse(bytes_of(kArpBadHwLen)));
  EXPECT_FALSE(ArpView::parse(bytes_of(kArpBadProtoLen)));
}

// The responder's in-place rewrite of a request into its reply (RFC 826
// "Packet Reception": swap hardware and protocol fields, put the local
// addresses in the sender fields, set the opcode to reply).
TEST(Arp, MutableViewTurnsRequestIntoReply) {
  auto pkt = copy_of(kArpRequest);
  const auto arp = ArpMutView::parse(pkt);
  ASSERT_TRUE(arp);
  const MacAddr asker_mac = arp->sender_mac();
  const Ipv4Addr asker_ip = arp->sender_ip();
  arp->set_operation(kArpOpReply);
  arp->set_target_mac(asker_mac);
  arp->set_target_ip(asker_ip);
  arp->set_sender_mac(kMac2);
  arp->set_sender_ip(kIp2);
  EXPECT_EQ(pkt, copy_of(kArpReply));
  const ArpView ro = *arp;
  EXPECT_TRUE(ro.is_reply());
}

TEST(Arp, ReprEmitsScapyBytes) {
  const ArpRepr repr{kArpOpRequest, kMac1, kIp1, MacAddr{}, kIp2};
  std::array<std::byte, 28> out{};
  ASSERT_TRUE(repr.emit(out));
  EXPECT_TRUE(std::equal(out.begin(), out.end(), bytes_of(kArpRequest).begin()));
  EXPECT_EQ(ArpRepr::parse(*ArpView::parse(out)), repr);
  EXPECT_FALSE(repr.emit(std::span(out).first(27)));
}

}  // namespace
}  // namespace ustack::wire
