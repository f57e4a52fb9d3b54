#include "core/worker.h"

#include <utility>

namespace ustack {

Worker::Worker(WorkerConfig cfg, const Clock& clock, PacketHandler& handler)
    : Worker(std::move(cfg), clock) {
  handler_ = &handler;
}

Worker::Worker(WorkerConfig cfg, const Clock& clock)
    : cfg_(std::move(cfg)),
      clock_(clock),
      timers_(clock.now(), cfg_.timer_tick),
      counters_(cfg_.name),
      idle_sleeps_(&counters_.get("worker.idle_sleeps")),
      burst_(cfg_.burst == 0 ? 32 : cfg_.burst) {}

Worker::~Worker() {
  stop();
}

TxBatch& Worker::add_queue(Port& port, std::uint16_t queue) {
  queues_.push_back(Queue{&port, queue, std::make_unique<TxBatch>(port, queue)});
  return *queues_.back().tx;
}

void Worker::add_pool(MbufPool& pool) {
  pools_.push_back(&pool);
}

std::size_t Worker::run_once(Instant now) {
  std::size_t received = 0;
  const auto burst = static_cast<std::uint16_t>(burst_.size());
  for (std::size_t i = 0; i < queues_.size(); ++i) {
    const std::uint16_t n = queues_[i].port->rx_burst(queues_[i].queue, burst_.data(), burst);
    if (n > 0) {
      received += n;
      handler_->on_rx(*this, i, burst_.data(), n, now);
    }
  }
  handler_->on_poll(*this, now);
  timers_.advance(now);
  for (auto& q : queues_) q.tx->flush();
  for (MbufPool* p : pools_) p->drain_remote();
  iterations_.store(iterations_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return received;
}

std::size_t Worker::step() {
  const std::size_t got = run_once(clock_.now());
  if (cfg_.idle_sleep <= Duration::zero() || queues_.size() != 1) return got;
  const std::uint64_t pushed = queues_[0].tx->pushed();
  const bool idle = got == 0 && pushed == pushed_;
  pushed_ = pushed;
  if (!idle) {
    idle_run_ = 0;
    return got;
  }
  if (++idle_run_ < cfg_.idle_spins) return got;
  idle_sleeps_->inc();
  queues_[0].port->wait_rx(queues_[0].queue,
                           std::chrono::duration_cast<std::chrono::microseconds>(cfg_.idle_sleep));
  return got;
}

void Worker::run() {
  while (!stop_.load(std::memory_order_acquire)) step();
}

bool Worker::start(const Topology* topology, std::string* error) {
  stop_.store(false, std::memory_order_release);
  // 0 = starting, 1 = running, 2 = failed to pin
  std::atomic<int> state{0};
  std::string pin_error;
  thread_ = std::thread([this, topology, &state, &pin_error] {
    if (cfg_.core >= 0 && topology != nullptr &&
        !topology->pin_current_thread(cfg_.core, &pin_error)) {
      state.store(2, std::memory_order_release);
      return;
    }
    for (MbufPool* p : pools_) p->bind_to_current_thread();
    state.store(1, std::memory_order_release);
    run();
  });
  int s = 0;
  while ((s = state.load(std::memory_order_acquire)) == 0) std::this_thread::yield();
  if (s == 2) {
    thread_.join();
    if (error) *error = cfg_.name + ": " + pin_error;
    return false;
  }
  return true;
}

void Worker::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ustack
