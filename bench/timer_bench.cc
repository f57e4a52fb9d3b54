// Timer wheel: arm + cancel and re-arm cost with 10 to 1,000,000 other timers
// armed, to show the cost does not grow with the number of timers.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "core/random.h"
#include "core/timer_wheel.h"

namespace ustack {
namespace {

void noop(Timer&, void*) {}

struct Loaded {
  TimerWheel wheel{instant_from_ns(0)};
  std::unique_ptr<Timer[]> others;
  explicit Loaded(std::size_t n) : others(new Timer[n]) {
    Rng rng(7);
    for (std::size_t i = 0; i < n; ++i) {
      others[i].set_callback(noop, nullptr);
      // Spread over ~1 hour at 1 ms ticks: every level of the wheel is used.
      wheel.arm(others[i],
                instant_from_ns(static_cast<std::int64_t>(rng.below(3'600'000)) * 1'000'000));
    }
  }
};

void BM_TimerArmCancel(benchmark::State& state) {
  Loaded l(static_cast<std::size_t>(state.range(0)));
  Timer t(noop, nullptr);
  Rng rng(1);
  for (auto _ : state) {
    l.wheel.arm(t, instant_from_ns(static_cast<std::int64_t>(1 + rng.below(200'000)) * 1'000'000));
    l.wheel.cancel(t);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_TimerArmCancel)->Arg(10)->Arg(100'000)->Arg(1'000'000);

// Re-arming an armed timer (what every ACK does to the RTO timer).
void BM_TimerRearm(benchmark::State& state) {
  Loaded l(static_cast<std::size_t>(state.range(0)));
  Timer t(noop, nullptr);
  std::int64_t ms = 200;
  for (auto _ : state) {
    l.wheel.arm(t, instant_from_ns((ms++ % 100'000 + 200) * 1'000'000));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_TimerRearm)->Arg(10)->Arg(1'000'000);

// Advancing time one tick at a time with many timers armed but none due.
void BM_TimerAdvanceIdleTick(benchmark::State& state) {
  Loaded l(static_cast<std::size_t>(state.range(0)));
  std::int64_t now = 0;
  for (auto _ : state) {
    now += 1'000'000;
    if (now >= 3'600'000'000'000) state.SkipWithError("ran past the armed hour");
    benchmark::DoNotOptimize(l.wheel.advance(instant_from_ns(now)));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_TimerAdvanceIdleTick)->Arg(10)->Arg(1'000'000)->Iterations(1'000'000);

}  // namespace
}  // namespace ustack
