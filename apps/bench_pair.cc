#include "apps/bench_pair.h"

#include <algorithm>
#include <cstring>
#include <ctime>

namespace ustack::app {

const std::vector<std::byte>& bench_pattern() {
  static const std::vector<std::byte> p = [] {
    std::vector<std::byte> v(65536);
    for (std::size_t i = 0; i < v.size(); ++i)
      v[i] = std::byte(static_cast<std::uint8_t>((i * 2654435761u) >> 13));
    return v;
  }();
  return p;
}

bool matches_pattern(std::span<const std::byte> data, std::uint64_t offset) {
  const auto& p = bench_pattern();
  std::size_t done = 0;
  while (done < data.size()) {
    const auto at = static_cast<std::size_t>((offset + done) % p.size());
    const std::size_t k = std::min(data.size() - done, p.size() - at);
    if (std::memcmp(data.data() + done, p.data() + at, k) != 0) return false;
    done += k;
  }
  return true;
}

std::uint64_t send_pattern(TcpConn& c, std::uint64_t offset, std::uint64_t limit) {
  const auto& p = bench_pattern();
  std::uint64_t sent = 0;
  while (limit == 0 || sent < limit) {
    const auto at = static_cast<std::size_t>((offset + sent) % p.size());
    std::size_t want = p.size() - at;
    if (limit != 0) want = static_cast<std::size_t>(std::min<std::uint64_t>(want, limit - sent));
    const std::uint32_t k = c.send(std::span(p).subspan(at, want));
    if (k == 0) break;
    sent += k;
  }
  return sent;
}

TcpConfig bench_tcp_config() {
  TcpConfig t;
  t.max_connections = 65536;
  t.max_time_wait = 16384;
  return t;
}

namespace {

bool make_host(BenchHost& h, const char* name, Port& port, Ipv4Addr addr, const Clock& clock,
               int core, const TcpConfig& tcp, std::string* err) {
  MbufPoolConfig pc;
  pc.name = name;
  pc.capacity = 65536;
  h.pool = MbufPool::create(pc, err);
  if (!h.pool) return false;
  WorkerConfig wc;
  wc.name = name;
  wc.core = core;
  h.worker = std::make_unique<Worker>(wc, clock);
  TxBatch& tx = h.worker->add_queue(port, 0);
  h.worker->add_pool(*h.pool);
  StackConfig sc;
  sc.netif.mac = port.mac();
  sc.netif.addrs = {Ipv4Cidr{addr, 24}};
  sc.tcp = tcp;
  h.stack = std::make_unique<Stack>(sc, *h.pool, h.worker->timers(), h.worker->counters(), tx,
                                    clock.now());
  h.worker->set_handler(*h.stack);
  return true;
}

}  // namespace

std::unique_ptr<BenchPair> BenchPair::create(const FaultConfig& faults,
                                             const std::vector<int>& cores, const Clock& clock,
                                             std::string* error, const TcpConfig& tcp) {
  std::unique_ptr<BenchPair> p(new BenchPair);
  p->clock_ = &clock;
  p->threaded_ = cores.size() == 2;
  MemlinkConfig lc;
  lc.a_to_b = faults;
  lc.b_to_a = faults;
  lc.b_to_a.seed = faults.seed + 1;
  p->link_ = Memlink::create(lc, clock, error);
  if (!p->link_) return nullptr;
  const int core_a = p->threaded_ ? cores[0] : -1;
  const int core_b = p->threaded_ ? cores[1] : -1;
  if (!make_host(p->a_, "a", p->link_->a(), kBenchA, clock, core_a, tcp, error) ||
      !make_host(p->b_, "b", p->link_->b(), kBenchB, clock, core_b, tcp, error))
    return nullptr;
  p->link_->set_rx_pool(0, p->a_.pool.get());
  p->link_->set_rx_pool(1, p->b_.pool.get());
  // Static ARP entries: the benchmark measures TCP, not resolution.
  p->a_.stack->arp().cache().add_static(kBenchB, p->link_->b().mac());
  p->b_.stack->arp().cache().add_static(kBenchA, p->link_->a().mac());
  return p;
}

BenchPair::~BenchPair() {
  stop();
}

bool BenchPair::start(const Topology* topology, std::string* error) {
  if (!threaded_) return true;
  if (!a_.worker->start(topology, error)) return false;
  running_ = true;
  if (!b_.worker->start(topology, error)) {
    stop();
    return false;
  }
  return true;
}

void BenchPair::step() {
  if (threaded_) {
    struct timespec ts {
      0, 1'000'000
    };
    nanosleep(&ts, nullptr);
    return;
  }
  a_.worker->run_once(clock_->now());
  b_.worker->run_once(clock_->now());
}

void BenchPair::stop() {
  if (!running_) return;
  running_ = false;
  a_.worker->stop();
  b_.worker->stop();
}

bool BenchPair::finish(std::string* error) {
  stop();
  // Tear down in order: stacks free what they hold before the link goes.
  a_.stack->set_app(nullptr);
  b_.stack->set_app(nullptr);
  a_.stack.reset();
  b_.stack.reset();
  a_.worker.reset();
  b_.worker.reset();
  link_.reset();
  // Frees from the peer's core arrived through the return rings.
  a_.pool->bind_to_current_thread();
  b_.pool->bind_to_current_thread();
  a_.pool->drain_remote();
  b_.pool->drain_remote();
  if (a_.pool->in_use() != 0 || b_.pool->in_use() != 0) {
    *error = "mbufs leaked (a " + std::to_string(a_.pool->in_use()) + ", b " +
             std::to_string(b_.pool->in_use()) + ")";
    return false;
  }
  return true;
}

}  // namespace ustack::app
