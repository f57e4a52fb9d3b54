// Bounded lock-free rings for messages between cores.
//
// SpscRing: one producer thread, one consumer thread; wait-free, burst
// operations, each side caches the other's index so a burst touches the
// shared cache line once.
// MpscRing: any number of producers, one consumer (Vyukov's bounded queue
// with a sequence number per slot); used for frees back to a pool's owner.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "core/compiler.h"

namespace ustack {

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  // Capacity is rounded up to a power of two.
  explicit SpscRing(std::size_t capacity)
      : mask_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity) - 1),
        slots_(std::make_unique<T[]>(mask_ + 1)) {}

  std::size_t capacity() const { return mask_ + 1; }

  // Producer side. Enqueues up to n items; returns how many.
  std::size_t enqueue_burst(const T* items, std::size_t n) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    std::size_t free_slots = capacity() - (tail - head_cache_);
    if (free_slots < n) {
      head_cache_ = head_.load(std::memory_order_acquire);
      free_slots = capacity() - (tail - head_cache_);
      if (n > free_slots) n = free_slots;
    }
    for (std::size_t i = 0; i < n; ++i) slots_[(tail + i) & mask_] = items[i];
    tail_.store(tail + n, std::memory_order_release);
    return n;
  }
  bool enqueue(const T& item) { return enqueue_burst(&item, 1) == 1; }

  // Consumer side. Dequeues up to n items; returns how many.
  std::size_t dequeue_burst(T* items, std::size_t n) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    std::size_t avail = tail_cache_ - head;
    if (avail < n) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      avail = tail_cache_ - head;
      if (n > avail) n = avail;
    }
    for (std::size_t i = 0; i < n; ++i) items[i] = slots_[(head + i) & mask_];
    head_.store(head + n, std::memory_order_release);
    return n;
  }
  bool dequeue(T& item) { return dequeue_burst(&item, 1) == 1; }

  // Consumer side: the oldest item without removing it, or nullptr.
  const T* peek() {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (tail_cache_ == head) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (tail_cache_ == head) return nullptr;
    }
    return &slots_[head & mask_];
  }

  // Approximate from any thread, exact from either side when the other is idle.
  std::size_t size() const {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }
  bool empty() const { return size() == 0; }

 private:
  const std::size_t mask_;
  std::unique_ptr<T[]> slots_;
  alignas(kCacheLine) std::atomic<std::size_t> head_{0};  // consumer writes
  std::size_t tail_cache_ = 0;                            // consumer's copy of tail_
  alignas(kCacheLine) std::atomic<std::size_t> tail_{0};  // producer writes
  std::size_t head_cache_ = 0;                            // producer's copy of head_
};

template <typename T>
class MpscRing {
  static_assert(std::is_trivially_copyable_v<T>);

  struct alignas(16) Slot {
    std::atomic<std::size_t> seq;
    T value;
  };

 public:
  explicit MpscRing(std::size_t capacity)
      : mask_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity) - 1),
        slots_(std::make_unique<Slot[]>(mask_ + 1)) {
    for (std::size_t i = 0; i <= mask_; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
  }

  std::size_t capacity() const { return mask_ + 1; }

  // Any producer thread. Returns false when full.
  bool enqueue(const T& item) {
    std::size_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Slot& s = slots_[pos & mask_];
      const std::size_t seq = s.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          s.value = item;
          s.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  // The single consumer. Returns how many items it took (stops at the first
  // slot whose producer has not finished writing).
  std::size_t dequeue_burst(T* items, std::size_t n) {
    std::size_t head = head_.load(std::memory_order_relaxed);
    std::size_t got = 0;
    while (got < n) {
      Slot& s = slots_[head & mask_];
      if (s.seq.load(std::memory_order_acquire) != head + 1) break;
      items[got++] = s.value;
      s.seq.store(head + mask_ + 1, std::memory_order_release);
      ++head;
    }
    head_.store(head, std::memory_order_relaxed);
    return got;
  }

  std::size_t size_approx() const {
    const std::size_t t = tail_.load(std::memory_order_relaxed);
    const std::size_t h = head_.load(std::memory_order_relaxed);
    return t > h ? t - h : 0;
  }

 private:
  const std::size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(kCacheLine) std::atomic<std::size_t> head_{0};
  alignas(kCacheLine) std::atomic<std::size_t> tail_{0};
};

}  // namespace ustack
