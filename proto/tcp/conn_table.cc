#include "proto/tcp/conn_table.h"

#include <bit>

#include "proto/tcp/tcp.h"

namespace ustack {

ConnTable::ConnTable(std::uint32_t max_entries, std::uint64_t seed)
    : mask_(std::bit_ceil(std::size_t{max_entries < 4 ? 4u : max_entries} * 2) - 1),
      max_(max_entries),
      seed_(seed) {
  slots_ = std::make_unique<Slot[]>(mask_ + 1);
}

const ConnKey& ConnTable::key_of(const TcpConn* c) const {
  return c->key();
}

TcpConn* ConnTable::find(const ConnKey& k) const {
  const std::uint64_t h = hash(k);
  const std::uint32_t tag = tag_of(h);
  for (std::size_t i = home(h);; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.tag == 0) return nullptr;
    if (s.tag == tag && key_of(s.conn) == k) return s.conn;
  }
}

bool ConnTable::insert(const ConnKey& k, TcpConn* c) {
  if (size_ >= max_) return false;
  const std::uint64_t h = hash(k);
  const std::uint32_t tag = tag_of(h);
  std::size_t i = home(h);
  for (;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.tag == 0) break;
    if (s.tag == tag && key_of(s.conn) == k) return false;
  }
  slots_[i] = Slot{tag, c};
  ++size_;
  return true;
}

bool ConnTable::erase(const ConnKey& k) {
  const std::uint64_t h = hash(k);
  const std::uint32_t tag = tag_of(h);
  std::size_t i = home(h);
  for (;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.tag == 0) return false;
    if (s.tag == tag && key_of(s.conn) == k) break;
  }
  // Backward-shift deletion: pull later entries of the run into the hole
  // when their home position allows, so probes never need tombstones.
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
    const Slot& s = slots_[j];
    if (s.tag == 0) break;
    const std::size_t want = home(hash(key_of(s.conn)));
    const bool between = hole <= j ? (want > hole && want <= j) : (want > hole || want <= j);
    if (!between) {
      slots_[hole] = s;
      hole = j;
    }
  }
  slots_[hole] = Slot{0, nullptr};
  --size_;
  return true;
}

}  // namespace ustack
