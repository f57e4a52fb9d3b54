// MbufPool: fixed-size mbufs for one core.
//
// The owning thread allocates and frees through a LIFO cache with no atomic
// operation (the cache is the whole free list, so recently freed, cache-warm
// buffers come back first). A free from any other thread goes through an
// MPSC ring back to the owner, which drains it when its cache runs dry and
// once per loop iteration. The ring is as large as the pool, so a remote free
// never fails.
//
// in_use() counts buffers handed out and not yet back (including those in
// flight in the return ring), so tests can assert nothing leaked.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/compiler.h"
#include "core/mbuf.h"
#include "core/memory.h"
#include "core/ring.h"

namespace ustack {

struct MbufPoolConfig {
  std::string name = "pool";
  std::uint32_t capacity = 8192;   // number of mbufs
  std::uint16_t data_room = 2048;  // bytes after the headroom
  std::uint16_t headroom = 128;    // bytes before the data, for headers to prepend
  std::uint16_t priv_size = 0;     // per-mbuf private area for the owner's use
  bool try_huge_pages = true;
};

class MbufPool {
 public:
  // nullptr and *error set when the memory cannot be mapped or the config is
  // unusable.
  static std::unique_ptr<MbufPool> create(const MbufPoolConfig& cfg, std::string* error);

  MbufPool(const MbufPool&) = delete;
  MbufPool& operator=(const MbufPool&) = delete;
  ~MbufPool();

  // Owner thread only. nullptr when empty.
  Mbuf* alloc() {
    Mbuf* m = nullptr;
    return alloc_bulk(&m, 1) ? m : nullptr;
  }
  // Owner thread only. All n or none (returns false, allocates nothing).
  bool alloc_bulk(Mbuf** out, std::uint32_t n);

  // Returns segments whose last reference was dropped (raw: no chain walk,
  // no reference counting). Any thread; the owner's path has no atomics.
  void put_bulk(Mbuf* const* segs, std::uint32_t n);

  // Owner thread: moves remotely freed mbufs back into the cache.
  void drain_remote();

  // Makes the calling thread the owner (a worker calls this when it starts).
  void bind_to_current_thread();

  std::uint32_t capacity() const { return capacity_; }
  std::uint32_t in_use() const {
    return owner_out_.load(std::memory_order_relaxed) -
           remote_pending_.load(std::memory_order_relaxed);
  }
  std::uint16_t data_room() const { return data_room_; }
  std::uint16_t headroom() const { return headroom_; }
  bool huge_pages() const { return region_.huge(); }
  const std::string& name() const { return name_; }
  void* priv(Mbuf* m) const { return reinterpret_cast<std::byte*>(m) + sizeof(Mbuf); }
  // True if m's memory lies inside this pool (for checks and tests).
  bool contains(const Mbuf* m) const;
  // The one region every mbuf of this pool (headers and buffers) lives in,
  // for drivers that register it with the kernel (io_uring fixed buffers).
  std::span<std::byte> memory() const {
    return {static_cast<std::byte*>(region_.addr()), region_.size()};
  }

 private:
  MbufPool() = default;
  void reset_for_alloc(Mbuf* m) const;

  std::string name_;
  MemoryRegion region_;
  std::byte* base_ = nullptr;
  std::uint32_t elem_size_ = 0;
  std::uint32_t capacity_ = 0;
  std::uint16_t data_room_ = 0;
  std::uint16_t headroom_ = 0;
  std::uint32_t buf_offset_ = 0;  // from the Mbuf to its buffer
  std::uintptr_t owner_ = 0;

  // Owner-only free list (LIFO).
  std::unique_ptr<Mbuf*[]> cache_;
  std::uint32_t cache_len_ = 0;
  // Handed out by the owner and not back in its cache: written by the owner
  // only (a relaxed store, no read-modify-write), readable anywhere.
  std::atomic<std::uint32_t> owner_out_{0};
  // Freed remotely and still in the ring.
  alignas(kCacheLine) std::atomic<std::uint32_t> remote_pending_{0};
  std::unique_ptr<MpscRing<Mbuf*>> remote_;
};

}  // namespace ustack
