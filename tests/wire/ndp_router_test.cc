// Router Advertisements and Solicitations (RFC 4861 §4.1, §4.2, §6.1.2) on
// the wire, against bytes scapy made (tests/wire/ipv6_vectors.h).
#include <gtest/gtest.h>

#include <vector>

#include "ipv6_vectors.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/ndp_router.h"
#include "wire_test_util.h"

namespace ustack::wire {
namespace {

using testing::bytes_of;
using namespace v6vectors;

// The ICMPv6 message of a scapy packet, its checksum checked.
std::span<const std::byte> icmp_of(std::span<const std::byte> packet) {
  const auto ip = Ipv6View::parse(packet);
  EXPECT_TRUE(ip);
  EXPECT_TRUE(Icmpv6View::parse(ip->payload())->checksum_ok(ip->src(), ip->dst()));
  return ip->payload();
}

TEST(RouterAdvert, ParsesEveryFieldAndOption) {
  const auto ip = Ipv6View::parse(bytes_of(kRouterAdvert));
  EXPECT_EQ(ip->hop_limit(), 255);
  EXPECT_TRUE(ip->src().is_link_local());
  const auto ra = RouterAdvert::parse(icmp_of(bytes_of(kRouterAdvert)));
  ASSERT_TRUE(ra);
  EXPECT_EQ(ra->cur_hop_limit, 64);
  EXPECT_EQ(ra->flags, 0x08) << "scapy's default: M and O clear, preference high (RFC 4191)";
  EXPECT_EQ(ra->router_lifetime, 1800);
  EXPECT_EQ(ra->reachable_time, 0u);
  EXPECT_EQ(ra->retrans_timer, 0u);
  ASSERT_TRUE(ra->source_mac);
  EXPECT_EQ(*ra->source_mac, *MacAddr::parse("02:00:00:00:00:0a"));
  ASSERT_TRUE(ra->mtu);
  EXPECT_EQ(*ra->mtu, 1400u);
  ASSERT_EQ(ra->prefix_count, 1u);
  const PrefixInfo& pi = ra->prefixes[0];
  EXPECT_EQ(pi.prefix, *Ipv6Addr::parse("2001:db8:1::"));
  EXPECT_EQ(pi.prefix_len, 64);
  EXPECT_TRUE(pi.on_link());
  EXPECT_TRUE(pi.autonomous());
  EXPECT_EQ(pi.valid_lifetime, 86400u);
  EXPECT_EQ(pi.preferred_lifetime, 14400u);
  EXPECT_EQ(ra->prefixes_over, 0u);
}

TEST(RouterAdvert, FlagsInfiniteLifetimesAndUnknownOptions) {
  const auto ra = RouterAdvert::parse(icmp_of(bytes_of(kRaManyOptions)));
  ASSERT_TRUE(ra) << "an unknown option (99) is skipped (§4.6)";
  EXPECT_FALSE(ra->mtu);
  ASSERT_TRUE(ra->source_mac);
  ASSERT_EQ(ra->prefix_count, 2u);
  EXPECT_EQ(ra->prefixes[0].prefix_len, 48);
  EXPECT_TRUE(ra->prefixes[0].on_link());
  EXPECT_FALSE(ra->prefixes[0].autonomous());
  EXPECT_EQ(ra->prefixes[0].valid_lifetime, kInfiniteLifetime);
  EXPECT_FALSE(ra->prefixes[1].on_link());
  EXPECT_TRUE(ra->prefixes[1].autonomous());
  EXPECT_EQ(ra->prefixes[1].valid_lifetime, 600u);
  EXPECT_EQ(ra->prefixes[1].preferred_lifetime, 300u);
}

TEST(RouterAdvert, RefusesWhatSection612Refuses) {
  EXPECT_FALSE(RouterAdvert::parse(icmp_of(bytes_of(kRaCode1)))) << "code 1";
  EXPECT_FALSE(RouterAdvert::parse(icmp_of(bytes_of(kRaShort)))) << "8 bytes, not 16";
  EXPECT_FALSE(RouterAdvert::parse(icmp_of(bytes_of(kRaZeroLengthOption)))) << "length 0";
  EXPECT_FALSE(RouterAdvert::parse(icmp_of(bytes_of(kRaOptionPastEnd)))) << "past the end";
  EXPECT_FALSE(RouterAdvert::parse(icmp_of(bytes_of(kRaBadPrefixOptionLength))));
  EXPECT_FALSE(RouterAdvert::parse(icmp_of(bytes_of(kRaBadMtuOptionLength))));
  // Every cut of a good message is either refused or a shorter message
  // that still parses, never read past.
  const auto full = icmp_of(bytes_of(kRouterAdvert));
  for (std::size_t n = 0; n < full.size(); ++n) {
    const auto ra = RouterAdvert::parse(full.first(n));
    if (n < RouterAdvert::kLen || (n - RouterAdvert::kLen) % 8 != 0) {
      EXPECT_FALSE(ra) << n;
    }
  }
  // A Neighbor Solicitation is not an advertisement.
  EXPECT_FALSE(RouterAdvert::parse(icmp_of(bytes_of(kNeighborSolicit))));
}

TEST(RouterAdvert, KeepsEightPrefixesAndCountsTheRest) {
  RouterAdvert ra;
  ra.router_lifetime = 600;
  ra.prefix_count = RouterAdvert::kMaxPrefixes;
  for (std::size_t i = 0; i < ra.prefix_count; ++i) {
    ra.prefixes[i].prefix = *Ipv6Addr::parse("2001:db8::");
    ra.prefixes[i].prefix.b[5] = static_cast<std::uint8_t>(i);
    ra.prefixes[i].prefix_len = 64;
  }
  const Ipv6Addr src = *Ipv6Addr::parse("fe80::1");
  std::vector<std::byte> b(ra.len() + 2 * PrefixInfo::kLen);
  ASSERT_TRUE(ra.emit({b.data(), ra.len()}, src, Ipv6Addr::all_nodes()));
  // Two more Prefix Information options copied behind (the checksum is
  // not parse()'s business).
  for (int k = 0; k < 2; ++k)
    std::copy_n(b.begin() + RouterAdvert::kLen, PrefixInfo::kLen,
                b.begin() + static_cast<long>(ra.len() + k * PrefixInfo::kLen));
  const auto got = RouterAdvert::parse(b);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->prefix_count, RouterAdvert::kMaxPrefixes);
  EXPECT_EQ(got->prefixes_over, 2u);
  EXPECT_EQ(got->prefixes[7].prefix.b[5], 7);
}

TEST(RouterAdvert, EmitsWhatScapyBuilt) {
  const auto ip = Ipv6View::parse(bytes_of(kRouterAdvert));
  const auto ra = RouterAdvert::parse(ip->payload());
  ASSERT_TRUE(ra);
  std::vector<std::byte> out(ra->len());
  ASSERT_TRUE(ra->emit(out, ip->src(), ip->dst()));
  EXPECT_EQ(out, testing::to_vec(ip->payload()));
}

TEST(RouterSolicit, EmitsWhatScapyBuiltWithAndWithoutSourceAddress) {
  const auto ip = Ipv6View::parse(bytes_of(kRouterSolicit));
  RouterSolicit rs;
  rs.source_mac = *MacAddr::parse("02:00:00:00:00:0a");
  std::vector<std::byte> out(rs.len());
  ASSERT_TRUE(rs.emit(out, ip->src(), ip->dst()));
  EXPECT_EQ(out, testing::to_vec(ip->payload()));

  const auto ip0 = Ipv6View::parse(bytes_of(kRouterSolicitUnspecified));
  RouterSolicit rs0;  // from ::, no option (§4.1)
  std::vector<std::byte> out0(rs0.len());
  ASSERT_TRUE(rs0.emit(out0, ip0->src(), ip0->dst()));
  EXPECT_EQ(out0, testing::to_vec(ip0->payload()));
}

}  // namespace
}  // namespace ustack::wire
