// Two workers over a memlink with RSS on both ends: worker w owns queue w of
// both ends (transmit and receive), as one pipeline per core does. Each
// sends frames of random flows both ways; every frame must arrive exactly
// once, on the queue Toeplitz and the redirection table name, wherever it
// was sent from. Bounded in frames and in time; meant to be run under
// ThreadSanitizer too (the N x N rings, the steering, the remote frees).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "drivers/memlink/memlink.h"
#include "memlink/rss_frames.h"
#include "unit/test_pool.h"

namespace ustack {
namespace {

constexpr std::uint16_t kWorkers = 2;
constexpr std::uint32_t kFrames = 20000;  // per worker and direction
constexpr std::uint32_t kTotal = kWorkers * 2 * kFrames;
constexpr std::uint32_t kPool = 2048;

std::uint32_t frame_id(std::uint16_t worker, int dir, std::uint32_t seq) {
  return (worker * 2u + static_cast<std::uint32_t>(dir)) * kFrames + seq;
}
std::uint16_t sender_of(std::uint32_t id) {
  return static_cast<std::uint16_t>(id / (2 * kFrames));
}

struct WorkerResult {
  std::vector<std::uint8_t> seen = std::vector<std::uint8_t>(kTotal);  // times each id came
  std::uint64_t wrong_queue = 0, wrong_hash = 0, unknown_id = 0, refused = 0;
  std::uint64_t from_other_worker = 0;
};

TEST(MemlinkRssThreads, TwoWorkersGetEveryFrameOnceOnThePredictedQueue) {
  VirtualClock clock;
  MemlinkConfig cfg;
  cfg.queues = kWorkers;
  cfg.ring_size = 2 * kPool;  // a sender never has more in flight than its pool holds
  cfg.rss_into_a = {.enabled = true, .key = kRssKeyMicrosoft};
  cfg.rss_into_b = {.enabled = true, .key = kRssKeyMicrosoft};
  std::string err;
  auto link = Memlink::create(cfg, clock, &err);
  ASSERT_NE(link, nullptr) << err;
  const Toeplitz toeplitz(kRssKeyMicrosoft);
  const RssReta reta(kWorkers);
  std::vector<std::unique_ptr<MbufPool>> pools;
  for (std::uint16_t w = 0; w < kWorkers; ++w)
    pools.push_back(testing::make_pool(kPool, 2048, "w" + std::to_string(w)));
  std::vector<WorkerResult> results(kWorkers);
  std::atomic<std::uint32_t> received{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);

  auto worker = [&](std::uint16_t w) {
    MbufPool& pool = *pools[w];
    pool.bind_to_current_thread();
    WorkerResult& res = results[w];
    std::mt19937 rng(w + 1);
    std::uint32_t next[2] = {0, 0};  // 0: sent on A into B, 1: sent on B into A
    Port* ends[2] = {&link->a(), &link->b()};
    while (std::chrono::steady_clock::now() < deadline) {
      if (next[0] == kFrames && next[1] == kFrames && received.load() == kTotal) break;
      pool.drain_remote();
      for (int dir = 0; dir < 2; ++dir) {
        Mbuf* burst[32];
        std::uint16_t k = 0;
        while (k < 32 && next[dir] + k < kFrames) {
          Mbuf* m = rss_test::ipv4_frame(pool, rss_test::random_tuple(rng),
                                         frame_id(w, dir, next[dir] + k));
          if (m == nullptr) break;  // the other worker still holds them
          burst[k++] = m;
        }
        if (k == 0) continue;
        const std::uint16_t sent = ends[dir]->tx_burst(w, burst, k);
        res.refused += k - sent;
        next[dir] += k;
      }
      for (Port* end : ends) {
        Mbuf* out[32];
        const std::uint16_t n = end->rx_burst(w, out, 32);
        for (std::uint16_t i = 0; i < n; ++i) {
          const std::uint32_t id = rss_test::id_of(out[i]);
          if (id >= kTotal) {
            ++res.unknown_id;
            continue;
          }
          ++res.seen[id];
          if (sender_of(id) != w) ++res.from_other_worker;
          const std::uint32_t h = rss_test::expected_hash(toeplitz, rss_test::tuple_of(out[i]));
          if ((out[i]->ol_flags & ol::kRxRssHash) == 0 || out[i]->rss_hash != h) ++res.wrong_hash;
          if (reta.queue_of(h) != w || out[i]->queue != w) ++res.wrong_queue;
        }
        mbuf_free_bulk(out, n);  // most go back to the other worker's pool
        received.fetch_add(n);
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::uint16_t w = 0; w < kWorkers; ++w) threads.emplace_back(worker, w);
  for (auto& t : threads) t.join();

  ASSERT_EQ(received.load(), kTotal) << "did not finish within the time bound";
  std::uint32_t missing = 0, repeated = 0;
  for (std::uint32_t id = 0; id < kTotal; ++id) {
    std::uint32_t times = 0;
    for (const auto& r : results) times += r.seen[id];
    missing += times == 0 ? 1 : 0;
    repeated += times > 1 ? 1 : 0;
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(repeated, 0u);
  for (std::uint16_t w = 0; w < kWorkers; ++w) {
    const WorkerResult& r = results[w];
    EXPECT_EQ(r.wrong_queue, 0u) << "worker " << w;
    EXPECT_EQ(r.wrong_hash, 0u) << "worker " << w;
    EXPECT_EQ(r.unknown_id, 0u) << "worker " << w;
    EXPECT_EQ(r.refused, 0u) << "worker " << w;
    // Random flows: about half of what a worker gets was sent by the other.
    EXPECT_GT(r.from_other_worker, kTotal / 8) << "worker " << w;
  }
  for (auto& pool : pools) {
    pool->bind_to_current_thread();
    pool->drain_remote();
    EXPECT_EQ(pool->in_use(), 0u);
  }
}

}  // namespace
}  // namespace ustack
