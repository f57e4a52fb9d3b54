// Clocks. Production code reads a TscClock once per loop iteration and
// passes the Instant down; tests use a VirtualClock that they advance by hand,
// so every timer behaviour is deterministic.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/instant.h"

namespace ustack {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() const = 0;
};

// CLOCK_MONOTONIC through the vDSO; the reference the TSC is calibrated to.
class MonotonicClock final : public Clock {
 public:
  Instant now() const override;
};

// Calibrated TSC nanoseconds. Falls back to CLOCK_MONOTONIC (and says so
// once in the log) where the TSC is not invariant.
class TscClock final : public Clock {
 public:
  TscClock();
  Instant now() const override;
  bool uses_tsc() const { return use_tsc_; }
  std::uint64_t tsc_hz() const { return hz_; }

 private:
  bool use_tsc_ = false;
  std::uint64_t hz_ = 0;
  std::uint64_t tsc0_ = 0;
  std::int64_t ns0_ = 0;
  // ns = ns0 + ((tsc - tsc0) * mult_) >> kShift, computed in 128 bits.
  static constexpr unsigned kShift = 32;
  std::uint64_t mult_ = 0;
};

// A clock that moves only when told to. Readable from several threads
// (a two-stack test reads it on both workers).
class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(Instant start = instant_from_ns(1'000'000'000)) : ns_(ns_of(start)) {}
  Instant now() const override { return instant_from_ns(ns_.load(std::memory_order_acquire)); }
  void advance(Duration d) { ns_.fetch_add(ns_of(d), std::memory_order_acq_rel); }
  void set(Instant t) { ns_.store(ns_of(t), std::memory_order_release); }

 private:
  std::atomic<std::int64_t> ns_;
};

// Reads the TSC; exposed for benchmarks that count cycles.
std::uint64_t read_tsc();

}  // namespace ustack
