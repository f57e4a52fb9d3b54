// Worker: one loop iteration polls, hands bursts to the handler, runs
// timers and flushes transmit batches; the loop runs pinned and stops cleanly.
#include "core/worker.h"

#include <gtest/gtest.h>

#include "drivers/memlink/memlink.h"
#include "unit/test_pool.h"

namespace ustack {
namespace {

using testing::make_frame;
using testing::make_pool;

// Sends every received frame straight back on the queue it came from.
class EchoHandler : public PacketHandler {
 public:
  void on_rx(Worker& w, std::size_t rxq, Mbuf** pkts, std::uint16_t n, Instant) override {
    bursts++;
    frames += n;
    for (std::uint16_t i = 0; i < n; ++i) w.tx(rxq).push(pkts[i]);
  }
  void on_poll(Worker&, Instant) override { polls++; }
  int bursts = 0;
  int frames = 0;
  int polls = 0;
};

struct Fixture {
  VirtualClock clock;
  std::unique_ptr<MbufPool> pool = make_pool(1024);
  std::unique_ptr<Memlink> link;
  Fixture() {
    MemlinkConfig cfg;
    std::string err;
    link = Memlink::create(cfg, clock, &err);
  }
};

TEST(Worker, IterationEchoesRunsTimersAndFlushes) {
  Fixture f;
  EchoHandler h;
  Worker w(WorkerConfig{}, f.clock, h);
  w.add_queue(f.link->a(), 0);
  w.add_pool(*f.pool);

  Mbuf* frames[40];
  for (auto& m : frames) m = make_frame(*f.pool, 60);
  ASSERT_EQ(f.link->b().tx_burst(0, frames, 40), 40);

  int fired = 0;
  Timer t([](Timer&, void* arg) { ++*static_cast<int*>(arg); }, &fired);
  w.timers().arm(t, f.clock.now() + std::chrono::milliseconds(5));

  EXPECT_EQ(w.run_once(f.clock.now()), 32u) << "one burst of 32 per queue per iteration";
  EXPECT_EQ(w.run_once(f.clock.now()), 8u);
  EXPECT_EQ(h.frames, 40);
  EXPECT_EQ(h.polls, 2);
  EXPECT_EQ(fired, 0);
  f.clock.advance(std::chrono::milliseconds(5));
  w.run_once(f.clock.now());
  EXPECT_EQ(fired, 1);

  // Everything was flushed back to B by the end of each iteration.
  Mbuf* back[64];
  EXPECT_EQ(f.link->b().rx_burst(0, back, 64), 40);
  mbuf_free_bulk(back, 40);
  EXPECT_EQ(f.pool->in_use(), 0u);
  EXPECT_EQ(w.iterations(), 3u);
}

TEST(Worker, RunsPinnedOnItsOwnThreadAndStops) {
  std::string err;
  auto topo = Topology::load(&err);
  ASSERT_NE(topo, nullptr) << err;
  MonotonicClock clock;
  Fixture f;
  EchoHandler h;
  WorkerConfig cfg;
  cfg.core = topo->cores().back();
  Worker w(cfg, clock, h);
  w.add_queue(f.link->a(), 0);
  ASSERT_TRUE(w.start(topo.get(), &err)) << err;
  // The worker, on its own thread, echoes what this thread sends.
  constexpr int kFrames = 1000;
  int sent = 0, got = 0;
  const Instant deadline = clock.now() + std::chrono::seconds(10);
  while (got < kFrames && clock.now() < deadline) {
    if (sent < kFrames) {
      Mbuf* m = make_frame(*f.pool, 60, static_cast<std::uint8_t>(sent));
      if (m != nullptr) sent += f.link->b().tx_burst(0, &m, 1);
    }
    Mbuf* back[32];
    const std::uint16_t n = f.link->b().rx_burst(0, back, 32);
    got += n;
    mbuf_free_bulk(back, n);
  }
  w.stop();
  EXPECT_EQ(got, kFrames);
  EXPECT_EQ(f.pool->in_use(), 0u);
  EXPECT_GT(w.iterations(), 0u);
}

TEST(Worker, StartFailsClearlyForMissingCore) {
  std::string err;
  auto topo = Topology::load(&err);
  ASSERT_NE(topo, nullptr);
  MonotonicClock clock;
  Fixture f;
  EchoHandler h;
  WorkerConfig cfg;
  cfg.core = 4095;
  Worker w(cfg, clock, h);
  EXPECT_FALSE(w.start(topo.get(), &err));
  EXPECT_NE(err.find("core 4095 does not exist"), std::string::npos) << err;
}

}  // namespace
}  // namespace ustack
