// ustack bench --mode soak: two stacks over memlink with faults, bulk
// transfers and connection churn at once for as long as asked (a minute in
// CI, hours by hand). Every byte is checked; at the end the stacks must be
// back where they started: no connection but TIME-WAIT, every mbuf back in
// its pool, and resident memory no larger than after the warm-up.
#pragma once

#include <cstdint>
#include <vector>

#include "core/clock.h"
#include "core/topology.h"
#include "drivers/memlink/fault_model.h"

namespace ustack::app {

struct SoakOptions {
  double seconds = 60;
  double report_seconds = 10;  // a progress line this often
  std::uint32_t bulk_conns = 4;
  std::uint32_t churn_conns = 16;
  std::uint64_t bulk_max_bytes = 8u << 20;  // each bulk connection sends 1..this many
  std::uint32_t abort_one_in = 16;          // churn connections aborted (RST) midway
  double max_rss_growth_mib = 8;
  std::vector<int> cores;
  FaultConfig faults;
  bool json = false;
  bool debug = false;
};

// Returns the process exit code; prints progress and the result.
int run_soak(const SoakOptions& o, const Clock& clock, const Topology& topology);

}  // namespace ustack::app
