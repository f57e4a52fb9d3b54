// Hierarchical timer wheel, one per core: O(1) arm, cancel and re-arm.
//
// Four levels of 256 slots; level L holds timers due within 256^(L+1) ticks.
// When level 0 wraps, the next slot of level 1 is cascaded down, and so on.
// Timers are intrusive (embedded in the object they time, never allocated)
// and cancel themselves when destroyed. Occupancy bitmaps let advance() skip
// empty stretches, so a long idle gap costs gap/256 steps, not gap.
//
// A timer fires in the first advance() whose tick is at or past its expiry:
// never early, at most one tick late. Callbacks may arm, re-arm or cancel any
// timer, themselves included.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/instant.h"

namespace ustack {

class TimerWheel;

// A node of a circular doubly linked list; the wheel's slots are sentinels.
struct TimerLink {
  TimerLink* prev = nullptr;
  TimerLink* next = nullptr;
};

class Timer : private TimerLink {
 public:
  using Callback = void (*)(Timer& timer, void* arg);

  Timer() = default;
  Timer(Callback fn, void* arg) : fn_(fn), arg_(arg) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer();

  void set_callback(Callback fn, void* arg) {
    fn_ = fn;
    arg_ = arg;
  }
  bool armed() const { return wheel_ != nullptr; }

 private:
  friend class TimerWheel;
  std::uint64_t expires_ = 0;  // tick
  Callback fn_ = nullptr;
  void* arg_ = nullptr;
  TimerWheel* wheel_ = nullptr;
  std::uint32_t slot_ = 0;  // level * 256 + index, or kDetachedSlot while firing
};

class TimerWheel {
 public:
  static constexpr int kLevels = 4;
  static constexpr int kBits = 8;
  static constexpr std::uint32_t kSlots = 1u << kBits;

  explicit TimerWheel(Instant start, Duration tick = std::chrono::milliseconds(1));
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  ~TimerWheel();

  // Arms (or re-arms) t to fire at `when`. A time already past fires on the
  // next tick.
  void arm(Timer& t, Instant when);
  void cancel(Timer& t);
  // Runs every timer due at or before `now`; returns how many ran.
  std::size_t advance(Instant now);

  std::size_t size() const { return count_; }
  Duration tick() const { return tick_; }
  // The instant of the last tick processed.
  Instant current() const { return origin_ + tick_ * now_tick_; }

 private:
  static constexpr std::uint32_t kDetachedSlot = 0xffffffffu;

  void place(Timer& t);
  void cascade(int level, std::uint32_t index);
  std::size_t run_slot(std::uint32_t index);
  bool level0_empty_from(std::uint32_t index) const;
  static void unlink(TimerLink& t);
  void link(std::uint32_t slot, Timer& t);
  static Timer& timer_of(TimerLink* l) { return static_cast<Timer&>(*l); }

  Instant origin_;
  Duration tick_;
  std::uint64_t now_tick_ = 0;
  std::size_t count_ = 0;
  TimerLink heads_[kLevels * kSlots];
  std::uint64_t occupied_[kLevels][kSlots / 64] = {};
};

}  // namespace ustack
