// Worker: the run-to-completion loop of one core.
//
// One iteration: read the clock once; poll every (port, queue) this worker
// owns in bursts and hand each burst to the handler, which carries frames as
// far as they go and queues replies on the worker's transmit batches; let the
// handler do its per-iteration work; run due timers; flush every transmit
// batch; take back mbufs other cores freed into this worker's pools.
// Nothing is shared with other workers on this path.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/counters.h"
#include "core/mbuf_pool.h"
#include "core/port.h"
#include "core/timer_wheel.h"
#include "core/topology.h"
#include "core/tx_batch.h"

namespace ustack {

class Worker;

class PacketHandler {
 public:
  virtual ~PacketHandler() = default;
  // A burst from the worker's receive queue `rxq` (index in add_queue order).
  // Takes ownership of the n frames.
  virtual void on_rx(Worker& worker, std::size_t rxq, Mbuf** pkts, std::uint16_t n,
                     Instant now) = 0;
  // Once per iteration, after receive and before timers.
  virtual void on_poll(Worker& /*worker*/, Instant /*now*/) {}
};

struct WorkerConfig {
  std::string name = "worker0";
  int core = -1;  // logical CPU to pin to; -1 leaves the thread unpinned
  std::uint16_t burst = 32;
  Duration timer_tick = std::chrono::milliseconds(1);
  // What step() does when there is nothing to do. Zero (the default): spin,
  // poll mode. Otherwise, once `idle_spins` iterations in a row have
  // neither received nor sent a frame, it sleeps in the port's wait_rx (a
  // frame wakes it) for at most idle_sleep, which should not pass the timer
  // tick. Only a worker with one queue sleeps (wait_rx watches one); a
  // driver that cannot wait returns at once, so its worker still spins.
  Duration idle_sleep{0};
  std::uint32_t idle_spins = 256;
};

class Worker {
 public:
  Worker(WorkerConfig cfg, const Clock& clock, PacketHandler& handler);
  // The handler is set later (it may need this worker's timers and transmit
  // batches to be built): set_handler() before the first iteration.
  Worker(WorkerConfig cfg, const Clock& clock);
  void set_handler(PacketHandler& handler) { handler_ = &handler; }
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Setup, before start(): this worker polls (port, queue) and transmits on
  // it through the returned batch.
  TxBatch& add_queue(Port& port, std::uint16_t queue);
  // Setup: a pool this worker owns (bound to its thread; remote frees
  // drained every iteration).
  void add_pool(MbufPool& pool);

  // One loop iteration at `now`; returns the number of frames received.
  std::size_t run_once(Instant now);
  std::size_t run_once() { return run_once(clock_.now()); }
  // One iteration at the clock's time, then the idle policy (idle_sleep).
  // The loops of run() and of the commands go through here; run_once stays
  // for tests that drive a virtual clock.
  std::size_t step();

  // Runs the loop on a new thread pinned to cfg.core (when >= 0). Returns
  // false and sets *error when pinning fails; the thread is not left running.
  bool start(const Topology* topology, std::string* error);
  // Asks the loop to stop and waits for it.
  void stop();
  // Runs the loop on the calling thread until stop() is called elsewhere.
  void run();
  void request_stop() { stop_.store(true, std::memory_order_release); }

  TxBatch& tx(std::size_t rxq) { return *queues_[rxq].tx; }
  std::size_t num_queues() const { return queues_.size(); }
  Port& port_of(std::size_t rxq) { return *queues_[rxq].port; }
  TimerWheel& timers() { return timers_; }
  CounterSet& counters() { return counters_; }
  const WorkerConfig& config() const { return cfg_; }
  const Clock& clock() const { return clock_; }
  std::uint64_t iterations() const { return iterations_.load(std::memory_order_relaxed); }

 private:
  struct Queue {
    Port* port;
    std::uint16_t queue;
    std::unique_ptr<TxBatch> tx;
  };

  WorkerConfig cfg_;
  const Clock& clock_;
  PacketHandler* handler_ = nullptr;
  std::vector<Queue> queues_;
  std::vector<MbufPool*> pools_;
  TimerWheel timers_;
  CounterSet counters_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> iterations_{0};
  std::uint32_t idle_run_ = 0;  // iterations in a row without a frame in or out
  std::uint64_t pushed_ = 0;    // frames pushed on every queue, at the last step
  Counter* idle_sleeps_;
  std::thread thread_;
  std::vector<Mbuf*> burst_;
};

}  // namespace ustack
