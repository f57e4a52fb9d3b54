#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: new inputs go to WORK (in
# the build tree), the committed seeds and regression inputs are read only.
# A crash, leak, sanitizer report or failed property exits 1 (libFuzzer's
# own default, 77, would read as "skipped" to meson); its
# input is saved as WORK/crash-* for a regression test (see DEVELOPING.md).
#
# usage: run_fuzzer.sh TARGET WORK SEEDS REGRESSIONS SECONDS
set -euo pipefail
target=$1 work=$2 seeds=$3 regressions=$4 seconds=$5
mkdir -p "$work"
# Regressions first, each once: they must pass before any new search.
if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
  "$target" -error_exitcode=1 -timeout_exitcode=1 -runs=0 "$regressions"
fi
# A fixed seed (FUZZ_SEED, 0 for a random one) so that a CI run is
# repeatable; longer searches by hand pick their own.
exec "$target" -seed="${FUZZ_SEED:-1}" -error_exitcode=1 -timeout_exitcode=1 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work" "$seeds"
