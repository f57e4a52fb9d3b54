// Tests of the lock-free rings (core/ring.h): capacity rounding, full and
// empty behaviour, partial bursts, peek, FIFO order across wrap-around, and
// threaded SPSC and MPSC transfers of sequence-numbered items.

#include "core/ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

namespace ustack {
namespace {

// Every wait loop in the threaded tests gives up after this long.
constexpr auto kTimeLimit = std::chrono::seconds(60);

class Deadline {
 public:
  explicit Deadline(std::chrono::steady_clock::duration d)
      : end_(std::chrono::steady_clock::now() + d) {}
  bool expired() const { return std::chrono::steady_clock::now() > end_; }

 private:
  std::chrono::steady_clock::time_point end_;
};

struct Item {
  std::uint32_t producer;
  std::uint32_t seq;
  std::uint64_t payload;
};
static_assert(std::is_trivially_copyable_v<Item>);

// ---------------------------------------------------------------------------
// SpscRing, single thread.

TEST(SpscRingTest, CapacityRoundsUpToPowerOfTwo) {
  struct Case {
    std::size_t asked, got;
  };
  for (Case c : {Case{0, 2}, Case{1, 2}, Case{2, 2}, Case{3, 4}, Case{4, 4}, Case{5, 8},
                 Case{1000, 1024}, Case{1024, 1024}, Case{1025, 2048}, Case{65535, 65536}}) {
    SpscRing<int> r(c.asked);
    EXPECT_EQ(r.capacity(), c.got) << "asked for " << c.asked;
  }
}

TEST(SpscRingTest, NewRingIsEmpty) {
  SpscRing<int> r(8);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.size(), 0u);
  int v = -1;
  EXPECT_FALSE(r.dequeue(v));
  EXPECT_EQ(v, -1);
  EXPECT_EQ(r.peek(), nullptr);
  int buf[4];
  EXPECT_EQ(r.dequeue_burst(buf, 4), 0u);
}

TEST(SpscRingTest, FillsToExactCapacityThenRefuses) {
  SpscRing<int> r(5);  // rounds to 8
  ASSERT_EQ(r.capacity(), 8u);
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(r.enqueue(i)) << i;
    EXPECT_EQ(r.size(), static_cast<std::size_t>(i + 1));
  }
  EXPECT_FALSE(r.enqueue(100));
  EXPECT_FALSE(r.enqueue(101));
  EXPECT_EQ(r.size(), 8u);
  EXPECT_FALSE(r.empty());
  for (int i = 0; i < 8; ++i) {
    int v = -1;
    ASSERT_TRUE(r.dequeue(v));
    EXPECT_EQ(v, i);
  }
  int v = -1;
  EXPECT_FALSE(r.dequeue(v));
  EXPECT_TRUE(r.empty());
  // Usable again after being full and drained.
  EXPECT_TRUE(r.enqueue(42));
  ASSERT_TRUE(r.dequeue(v));
  EXPECT_EQ(v, 42);
}

TEST(SpscRingTest, OneSlotFreedAllowsOneEnqueue) {
  SpscRing<int> r(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(r.enqueue(i));
  EXPECT_FALSE(r.enqueue(4));
  int v;
  ASSERT_TRUE(r.dequeue(v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(r.enqueue(4));
  EXPECT_FALSE(r.enqueue(5));
  for (int want = 1; want <= 4; ++want) {
    ASSERT_TRUE(r.dequeue(v));
    EXPECT_EQ(v, want);
  }
}

TEST(SpscRingTest, BurstEnqueueIsPartialWhenNearlyFull) {
  SpscRing<int> r(8);
  const int a[5] = {1, 2, 3, 4, 5};
  const int b[5] = {6, 7, 8, 9, 10};
  EXPECT_EQ(r.enqueue_burst(a, 5), 5u);
  EXPECT_EQ(r.enqueue_burst(b, 5), 3u);  // only 6, 7, 8 fit
  EXPECT_EQ(r.enqueue_burst(b, 5), 0u);
  EXPECT_EQ(r.enqueue_burst(b, 0), 0u);
  EXPECT_EQ(r.size(), 8u);
  int out[16] = {};
  EXPECT_EQ(r.dequeue_burst(out, 16), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], i + 1);
}

TEST(SpscRingTest, BurstDequeueIsPartialWhenNearlyEmpty) {
  SpscRing<int> r(16);
  const int a[6] = {10, 11, 12, 13, 14, 15};
  ASSERT_EQ(r.enqueue_burst(a, 6), 6u);
  int out[8] = {};
  EXPECT_EQ(r.dequeue_burst(out, 0), 0u);
  EXPECT_EQ(r.dequeue_burst(out, 4), 4u);
  EXPECT_EQ(out[0], 10);
  EXPECT_EQ(out[3], 13);
  EXPECT_EQ(r.size(), 2u);
  std::array<int, 8> rest{};
  rest.fill(-1);
  EXPECT_EQ(r.dequeue_burst(rest.data(), 8), 2u);
  EXPECT_EQ(rest[0], 14);
  EXPECT_EQ(rest[1], 15);
  EXPECT_EQ(rest[2], -1) << "dequeue_burst wrote past what it returned";
  EXPECT_EQ(r.dequeue_burst(rest.data(), 8), 0u);
}

TEST(SpscRingTest, BurstsWrapAroundTheEnd) {
  SpscRing<int> r(8);
  int next_in = 0, next_out = 0;
  // Bursts of 5 into 8 slots straddle the end of the array on most rounds.
  for (int round = 0; round < 1000; ++round) {
    int in[5];
    for (int& x : in) x = next_in++;
    ASSERT_EQ(r.enqueue_burst(in, 5), 5u);
    int out[5];
    ASSERT_EQ(r.dequeue_burst(out, 5), 5u);
    for (int x : out) ASSERT_EQ(x, next_out++);
  }
  EXPECT_TRUE(r.empty());
}

TEST(SpscRingTest, PeekShowsOldestWithoutRemoving) {
  SpscRing<int> r(4);
  ASSERT_TRUE(r.enqueue(7));
  ASSERT_TRUE(r.enqueue(8));
  const int* p = r.peek();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(*r.peek(), 7);  // still there
  int v;
  ASSERT_TRUE(r.dequeue(v));
  EXPECT_EQ(v, 7);
  ASSERT_NE(r.peek(), nullptr);
  EXPECT_EQ(*r.peek(), 8);
  ASSERT_TRUE(r.dequeue(v));
  EXPECT_EQ(r.peek(), nullptr);
  // Peek sees an item enqueued after it last found the ring empty.
  ASSERT_TRUE(r.enqueue(9));
  ASSERT_NE(r.peek(), nullptr);
  EXPECT_EQ(*r.peek(), 9);
}

TEST(SpscRingTest, PeekAcrossWrapAround) {
  SpscRing<int> r(4);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(r.enqueue(i));
    ASSERT_TRUE(r.enqueue(i + 1000));
    const int* p = r.peek();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, i);
    int v;
    ASSERT_TRUE(r.dequeue(v));
    ASSERT_EQ(v, i);
    ASSERT_EQ(*r.peek(), i + 1000);
    ASSERT_TRUE(r.dequeue(v));
    ASSERT_EQ(v, i + 1000);
    EXPECT_EQ(r.peek(), nullptr);
  }
}

TEST(SpscRingTest, FifoWithMixedOperations) {
  SpscRing<std::uint64_t> r(32);
  std::uint64_t next_in = 0, next_out = 0;
  std::uint64_t state = 12345;
  auto rnd = [&](std::uint64_t n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % n;
  };
  for (int op = 0; op < 100'000; ++op) {
    std::uint64_t buf[40];
    const std::size_t n = rnd(40);
    if (rnd(2) == 0) {
      for (std::size_t i = 0; i < n; ++i) buf[i] = next_in + i;
      const std::size_t free_slots = r.capacity() - r.size();
      const std::size_t got = r.enqueue_burst(buf, n);
      ASSERT_EQ(got, std::min(n, free_slots));
      next_in += got;
    } else {
      const std::size_t held = r.size();
      const std::size_t got = r.dequeue_burst(buf, n);
      ASSERT_EQ(got, std::min(n, held));
      for (std::size_t i = 0; i < got; ++i) ASSERT_EQ(buf[i], next_out++);
    }
    ASSERT_EQ(r.size(), next_in - next_out);
  }
}

TEST(SpscRingTest, CarriesStructs) {
  SpscRing<Item> r(4);
  ASSERT_TRUE(r.enqueue(Item{1, 2, 0xdeadbeefcafef00dull}));
  Item it{};
  ASSERT_TRUE(r.dequeue(it));
  EXPECT_EQ(it.producer, 1u);
  EXPECT_EQ(it.seq, 2u);
  EXPECT_EQ(it.payload, 0xdeadbeefcafef00dull);
}

// ---------------------------------------------------------------------------
// SpscRing, two threads.

TEST(SpscRingTest, TwoThreadsMoveMillionItemsInOrder) {
  constexpr std::uint64_t kItems = 1'000'000;
  SpscRing<std::uint64_t> r(1024);
  std::atomic<bool> abort{false};
  std::uint64_t produced = 0;
  std::thread producer([&] {
    const Deadline deadline(kTimeLimit);
    std::uint64_t buf[64];
    std::uint64_t spins = 0;
    while (produced < kItems) {
      // Burst sizes 1..64, varying.
      const std::size_t n =
          std::min<std::uint64_t>(1 + (produced * 7 + spins) % 64, kItems - produced);
      for (std::size_t i = 0; i < n; ++i) buf[i] = produced + i;
      const std::size_t got = n == 1 ? (r.enqueue(buf[0]) ? 1 : 0) : r.enqueue_burst(buf, n);
      produced += got;
      if (got == 0) {
        ++spins;
        if (abort.load(std::memory_order_relaxed)) return;
        if ((spins & 1023) == 0) {
          if (deadline.expired()) {
            abort = true;
            return;
          }
          std::this_thread::yield();
        }
      }
    }
  });
  std::uint64_t expected = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t peeks = 0;
  {
    const Deadline deadline(kTimeLimit);
    std::uint64_t buf[48];
    std::uint64_t spins = 0;
    while (expected < kItems) {
      std::size_t got = 0;
      if (expected % 3 == 0) {
        // Sometimes peek first: it must show the item about to be dequeued.
        const std::uint64_t* p = r.peek();
        if (p != nullptr) {
          ++peeks;
          if (*p != expected) ++out_of_order;
          got = r.dequeue(buf[0]) ? 1 : 0;
          EXPECT_EQ(got, 1u) << "peeked item vanished";
        }
      } else {
        got = r.dequeue_burst(buf, 1 + expected % 48);
      }
      for (std::size_t i = 0; i < got; ++i) {
        if (buf[i] != expected) ++out_of_order;
        expected = buf[i] + 1;
      }
      if (got == 0) {
        ++spins;
        if (abort.load(std::memory_order_relaxed)) break;
        if ((spins & 1023) == 0) {
          if (deadline.expired()) {
            abort = true;
            break;
          }
          std::this_thread::yield();
        }
      }
    }
  }
  producer.join();
  EXPECT_FALSE(abort.load()) << "timed out";
  EXPECT_EQ(produced, kItems);
  EXPECT_EQ(expected, kItems);
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_GT(peeks, 0u);
  EXPECT_TRUE(r.empty());
}

// ---------------------------------------------------------------------------
// MpscRing, single thread.

TEST(MpscRingTest, CapacityRoundsUpToPowerOfTwo) {
  struct Case {
    std::size_t asked, got;
  };
  for (Case c : {Case{0, 2}, Case{1, 2}, Case{2, 2}, Case{3, 4}, Case{4, 4}, Case{5, 8},
                 Case{1000, 1024}, Case{1024, 1024}, Case{1025, 2048}}) {
    MpscRing<int> r(c.asked);
    EXPECT_EQ(r.capacity(), c.got) << "asked for " << c.asked;
  }
}

TEST(MpscRingTest, EmptyAndFull) {
  MpscRing<int> r(3);  // rounds to 4
  ASSERT_EQ(r.capacity(), 4u);
  int out[8];
  EXPECT_EQ(r.dequeue_burst(out, 8), 0u);
  EXPECT_EQ(r.size_approx(), 0u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.enqueue(i)) << i;
  EXPECT_FALSE(r.enqueue(4));
  EXPECT_EQ(r.size_approx(), 4u);
  EXPECT_EQ(r.dequeue_burst(out, 8), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], i);
  EXPECT_EQ(r.dequeue_burst(out, 8), 0u);
  EXPECT_EQ(r.size_approx(), 0u);
  EXPECT_TRUE(r.enqueue(9));
  EXPECT_EQ(r.dequeue_burst(out, 1), 1u);
  EXPECT_EQ(out[0], 9);
}

TEST(MpscRingTest, OneSlotFreedAllowsOneEnqueue) {
  MpscRing<int> r(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(r.enqueue(i));
  EXPECT_FALSE(r.enqueue(4));
  int v;
  ASSERT_EQ(r.dequeue_burst(&v, 1), 1u);
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(r.enqueue(4));
  EXPECT_FALSE(r.enqueue(5));
  int out[4];
  ASSERT_EQ(r.dequeue_burst(out, 4), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], i + 1);
}

TEST(MpscRingTest, PartialBurstDequeue) {
  MpscRing<int> r(16);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(r.enqueue(i));
  int out[16];
  EXPECT_EQ(r.dequeue_burst(out, 0), 0u);
  EXPECT_EQ(r.dequeue_burst(out, 3), 3u);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[2], 2);
  EXPECT_EQ(r.size_approx(), 7u);
  std::array<int, 16> rest{};
  rest.fill(-1);
  EXPECT_EQ(r.dequeue_burst(rest.data(), 16), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(rest[i], i + 3);
  EXPECT_EQ(rest[7], -1) << "dequeue_burst wrote past what it returned";
}

TEST(MpscRingTest, FifoAcrossManyWraps) {
  MpscRing<std::uint64_t> r(8);
  std::uint64_t next_in = 0, next_out = 0;
  for (int round = 0; round < 20'000; ++round) {
    const int n = 1 + round % 8;
    for (int i = 0; i < n; ++i) ASSERT_TRUE(r.enqueue(next_in++));
    if (n == 8) {
      EXPECT_FALSE(r.enqueue(next_in));
    }
    std::uint64_t out[8];
    ASSERT_EQ(r.dequeue_burst(out, 8), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) ASSERT_EQ(out[i], next_out++);
  }
}

TEST(MpscRingTest, CarriesStructs) {
  MpscRing<Item> r(2);
  ASSERT_TRUE(r.enqueue(Item{3, 4, 5}));
  ASSERT_TRUE(r.enqueue(Item{6, 7, 8}));
  EXPECT_FALSE(r.enqueue(Item{9, 9, 9}));
  Item out[2];
  ASSERT_EQ(r.dequeue_burst(out, 2), 2u);
  EXPECT_EQ(out[0].producer, 3u);
  EXPECT_EQ(out[0].payload, 5u);
  EXPECT_EQ(out[1].seq, 7u);
}

// ---------------------------------------------------------------------------
// MpscRing, four producers and one consumer.

TEST(MpscRingTest, FourProducersMillionItemsExactlyOnceInProducerOrder) {
  constexpr int kProducers = 4;
  constexpr std::uint32_t kPerProducer = 250'000;
  MpscRing<Item> r(256);
  std::atomic<bool> abort{false};
  std::vector<std::uint32_t> sent(kProducers, 0);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      const Deadline deadline(kTimeLimit);
      std::uint64_t spins = 0;
      std::uint32_t seq = 0;
      while (seq < kPerProducer) {
        const Item it{static_cast<std::uint32_t>(p), seq,
                      (std::uint64_t{static_cast<std::uint32_t>(p)} << 32) ^ seq ^ 0x5555};
        if (r.enqueue(it)) {
          ++seq;
          continue;
        }
        ++spins;
        if (abort.load(std::memory_order_relaxed)) break;
        if ((spins & 255) == 0) {
          if (deadline.expired()) {
            abort = true;
            break;
          }
          std::this_thread::yield();
        }
      }
      sent[p] = seq;
    });
  }
  std::vector<std::uint32_t> next(kProducers, 0);
  std::uint64_t received = 0, bad_producer = 0, out_of_order = 0, bad_payload = 0;
  {
    const Deadline deadline(kTimeLimit);
    Item buf[32];
    std::uint64_t spins = 0;
    const std::uint64_t total = std::uint64_t{kProducers} * kPerProducer;
    while (received < total) {
      const std::size_t got = r.dequeue_burst(buf, 1 + received % 32);
      for (std::size_t i = 0; i < got; ++i) {
        const Item& it = buf[i];
        if (it.producer >= kProducers) {
          ++bad_producer;
          continue;
        }
        if (it.payload != ((std::uint64_t{it.producer} << 32) ^ it.seq ^ 0x5555)) ++bad_payload;
        if (it.seq != next[it.producer]) ++out_of_order;
        next[it.producer] = it.seq + 1;
      }
      received += got;
      if (got == 0) {
        ++spins;
        if (abort.load(std::memory_order_relaxed)) break;
        if ((spins & 255) == 0) {
          if (deadline.expired()) {
            abort = true;
            break;
          }
          std::this_thread::yield();
        }
      }
    }
  }
  for (std::thread& t : producers) t.join();
  EXPECT_FALSE(abort.load()) << "timed out";
  EXPECT_EQ(received, std::uint64_t{kProducers} * kPerProducer);
  EXPECT_EQ(bad_producer, 0u);
  EXPECT_EQ(bad_payload, 0u);
  EXPECT_EQ(out_of_order, 0u) << "an item was lost, duplicated or reordered";
  for (int p = 0; p < kProducers; ++p) {
    EXPECT_EQ(sent[p], kPerProducer) << "producer " << p;
    EXPECT_EQ(next[p], kPerProducer) << "producer " << p;
  }
  Item extra;
  EXPECT_EQ(r.dequeue_burst(&extra, 1), 0u);
  EXPECT_EQ(r.size_approx(), 0u);
}

}  // namespace
}  // namespace ustack
