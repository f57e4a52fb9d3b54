// Per-core named counters.
//
// Each core owns a CounterSet. Registration (by name, at setup) returns a
// stable reference; the owner increments with a relaxed load and store (a
// plain add, no locked instruction), and any thread can read a consistent
// 64-bit value at any time. Names are dotted paths, e.g.
// "ipv4.drop.bad_checksum"; aggregate() sums the same name over cores.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

namespace ustack {

class Counter {
 public:
  void inc(std::uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class CounterSet {
 public:
  explicit CounterSet(std::string owner = "core") : owner_(std::move(owner)) {}
  CounterSet(const CounterSet&) = delete;
  CounterSet& operator=(const CounterSet&) = delete;

  // Returns the counter with this name, creating it at zero. Not for the fast
  // path: call at setup and keep the reference.
  Counter& get(std::string_view name);
  // Value of a counter by name; 0 if it was never registered.
  std::uint64_t value(std::string_view name) const;
  // Calls fn(name, value) in name order. Safe from any thread.
  void for_each(const std::function<void(const std::string&, std::uint64_t)>& fn) const;
  const std::string& owner() const { return owner_; }

 private:
  std::string owner_;
  mutable std::mutex mu_;  // guards registration and iteration, never increments
  std::deque<Counter> storage_;
  std::map<std::string, Counter*, std::less<>> by_name_;
};

// Sums counters by name over several sets (one per core).
std::map<std::string, std::uint64_t> aggregate(std::span<const CounterSet* const> sets);

}  // namespace ustack
