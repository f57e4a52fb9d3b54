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

// A port in front of memlink's end that records wait_rx calls.
class WaitRecordingPort final : public Port {
 public:
  explicit WaitRecordingPort(Port& inner) : Port("recording", 1), inner_(inner) {}
  std::uint16_t rx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override {
    return inner_.rx_burst(q, pkts, n);
  }
  std::uint16_t tx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override {
    return inner_.tx_burst(q, pkts, n);
  }
  void wait_rx(std::uint16_t, std::chrono::microseconds timeout) override {
    ++waits;
    last_timeout = timeout;
  }
  int waits = 0;
  std::chrono::microseconds last_timeout{0};

 private:
  Port& inner_;
};

// Sends one frame from on_poll while `send` is set.
class SendingHandler : public PacketHandler {
 public:
  explicit SendingHandler(MbufPool& pool) : pool_(pool) {}
  void on_rx(Worker&, std::size_t, Mbuf** pkts, std::uint16_t n, Instant) override {
    mbuf_free_bulk(pkts, n);
  }
  void on_poll(Worker& w, Instant) override {
    if (send) w.tx(0).push(make_frame(pool_, 60));
  }
  bool send = false;

 private:
  MbufPool& pool_;
};

// step(): with idle_sleep, the worker sleeps in wait_rx once idle_spins
// iterations in a row neither received nor sent, and again on every idle
// iteration after; a frame in or out starts the count anew.
TEST(Worker, StepSleepsInTheDriverOnlyWhenIdle) {
  Fixture f;
  WaitRecordingPort port(f.link->a());
  SendingHandler h(*f.pool);
  WorkerConfig cfg;
  cfg.idle_sleep = std::chrono::milliseconds(1);
  cfg.idle_spins = 4;
  Worker w(cfg, f.clock, h);
  w.add_queue(port, 0);
  w.add_pool(*f.pool);
  for (int i = 0; i < 3; ++i) w.step();
  EXPECT_EQ(port.waits, 0) << "three idle iterations: still spinning";
  w.step();
  EXPECT_EQ(port.waits, 1);
  EXPECT_EQ(port.last_timeout, std::chrono::microseconds(1000));
  w.step();
  EXPECT_EQ(port.waits, 2) << "still idle: sleeps every iteration";
  EXPECT_EQ(w.counters().value("worker.idle_sleeps"), 2u);

  Mbuf* m = make_frame(*f.pool, 60);
  ASSERT_EQ(f.link->b().tx_burst(0, &m, 1), 1);
  EXPECT_EQ(w.step(), 1u);
  for (int i = 0; i < 3; ++i) w.step();
  EXPECT_EQ(port.waits, 2) << "a received frame starts the idle count anew";
  w.step();
  EXPECT_EQ(port.waits, 3);

  h.send = true;
  for (int i = 0; i < 10; ++i) w.step();
  EXPECT_EQ(port.waits, 3) << "a worker that sends is not idle";
  h.send = false;
  Mbuf* back[32];
  mbuf_free_bulk(back, f.link->b().rx_burst(0, back, 32));
  EXPECT_EQ(f.pool->in_use(), 0u);
}

// Spinning is the default, and a worker with two queues never sleeps
// (wait_rx watches one).
TEST(Worker, StepSpinsByDefaultAndWithTwoQueues) {
  Fixture f;
  WaitRecordingPort port(f.link->a());
  SendingHandler h(*f.pool);
  Worker spin(WorkerConfig{}, f.clock, h);
  spin.add_queue(port, 0);
  for (int i = 0; i < 1000; ++i) spin.step();
  EXPECT_EQ(port.waits, 0);

  WorkerConfig cfg;
  cfg.idle_sleep = std::chrono::milliseconds(1);
  cfg.idle_spins = 1;
  Worker two(cfg, f.clock, h);
  two.add_queue(port, 0);
  two.add_queue(f.link->a(), 0);
  for (int i = 0; i < 1000; ++i) two.step();
  EXPECT_EQ(port.waits, 0);
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
