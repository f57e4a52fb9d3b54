#include "core/mbuf_pool.h"

#include <cstring>

#include "core/thread_token.h"

namespace ustack {
namespace {

constexpr std::uint32_t round_up(std::uint32_t v, std::uint32_t a) {
  return (v + a - 1) / a * a;
}

}  // namespace

std::unique_ptr<MbufPool> MbufPool::create(const MbufPoolConfig& cfg, std::string* error) {
  if (cfg.capacity == 0 || cfg.capacity > (1u << 24)) {
    if (error) *error = "mbuf pool '" + cfg.name + "': capacity must be 1..16777216";
    return nullptr;
  }
  if (std::uint32_t{cfg.headroom} + cfg.data_room > 65535) {
    if (error) *error = "mbuf pool '" + cfg.name + "': headroom + data room must fit 16 bits";
    return nullptr;
  }
  std::unique_ptr<MbufPool> p(new MbufPool());
  p->name_ = cfg.name;
  p->capacity_ = cfg.capacity;
  p->data_room_ = cfg.data_room;
  p->headroom_ = cfg.headroom;
  p->buf_offset_ = round_up(sizeof(Mbuf) + cfg.priv_size, kCacheLine);
  p->elem_size_ = round_up(p->buf_offset_ + cfg.headroom + cfg.data_room, kCacheLine);
  const std::size_t bytes = std::size_t{p->elem_size_} * cfg.capacity;
  p->region_ = MemoryRegion::map(bytes, cfg.try_huge_pages);
  if (!p->region_) {
    if (error)
      *error = "mbuf pool '" + cfg.name + "': cannot map " + std::to_string(bytes) + " bytes";
    return nullptr;
  }
  p->base_ = static_cast<std::byte*>(p->region_.addr());
  p->cache_ = std::make_unique<Mbuf*[]>(cfg.capacity);
  p->remote_ = std::make_unique<MpscRing<Mbuf*>>(cfg.capacity);
  // Fill the cache so the lowest addresses come out first.
  for (std::uint32_t i = 0; i < cfg.capacity; ++i) {
    auto* m = new (p->base_ + std::size_t{p->elem_size_} * (cfg.capacity - 1 - i)) Mbuf{};
    m->pool = p.get();
    m->buf_addr = reinterpret_cast<std::byte*>(m) + p->buf_offset_;
    m->buf_len = std::uint32_t{cfg.headroom} + cfg.data_room;
    p->cache_[i] = m;
  }
  p->cache_len_ = cfg.capacity;
  p->owner_ = this_thread_token();
  return p;
}

MbufPool::~MbufPool() = default;

bool MbufPool::contains(const Mbuf* m) const {
  const auto* b = reinterpret_cast<const std::byte*>(m);
  return b >= base_ && b < base_ + std::size_t{elem_size_} * capacity_ &&
         (b - base_) % elem_size_ == 0;
}

void MbufPool::bind_to_current_thread() {
  owner_ = this_thread_token();
}

inline void MbufPool::reset_for_alloc(Mbuf* m) const {
  m->buf_addr = reinterpret_cast<std::byte*>(m) + buf_offset_;
  m->next = nullptr;
  m->pkt_len = 0;
  m->data_off = headroom_;
  m->data_len = 0;
  m->buf_len = std::uint32_t{headroom_} + data_room_;
  m->nb_segs = 1;
  m->port = 0;
  m->ol_flags = 0;
  m->rss_hash = 0;
  m->l2_len = m->l3_len = m->l4_len = 0;
  m->tso_segsz = 0;
  m->refcnt.store(1, std::memory_order_relaxed);
  m->queue = 0;
  m->direct = nullptr;
  m->ext = nullptr;
  m->udata64 = 0;
}

bool MbufPool::alloc_bulk(Mbuf** out, std::uint32_t n) {
  if (USTACK_UNLIKELY(cache_len_ < n)) {
    drain_remote();
    if (cache_len_ < n) return false;
  }
  Mbuf** top = &cache_[cache_len_ - n];
  for (std::uint32_t i = 0; i < n; ++i) {
    Mbuf* m = top[n - 1 - i];
    reset_for_alloc(m);
    out[i] = m;
  }
  cache_len_ -= n;
  owner_out_.store(owner_out_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  return true;
}

void MbufPool::put_bulk(Mbuf* const* segs, std::uint32_t n) {
  if (USTACK_LIKELY(this_thread_token() == owner_)) {
    std::memcpy(&cache_[cache_len_], segs, n * sizeof(Mbuf*));
    cache_len_ += n;
    owner_out_.store(owner_out_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    return;
  }
  remote_pending_.fetch_add(n, std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < n; ++i) {
    // Cannot fail: the ring holds as many entries as the pool has mbufs.
    while (!remote_->enqueue(segs[i])) cpu_relax();
  }
}

void MbufPool::drain_remote() {
  if (remote_pending_.load(std::memory_order_relaxed) == 0) return;
  const std::size_t got = remote_->dequeue_burst(&cache_[cache_len_], capacity_ - cache_len_);
  if (got == 0) return;
  const auto k = static_cast<std::uint32_t>(got);
  cache_len_ += k;
  owner_out_.store(owner_out_.load(std::memory_order_relaxed) - k, std::memory_order_relaxed);
  remote_pending_.fetch_sub(k, std::memory_order_relaxed);
}

}  // namespace ustack
