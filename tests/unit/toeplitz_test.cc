// The software Toeplitz hash against Microsoft's RSS verification suite
// (IPv4 and IPv6),
// against the bit-by-bit reference and DPDK's rte_softrss on random input,
// and the symmetric key's symmetry.
#include "core/toeplitz.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>
#include <random>

#if USTACK_HAVE_DPDK
// DPDK's headers come in as system headers (meson.build), so their warnings
// stay theirs.
#include <rte_thash.h>
#endif

namespace ustack {
namespace {

constexpr std::uint32_t ip(int a, int b, int c, int d) {
  return (static_cast<std::uint32_t>(a) << 24) | (static_cast<std::uint32_t>(b) << 16) |
         (static_cast<std::uint32_t>(c) << 8) | static_cast<std::uint32_t>(d);
}

// "Verifying the RSS Hash Calculation" (Microsoft), IPv4: source and
// destination as the packet carries them; hash with and without the ports.
struct Vector {
  std::uint32_t dst;
  std::uint16_t dport;
  std::uint32_t src;
  std::uint16_t sport;
  std::uint32_t ip_only, with_ports;
};
constexpr Vector kVectors[] = {
    {ip(161, 142, 100, 80), 1766, ip(66, 9, 149, 187), 2794, 0x323e8fc2, 0x51ccc178},
    {ip(65, 69, 140, 83), 4739, ip(199, 92, 111, 2), 14230, 0xd718262a, 0xc626b0ea},
    {ip(12, 22, 207, 184), 38024, ip(24, 19, 198, 95), 12898, 0xd2d0a5de, 0x5c2b394a},
    {ip(209, 142, 163, 6), 2217, ip(38, 27, 205, 30), 48228, 0x82989176, 0xafc7327f},
    {ip(202, 188, 127, 2), 1303, ip(153, 39, 163, 191), 44251, 0x5d1809c5, 0x10e828a2},
};

TEST(Toeplitz, MicrosoftVerificationSuite) {
  const Toeplitz t(kRssKeyMicrosoft);
  for (const Vector& v : kVectors) {
    EXPECT_EQ(t.hash_v4(v.src, v.dst), v.ip_only);
    EXPECT_EQ(t.hash_v4(v.src, v.dst, v.sport, v.dport), v.with_ports);
  }
}

// The same document's IPv6 vectors.
struct Vector6 {
  const char* dst;
  std::uint16_t dport;
  const char* src;
  std::uint16_t sport;
  std::uint32_t ip_only, with_ports;
};
constexpr Vector6 kVectors6[] = {
    {"3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794, 0x2cc18cd5, 0x40207d3d},
    {"ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230, 0x0f0c461c, 0xdde51bbf},
    {"fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, 0x4b61e985,
     0x02d1feef},
};

Toeplitz::V6Bytes v6(const char* text) {
  Toeplitz::V6Bytes b{};
  EXPECT_EQ(inet_pton(AF_INET6, text, b.data()), 1) << text;
  return b;
}

TEST(Toeplitz, MicrosoftVerificationSuiteIpv6) {
  const Toeplitz t(kRssKeyMicrosoft);
  for (const Vector6& v : kVectors6) {
    EXPECT_EQ(t.hash_v6(v6(v.src), v6(v.dst)), v.ip_only) << v.src;
    EXPECT_EQ(t.hash_v6(v6(v.src), v6(v.dst), v.sport, v.dport), v.with_ports) << v.src;
  }
}

TEST(Toeplitz, Ipv6HashIsTheTableHashOfItsInput) {
  std::mt19937 rng(5);
  const Toeplitz t(kRssKeySymmetric);
  for (int i = 0; i < 1000; ++i) {
    std::uint8_t in[36];
    for (auto& b : in) b = static_cast<std::uint8_t>(rng());
    Toeplitz::V6Bytes s, d;
    std::memcpy(s.data(), in, 16);
    std::memcpy(d.data(), in + 16, 16);
    const auto sport = static_cast<std::uint16_t>((in[32] << 8) | in[33]);
    const auto dport = static_cast<std::uint16_t>((in[34] << 8) | in[35]);
    ASSERT_EQ(t.hash_v6(s, d, sport, dport), Toeplitz::reference(kRssKeySymmetric, in));
    ASSERT_EQ(t.hash_v6(s, d), Toeplitz::reference(kRssKeySymmetric, std::span(in).first(32)));
  }
}

TEST(Toeplitz, TablesMatchTheBitByBitReference) {
  std::mt19937 rng(7);
  RssKey key;
  for (auto& b : key) b = static_cast<std::uint8_t>(rng());
  const Toeplitz t(key);
  for (int i = 0; i < 1000; ++i) {
    std::uint8_t in[Toeplitz::kMaxInput];
    const std::size_t n = rng() % (sizeof in + 1);
    for (std::size_t j = 0; j < n; ++j) in[j] = static_cast<std::uint8_t>(rng());
    ASSERT_EQ(t.hash({in, n}), Toeplitz::reference(key, {in, n})) << "length " << n;
  }
}

TEST(Toeplitz, FixedLengthHashesAgreeWithTheLoop) {
  std::mt19937 rng(9);
  const Toeplitz t(kRssKeyMicrosoft);
  for (int i = 0; i < 1000; ++i) {
    std::uint8_t in[Toeplitz::kMaxInput];
    for (auto& b : in) b = static_cast<std::uint8_t>(rng());
    ASSERT_EQ(t.hash_fixed<8>(in), t.hash({in, 8}));
    ASSERT_EQ(t.hash_fixed<12>(in), t.hash({in, 12}));
    ASSERT_EQ(t.hash_fixed<Toeplitz::kMaxInput>(in), Toeplitz::reference(kRssKeyMicrosoft, in));
  }
}

TEST(Toeplitz, SymmetricKeyGivesBothDirectionsOneHash) {
  const Toeplitz t(kRssKeySymmetric);
  std::mt19937 rng(11);
  for (int i = 0; i < 1000; ++i) {
    const std::uint32_t a = rng(), b = rng();
    const auto pa = static_cast<std::uint16_t>(rng()), pb = static_cast<std::uint16_t>(rng());
    ASSERT_EQ(t.hash_v4(a, b, pa, pb), t.hash_v4(b, a, pb, pa));
  }
  // The standard key is not symmetric.
  const Toeplitz m(kRssKeyMicrosoft);
  const Vector& v = kVectors[0];
  EXPECT_NE(m.hash_v4(v.src, v.dst, v.sport, v.dport), m.hash_v4(v.dst, v.src, v.dport, v.sport));
}

TEST(RssReta, RoundRobinOverTheQueues) {
  const RssReta r(3);
  EXPECT_EQ(r.queues(), 3);
  EXPECT_EQ(r.queue_of(0), 0);
  EXPECT_EQ(r.queue_of(1), 1);
  EXPECT_EQ(r.queue_of(2), 2);
  EXPECT_EQ(r.queue_of(3), 0);
  EXPECT_EQ(r.queue_of(RssReta::kSize + 1), 1) << "the low bits index the table";
  EXPECT_EQ(RssReta(1).queue_of(0xffffffffu), 0);
}

#if USTACK_HAVE_DPDK
// DPDK's own software RSS (rte_softrss, the function its drivers and
// examples use to predict a NIC's hash) agrees on random 4-tuples, with
// both keys.
TEST(Toeplitz, AgreesWithDpdkSoftRss) {
  std::mt19937 rng(3);
  for (const RssKey* key : {&kRssKeyMicrosoft, &kRssKeySymmetric}) {
    const Toeplitz t(*key);
    for (int i = 0; i < 10000; ++i) {
      rte_ipv4_tuple tuple{};
      tuple.src_addr = rng();
      tuple.dst_addr = rng();
      tuple.sport = static_cast<std::uint16_t>(rng());
      tuple.dport = static_cast<std::uint16_t>(rng());
      const std::uint32_t dpdk =
          rte_softrss(reinterpret_cast<std::uint32_t*>(&tuple), RTE_THASH_V4_L4_LEN, key->data());
      ASSERT_EQ(t.hash_v4(tuple.src_addr, tuple.dst_addr, tuple.sport, tuple.dport), dpdk);
      const std::uint32_t dpdk3 =
          rte_softrss(reinterpret_cast<std::uint32_t*>(&tuple), RTE_THASH_V4_L3_LEN, key->data());
      ASSERT_EQ(t.hash_v4(tuple.src_addr, tuple.dst_addr), dpdk3);
      // Addresses in wire order for us; rte_softrss reads 32-bit words in
      // host order, so its tuple holds each word byte-swapped (what
      // rte_thash_load_v6_addrs does).
      Toeplitz::V6Bytes s6, d6;
      for (auto& b : s6) b = static_cast<std::uint8_t>(rng());
      for (auto& b : d6) b = static_cast<std::uint8_t>(rng());
      rte_ipv6_tuple in6{};
      for (int w = 0; w < 4; ++w) {
        for (int j = 0; j < 4; ++j) {
          in6.src_addr[w * 4 + j] = s6[static_cast<std::size_t>(w * 4 + 3 - j)];
          in6.dst_addr[w * 4 + j] = d6[static_cast<std::size_t>(w * 4 + 3 - j)];
        }
      }
      in6.sport = tuple.sport;
      in6.dport = tuple.dport;
      ASSERT_EQ(
          t.hash_v6(s6, d6, tuple.sport, tuple.dport),
          rte_softrss(reinterpret_cast<std::uint32_t*>(&in6), RTE_THASH_V6_L4_LEN, key->data()));
    }
  }
}
#endif

}  // namespace
}  // namespace ustack
