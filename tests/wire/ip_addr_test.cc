// Ipv4Addr, Ipv4Cidr and IpAddr: text forms and prefix arithmetic.
#include "proto/ip_addr.h"

#include <gtest/gtest.h>

#include <string>

namespace ustack {
namespace {

TEST(Ipv4Addr, ParsesDottedQuad) {
  EXPECT_EQ(Ipv4Addr::parse("10.0.0.1"), (Ipv4Addr{{10, 0, 0, 1}}));
  EXPECT_EQ(Ipv4Addr::parse("0.0.0.0"), Ipv4Addr::any());
  EXPECT_EQ(Ipv4Addr::parse("255.255.255.255"), Ipv4Addr::broadcast());
  EXPECT_EQ(Ipv4Addr::parse("192.168.100.200")->to_u32(), 0xc0a864c8u);
}

TEST(Ipv4Addr, RefusesAnythingElse) {
  for (const char* s : {"", "1", "1.2.3", "1.2.3.4.5", "1.2.3.256", "1.2.3.-1", "1.2.3.4 ",
                        " 1.2.3.4", "1..2.3", "1.2.3.", ".1.2.3", "01.2.3.4", "1.2.3.04",
                        "1.2.3.0x4", "1234.1.1.1", "a.b.c.d", "1.2.3.4/24", "::1"})
    EXPECT_FALSE(Ipv4Addr::parse(s)) << s;
}

TEST(Ipv4Addr, FormatsDottedQuad) {
  EXPECT_EQ((Ipv4Addr{{10, 0, 0, 1}}).to_string(), "10.0.0.1");
  EXPECT_EQ(Ipv4Addr::broadcast().to_string(), "255.255.255.255");
  EXPECT_EQ(Ipv4Addr::any().to_string(), "0.0.0.0");
  char buf[Ipv4Addr::kMaxStringLen];
  EXPECT_EQ(Ipv4Addr::broadcast().format(buf), 15u);
  for (std::uint32_t v : {0u, 1u, 0x7f000001u, 0xc0a80a01u, 0xdeadbeefu, 0xffffffffu}) {
    const Ipv4Addr a = Ipv4Addr::from_u32(v);
    EXPECT_EQ(Ipv4Addr::parse(a.to_string()), a);
  }
}

TEST(Ipv4Addr, HostOrderAndBytes) {
  const Ipv4Addr a = Ipv4Addr::from_u32(0x0a000102);
  EXPECT_EQ(a, (Ipv4Addr{{10, 0, 1, 2}}));
  std::byte raw[4];
  a.to_bytes(raw);
  EXPECT_EQ(raw[0], std::byte{10});
  EXPECT_EQ(raw[3], std::byte{2});
  EXPECT_EQ(Ipv4Addr::from_bytes(raw), a);
  EXPECT_LT((Ipv4Addr{{9, 255, 255, 255}}), a);
}

TEST(Ipv4Addr, Classes) {
  EXPECT_TRUE(Ipv4Addr::any().is_unspecified());
  EXPECT_TRUE(Ipv4Addr::broadcast().is_broadcast());
  EXPECT_TRUE(Ipv4Addr::parse("224.0.0.1")->is_multicast());
  EXPECT_TRUE(Ipv4Addr::parse("239.255.255.255")->is_multicast());
  EXPECT_FALSE(Ipv4Addr::parse("240.0.0.1")->is_multicast());
  EXPECT_TRUE(Ipv4Addr::parse("127.1.2.3")->is_loopback());
  EXPECT_TRUE(Ipv4Addr::parse("169.254.1.1")->is_link_local());
}

TEST(Ipv4Addr, NetmaskAndPrefix) {
  EXPECT_EQ(Ipv4Addr::netmask(0), Ipv4Addr::any());
  EXPECT_EQ(Ipv4Addr::netmask(8), (Ipv4Addr{{255, 0, 0, 0}}));
  EXPECT_EQ(Ipv4Addr::netmask(20), (Ipv4Addr{{255, 255, 240, 0}}));
  EXPECT_EQ(Ipv4Addr::netmask(32), Ipv4Addr::broadcast());
  EXPECT_EQ(Ipv4Addr::netmask(40), Ipv4Addr::broadcast());
  for (unsigned n = 0; n <= 32; ++n) EXPECT_EQ(Ipv4Addr::netmask(n).mask_prefix_len(), n);
  EXPECT_FALSE((Ipv4Addr{{255, 0, 255, 0}}).mask_prefix_len());
  EXPECT_FALSE((Ipv4Addr{{0, 0, 0, 1}}).mask_prefix_len());

  const Ipv4Addr a{{192, 168, 10, 77}};
  EXPECT_EQ(a.network(24), (Ipv4Addr{{192, 168, 10, 0}}));
  EXPECT_EQ(a.subnet_broadcast(24), (Ipv4Addr{{192, 168, 10, 255}}));
  EXPECT_EQ(a.network(0), Ipv4Addr::any());
  EXPECT_EQ(a.network(32), a);
  EXPECT_TRUE(a.in_subnet(Ipv4Addr{{192, 168, 10, 1}}, 24));
  EXPECT_FALSE(a.in_subnet(Ipv4Addr{{192, 168, 11, 1}}, 24));
  EXPECT_TRUE(a.in_subnet(Ipv4Addr{{192, 168, 11, 1}}, 16));
  EXPECT_TRUE(a.in_subnet(Ipv4Addr{{1, 1, 1, 1}}, 0));
}

TEST(Ipv4Cidr, ParsesAndFormats) {
  const auto c = Ipv4Cidr::parse("10.1.2.3/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->addr, (Ipv4Addr{{10, 1, 2, 3}}));
  EXPECT_EQ(c->prefix_len, 24);
  EXPECT_EQ(c->netmask(), Ipv4Addr::netmask(24));
  EXPECT_EQ(c->network(), (Ipv4Addr{{10, 1, 2, 0}}));
  EXPECT_TRUE(c->contains(Ipv4Addr{{10, 1, 2, 200}}));
  EXPECT_FALSE(c->contains(Ipv4Addr{{10, 1, 3, 1}}));
  EXPECT_EQ(c->to_string(), "10.1.2.3/24");
  EXPECT_EQ(Ipv4Cidr::parse("0.0.0.0/0")->prefix_len, 0);
  EXPECT_EQ(Ipv4Cidr::parse("1.2.3.4/32")->prefix_len, 32);
  for (const char* s : {"10.1.2.3", "10.1.2.3/", "10.1.2.3/33", "10.1.2.3/08", "10.1.2.3/-1",
                        "10.1.2.3/2x", "10.1.2/24", "10.1.2.3/100"})
    EXPECT_FALSE(Ipv4Cidr::parse(s)) << s;
}

TEST(IpAddr, HoldsIpv4InMappedForm) {
  const IpAddr a = IpAddr::v4(Ipv4Addr{{192, 0, 2, 1}});
  EXPECT_TRUE(a.is_v4());
  EXPECT_FALSE(a.is_v6());
  EXPECT_EQ(a.as_v4(), (Ipv4Addr{{192, 0, 2, 1}}));
  const std::array<std::uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  EXPECT_EQ(a.b, mapped);
  EXPECT_EQ(a.to_string(), "192.0.2.1");
  // Same bytes, different family: different addresses.
  EXPECT_NE(a, IpAddr::v6(mapped));
  EXPECT_EQ(IpAddr{}.to_string(), "unspec");
}

TEST(IpAddr, ParsesBothFamilies) {
  EXPECT_EQ(IpAddr::parse("10.0.0.1"), IpAddr::v4(Ipv4Addr{{10, 0, 0, 1}}));
  const auto v6 = IpAddr::parse("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->is_v6());
  EXPECT_EQ(v6->b[0], 0x20);
  EXPECT_EQ(v6->b[1], 0x01);
  EXPECT_EQ(v6->b[15], 0x01);
  EXPECT_EQ(v6->to_string(), "2001:db8::1");
  // RFC 5952 §4: lower case, longest zero run compressed.
  EXPECT_EQ(IpAddr::parse("2001:0DB8:0:0:1:0:0:1")->to_string(), "2001:db8::1:0:0:1");
  EXPECT_EQ(IpAddr::parse("::")->to_string(), "::");
  for (const char* s : {"", "1.2.3", "2001:db8:::1", "gggg::1", "01.2.3.4", "1:2:3:4:5:6:7:8:9"})
    EXPECT_FALSE(IpAddr::parse(s)) << s;
  const std::string too_long(100, '1');
  EXPECT_FALSE(IpAddr::parse(too_long));
}

TEST(IpAddr, OrdersAndCompares) {
  const IpAddr a = IpAddr::v4(Ipv4Addr{{10, 0, 0, 1}});
  const IpAddr b = IpAddr::v4(Ipv4Addr{{10, 0, 0, 2}});
  EXPECT_LT(a, b);
  EXPECT_EQ(a, *IpAddr::parse("10.0.0.1"));
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace ustack
