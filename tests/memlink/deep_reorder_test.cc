// memlink's deep reordering (frames held behind thousands of later frames,
// more of them at once than the default 64) and next_arrival_into(), which
// the fault matrix (bench/fault_matrix) uses to skip idle virtual time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "drivers/memlink/memlink.h"
#include "unit/test_pool.h"

namespace ustack {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

Mbuf* numbered(MbufPool& pool, std::uint32_t n) {
  Mbuf* m = pool.alloc();
  if (m == nullptr) return nullptr;
  std::byte* p = m->append(64);
  std::memset(p, 0, 64);
  std::memcpy(p, &n, sizeof n);
  return m;
}

std::uint32_t number_of(const Mbuf* m) {
  std::uint32_t n = 0;
  std::memcpy(&n, m->data(), sizeof n);
  return n;
}

TEST(MemlinkDeepReorder, HoldsFramesBehindThousandsOfLaterOnes) {
  VirtualClock clock;
  auto pool = testing::make_pool(16384);
  MemlinkConfig cfg;
  cfg.ring_size = 16384;
  cfg.a_to_b.reorder = 0.25;
  cfg.a_to_b.reorder_depth = 2000;
  cfg.a_to_b.reorder_max_hold = std::chrono::seconds(10);  // the depth decides
  cfg.a_to_b.reorder_max_held = 4096;
  std::string err;
  auto link = Memlink::create(cfg, clock, &err);
  ASSERT_NE(link, nullptr) << err;
  link->set_rx_pool(1, pool.get());
  constexpr std::uint32_t kFrames = 320 * 32;
  std::vector<std::uint32_t> got;
  Mbuf* out[64];
  auto drain = [&] {
    for (std::uint16_t n; (n = link->b().rx_burst(0, out, 64)) > 0;) {
      for (std::uint16_t i = 0; i < n; ++i) got.push_back(number_of(out[i]));
      mbuf_free_bulk(out, n);
    }
  };
  for (std::uint32_t i = 0; i < kFrames; i += 32) {
    Mbuf* burst[32];
    for (std::uint32_t k = 0; k < 32; ++k) burst[k] = numbered(*pool, i + k);
    ASSERT_EQ(link->a().tx_burst(0, burst, 32), 32);
    drain();
  }
  // The frames still held go once their hold time is over.
  const std::size_t before_deadline = got.size();
  EXPECT_LT(before_deadline, kFrames);
  EXPECT_GT(link->next_arrival_into(1), clock.now());
  clock.advance(std::chrono::seconds(10));
  EXPECT_LE(link->next_arrival_into(1), clock.now());
  drain();
  ASSERT_EQ(got.size(), kFrames) << "deep reordering loses nothing";
  std::vector<std::uint32_t> sorted = got;
  std::sort(sorted.begin(), sorted.end());
  for (std::uint32_t i = 0; i < kFrames; ++i) ASSERT_EQ(sorted[i], i);
  // Far more than 64 held at once, and some frames displaced by more than
  // a thousand places.
  std::size_t max_shift = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    max_shift = std::max<std::size_t>(max_shift, i > got[i] ? i - got[i] : 0);
  EXPECT_GT(max_shift, 1000u);
  EXPECT_GT(link->stats_into(1).reordered, kFrames / 5);
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST(MemlinkDeepReorder, NextArrivalFollowsDelayAndIsMaxWhenIdle) {
  VirtualClock clock;
  auto pool = testing::make_pool(64);
  MemlinkConfig cfg;
  cfg.a_to_b.delay = microseconds(500);
  std::string err;
  auto link = Memlink::create(cfg, clock, &err);
  ASSERT_NE(link, nullptr) << err;
  EXPECT_EQ(link->next_arrival_into(1), Instant::max());
  EXPECT_EQ(link->next_arrival_into(0), Instant::max());
  const Instant sent_at = clock.now();
  Mbuf* m = numbered(*pool, 7);
  ASSERT_EQ(link->a().tx_burst(0, &m, 1), 1);
  EXPECT_EQ(link->next_arrival_into(1), sent_at + microseconds(500));
  EXPECT_EQ(link->next_arrival_into(0), Instant::max());
  Mbuf* out[4];
  EXPECT_EQ(link->b().rx_burst(0, out, 4), 0);
  clock.advance(microseconds(500));
  ASSERT_EQ(link->b().rx_burst(0, out, 4), 1);
  EXPECT_EQ(number_of(out[0]), 7u);
  mbuf_free(out[0]);
  EXPECT_EQ(link->next_arrival_into(1), Instant::max());
}

}  // namespace
}  // namespace ustack
