#include "core/timer_wheel.h"

#include <bit>
#include <cassert>

namespace ustack {

Timer::~Timer() {
  if (wheel_ != nullptr) wheel_->cancel(*this);
}

TimerWheel::TimerWheel(Instant start, Duration tick) : origin_(start), tick_(tick) {
  assert(tick.count() > 0);
  for (auto& h : heads_) h.prev = h.next = &h;
}

TimerWheel::~TimerWheel() {
  // Leave no timer pointing at a dead wheel.
  for (auto& h : heads_) {
    while (h.next != &h) {
      Timer& t = timer_of(h.next);
      unlink(t);
      t.wheel_ = nullptr;
    }
  }
}

void TimerWheel::unlink(TimerLink& t) {
  t.prev->next = t.next;
  t.next->prev = t.prev;
  t.prev = t.next = nullptr;
}

void TimerWheel::link(std::uint32_t slot, Timer& t) {
  TimerLink& h = heads_[slot];
  t.prev = h.prev;
  t.next = &h;
  h.prev->next = &t;
  h.prev = &t;
  t.slot_ = slot;
  occupied_[slot / kSlots][(slot % kSlots) / 64] |= std::uint64_t{1} << (slot % 64);
}

void TimerWheel::place(Timer& t) {
  const std::uint64_t delta = t.expires_ - now_tick_;  // callers keep expires_ >= now_tick_
  int level = 0;
  while (level < kLevels - 1 && delta >= (std::uint64_t{1} << (kBits * (level + 1)))) ++level;
  std::uint64_t e = t.expires_;
  if (level == kLevels - 1) {
    // Beyond the top level's reach: park it as far out as the wheel sees;
    // it is placed again, by its real expiry, when that slot cascades.
    const std::uint64_t reach = (std::uint64_t{1} << (kBits * kLevels)) - 1;
    if (delta > reach) e = now_tick_ + reach;
  }
  const auto index = static_cast<std::uint32_t>((e >> (kBits * level)) & (kSlots - 1));
  link(static_cast<std::uint32_t>(level) * kSlots + index, t);
}

void TimerWheel::arm(Timer& t, Instant when) {
  if (t.wheel_ != nullptr) t.wheel_->cancel(t);  // it may be armed on another wheel
  const std::int64_t rel = (when - origin_).count();
  const std::int64_t tk = tick_.count();
  // Round up: a timer never fires before its instant.
  std::uint64_t e = rel <= 0 ? 0 : static_cast<std::uint64_t>((rel + tk - 1) / tk);
  if (e <= now_tick_) e = now_tick_ + 1;
  t.expires_ = e;
  t.wheel_ = this;
  ++count_;
  place(t);
}

void TimerWheel::cancel(Timer& t) {
  if (t.wheel_ != this) return;
  const std::uint32_t slot = t.slot_;
  unlink(t);
  t.wheel_ = nullptr;
  --count_;
  if (slot != kDetachedSlot) {
    if (heads_[slot].next == &heads_[slot])
      occupied_[slot / kSlots][(slot % kSlots) / 64] &= ~(std::uint64_t{1} << (slot % 64));
  }
}

void TimerWheel::cascade(int level, std::uint32_t index) {
  const std::uint32_t slot = static_cast<std::uint32_t>(level) * kSlots + index;
  TimerLink& h = heads_[slot];
  occupied_[level][index / 64] &= ~(std::uint64_t{1} << (index % 64));
  while (h.next != &h) {
    Timer& t = timer_of(h.next);
    unlink(t);
    place(t);
  }
}

std::size_t TimerWheel::run_slot(std::uint32_t index) {
  TimerLink& h = heads_[index];
  if (h.next == &h) return 0;
  // Move the slot's list to a local sentinel so callbacks can arm timers
  // into this slot (for a later round) or cancel ones still waiting here.
  TimerLink local{h.prev, h.next};
  local.next->prev = &local;
  local.prev->next = &local;
  h.prev = h.next = &h;
  occupied_[0][index / 64] &= ~(std::uint64_t{1} << (index % 64));
  for (TimerLink* l = local.next; l != &local; l = l->next) timer_of(l).slot_ = kDetachedSlot;
  std::size_t ran = 0;
  while (local.next != &local) {
    Timer& t = timer_of(local.next);
    unlink(t);
    t.wheel_ = nullptr;
    --count_;
    ++ran;
    t.fn_(t, t.arg_);
  }
  return ran;
}

bool TimerWheel::level0_empty_from(std::uint32_t index) const {
  for (std::uint32_t w = index / 64; w < kSlots / 64; ++w) {
    std::uint64_t bits = occupied_[0][w];
    if (w == index / 64) bits &= ~std::uint64_t{0} << (index % 64);
    if (bits != 0) return false;
  }
  return true;
}

std::size_t TimerWheel::advance(Instant now) {
  const std::int64_t rel = (now - origin_).count();
  if (rel <= 0) return 0;
  const auto target = static_cast<std::uint64_t>(rel / tick_.count());
  std::size_t ran = 0;
  while (now_tick_ < target) {
    if (count_ == 0) {
      now_tick_ = target;
      break;
    }
    std::uint64_t next = now_tick_ + 1;
    const auto idx0 = static_cast<std::uint32_t>(next & (kSlots - 1));
    if (idx0 != 0 && level0_empty_from(idx0)) {
      // Nothing left in level 0 this round: jump to the next cascade point.
      const std::uint64_t boundary = (next | (kSlots - 1)) + 1;
      if (boundary > target) {
        now_tick_ = target;
        break;
      }
      next = boundary;
    }
    now_tick_ = next;
    if ((next & (kSlots - 1)) == 0) {
      for (int level = 1; level < kLevels; ++level) {
        const auto index = static_cast<std::uint32_t>((next >> (kBits * level)) & (kSlots - 1));
        cascade(level, index);
        if (index != 0) break;
      }
    }
    ran += run_slot(static_cast<std::uint32_t>(next & (kSlots - 1)));
  }
  return ran;
}

}  // namespace ustack
