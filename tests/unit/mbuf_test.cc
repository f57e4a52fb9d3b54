// Mbuf: data window arithmetic, chains, clones (indirect mbufs), external
// buffers and the owning handle.
#include "core/mbuf.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "core/mbuf_pool.h"
#include "unit/test_pool.h"

namespace ustack {
namespace {

using testing::make_frame;
using testing::make_pool;

TEST(Mbuf, FreshMbufHasHeadroomAndNoData) {
  auto pool = make_pool(8);
  Mbuf* m = pool->alloc();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->data_len, 0);
  EXPECT_EQ(m->pkt_len, 0u);
  EXPECT_EQ(m->headroom(), 128u);
  EXPECT_EQ(m->tailroom(), 2048u);
  EXPECT_EQ(m->nb_segs, 1);
  EXPECT_EQ(m->refs(), 1);
  EXPECT_EQ(m->next, nullptr);
  EXPECT_EQ(m->pool, pool.get());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m->data()) % 64, 0u) << "data starts cache aligned";
  mbuf_free(m);
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST(Mbuf, PrependAdjAppendTrim) {
  auto pool = make_pool(8);
  Mbuf* m = pool->alloc();
  ASSERT_NE(m->append(100), nullptr);
  EXPECT_EQ(m->pkt_len, 100u);
  std::byte* start = m->data();
  std::byte* hdr = m->prepend(14);
  ASSERT_NE(hdr, nullptr);
  EXPECT_EQ(hdr + 14, start);
  EXPECT_EQ(m->pkt_len, 114u);
  EXPECT_EQ(m->adj(14), start);
  EXPECT_EQ(m->pkt_len, 100u);
  EXPECT_TRUE(m->trim(40));
  EXPECT_EQ(m->data_len, 60);
  EXPECT_EQ(m->pkt_len, 60u);
  // Refusals leave the mbuf untouched.
  EXPECT_EQ(m->prepend(129), nullptr);
  EXPECT_EQ(m->adj(61), nullptr);
  EXPECT_EQ(m->append(2049), nullptr);
  EXPECT_FALSE(m->trim(61));
  EXPECT_EQ(m->pkt_len, 60u);
  EXPECT_EQ(m->data_len, 60);
  mbuf_free(m);
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST(Mbuf, ChainsCountSegmentsAndBytes) {
  auto pool = make_pool(8);
  Mbuf* a = make_frame(*pool, 100, 1);
  Mbuf* b = make_frame(*pool, 200, 2);
  Mbuf* c = make_frame(*pool, 300, 3);
  b->chain(c);
  a->chain(b);
  EXPECT_EQ(a->nb_segs, 3);
  EXPECT_EQ(a->pkt_len, 600u);
  EXPECT_EQ(a->last(), c);
  // Append goes to the last segment.
  ASSERT_NE(a->append(10), nullptr);
  EXPECT_EQ(c->data_len, 310);
  EXPECT_EQ(a->pkt_len, 610u);
  // Reading across segment boundaries.
  std::array<std::byte, 4> out{};
  EXPECT_EQ(mbuf_read(a, 98, out), 4u);
  EXPECT_EQ(out[0], std::byte(98 * 7 + 1));
  EXPECT_EQ(out[2], std::byte(0 * 7 + 2));
  // Trimming into the first segment frees the tail segments.
  EXPECT_TRUE(a->trim(550));
  EXPECT_EQ(a->pkt_len, 60u);
  EXPECT_EQ(a->nb_segs, 1);
  EXPECT_EQ(a->next, nullptr);
  EXPECT_EQ(pool->in_use(), 1u);
  mbuf_free(a);
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST(Mbuf, CloneSharesBytesAndKeepsDirectAlive) {
  auto pool = make_pool(16);
  Mbuf* a = make_frame(*pool, 100, 5);
  Mbuf* b = make_frame(*pool, 50, 6);
  a->chain(b);
  Mbuf* c = mbuf_clone(a, *pool);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->pkt_len, 150u);
  EXPECT_EQ(c->nb_segs, 2);
  EXPECT_EQ(c->data(), a->data()) << "zero copy";
  EXPECT_EQ(c->next->data(), b->data());
  EXPECT_TRUE(c->is_indirect());
  EXPECT_EQ(a->refs(), 2);
  EXPECT_FALSE(a->is_writable());
  EXPECT_EQ(pool->in_use(), 4u);
  // Freeing the original keeps the bytes alive for the clone.
  mbuf_free(a);
  EXPECT_EQ(pool->in_use(), 4u);
  EXPECT_EQ(c->data()[3], std::byte(3 * 7 + 5));
  // A clone of a clone references the same direct mbuf.
  Mbuf* cc = mbuf_clone(c, *pool);
  ASSERT_NE(cc, nullptr);
  EXPECT_EQ(cc->direct, c->direct);
  mbuf_free(c);
  EXPECT_EQ(pool->in_use(), 4u);
  mbuf_free(cc);
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST(Mbuf, CloneRangeReferencesASliceAcrossSegments) {
  auto pool = make_pool(16);
  Mbuf* a = make_frame(*pool, 100, 1);
  a->chain(make_frame(*pool, 100, 2));
  a->chain(make_frame(*pool, 100, 3));
  Mbuf* c = mbuf_clone_range(a, 90, 120, *pool);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->pkt_len, 120u);
  EXPECT_EQ(c->nb_segs, 3);
  EXPECT_EQ(c->data(), a->data() + 90) << "zero copy";
  std::array<std::byte, 120> got{}, want{};
  ASSERT_EQ(mbuf_read(c, 0, got), 120u);
  ASSERT_EQ(mbuf_read(a, 90, want), 120u);
  EXPECT_EQ(got, want);
  EXPECT_EQ(mbuf_clone_range(a, 250, 51, *pool), nullptr) << "past the end";
  EXPECT_EQ(mbuf_clone_range(a, 0, 0, *pool), nullptr);
  mbuf_free(a);
  mbuf_free(c);
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST(Mbuf, CloneFailsCleanlyWhenPoolIsEmpty) {
  auto pool = make_pool(3);
  Mbuf* a = make_frame(*pool, 10);
  a->chain(make_frame(*pool, 10));
  // One mbuf left: a two-segment clone cannot be made.
  EXPECT_EQ(mbuf_clone(a, *pool), nullptr);
  EXPECT_EQ(pool->in_use(), 2u);
  EXPECT_EQ(a->refs(), 1);
  mbuf_free(a);
  EXPECT_EQ(pool->in_use(), 0u);
}

struct ExtState {
  int frees = 0;
  void* last_addr = nullptr;
};

void ext_free(void* addr, void* opaque) {
  auto* st = static_cast<ExtState*>(opaque);
  ++st->frees;
  st->last_addr = addr;
}

TEST(Mbuf, ExternalBufferCallbackRunsWhenLastUserGoes) {
  auto pool = make_pool(8);
  std::array<std::byte, 4096> block{};
  ExtState st;
  ExtBufInfo info;
  info.free_cb = ext_free;
  info.opaque = &st;
  // Two frames inside the same "ring block".
  Mbuf* m1 = pool->alloc();
  Mbuf* m2 = pool->alloc();
  info.refcnt.store(2);
  mbuf_attach_extbuf(m1, block.data(), 2048, &info);
  mbuf_attach_extbuf(m2, block.data() + 2048, 2048, &info);
  m1->append(60);
  m2->append(1514);
  EXPECT_EQ(m1->data(), block.data());
  EXPECT_TRUE(m1->is_writable()) << "two frames share the block, not their bytes";
  // A clone of an external-buffer mbuf keeps the block too.
  Mbuf* c = mbuf_clone(m1, *pool);
  EXPECT_FALSE(m1->is_writable()) << "now its bytes are shared";
  mbuf_free(m1);
  mbuf_free(m2);
  EXPECT_EQ(st.frees, 0);
  mbuf_free(c);
  EXPECT_EQ(st.frees, 1);
  EXPECT_EQ(pool->in_use(), 0u);
}

// A driver's receive ring in miniature: one external unit whose callback
// counts the times it went back.
struct FakeRing {
  std::array<std::byte, 2048> bytes{};
  ExtState st;
  ExtBufInfo info;
  FakeRing() {
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = std::byte(i * 7);
    info.free_cb = ext_free;
    info.opaque = &st;
  }
  // A fresh mbuf of `pool` holding `len` bytes of the unit from `off`.
  Mbuf* frame(MbufPool& pool, std::uint16_t off, std::uint16_t len) {
    Mbuf* m = pool.alloc();
    info.refcnt.fetch_add(1);
    mbuf_attach_extbuf(m, bytes.data(), 2048, &info);
    m->data_off = off;
    m->append(len);
    return m;
  }
};

// mbuf_unpin: a chain in external memory (a driver's ring) is replaced by a
// copy in the pool and the ring's unit goes back at once; a chain in pool
// memory is left as it is; a clone of an external buffer counts as one.
TEST(Mbuf, UnpinCopiesExternalChainsAndReleasesTheRing) {
  auto pool = make_pool(16);
  FakeRing ring;
  Mbuf* m = ring.frame(*pool, 14, 1000);
  m->ol_flags = 7;
  Mbuf* tail = pool->alloc();
  tail->append(10);
  m->chain(tail);
  ASSERT_TRUE(mbuf_has_ext(m));
  Mbuf* before = m;
  ASSERT_TRUE(mbuf_unpin(&m, *pool));
  EXPECT_NE(m, before);
  EXPECT_EQ(ring.st.frees, 1) << "the ring's unit is back";
  EXPECT_FALSE(mbuf_has_ext(m));
  EXPECT_EQ(m->pkt_len, 1010u);
  EXPECT_EQ(m->ol_flags, 7u);
  std::vector<std::byte> got(1000);
  mbuf_read(m, 0, got);
  EXPECT_EQ(0, std::memcmp(got.data(), ring.bytes.data() + 14, 1000));
  // Pool memory: nothing to do.
  Mbuf* same = m;
  ASSERT_TRUE(mbuf_unpin(&m, *pool));
  EXPECT_EQ(m, same);
  mbuf_free(m);
  // A clone of an external buffer pins it too.
  Mbuf* e = ring.frame(*pool, 0, 100);
  Mbuf* c = mbuf_clone(e, *pool);
  mbuf_free(e);
  EXPECT_TRUE(mbuf_has_ext(c));
  ASSERT_TRUE(mbuf_unpin(&c, *pool));
  EXPECT_EQ(ring.st.frees, 2);
  mbuf_free(c);
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST(Mbuf, UnpinWithAnEmptyPoolLeavesTheChain) {
  auto pool = make_pool(1);
  FakeRing ring;
  Mbuf* m = ring.frame(*pool, 0, 60);
  Mbuf* before = m;
  EXPECT_FALSE(mbuf_unpin(&m, *pool));
  EXPECT_EQ(m, before);
  EXPECT_EQ(ring.st.frees, 0);
  mbuf_free(m);
  EXPECT_EQ(ring.st.frees, 1);
}

TEST(Mbuf, BulkFreeAcrossPools) {
  auto p1 = make_pool(64, 2048, "p1");
  auto p2 = make_pool(64, 2048, "p2");
  std::vector<Mbuf*> ms;
  for (int i = 0; i < 40; ++i) ms.push_back(make_frame(i % 3 == 0 ? *p1 : *p2, 64));
  // Chains mixing pools.
  ms[0]->chain(make_frame(*p2, 10));
  mbuf_free_bulk(ms.data(), ms.size());
  EXPECT_EQ(p1->in_use(), 0u);
  EXPECT_EQ(p2->in_use(), 0u);
}

TEST(MbufPtr, FreesOnScopeExitAndReleases) {
  auto pool = make_pool(8);
  {
    MbufPtr p(pool->alloc());
    EXPECT_TRUE(p);
    EXPECT_EQ(pool->in_use(), 1u);
  }
  EXPECT_EQ(pool->in_use(), 0u);
  MbufPtr p(pool->alloc());
  MbufPtr q = std::move(p);
  EXPECT_FALSE(p);
  Mbuf* raw = q.release();
  EXPECT_FALSE(q);
  EXPECT_EQ(pool->in_use(), 1u);
  mbuf_free(raw);
  EXPECT_EQ(pool->in_use(), 0u);
}

}  // namespace
}  // namespace ustack
