#include "proto/stack_group.h"

namespace ustack {

bool StackGroup::make_pools(std::uint16_t n, const MbufPoolConfig& base, std::string* error) {
  cores.resize(n);
  for (std::uint16_t k = 0; k < n; ++k) {
    MbufPoolConfig pc = base;
    pc.name = base.name + std::to_string(k);
    cores[k].pool = MbufPool::create(pc, error);
    if (!cores[k].pool) return false;
  }
  return true;
}

std::vector<MbufPool*> StackGroup::pools() const {
  std::vector<MbufPool*> v;
  for (const GroupCore& c : cores) v.push_back(c.pool.get());
  return v;
}

void StackGroup::build(Port& port, const Clock& clock, const StackConfig& base,
                       const std::vector<int>& cpus, std::uint32_t ring_size) {
  const auto n = static_cast<std::uint16_t>(cores.size());
  rings_.resize(n);
  for (auto& row : rings_)
    for (std::uint16_t j = 0; j < n; ++j)
      row.push_back(std::make_unique<SpscRing<Mbuf*>>(ring_size));
  for (std::uint16_t k = 0; k < n; ++k) {
    GroupCore& c = cores[k];
    WorkerConfig wc;
    wc.name = port.name() + "/" + std::to_string(k);
    wc.core = k < cpus.size() ? cpus[k] : -1;
    if (n == 1) wc.idle_sleep = idle_sleep;
    c.worker = std::make_unique<Worker>(wc, clock);
    TxBatch& tx = c.worker->add_queue(port, k);
    c.worker->add_pool(*c.pool);
    StackConfig sc = base;
    if (base.netif.mac == MacAddr{}) sc.netif.mac = port.mac();
    sc.arp.reply_requests = base.arp.reply_requests && k == 0;
    sc.ipv6.answer_solicitations = base.ipv6.answer_solicitations && k == 0;
    sc.netif.gratuitous_arp = base.netif.gratuitous_arp && k == 0;
    if (base.seed != 0) sc.seed = base.seed * 0x9e3779b97f4a7c15ull + k;
    c.stack = std::make_unique<Stack>(sc, *c.pool, c.worker->timers(), c.worker->counters(), tx,
                                      clock.now());
    if (n > 1) {
      c.steer = std::make_unique<FlowSteer>(hash_, n, k);
      Stack::CoreLinks links;
      links.steer = c.steer.get();
      for (std::uint16_t j = 0; j < n; ++j) {
        links.to.push_back(rings_[k][j].get());
        if (j != k) links.from.push_back(rings_[j][k].get());
      }
      c.stack->set_core_links(std::move(links));
    }
    c.worker->set_handler(*c.stack);
  }
}

bool StackGroup::start(const Topology* topology, std::string* error) {
  for (std::size_t k = 0; k < cores.size(); ++k) {
    if (!cores[k].worker->start(topology, error)) {
      for (std::size_t j = 0; j < k; ++j) cores[j].worker->stop();
      return false;
    }
  }
  return true;
}

void StackGroup::stop() {
  for (GroupCore& c : cores)
    if (c.worker) c.worker->stop();
}

void StackGroup::teardown() {
  stop();
  for (GroupCore& c : cores) c.stack.reset();
  for (GroupCore& c : cores) c.worker.reset();
  Mbuf* m = nullptr;
  for (auto& row : rings_)
    for (auto& r : row)
      while (r && r->dequeue(m)) mbuf_free(m);
  rings_.clear();
}

std::uint64_t StackGroup::sum(const char* counter) const {
  std::uint64_t n = 0;
  for (const GroupCore& c : cores)
    if (c.worker) n += c.counter(counter);
  return n;
}

std::uint64_t StackGroup::in_use() const {
  std::uint64_t n = 0;
  for (const GroupCore& c : cores)
    if (c.pool) n += c.pool->in_use();
  return n;
}

}  // namespace ustack
