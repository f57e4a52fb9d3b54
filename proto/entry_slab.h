// A fixed array of cache entries with a free list and a clock hand for
// eviction: the storage under the ARP and neighbor caches. Nothing is
// allocated after construction; an entry's number is its index.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace ustack {

template <typename Entry>
class EntrySlab {
 public:
  explicit EntrySlab(std::uint32_t capacity)
      : entries_(std::make_unique<Entry[]>(capacity)), capacity_(capacity) {
    free_.reserve(capacity);
    for (std::uint32_t i = capacity; i > 0; --i) free_.push_back(static_cast<std::int32_t>(i - 1));
  }

  std::uint32_t capacity() const { return capacity_; }
  std::size_t used() const { return capacity_ - free_.size(); }
  bool full() const { return free_.empty(); }
  Entry& operator[](std::int32_t i) const { return entries_[i]; }
  std::int32_t index_of(const Entry& e) const {
    return static_cast<std::int32_t>(&e - entries_.get());
  }

  // A free entry's number (precondition: !full()).
  std::int32_t take() {
    const std::int32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  void give_back(const Entry& e) { free_.push_back(index_of(e)); }

  // The next entry, from the clock hand on, that `evictable` accepts;
  // nullptr when a whole turn finds none.
  template <typename Pred>
  Entry* next_victim(Pred&& evictable) {
    for (std::uint32_t n = 0; n < capacity_; ++n) {
      Entry& e = entries_[hand_];
      hand_ = (hand_ + 1) % capacity_;
      if (evictable(e)) return &e;
    }
    return nullptr;
  }

 private:
  std::unique_ptr<Entry[]> entries_;
  std::uint32_t capacity_;
  std::vector<std::int32_t> free_;
  std::uint32_t hand_ = 0;
};

}  // namespace ustack
