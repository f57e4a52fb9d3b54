// ICMP echo turnaround on one core: host B's whole receive-to-transmit path
// (Ethernet, IPv4 with header checksum, ICMP with checksum, the reply made
// in place in the received mbuf, ARP lookup, transmit batch) over memlink.
//
// Two stacks are built as bench/two_stacks_bench.h does (ARP pinned) and
// one ping goes through both (bench/icmp_world.h); then host A's stack steps aside and the
// benchmark plays A's driver itself. Each iteration: allocate a burst of echo requests from A's
// pool, copy a prebuilt frame into each, transmit them on link end A, run B's worker once (receive
// burst, stack, timers, flush), receive the replies on end A and free them. The Mpps figure counts
// replies received by A, so it includes allocation, the template copy, both memlink crossings, B's
// worker iteration (one TSC read) and the frees; it excludes A's stack.
#include <benchmark/benchmark.h>

#include <string>

#include "bench/icmp_world.h"
#include "core/clock.h"

namespace ustack {
namespace {

void BM_IcmpEchoTurnaround(benchmark::State& state) {
  const auto burst = static_cast<std::uint16_t>(state.range(0));
  const auto data_len = static_cast<std::uint16_t>(state.range(1));
  TscClock clock;
  std::string err;
  bench::IcmpWorld w;
  if (!w.open(clock, data_len, &err)) {
    state.SkipWithError(err.c_str());
    return;
  }
  std::uint64_t sent = 0;
  std::uint64_t replies = 0;
  for (auto _ : state) {
    if (!w.send(burst, &sent)) {
      state.SkipWithError("pool empty");
      break;
    }
    w.s->b.worker->run_once();
    replies += w.collect();
  }
  replies += w.collect();
  if (replies != sent || w.answered() != sent)
    state.SkipWithError("not every request was answered");
  state.SetItemsProcessed(static_cast<std::int64_t>(replies));
  state.SetBytesProcessed(static_cast<std::int64_t>(replies * w.request.size()));
  state.counters["Mpps"] =
      benchmark::Counter(static_cast<double>(replies) / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_IcmpEchoTurnaround)->Args({32, 56})->Args({32, 1472})->Args({1, 56});

}  // namespace
}  // namespace ustack
