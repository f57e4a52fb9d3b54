// What the rounds measured, per row, and how it is reported: a table with
// each figure's ratio to the reference row (Linux to Linux over the veth,
// same frames), and JSON for bench/plot_compare.py.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "bench/compare/lab.h"

namespace ustack::compare {

// Everything one row gathered over the rounds.
struct RowRuns {
  std::vector<double> gbps1, gbps4, rr_per_s, crr_per_s;  // one per round
  std::vector<double> rtt_us, echo_us;                    // every sample
  std::vector<std::string> errors;                        // "round N, what: why"
};

// Figures of one row; NaN where the measurement failed every round.
struct Summary {
  double gbps1, gbps4, rr_p50_us, rr_p99_us, rr_per_s, crr_per_s, echo_us;
};
Summary summarize(const RowRuns& r);
// True when every figure of `s` was measured at least once.
bool complete(const Summary& s);

struct RunInfo {
  std::string command;  // as invoked
  std::string machine;  // CPU model, CPUs, kernel
  std::string load;     // load average before and after
  std::string pinning;  // which threads run on which CPU
  int rounds = 0;
  Budget budget;
  double wall_seconds = 0;
};

// Markdown table to `out`: every figure, and its ratio to `reference` where
// that row has one.
void print_table(std::FILE* out, const std::vector<Row>& rows, const std::vector<RowRuns>& runs,
                 const std::string& reference);
bool write_json(const std::string& path, const RunInfo& info, const std::vector<Row>& rows,
                const std::vector<RowRuns>& runs, const std::string& reference, std::string* error);

}  // namespace ustack::compare
