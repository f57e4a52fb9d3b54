#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_input.h"

namespace ustack::fuzz {

void fail(const char* what) {
  std::fprintf(stderr, "fuzz property failed: %s\n", what);
  std::abort();
}

}  // namespace ustack::fuzz
