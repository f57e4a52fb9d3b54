#include "core/clock.h"

#include <cpuid.h>
#include <time.h>

#include "core/compiler.h"
#include "core/log.h"

namespace ustack {
namespace {

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// CPUID 0x80000007 EDX bit 8: invariant TSC (constant rate in all P/C states).
bool tsc_is_invariant() {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0x80000000u, &a, &b, &c, &d) == 0 || a < 0x80000007u) return false;
  __get_cpuid(0x80000007u, &a, &b, &c, &d);
  return (d & (1u << 8)) != 0;
#else
  return false;
#endif
}

}  // namespace

std::uint64_t read_tsc() {
#if defined(__x86_64__)
  return __builtin_ia32_rdtsc();
#else
  return static_cast<std::uint64_t>(monotonic_ns());
#endif
}

Instant MonotonicClock::now() const {
  return instant_from_ns(monotonic_ns());
}

TscClock::TscClock() {
  use_tsc_ = tsc_is_invariant();
  if (!use_tsc_) {
    log_once(LogLevel::kWarn, "clock: TSC is not invariant; using CLOCK_MONOTONIC");
    return;
  }
  // Calibrate over ~20 ms against CLOCK_MONOTONIC.
  const std::int64_t n0 = monotonic_ns();
  const std::uint64_t t0 = read_tsc();
  std::int64_t n1 = n0;
  while (n1 - n0 < 20'000'000) n1 = monotonic_ns();
  const std::uint64_t t1 = read_tsc();
  hz_ = static_cast<std::uint64_t>(static_cast<uint128>(t1 - t0) * 1'000'000'000u /
                                   static_cast<std::uint64_t>(n1 - n0));
  mult_ = static_cast<std::uint64_t>((static_cast<uint128>(1'000'000'000u) << kShift) / hz_);
  tsc0_ = t1;
  ns0_ = n1;
}

Instant TscClock::now() const {
  if (!use_tsc_) return instant_from_ns(monotonic_ns());
  const std::uint64_t dt = read_tsc() - tsc0_;
  const auto ns = static_cast<std::int64_t>((static_cast<uint128>(dt) * mult_) >> kShift);
  return instant_from_ns(ns0_ + ns);
}

}  // namespace ustack
