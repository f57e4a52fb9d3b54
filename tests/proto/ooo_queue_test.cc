// The out-of-order queue as intervals: merging, trimming, coalescing,
// caps, drain order, D-SACK ranges and the SACK blocks it reports (RFC 2018
// §4: the most recently changed interval first).
#include "proto/tcp/ooo_queue.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "proto/tcp/recv_queue.h"
#include "unit/test_pool.h"

namespace ustack {
namespace {

using testing::make_pool;

constexpr std::uint32_t kBase = 0xfffff000u;  // near the wrap, on purpose

struct Ooo : ::testing::Test {
  // A segment of `len` bytes at relative sequence `rel`, each byte the low
  // 8 bits of its relative sequence number.
  Mbuf* seg(std::uint32_t rel, std::uint32_t len) {
    Mbuf* m = pool->alloc();
    std::byte* d = m->append(static_cast<std::uint16_t>(len));
    for (std::uint32_t i = 0; i < len; ++i) d[i] = std::byte((rel + i) & 0xff);
    return m;
  }
  OutOfOrderQueue::Insert put(std::uint32_t rel, std::uint32_t len, SeqRange* dup = nullptr) {
    SeqRange d;
    auto r = q.insert(SeqNum(kBase + rel), seg(rel, len), &d);
    if (dup != nullptr) *dup = d;
    return r;
  }
  std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks() {
    std::array<SeqRange, 4> b{};
    const std::size_t n = q.sack_blocks(b);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> v;
    for (std::size_t i = 0; i < n; ++i)
      v.emplace_back(b[i].start.raw() - kBase, b[i].end.raw() - kBase);
    return v;
  }
  // Drains at `rcv_nxt` and checks the bytes that came out.
  std::uint32_t drain_check(std::uint32_t rcv_nxt) {
    RecvQueue in;
    const SeqNum next = q.drain(SeqNum(kBase + rcv_nxt), in);
    std::vector<std::byte> got(in.bytes());
    in.read(got);
    for (std::uint32_t i = 0; i < got.size(); ++i)
      EXPECT_EQ(got[i], std::byte((rcv_nxt + i) & 0xff)) << "byte " << i;
    return next.raw() - kBase;
  }

  std::unique_ptr<MbufPool> pool = make_pool(4096);
  OutOfOrderQueue q;
};

TEST_F(Ooo, AdjacentSegmentsFormOneInterval) {
  EXPECT_EQ(put(1000, 100), OutOfOrderQueue::Insert::kNew);
  EXPECT_EQ(put(1100, 100), OutOfOrderQueue::Insert::kNew);
  EXPECT_EQ(put(900, 100), OutOfOrderQueue::Insert::kNew);
  EXPECT_EQ(q.intervals(), 1u);
  EXPECT_EQ(q.bytes(), 300u);
  EXPECT_EQ(drain_check(900), 1200u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST_F(Ooo, ASegmentBridgingTwoIntervalsMergesThem) {
  put(1000, 100);
  put(1200, 100);
  EXPECT_EQ(q.intervals(), 2u);
  put(1100, 100);
  EXPECT_EQ(q.intervals(), 1u);
  EXPECT_EQ(drain_check(1000), 1300u);
}

TEST_F(Ooo, OverlapsKeepOnlyWhatIsNewAndReportTheDuplicate) {
  put(1000, 100);
  SeqRange dup;
  EXPECT_EQ(put(1050, 100, &dup), OutOfOrderQueue::Insert::kNew);
  EXPECT_EQ(dup.start.raw() - kBase, 1050u);
  EXPECT_EQ(dup.end.raw() - kBase, 1100u);
  EXPECT_EQ(q.bytes(), 150u);
  EXPECT_EQ(put(1000, 150, &dup), OutOfOrderQueue::Insert::kDuplicate);
  EXPECT_EQ(dup.len(), 150u);
  // A segment covering a whole interval and more replaces it.
  put(1300, 50);
  EXPECT_EQ(put(1250, 200, &dup), OutOfOrderQueue::Insert::kNew);
  EXPECT_EQ(dup.start.raw() - kBase, 1300u);
  EXPECT_EQ(q.intervals(), 2u);
  EXPECT_EQ(q.bytes(), 150u + 200u);
  EXPECT_EQ(drain_check(1000), 1150u);
  EXPECT_EQ(drain_check(1150), 1150u) << "a hole remains before 1250";
  EXPECT_EQ(drain_check(1250), 1450u);
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST_F(Ooo, DrainTrimsWhatRcvNxtAlreadyPassed) {
  put(1000, 100);
  EXPECT_EQ(drain_check(1040), 1100u);
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST_F(Ooo, TinyContiguousSegmentsShareBuffers) {
  for (std::uint32_t i = 0; i < 1000; ++i)
    ASSERT_EQ(put(5000 + i, 1), OutOfOrderQueue::Insert::kNew);
  EXPECT_EQ(q.intervals(), 1u);
  EXPECT_LE(q.mbufs(), 2u) << "1000 one-byte segments copied into the first buffer's room";
  EXPECT_EQ(pool->in_use(), q.mbufs());
  EXPECT_EQ(drain_check(5000), 6000u);
}

TEST_F(Ooo, CapsAreHeld) {
  q.set_limits({.max_bytes = 10'000, .max_mbufs = 8, .max_intervals = 4});
  // Intervals: the fifth separate one is refused.
  for (std::uint32_t i = 0; i < 4; ++i)
    EXPECT_EQ(put(10'000 * (i + 1), 600), OutOfOrderQueue::Insert::kNew);
  EXPECT_EQ(put(9000, 10), OutOfOrderQueue::Insert::kFull);
  // Extending one is fine until buffers run out (600 bytes do not coalesce).
  for (std::uint32_t i = 0; i < 4; ++i)
    EXPECT_EQ(put(10'600 + 600 * i, 600), OutOfOrderQueue::Insert::kNew);
  EXPECT_EQ(q.mbufs(), 8u);
  EXPECT_EQ(put(13'000, 600), OutOfOrderQueue::Insert::kFull);
  // And bytes: 4800 held, 10000 at most.
  q.set_limits({.max_bytes = 5'000, .max_mbufs = 100, .max_intervals = 4});
  EXPECT_EQ(put(13'000, 300), OutOfOrderQueue::Insert::kFull);
  EXPECT_EQ(put(13'000, 200), OutOfOrderQueue::Insert::kNew);
  EXPECT_LE(q.bytes(), 10'000u);
  EXPECT_EQ(pool->in_use(), q.mbufs());
  q.clear();
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST_F(Ooo, AFloodOfSeparateTinySegmentsStaysBounded) {
  q.set_limits({.max_bytes = 1 << 20, .max_mbufs = 256, .max_intervals = 64});
  std::uint32_t refused = 0;
  for (std::uint32_t i = 0; i < 100'000; ++i)
    refused += put(1000 + 2 * (i % 50'000), 1) == OutOfOrderQueue::Insert::kFull;
  EXPECT_EQ(q.intervals(), 64u);
  EXPECT_LE(q.mbufs(), 64u);
  EXPECT_GT(refused, 90'000u);
  EXPECT_EQ(pool->in_use(), q.mbufs());
}

TEST_F(Ooo, SackBlocksMostRecentFirst) {
  put(1000, 100);
  EXPECT_EQ(blocks(), (decltype(blocks()){{1000, 1100}}));
  put(1200, 100);
  put(1400, 100);
  EXPECT_EQ(blocks(), (decltype(blocks()){{1400, 1500}, {1200, 1300}, {1000, 1100}}));
  put(1100, 50);  // extends the first interval: now the most recent
  EXPECT_EQ(blocks(), (decltype(blocks()){{1000, 1150}, {1400, 1500}, {1200, 1300}}));
  put(1150, 50);  // bridges to 1200..1300
  EXPECT_EQ(blocks(), (decltype(blocks()){{1000, 1300}, {1400, 1500}}));
  put(1600, 10);
  put(1700, 10);
  put(1800, 10);
  EXPECT_EQ(blocks(), (decltype(blocks()){{1800, 1810}, {1700, 1710}, {1600, 1610}, {1000, 1300}}));
  // Drained intervals drop out of the report.
  drain_check(1000);
  EXPECT_EQ(blocks(), (decltype(blocks()){{1800, 1810}, {1700, 1710}, {1600, 1610}, {1400, 1500}}));
}

// RecvQueue::unpin: what the application leaves unread is copied out of the
// driver's ring, resuming after the last segment it already checked; data
// and order are kept, and take() and consume() go on working.
TEST(RecvQueueUnpin, CopiesRingSegmentsOnceAndKeepsTheBytes) {
  auto pool = make_pool(64);
  std::array<std::byte, 4096> ring{};
  for (std::size_t i = 0; i < ring.size(); ++i) ring[i] = std::byte(i & 0xff);
  int frees = 0;
  ExtBufInfo info;
  info.free_cb = [](void*, void* o) { ++*static_cast<int*>(o); };
  info.opaque = &frees;
  auto ring_seg = [&](std::uint32_t at, std::uint16_t len) {
    Mbuf* m = pool->alloc();
    info.refcnt.fetch_add(1);
    mbuf_attach_extbuf(m, ring.data() + at, len, &info);
    m->append(len);
    return m;
  };
  auto pool_seg = [&](std::uint16_t len, std::uint8_t v) {
    Mbuf* m = pool->alloc();
    std::memset(m->append(len), v, len);
    return m;
  };
  RecvQueue q;
  q.append(ring_seg(0, 100));
  q.append(pool_seg(50, 0xaa));
  q.append(ring_seg(100, 200));
  ASSERT_TRUE(q.unpin(*pool));
  EXPECT_EQ(info.refcnt.load(), 0u);
  EXPECT_EQ(frees, 1) << "every segment out of the ring";
  EXPECT_EQ(q.bytes(), 350u);
  q.append(ring_seg(300, 10));
  ASSERT_TRUE(q.unpin(*pool));
  EXPECT_EQ(info.refcnt.load(), 0u);
  std::vector<std::byte> out(360);
  ASSERT_EQ(q.read(out), 360u);
  EXPECT_EQ(0, std::memcmp(out.data(), ring.data(), 100));
  EXPECT_EQ(out[100], std::byte{0xaa});
  EXPECT_EQ(0, std::memcmp(out.data() + 150, ring.data() + 100, 210));
  // After everything was read the resume point is gone, not dangling.
  q.append(ring_seg(0, 20));
  Mbuf* t = q.take(20);
  ASSERT_NE(t, nullptr);
  mbuf_free(t);
  q.append(ring_seg(20, 20));
  ASSERT_TRUE(q.unpin(*pool));
  EXPECT_EQ(info.refcnt.load(), 0u);
  q.clear();
  EXPECT_EQ(pool->in_use(), 0u);
}

// In-order tiny segments share buffers: 2,000 one-byte segments hold a
// couple of mbufs, not 2,000 (a flood of them would empty the pool).
TEST(RecvQueueCoalesce, TinySegmentsShareBuffers) {
  auto pool = make_pool(64);
  RecvQueue q;
  for (int i = 0; i < 2000; ++i) {
    Mbuf* m = pool->alloc();
    ASSERT_NE(m, nullptr) << "segment " << i;
    *m->append(1) = std::byte(i & 0xff);
    q.append(m);
  }
  EXPECT_EQ(q.bytes(), 2000u);
  EXPECT_LE(pool->in_use(), 2u);
  std::vector<std::byte> out(2000);
  ASSERT_EQ(q.read(out), 2000u);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(out[i], std::byte(i & 0xff)) << i;
  EXPECT_EQ(pool->in_use(), 0u);
}

}  // namespace
}  // namespace ustack
