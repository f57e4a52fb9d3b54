// MbufPool: bulk allocation, exhaustion, the owner's cache, remote frees
// through the return ring, accounting for leak checks.
#include "core/mbuf_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "unit/test_pool.h"

namespace ustack {
namespace {

using testing::make_pool;

TEST(MbufPool, RejectsUnusableConfig) {
  std::string err;
  MbufPoolConfig cfg;
  cfg.capacity = 0;
  EXPECT_EQ(MbufPool::create(cfg, &err), nullptr);
  EXPECT_NE(err.find("capacity"), std::string::npos);
  cfg.capacity = 4;
  cfg.data_room = 65535;
  EXPECT_EQ(MbufPool::create(cfg, &err), nullptr);
  EXPECT_NE(err.find("16 bits"), std::string::npos);
}

TEST(MbufPool, BulkAllocIsAllOrNothing) {
  auto pool = make_pool(64);
  std::vector<Mbuf*> a(60);
  ASSERT_TRUE(pool->alloc_bulk(a.data(), 60));
  EXPECT_EQ(pool->in_use(), 60u);
  std::vector<Mbuf*> b(8, nullptr);
  EXPECT_FALSE(pool->alloc_bulk(b.data(), 8));
  EXPECT_EQ(pool->in_use(), 60u);
  EXPECT_EQ(b[0], nullptr);
  ASSERT_TRUE(pool->alloc_bulk(b.data(), 4));
  EXPECT_EQ(pool->alloc(), nullptr);
  std::set<Mbuf*> distinct(a.begin(), a.end());
  distinct.insert(b.begin(), b.begin() + 4);
  EXPECT_EQ(distinct.size(), 64u);
  for (Mbuf* m : distinct) EXPECT_TRUE(pool->contains(m));
  mbuf_free_bulk(a.data(), a.size());
  mbuf_free_bulk(b.data(), 4);
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST(MbufPool, LastFreedComesBackFirst) {
  auto pool = make_pool(16);
  Mbuf* m = pool->alloc();
  mbuf_free(m);
  EXPECT_EQ(pool->alloc(), m) << "LIFO cache returns the cache-warm buffer";
}

TEST(MbufPool, AllocResetsState) {
  auto pool = make_pool(1);
  Mbuf* m = pool->alloc();
  m->append(100);
  m->ol_flags = ol::kRxIpCksumGood;
  m->l2_len = 14;
  m->udata64 = 99;
  mbuf_free(m);
  m = pool->alloc();
  EXPECT_EQ(m->pkt_len, 0u);
  EXPECT_EQ(m->ol_flags, 0u);
  EXPECT_EQ(m->l2_len, 0);
  EXPECT_EQ(m->udata64, 0u);
  EXPECT_EQ(m->data_off, pool->headroom());
  mbuf_free(m);
}

TEST(MbufPool, PrivateAreaSitsBetweenMbufAndBuffer) {
  MbufPoolConfig cfg;
  cfg.capacity = 4;
  cfg.priv_size = 64;
  cfg.try_huge_pages = false;
  std::string err;
  auto pool = MbufPool::create(cfg, &err);
  ASSERT_NE(pool, nullptr) << err;
  Mbuf* m = pool->alloc();
  auto* priv = static_cast<std::byte*>(pool->priv(m));
  EXPECT_GE(m->buf_addr, priv + 64);
  mbuf_free(m);
}

TEST(MbufPool, RemoteFreesReturnThroughTheRing) {
  auto pool = make_pool(4096);
  std::vector<Mbuf*> ms(4096);
  ASSERT_TRUE(pool->alloc_bulk(ms.data(), 4096));
  // Another thread frees them all (as a peer core would after transmit).
  std::thread other([&] {
    for (std::size_t i = 0; i < ms.size(); i += 16) mbuf_free_bulk(&ms[i], 16);
  });
  other.join();
  EXPECT_EQ(pool->in_use(), 0u) << "remotely freed mbufs are not in use";
  // The owner gets them back on its next allocation.
  std::vector<Mbuf*> again(4096);
  ASSERT_TRUE(pool->alloc_bulk(again.data(), 4096));
  mbuf_free_bulk(again.data(), again.size());
  EXPECT_EQ(pool->in_use(), 0u);
}

TEST(MbufPool, ConcurrentRemoteFreesWhileOwnerAllocates) {
  auto pool = make_pool(2048);
  SpscRing<Mbuf*> to_peer(4096);
  constexpr int kRounds = 200000;
  std::atomic<bool> done{false};
  std::thread peer([&] {
    Mbuf* burst[32];
    while (!done.load() || !to_peer.empty()) {
      const std::size_t n = to_peer.dequeue_burst(burst, 32);
      if (n > 0) mbuf_free_bulk(burst, n);
    }
  });
  int sent = 0;
  // Bounded by time, not spins: under load the peer may lag far behind.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (sent < kRounds && std::chrono::steady_clock::now() < deadline) {
    Mbuf* m = pool->alloc();
    if (m == nullptr) continue;  // waiting for the peer to give some back
    m->append(64);
    while (!to_peer.enqueue(m)) {
    }
    ++sent;
  }
  done.store(true);
  peer.join();
  pool->drain_remote();
  EXPECT_EQ(sent, kRounds);
  EXPECT_EQ(pool->in_use(), 0u);
}

}  // namespace
}  // namespace ustack
