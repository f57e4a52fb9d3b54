// Time as types: a Duration and an Instant on the stack's monotonic
// timeline, both in nanoseconds. Protocol code receives `now` as an Instant
// and never reads a clock itself (see clock.h).
#pragma once

#include <chrono>
#include <cstdint>

namespace ustack {

using Duration = std::chrono::nanoseconds;

// Tag for the stack's timeline; std::chrono only uses it as a type tag.
struct StackTime {
  using rep = Duration::rep;
  using period = Duration::period;
  using duration = Duration;
};

using Instant = std::chrono::time_point<StackTime, Duration>;

inline constexpr Instant instant_from_ns(std::int64_t ns) {
  return Instant(Duration(ns));
}
inline constexpr std::int64_t ns_of(Instant t) {
  return t.time_since_epoch().count();
}
inline constexpr std::int64_t ns_of(Duration d) {
  return d.count();
}

}  // namespace ustack
