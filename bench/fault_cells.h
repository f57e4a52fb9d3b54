// The cells of the fault matrix (issue #6): which faults each memlink
// direction applies, on top of one path model shared by every cell.
//
// Path: 10 Gbit/s each way, 500 us one-way delay (1 ms RTT, a metro path:
// long enough that loss recovery works in round trips as on a real path,
// short enough that a 1 GiB cell finishes in virtual seconds), a 4 MiB
// buffer in front of the link (more than the 1 MiB windows: the clean cell
// has no congestion loss). The faults apply to both directions (data and
// ACKs), with different seeds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "drivers/memlink/fault_model.h"

namespace ustack::bench {

struct FaultCell {
  std::string name;
  double loss = 0;
  double reorder = 0;
  double duplicate = 0;
  double corrupt = 0;
};

inline const std::vector<FaultCell>& fault_cells() {
  static const std::vector<FaultCell> cells = {
      {"clean"},
      {"loss0.1", 0.001},
      {"loss1", 0.01},
      {"loss5", 0.05},
      {"loss10", 0.10},
      {"reorder5", 0, 0.05},
      {"reorder25", 0, 0.25},
      {"dup5", 0, 0, 0.05},
      {"corrupt1", 0, 0, 0, 0.01},
      {"combined", 0.01, 0.05, 0.01, 0.005},
  };
  return cells;
}

inline constexpr std::uint64_t kPathRateBps = 10'000'000'000ull;
inline constexpr Duration kPathOneWayDelay = std::chrono::microseconds(500);

// The faults of one direction of `cell` at `mtu`. Reordering holds a frame
// back behind 1..depth later frames, depth = 3 windows of full segments
// (3 x recv_window / MSS: "up to 3x cwnd", since cwnd never exceeds the
// window), or at most 3 RTT when fewer frames follow; up to 8192 frames
// held at once.
inline FaultConfig cell_faults(const FaultCell& cell, std::uint32_t mtu, std::uint32_t window,
                               std::uint64_t seed) {
  FaultConfig f;
  f.rate_bps = kPathRateBps;
  f.delay = kPathOneWayDelay;
  f.queue_bytes = 4u << 20;
  f.loss = cell.loss;
  f.reorder = cell.reorder;
  const std::uint32_t mss = mtu - 40 - 12;  // IPv4 + TCP + timestamps option
  f.reorder_depth = 3 * ((window + mss - 1) / mss);
  f.reorder_max_hold = 3 * 2 * kPathOneWayDelay;
  f.reorder_max_held = 8192;
  f.duplicate = cell.duplicate;
  f.corrupt = cell.corrupt;
  f.seed = seed;
  return f;
}

}  // namespace ustack::bench
