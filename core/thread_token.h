// A cheap identity for the calling thread, used to tell whether a free
// happens on the pool owner's core (fast, no atomics) or elsewhere (ring).
#pragma once

#include <cstdint>

namespace ustack {

inline std::uintptr_t this_thread_token() {
  static thread_local char marker;
  return reinterpret_cast<std::uintptr_t>(&marker);
}

}  // namespace ustack
