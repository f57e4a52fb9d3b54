#include "core/siphash.h"

#include <sys/random.h>

namespace ustack {

SipKey sip_random_key() {
  SipKey k;
  std::uint64_t buf[2] = {0, 0};
  if (getrandom(buf, sizeof buf, 0) != static_cast<ssize_t>(sizeof buf)) {
    // No entropy source: fall back to something that at least differs per
    // process and boot (never the case on a Linux >= 3.17).
    buf[0] = reinterpret_cast<std::uintptr_t>(&k) ^ 0x5851f42d4c957f2dull;
    buf[1] = static_cast<std::uint64_t>(__builtin_ia32_rdtsc());
  }
  k.k0 = buf[0];
  k.k1 = buf[1];
  return k;
}

}  // namespace ustack
