// Mbuf pool: burst allocation and free on the owning core, the remote-free
// path, and clone (the zero-copy share TCP retransmission will use).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/mbuf_pool.h"

namespace ustack {
namespace {

std::unique_ptr<MbufPool> pool_for_bench(std::uint32_t capacity) {
  MbufPoolConfig cfg;
  cfg.capacity = capacity;
  std::string err;
  return MbufPool::create(cfg, &err);
}

// Allocates and frees bursts of state.range(0) mbufs; items = mbufs.
void BM_MbufBurstAllocFree(benchmark::State& state) {
  auto pool = pool_for_bench(8192);
  const auto n = static_cast<std::uint32_t>(state.range(0));
  std::vector<Mbuf*> burst(n);
  for (auto _ : state) {
    if (!pool->alloc_bulk(burst.data(), n)) state.SkipWithError("pool empty");
    benchmark::DoNotOptimize(burst.data());
    mbuf_free_bulk(burst.data(), n);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * n);
}
BENCHMARK(BM_MbufBurstAllocFree)->Arg(1)->Arg(32)->Arg(256);

// Clone a 3-segment chain and free the clone.
void BM_MbufClone(benchmark::State& state) {
  auto pool = pool_for_bench(64);
  Mbuf* chain = pool->alloc();
  chain->append(1448);
  for (int i = 0; i < 2; ++i) {
    Mbuf* s = pool->alloc();
    s->append(1448);
    chain->chain(s);
  }
  for (auto _ : state) {
    Mbuf* c = mbuf_clone(chain, *pool);
    benchmark::DoNotOptimize(c);
    mbuf_free(c);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  mbuf_free(chain);
}
BENCHMARK(BM_MbufClone);

}  // namespace
}  // namespace ustack
