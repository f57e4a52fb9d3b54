// The Internet checksum: known vectors (scapy's checksum()), every small
// length and alignment against a 16-bit reference, mbuf chains with odd
// segment lengths, pseudo-headers, RFC 1624 updates and the offload flags.
#include "proto/wire/checksum.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/mbuf_pool.h"
#include "core/random.h"
#include "proto/wire/bytes.h"
#include "unit/test_pool.h"
#include "wire_test_util.h"

namespace ustack::wire {
namespace {

using testing::bytes_of;

// RFC 1071 §1, literally: big-endian 16-bit words, an odd last byte padded
// with zero on the right, end-around carry after every add.
std::uint16_t reference_sum(std::span<const std::byte> d) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < d.size(); i += 2) {
    std::uint32_t w = std::to_integer<std::uint32_t>(d[i]) << 8;
    if (i + 1 < d.size()) w |= std::to_integer<std::uint32_t>(d[i + 1]);
    sum += w;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(sum);
}
std::uint16_t reference_checksum(std::span<const std::byte> d) {
  return static_cast<std::uint16_t>(~reference_sum(d));
}

std::vector<std::byte> random_bytes(Rng& rng, std::size_t n) {
  std::vector<std::byte> v(n);
  for (auto& b : v) b = std::byte(static_cast<std::uint8_t>(rng.next()));
  return v;
}

std::span<const std::byte> text(const std::string& s) {
  return std::as_bytes(std::span(s));
}

// clang-format off
// scapy: checksum(b"\x00\x01\xf2\x03\xf4\xf5\xf6\xf7") == 0x220d (the RFC 1071 §3 example)
constexpr std::uint8_t kRfc1071Example[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
// clang-format on

TEST(Checksum, KnownVectors) {
  EXPECT_EQ(checksum_partial(bytes_of(kRfc1071Example)), 0xddf2u);  // RFC 1071 §3
  EXPECT_EQ(internet_checksum(bytes_of(kRfc1071Example)), 0x220d);

  std::vector<std::byte> v;
  // scapy: checksum(bytes(range(37))) == 0xa8ba
  for (int i = 0; i < 37; ++i) v.push_back(std::byte(static_cast<std::uint8_t>(i)));
  EXPECT_EQ(internet_checksum(v), 0xa8ba);
  // scapy: checksum(b"\xff" * 17) == 0xff
  v.assign(17, std::byte{0xff});
  EXPECT_EQ(internet_checksum(v), 0x00ff);
  // scapy: checksum(bytes(range(256)) * 6) == 0x7e81
  v.clear();
  for (int r = 0; r < 6; ++r)
    for (int i = 0; i < 256; ++i) v.push_back(std::byte(static_cast<std::uint8_t>(i)));
  EXPECT_EQ(internet_checksum(v), 0x7e81);
  // scapy: checksum(b"\x01") == 0xfeff
  EXPECT_EQ(internet_checksum(text("\x01")), 0xfeff);
  // scapy: checksum(b"") == 0xffff
  EXPECT_EQ(internet_checksum({}), 0xffff);
}

TEST(Checksum, EveryLengthAndAlignmentMatchesReference) {
  Rng rng(1);
  const auto buf = random_bytes(rng, 64 + 8);
  for (std::size_t start = 0; start < 8; ++start) {
    for (std::size_t len = 0; len <= 64; ++len) {
      const auto d = std::span(buf).subspan(start, len);
      ASSERT_EQ(checksum_partial(d), reference_sum(d)) << start << " " << len;
      ASSERT_EQ(internet_checksum(d), reference_checksum(d)) << start << " " << len;
    }
  }
}

TEST(Checksum, AllOnesDataExercisesEveryCarry) {
  for (std::size_t len = 0; len <= 200; ++len) {
    const std::vector<std::byte> d(len, std::byte{0xff});
    ASSERT_EQ(checksum_partial(d), reference_sum(d)) << len;
  }
}

TEST(Checksum, LongRandomBuffersMatchReference) {
  Rng rng(2);
  for (int i = 0; i < 200; ++i) {
    const auto d = random_bytes(rng, rng.below(9100));
    ASSERT_EQ(internet_checksum(d), reference_checksum(d)) << d.size();
  }
}

TEST(Checksum, InitialSumIsAdded) {
  Rng rng(3);
  const auto d = random_bytes(rng, 101);
  const std::uint32_t init = 0xfedc;
  EXPECT_EQ(checksum_partial(d, init), checksum_add(init, reference_sum(d)));
}

// Splitting the data anywhere and adding the pieces, the second one at its
// offset (odd offsets swap bytes: RFC 1071 §2 (B)), gives the whole sum.
TEST(Checksum, PiecesAtAnyOffsetAddUp) {
  Rng rng(4);
  const auto d = random_bytes(rng, 301);
  const std::uint16_t whole = reference_sum(d);
  for (std::size_t cut = 0; cut <= d.size(); ++cut) {
    const std::uint32_t a = checksum_partial(std::span(d).first(cut));
    const std::uint32_t b = checksum_partial(std::span(d).subspan(cut));
    ASSERT_EQ(checksum_add_at(a, b, cut), whole) << cut;
  }
}

class ChecksumMbuf : public ::testing::Test {
 protected:
  void SetUp() override {
    MbufPoolConfig cfg;
    cfg.name = "checksum_test";
    cfg.capacity = 256;
    cfg.data_room = 2048;
    cfg.try_huge_pages = false;
    std::string err;
    pool_ = MbufPool::create(cfg, &err);
    ASSERT_NE(pool_, nullptr) << err;
  }
  void TearDown() override {
    if (pool_) {
      EXPECT_EQ(pool_->in_use(), 0u);
    }
  }

  // `data` split into segments of the given lengths.
  MbufPtr make_chain(std::span<const std::byte> data, const std::vector<std::size_t>& lens) {
    MbufPtr head;
    std::size_t off = 0;
    for (const std::size_t n : lens) {
      Mbuf* m = pool_->alloc();
      EXPECT_NE(m, nullptr);
      if (m == nullptr) return head;
      std::byte* p = m->append(static_cast<std::uint16_t>(n));
      std::copy_n(data.data() + off, n, p);
      off += n;
      if (head) {
        head->chain(m);
      } else {
        head.reset(m);
      }
    }
    return head;
  }

  std::unique_ptr<MbufPool> pool_;
};

TEST_F(ChecksumMbuf, SingleSegment) {
  Rng rng(5);
  const auto d = random_bytes(rng, 1500);
  MbufPtr m = make_chain(d, {1500});
  EXPECT_EQ(checksum_mbuf(m.get(), 0, 1500), reference_sum(d));
  EXPECT_EQ(checksum_mbuf(m.get(), 1, 1499), reference_sum(std::span(d).subspan(1)));
  EXPECT_EQ(checksum_mbuf(m.get(), 14, 20), reference_sum(std::span(d).subspan(14, 20)));
  EXPECT_EQ(checksum_mbuf(m.get(), 7, 0), 0u);
}

TEST_F(ChecksumMbuf, OddSegmentsEverySplit) {
  // Three segments; the two cuts go through every position of a short
  // buffer, so every parity of segment start and length is covered.
  Rng rng(6);
  const auto d = random_bytes(rng, 23);
  for (std::size_t a = 1; a < d.size(); ++a) {
    for (std::size_t b = 1; a + b < d.size(); ++b) {
      MbufPtr m = make_chain(d, {a, b, d.size() - a - b});
      ASSERT_EQ(m->nb_segs, 3);
      ASSERT_EQ(checksum_mbuf(m.get(), 0, d.size()), reference_sum(d)) << a << " " << b;
    }
  }
}

TEST_F(ChecksumMbuf, RandomChainsAndRanges) {
  Rng rng(7);
  for (int iter = 0; iter < 300; ++iter) {
    std::vector<std::size_t> lens;
    std::size_t total = 0;
    const std::size_t segs = 1 + rng.below(8);
    for (std::size_t i = 0; i < segs; ++i) {
      // Mostly odd lengths, some tiny, some large.
      std::size_t n = 1 + rng.below(rng.chance(0.2) ? 4 : 1600);
      if (rng.chance(0.7)) n |= 1;
      lens.push_back(n);
      total += n;
    }
    const auto d = random_bytes(rng, total);
    MbufPtr m = make_chain(d, lens);
    ASSERT_EQ(m->pkt_len, total);
    const std::size_t off = rng.below(total + 1);
    const std::size_t len = rng.below(total - off + 1);
    const std::uint32_t init = static_cast<std::uint32_t>(rng.below(0x10000));
    ASSERT_EQ(checksum_mbuf(m.get(), off, len, init),
              checksum_add(init, reference_sum(std::span(d).subspan(off, len))))
        << iter << " off " << off << " len " << len;
  }
}

TEST(Checksum, PseudoHeaderMatchesSummingItsBytes) {
  const Ipv4Addr src{{192, 0, 2, 1}};
  const Ipv4Addr dst{{198, 51, 100, 254}};
  // RFC 9293 §3.1: source, destination, zero, PTCL, TCP length.
  const std::uint8_t phdr[] = {192, 0, 2, 1, 198, 51, 100, 254, 0, 6, 0x00, 0x4d};
  EXPECT_EQ(ipv4_pseudo_header_sum(src, dst, 6, 77), reference_sum(bytes_of(phdr)));
  // And it adds to the segment sum like the bytes would in front of it.
  Rng rng(8);
  const auto seg = random_bytes(rng, 77);
  const auto ph = bytes_of(phdr);
  std::vector<std::byte> both(ph.begin(), ph.end());
  both.insert(both.end(), seg.begin(), seg.end());
  EXPECT_EQ(ipv4_l4_checksum(src, dst, 6, seg), reference_checksum(both));
}

// What a NIC does with ol::kTxTcpCksum: continue the sum from the
// pseudo-header value software left in the field, and store the complement.
TEST(Checksum, OffloadSeedGivesTheSoftwareChecksum) {
  Rng rng(9);
  const Ipv4Addr src{{10, 0, 0, 1}};
  const Ipv4Addr dst{{10, 0, 0, 2}};
  for (int i = 0; i < 100; ++i) {
    auto seg = random_bytes(rng, 20 + rng.below(1480));
    store_be16(seg.data() + 16, 0);
    const std::uint16_t software = ipv4_l4_checksum(src, dst, 6, seg);
    store_be16(seg.data() + 16, ipv4_pseudo_header_for_offload(
                                    src, dst, 6, static_cast<std::uint16_t>(seg.size()), false));
    const std::uint16_t hardware = checksum_finish(checksum_partial(seg));
    ASSERT_EQ(hardware, software);
  }
  EXPECT_EQ(ipv4_pseudo_header_for_offload(src, dst, 6, 1000, /*tso=*/true),
            ipv4_pseudo_header_sum(src, dst, 6, 0));
}

// The same for IPv6 (RFC 8200 §8.1's pseudo-header in the field), and a
// checksum left to the driver completed in software instead (a packet
// fragmented after all): both give the checksum software computes.
TEST(Checksum, Ipv6OffloadSeedGivesTheSoftwareChecksum) {
  Rng rng(10);
  const Ipv6Addr src = *Ipv6Addr::parse("fd00::1");
  const Ipv6Addr dst = *Ipv6Addr::parse("fd00::2");
  for (int i = 0; i < 100; ++i) {
    auto seg = random_bytes(rng, 20 + rng.below(1480));
    store_be16(seg.data() + 16, 0);
    const std::uint16_t software = ipv6_l4_checksum(src, dst, 6, seg);
    const std::uint16_t seed =
        ipv6_pseudo_header_for_offload(src, dst, 6, static_cast<std::uint32_t>(seg.size()));
    EXPECT_EQ(seed, ip_pseudo_header_for_offload(IpAddr::v6(src), IpAddr::v6(dst), 6,
                                                 static_cast<std::uint32_t>(seg.size())));
    store_be16(seg.data() + 16, seed);
    ASSERT_EQ(checksum_finish(checksum_partial(seg)), software);
  }
}

TEST(Checksum, OffloadedChecksumCompletedInSoftware) {
  auto pool = ustack::testing::make_pool(4);
  Rng rng(12);
  const Ipv6Addr src = *Ipv6Addr::parse("fd00::1");
  const Ipv6Addr dst = *Ipv6Addr::parse("fd00::2");
  for (const std::uint8_t proto : {std::uint8_t{6}, std::uint8_t{17}}) {
    auto seg = random_bytes(rng, 200);
    const std::size_t field = proto == 6 ? 16 : 6;
    store_be16(seg.data() + field, 0);
    if (proto == 17) store_be16(seg.data() + 4, 200);
    const std::uint16_t software = ipv6_l4_checksum(src, dst, proto, seg);
    store_be16(seg.data() + field, ipv6_pseudo_header_for_offload(src, dst, proto, 200));
    Mbuf* m = pool->alloc();
    ASSERT_NE(m, nullptr);
    std::memcpy(m->append(200), seg.data(), 200);
    m->ol_flags = (proto == 6 ? ol::kTxTcpCksum : ol::kTxUdpCksum) | ol::kTxIpv6;
    tx_l4_checksum_in_software(m);
    EXPECT_EQ(load_be16(m->data() + field), software) << int{proto};
    EXPECT_FALSE(tx_l4_checksum_offloaded(*m));
    EXPECT_EQ(m->ol_flags & ol::kTxIpv6, 0u);
    mbuf_free(m);
  }
}

// RFC 1624 §4's example: eqn. 3 gives 0x0000 where RFC 1141's gave 0xffff.
TEST(Checksum, Rfc1624Example) {
  EXPECT_EQ(checksum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

// Exact equality holds whenever the data is not all zero. All-zero data
// sums to +0 and is the only data whose checksum is 0xffff (RFC 1624 §3);
// eqn. 3 yields the other zero, 0x0000, there. No IP, TCP, UDP or ICMP
// header is all zero.
std::uint16_t expect_update(std::span<const std::byte> d) {
  const bool all_zero =
      std::all_of(d.begin(), d.end(), [](std::byte b) { return b == std::byte{0}; });
  return all_zero ? 0x0000 : reference_checksum(d);
}

TEST(Checksum, IncrementalUpdateEqualsRecompute) {
  Rng rng(10);
  for (int iter = 0; iter < 20000; ++iter) {
    const std::size_t len = 2 * (2 + rng.below(40));  // even, >= 4
    auto d = random_bytes(rng, len);
    if (rng.chance(0.05))
      std::fill(d.begin(), d.end(), rng.chance(0.5) ? std::byte{0xff} : std::byte{0});
    const std::uint16_t before = reference_checksum(d);
    if (rng.chance(0.5)) {
      const std::size_t at = 2 * rng.below(len / 2);
      const std::uint16_t old_v = load_be16(d.data() + at);
      std::uint16_t new_v = static_cast<std::uint16_t>(rng.next());
      if (rng.chance(0.1)) new_v = rng.chance(0.5) ? 0 : 0xffff;
      store_be16(d.data() + at, new_v);
      ASSERT_EQ(checksum_update16(before, old_v, new_v), expect_update(d)) << iter;
    } else {
      const std::size_t at = 2 * rng.below(len / 2 - 1);
      const std::uint32_t old_v = load_be32(d.data() + at);
      std::uint32_t new_v = static_cast<std::uint32_t>(rng.next());
      if (rng.chance(0.1)) new_v = rng.chance(0.5) ? 0 : 0xffffffff;
      store_be32(d.data() + at, new_v);
      ASSERT_EQ(checksum_update32(before, old_v, new_v), expect_update(d)) << iter;
    }
  }
}

TEST(Checksum, RxOffloadFlags) {
  Mbuf m{};
  m.ol_flags = 0;
  EXPECT_TRUE(ip_checksum_needs_verify(m));
  EXPECT_TRUE(l4_checksum_needs_verify(m));
  EXPECT_FALSE(ip_checksum_known_bad(m));
  EXPECT_FALSE(l4_checksum_known_bad(m));

  m.ol_flags = ol::kRxIpCksumGood | ol::kRxL4CksumGood;
  EXPECT_FALSE(ip_checksum_needs_verify(m));
  EXPECT_FALSE(l4_checksum_needs_verify(m));
  EXPECT_EQ(rx_ip_checksum(m), RxChecksum::kGood);
  EXPECT_EQ(rx_l4_checksum(m), RxChecksum::kGood);

  m.ol_flags = ol::kRxIpCksumBad | ol::kRxL4CksumBad;
  EXPECT_FALSE(ip_checksum_needs_verify(m));
  EXPECT_FALSE(l4_checksum_needs_verify(m));
  EXPECT_TRUE(ip_checksum_known_bad(m));
  EXPECT_TRUE(l4_checksum_known_bad(m));

  m.ol_flags = ol::kRxIpCksumGood | ol::kRxL4CksumBad;
  EXPECT_EQ(rx_ip_checksum(m), RxChecksum::kGood);
  EXPECT_EQ(rx_l4_checksum(m), RxChecksum::kBad);

  m.ol_flags = ol::kRxL4CksumGood | ol::kRxL4CksumBad;  // contradictory: check in software
  EXPECT_TRUE(l4_checksum_needs_verify(m));
  EXPECT_FALSE(l4_checksum_known_bad(m));
  EXPECT_TRUE(ip_checksum_needs_verify(m));
}

TEST(Checksum, TxOffloadFlags) {
  Mbuf m{};
  m.ol_flags = 0;
  EXPECT_FALSE(tx_ip_checksum_offloaded(m));
  EXPECT_FALSE(tx_l4_checksum_offloaded(m));
  m.ol_flags = ol::kTxIpCksum | ol::kTxTcpCksum;
  EXPECT_TRUE(tx_ip_checksum_offloaded(m));
  EXPECT_TRUE(tx_l4_checksum_offloaded(m));
  m.ol_flags = ol::kTxUdpCksum;
  EXPECT_TRUE(tx_l4_checksum_offloaded(m));
}

}  // namespace
}  // namespace ustack::wire

namespace ustack::wire {
namespace {

// checksum_fold must reduce any 64-bit accumulator to the 16-bit value
// congruent to it mod 0xffff (with 0xffff, not 0, for a nonzero multiple).
// These values once came out as 0: a single fold of 64 bits leaves 33.
TEST(ChecksumFold, WideValuesFoldCompletely) {
  auto reference = [](std::uint64_t v) -> std::uint16_t {
    if (v == 0) return 0;
    const std::uint64_t r = v % 0xffff;
    return r == 0 ? 0xffff : static_cast<std::uint16_t>(r);
  };
  for (std::uint64_t v :
       {0x6205e653fdf7b9afull, 0xffffffffffffffffull, 0x1ffffffffull, 0x10000ffffull,
        0xffff0000ffff0001ull, 0x0000ffffffff0000ull, 0x1ull, 0xffffull, 0x10000ull}) {
    EXPECT_EQ(checksum_fold(v), reference(v)) << std::hex << v;
  }
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 100000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ASSERT_EQ(checksum_fold(x), reference(x)) << std::hex << x;
  }
}

}  // namespace
}  // namespace ustack::wire
