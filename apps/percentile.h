// Nearest-rank percentiles of measured samples (latencies), for the
// commands' reports.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace ustack::app {

// The sample below which a fraction `p` (0..1) of `v` lies; reorders `v`.
// 0 for no samples.
template <class T>
T percentile(std::vector<T>& v, double p) {
  if (v.empty()) return T{};
  const std::size_t i =
      std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

}  // namespace ustack::app
