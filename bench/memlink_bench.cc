// memlink pass-through on one core: allocate a burst, transmit it on end A,
// receive it on end B, free it. Frames per second per core, clean and with
// faults switched on.
#include <benchmark/benchmark.h>

#include <string>

#include "core/clock.h"
#include "core/mbuf_pool.h"
#include "drivers/memlink/memlink.h"

namespace ustack {
namespace {

void pass_through(benchmark::State& state, const FaultConfig& faults) {
  const auto burst = static_cast<std::uint16_t>(state.range(0));
  const auto len = static_cast<std::uint16_t>(state.range(1));
  TscClock clock;
  MbufPoolConfig pcfg;
  pcfg.capacity = 8192;
  std::string err;
  auto pool = MbufPool::create(pcfg, &err);
  MemlinkConfig cfg;
  cfg.a_to_b = faults;
  auto link = Memlink::create(cfg, clock, &err);
  link->set_rx_pool(1, pool.get());
  Mbuf* tx[64];
  Mbuf* rx[128];
  std::uint64_t received = 0;
  for (auto _ : state) {
    if (!pool->alloc_bulk(tx, burst)) {
      state.SkipWithError("pool empty");
      break;
    }
    for (std::uint16_t i = 0; i < burst; ++i) tx[i]->append(len);
    link->a().tx_burst(0, tx, burst);
    const std::uint16_t n = link->b().rx_burst(0, rx, 128);
    received += n;
    mbuf_free_bulk(rx, n);
  }
  // Drain what a reorder hold kept back.
  for (std::uint16_t n; (n = link->b().rx_burst(0, rx, 128)) > 0;) mbuf_free_bulk(rx, n);
  state.SetItemsProcessed(static_cast<std::int64_t>(received));
  state.SetBytesProcessed(static_cast<std::int64_t>(received) * len);
  state.counters["Mpps"] =
      benchmark::Counter(static_cast<double>(received) / 1e6, benchmark::Counter::kIsRate);
}

void BM_MemlinkPassThrough(benchmark::State& state) {
  pass_through(state, FaultConfig{});
}
BENCHMARK(BM_MemlinkPassThrough)->Args({32, 64})->Args({32, 1514})->Args({1, 64});

void BM_MemlinkPassThroughWithFaults(benchmark::State& state) {
  FaultConfig f;
  f.loss = 0.01;
  f.reorder = 0.05;
  f.duplicate = 0.01;
  pass_through(state, f);
}
BENCHMARK(BM_MemlinkPassThroughWithFaults)->Args({32, 64});

}  // namespace
}  // namespace ustack
