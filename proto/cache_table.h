// The entries of a neighbor cache keyed by address (the ARP cache's
// Ipv4Addr, the IPv6 neighbor cache's Ipv6Addr): an EntrySlab and a hash
// index of chains linked by entry number (Entry::next), so a lookup costs
// one chain and nothing is allocated after construction. Inserting into a
// full table evicts the first entry the clock hand finds that the cache
// allows. `Hash` maps an address to a bucket (a cache keys it so that a
// peer cannot choose colliding addresses).
//
// Entry needs `Addr ip` and `std::int32_t next`; its other fields are the
// cache's.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

#include "core/counters.h"
#include "proto/entry_slab.h"

namespace ustack {

template <typename Entry, typename Addr, typename Hash>
class CacheTable {
 public:
  // `evicted` counts entries given up for room, `full` inserts that found
  // none.
  CacheTable(std::uint32_t capacity, Hash hash, Counter& evicted, Counter& full)
      : slab_(capacity), hash_(hash), evicted_(evicted), full_(full) {
    const std::size_t n = std::bit_ceil(std::size_t{capacity});
    buckets_.assign(n, -1);
    mask_ = n - 1;
  }

  EntrySlab<Entry>& slab() { return slab_; }
  std::size_t used() const { return slab_.used(); }

  Entry* find(const Addr& ip) const {
    for (std::int32_t i = buckets_[bucket_of(ip)]; i >= 0; i = slab_[i].next)
      if (slab_[i].ip == ip) return &slab_[i];
    return nullptr;
  }

  // A free entry for `ip`, linked into the index; the caller sets its
  // other fields. When the table is full the first entry `evictable`
  // accepts is handed to `evict` first, which must release what it holds
  // and remove() it. nullptr when the table is full and nothing may go.
  template <typename Pred, typename Evict>
  Entry* insert(const Addr& ip, Pred&& evictable, Evict&& evict) {
    if (slab_.full()) {
      Entry* victim = slab_.next_victim(evictable);
      if (victim == nullptr) {
        full_.inc();
        return nullptr;
      }
      evict(*victim);
      evicted_.inc();
    }
    const std::int32_t i = slab_.take();
    Entry& e = slab_[i];
    e.ip = ip;
    const std::size_t b = bucket_of(ip);
    e.next = buckets_[b];
    buckets_[b] = i;
    return &e;
  }

  // Unlinks `e` from the index and gives its slot back.
  void remove(Entry& e) {
    const std::int32_t idx = slab_.index_of(e);
    std::int32_t* link = &buckets_[bucket_of(e.ip)];
    while (*link != idx) link = &slab_[*link].next;
    *link = e.next;
    e.next = -1;
    slab_.give_back(e);
  }

 private:
  std::size_t bucket_of(const Addr& ip) const { return hash_(ip) & mask_; }

  EntrySlab<Entry> slab_;
  Hash hash_;
  Counter& evicted_;
  Counter& full_;
  std::vector<std::int32_t> buckets_;  // first entry of each chain, -1 none
  std::size_t mask_ = 0;
};

}  // namespace ustack
