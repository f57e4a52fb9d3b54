// Small compiler helpers shared by every layer.
#pragma once

#include <cstddef>

namespace ustack {

inline constexpr std::size_t kCacheLine = 64;

// 128-bit integers for exact fixed-point arithmetic (GCC/Clang extension).
__extension__ typedef unsigned __int128 uint128;

#define USTACK_LIKELY(x) __builtin_expect(!!(x), 1)
#define USTACK_UNLIKELY(x) __builtin_expect(!!(x), 0)

inline void prefetch(const void* p) {
  __builtin_prefetch(p, 0, 3);
}
inline void prefetch_w(const void* p) {
  __builtin_prefetch(p, 1, 3);
}

// Pause inside a spin loop (x86 PAUSE), a no-op hint elsewhere.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace ustack
