// SYN cookies (proto/tcp/syn_cookie.h): every MSS the cookie can carry comes
// back; a cookie is bound to its 4-tuple, the peer's ISN and the key, and
// to its period (accepted one period on, refused two on); no single bit of
// it can be changed; the timestamp carries window scale and SACK-permitted
// and never runs ahead of our clock; and the hash bits look uniform over
// many random connections.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/random.h"
#include "proto/tcp/syn_cookie.h"

namespace ustack {
namespace {

const SipKey kKey{0x0123456789abcdefull, 0xfedcba9876543210ull};

ConnKey v4_key(std::uint32_t local, std::uint16_t lport, std::uint32_t remote,
               std::uint16_t rport) {
  ConnKey k;
  k.local = IpAddr::v4(Ipv4Addr::from_u32(local));
  k.remote = IpAddr::v4(Ipv4Addr::from_u32(remote));
  k.local_port = lport;
  k.remote_port = rport;
  return k;
}

ConnKey random_key(Rng& rng) {
  return v4_key(static_cast<std::uint32_t>(rng.next()), static_cast<std::uint16_t>(rng.next()),
                static_cast<std::uint32_t>(rng.next()), static_cast<std::uint16_t>(rng.next()));
}

const ConnKey kConn = v4_key(0x0a000001, 80, 0x0a000002, 40000);
constexpr std::uint32_t kIsn = 0x12345678;
constexpr std::uint64_t kNow = 1'000'000;  // seconds

TEST(SynCookie, EveryMssEntryRoundTrips) {
  for (std::uint16_t m : kSynCookieMss) {
    const std::uint32_t c = syn_cookie_make(kKey, kConn, kIsn, m, kNow);
    EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c, kNow), m);
    // Between entries: the largest entry not above the peer's MSS.
    const std::uint32_t c2 =
        syn_cookie_make(kKey, kConn, kIsn, static_cast<std::uint16_t>(m + 1), kNow);
    EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c2, kNow), m);
  }
  auto mss_for = [](std::uint16_t peer) {
    return syn_cookie_check(kKey, kConn, kIsn, syn_cookie_make(kKey, kConn, kIsn, peer, kNow),
                            kNow);
  };
  EXPECT_EQ(mss_for(0), 536);  // no option: the RFC 9293 default
  EXPECT_EQ(mss_for(100), 536);
  EXPECT_EQ(mss_for(1459), 1452);
  EXPECT_EQ(mss_for(1460), 1460);
  EXPECT_EQ(mss_for(9000), 8960);
  EXPECT_EQ(mss_for(65535), 8960);
}

TEST(SynCookie, BoundToTheConnectionAttemptAndTheKey) {
  const std::uint32_t c = syn_cookie_make(kKey, kConn, kIsn, 1460, kNow);
  ASSERT_EQ(syn_cookie_check(kKey, kConn, kIsn, c, kNow), 1460);
  ConnKey k = kConn;
  k.local_port = 81;
  EXPECT_EQ(syn_cookie_check(kKey, k, kIsn, c, kNow), 0);
  k = kConn;
  k.remote_port = 40001;
  EXPECT_EQ(syn_cookie_check(kKey, k, kIsn, c, kNow), 0);
  k = kConn;
  k.local = IpAddr::v4(Ipv4Addr::from_u32(0x0a000003));
  EXPECT_EQ(syn_cookie_check(kKey, k, kIsn, c, kNow), 0);
  k = kConn;
  k.remote = IpAddr::v4(Ipv4Addr::from_u32(0x0a000004));
  EXPECT_EQ(syn_cookie_check(kKey, k, kIsn, c, kNow), 0);
  // Addresses and ports swapped (the peer's view of the same connection).
  k = v4_key(0x0a000002, 40000, 0x0a000001, 80);
  EXPECT_EQ(syn_cookie_check(kKey, k, kIsn, c, kNow), 0);
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn + 1, c, kNow), 0);
  SipKey other = kKey;
  other.k1 ^= 1;
  EXPECT_EQ(syn_cookie_check(other, kConn, kIsn, c, kNow), 0);
  // IPv6, and the same bytes under the other family.
  std::array<std::uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
  std::array<std::uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8};
  a[15] = 1;
  b[15] = 2;
  ConnKey v6 = kConn;
  v6.local = IpAddr::v6(a);
  v6.remote = IpAddr::v6(b);
  const std::uint32_t c6 = syn_cookie_make(kKey, v6, kIsn, 1440, kNow);
  EXPECT_EQ(syn_cookie_check(kKey, v6, kIsn, c6, kNow), 1440);
  ConnKey mapped = kConn;
  mapped.local.family = IpFamily::kV6;
  mapped.remote.family = IpFamily::kV6;
  EXPECT_EQ(syn_cookie_check(kKey, mapped, kIsn, c, kNow), 0);
}

TEST(SynCookie, ValidForItsPeriodAndTheNext) {
  // kNow lies in period 15625 (1,000,000 / 64): [1,000,000, 1,000,064).
  const std::uint64_t start = kNow / 64 * 64;
  const std::uint32_t c = syn_cookie_make(kKey, kConn, kIsn, 1460, kNow);
  EXPECT_EQ(c >> 27, (kNow / 64) % 32);
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c, start), 1460);
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c, start + 63), 1460);
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c, start + 64), 1460);   // one period on
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c, start + 127), 1460);  // still one
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c, start + 128), 0);     // two periods on
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c, start + 64 * 5), 0);
  // 32 periods on, the 5 counter bits match again: the hash does not.
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c, start + 64 * 32), 0);
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c, start + 64 * 33), 0);
  // From the period before (a clock cannot run back, but a forger's can).
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c, start - 1), 0);
  // Period 0 has no period before it.
  const std::uint32_t c0 = syn_cookie_make(kKey, kConn, kIsn, 536, 10);
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c0, 0), 536);
  EXPECT_EQ(syn_cookie_check(kKey, kConn, kIsn, c0, 100), 536);
}

TEST(SynCookie, EveryFlippedBitIsRefused) {
  Rng rng(7);
  int checked = 0;
  for (int n = 0; n < 500; ++n) {
    const ConnKey k = random_key(rng);
    const auto isn = static_cast<std::uint32_t>(rng.next());
    const auto mss = static_cast<std::uint16_t>(rng.next());
    const std::uint64_t now = rng.next() >> 20;
    const std::uint32_t c = syn_cookie_make(kKey, k, isn, mss, now);
    ASSERT_NE(syn_cookie_check(kKey, k, isn, c, now), 0);
    for (int bit = 0; bit < 32; ++bit) {
      EXPECT_EQ(syn_cookie_check(kKey, k, isn, c ^ (1u << bit), now), 0) << "bit " << bit;
      ++checked;
    }
    // Off by one either way (a peer that did not add one, or added two).
    EXPECT_EQ(syn_cookie_check(kKey, k, isn, c + 1, now), 0);
    EXPECT_EQ(syn_cookie_check(kKey, k, isn, c - 1, now), 0);
  }
  EXPECT_EQ(checked, 500 * 32);
}

TEST(SynCookie, TimestampCarriesOptionsAndNeverRunsAhead) {
  Rng rng(11);
  std::vector<std::uint32_t> clocks = {0, 1, 15, 16, 31, 63, 64, 65, 127, 0xffffffffu, 0x80000000u};
  for (int i = 0; i < 200; ++i) clocks.push_back(static_cast<std::uint32_t>(rng.next()));
  std::vector<std::optional<std::uint8_t>> scales = {std::nullopt};
  for (std::uint8_t w = 0; w <= 14; ++w) scales.push_back(w);
  for (std::uint32_t now : clocks) {
    for (bool sack : {false, true}) {
      for (const auto& ws : scales) {
        const std::uint32_t ts = syn_cookie_tsval(now, sack, ws);
        bool got_sack = !sack;
        std::optional<std::uint8_t> got_ws = 99;
        syn_cookie_decode_ts(ts, &got_sack, &got_ws);
        EXPECT_EQ(got_sack, sack);
        EXPECT_EQ(got_ws, ws);
        // Not after now, modulo 2^32, and at most 63 behind.
        const auto behind = static_cast<std::int32_t>(now - ts);
        EXPECT_GE(behind, 0) << now;
        EXPECT_LT(behind, 64) << now;
        EXPECT_EQ(ts & 0x20u, 0u);
      }
    }
  }
  // Shifts above 14 go as 14 (RFC 7323 §2.3).
  bool sack = false;
  std::optional<std::uint8_t> ws;
  syn_cookie_decode_ts(syn_cookie_tsval(1000, true, 15), &sack, &ws);
  EXPECT_EQ(ws, 14);
  syn_cookie_decode_ts(syn_cookie_tsval(1000, false, 255), &sack, &ws);
  EXPECT_EQ(ws, 14);
  EXPECT_FALSE(sack);
}

TEST(SynCookie, HashBitsLookUniform) {
  // 200,000 cookies for random connections in one period with one MSS: the
  // 24 hash bits should collide about n^2 / 2^25 = 1192 times, and each bit
  // be set half the time.
  constexpr int kN = 200'000;
  Rng rng(3);
  std::vector<std::uint32_t> h;
  h.reserve(kN);
  std::array<int, 24> ones{};
  for (int i = 0; i < kN; ++i) {
    const std::uint32_t c =
        syn_cookie_make(kKey, random_key(rng), static_cast<std::uint32_t>(rng.next()), 1460, kNow);
    EXPECT_EQ(c >> 24, ((kNow / 64 % 32) << 3) | 5u);  // counter, MSS index 5
    const std::uint32_t low = c & 0xffffffu;
    h.push_back(low);
    for (int b = 0; b < 24; ++b) ones[b] += (low >> b) & 1;
  }
  std::sort(h.begin(), h.end());
  int collisions = 0;
  for (std::size_t i = 1; i < h.size(); ++i) collisions += h[i] == h[i - 1];
  const double expected = static_cast<double>(kN) * kN / (2.0 * (1 << 24));
  // Poisson: sd = sqrt(1192) = 35; five of them either way.
  EXPECT_NEAR(collisions, expected, 5 * std::sqrt(expected));
  for (int b = 0; b < 24; ++b) {
    // Binomial sd = sqrt(n) / 2 = 224; five of them.
    EXPECT_NEAR(ones[b], kN / 2, 5 * 224) << "bit " << b;
  }
  // Neighbouring tuples (one port apart) spread as well as random ones.
  std::vector<std::uint32_t> seq;
  for (std::uint32_t p = 0; p < 65536; ++p) {
    ConnKey k = kConn;
    k.remote_port = static_cast<std::uint16_t>(p);
    seq.push_back(syn_cookie_make(kKey, k, kIsn, 1460, kNow) & 0xffffffu);
  }
  std::sort(seq.begin(), seq.end());
  int seq_collisions = 0;
  for (std::size_t i = 1; i < seq.size(); ++i) seq_collisions += seq[i] == seq[i - 1];
  EXPECT_LT(seq_collisions, 128 + 5 * 12);  // expected 65536^2 / 2^25 = 128
}

}  // namespace
}  // namespace ustack
