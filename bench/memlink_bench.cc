// memlink pass-through on one core: allocate a burst, transmit it on end A,
// receive it on end B, free it. Frames per second per core, clean and with
// faults switched on, and with 2 queues with and without RSS steering (the
// difference is what parsing, hashing and sorting by queue cost a frame).
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/mbuf_pool.h"
#include "drivers/memlink/memlink.h"

namespace ustack {
namespace {

// A pool and a link on the TSC clock.
struct Rig {
  TscClock clock;
  std::unique_ptr<MbufPool> pool;
  std::unique_ptr<Memlink> link;

  explicit Rig(const MemlinkConfig& cfg) {
    MbufPoolConfig pcfg;
    pcfg.capacity = 8192;
    std::string err;
    pool = MbufPool::create(pcfg, &err);
    link = Memlink::create(cfg, clock, &err);
    link->set_rx_pool(1, pool.get());
  }
};

void report(benchmark::State& state, std::uint64_t received) {
  state.SetItemsProcessed(static_cast<std::int64_t>(received));
  state.counters["Mpps"] =
      benchmark::Counter(static_cast<double>(received) / 1e6, benchmark::Counter::kIsRate);
}

void pass_through(benchmark::State& state, const FaultConfig& faults) {
  const auto burst = static_cast<std::uint16_t>(state.range(0));
  const auto len = static_cast<std::uint16_t>(state.range(1));
  MemlinkConfig cfg;
  cfg.a_to_b = faults;
  Rig rig(cfg);
  MbufPool* pool = rig.pool.get();
  Memlink* link = rig.link.get();
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
  report(state, received);
  state.SetBytesProcessed(static_cast<std::int64_t>(received) * len);
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

// Ethernet + IPv4 + TCP headers of flow i (the ports differ), 54 bytes.
constexpr std::size_t kHeaders = 54;
std::array<std::byte, kHeaders> tcp_headers(std::uint32_t i) {
  std::array<std::uint8_t, kHeaders> h{};
  h[12] = 0x08;           // IPv4
  h[14] = 0x45;           // version 4, IHL 5
  h[20] = 0x40;           // DF
  h[22] = 64;             // TTL
  h[23] = 6;              // TCP
  h[26] = 10, h[29] = 1;  // 10.0.0.1
  h[30] = 10, h[33] = 2;  // 10.0.0.2
  h[34] = static_cast<std::uint8_t>(0x80 | (i >> 8)), h[35] = static_cast<std::uint8_t>(i);
  h[36] = 0, h[37] = 80;  // port 80
  std::array<std::byte, kHeaders> out;
  std::memcpy(out.data(), h.data(), kHeaders);
  return out;
}

// 2 queues: every burst goes out on A's queue 0 carrying 64 flows; B polls
// both queues. RSS off: all stay on queue 0. RSS on: each frame is parsed,
// hashed and steered (about half go to queue 1). Both write the headers.
void BM_MemlinkPassThroughRss(benchmark::State& state) {
  const bool rss = state.range(0) != 0;
  constexpr std::uint16_t kBurst = 32;
  constexpr std::uint16_t kLen = 64;
  MemlinkConfig cfg;
  cfg.queues = 2;
  cfg.rss_into_b.enabled = rss;
  Rig rig(cfg);
  MbufPool* pool = rig.pool.get();
  Memlink* link = rig.link.get();
  std::array<std::array<std::byte, kHeaders>, 64> flows;
  for (std::uint32_t i = 0; i < flows.size(); ++i) flows[i] = tcp_headers(i);
  Mbuf* tx[kBurst];
  Mbuf* rx[2 * kBurst];
  std::uint64_t received = 0, on_queue1 = 0;
  std::uint32_t flow = 0;
  for (auto _ : state) {
    if (!pool->alloc_bulk(tx, kBurst)) {
      state.SkipWithError("pool empty");
      break;
    }
    for (std::uint16_t i = 0; i < kBurst; ++i)
      std::memcpy(tx[i]->append(kLen), flows[flow++ % flows.size()].data(), kHeaders);
    link->a().tx_burst(0, tx, kBurst);
    for (std::uint16_t q = 0; q < 2; ++q) {
      const std::uint16_t n = link->b().rx_burst(q, rx, 2 * kBurst);
      received += n;
      on_queue1 += q == 1 ? n : 0;
      mbuf_free_bulk(rx, n);
    }
  }
  report(state, received);
  state.counters["time/frame"] = benchmark::Counter(
      static_cast<double>(received), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["on_queue1"] =
      received > 0 ? static_cast<double>(on_queue1) / static_cast<double>(received) : 0;
}
BENCHMARK(BM_MemlinkPassThroughRss)->ArgName("rss")->Arg(0)->Arg(1);

}  // namespace
}  // namespace ustack
