#include "apps/secure_random.h"

#include <sys/random.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ustack::app {
namespace {

struct Pool {
  unsigned char bytes[4096];
  std::size_t left = 0;
};
thread_local Pool pool;

void refill() {
  std::size_t got = 0;
  while (got < sizeof pool.bytes) {
    const ssize_t n = getrandom(pool.bytes + got, sizeof pool.bytes - got, 0);
    if (n <= 0) {
      // Without the kernel's entropy no key would be safe: stop rather
      // than hand out guessable bytes.
      std::fprintf(stderr, "ustack: the kernel's random source (getrandom) failed\n");
      std::abort();
    }
    got += static_cast<std::size_t>(n);
  }
  pool.left = sizeof pool.bytes;
}

}  // namespace

void secure_random(void* out, std::size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    if (pool.left == 0) refill();
    const std::size_t k = n < pool.left ? n : pool.left;
    std::memcpy(p, pool.bytes + sizeof pool.bytes - pool.left, k);
    std::memset(pool.bytes + sizeof pool.bytes - pool.left, 0, k);  // used once
    pool.left -= k;
    p += k;
    n -= k;
  }
}

std::uint32_t secure_random32() {
  std::uint32_t v = 0;
  secure_random(&v, sizeof v);
  return v;
}

}  // namespace ustack::app
