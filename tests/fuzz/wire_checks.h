// Checks the wire-view fuzz targets share: a view's spans lie inside the
// input, and a header re-emitted from its Repr parses back to the same Repr.
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "fuzz/fuzz_input.h"

namespace ustack::fuzz {

// `inner` is a (possibly empty) part of `outer`.
inline void check_within(std::span<const std::byte> inner, std::span<const std::byte> outer,
                         const char* what) {
  if (inner.empty()) return;
  check(inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size(),
        what);
}

// A buffer for re-emitted headers: larger than any header parsed here.
using EmitBuffer = std::array<std::byte, 128>;

}  // namespace ustack::fuzz
