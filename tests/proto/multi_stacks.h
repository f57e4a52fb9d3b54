// Two ustack hosts over a memlink of N queues, each host with N cores: a
// worker, pool, timer wheel, counters and stack per core, the cores joined
// by rings for frames that arrive on a queue other than their flow's owner
// (Stack::set_core_links). Driven in one thread on a virtual clock, every
// core of both hosts once per step, so the tests are deterministic; the
// rings are the same SPSC rings threads use.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ring.h"
#include "core/toeplitz.h"
#include "core/worker.h"
#include "drivers/memlink/memlink.h"
#include "proto/flow_steer.h"
#include "proto/stack.h"
#include "unit/test_pool.h"

namespace ustack::testing {

struct Core {
  std::unique_ptr<MbufPool> pool;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<FlowSteer> steer;
  std::unique_ptr<Stack> stack;
  std::uint64_t counter(const char* name) { return worker->counters().value(name); }
};

struct MultiHost {
  std::vector<Core> cores;
  // rings[from][to]; the diagonal is unused.
  std::vector<std::vector<std::unique_ptr<SpscRing<Mbuf*>>>> rings;
  std::uint64_t sum(const char* name) {
    std::uint64_t n = 0;
    for (Core& c : cores) n += c.counter(name);
    return n;
  }
  // Step 1: a pool per core (a driver's receive queues take them).
  void make_pools(std::uint16_t n, std::uint32_t size, const std::string& name) {
    cores.resize(n);
    for (std::uint16_t k = 0; k < n; ++k)
      cores[k].pool = make_pool(size, 2048, (name + std::to_string(k)).c_str());
  }
  std::vector<MbufPool*> pools() {
    std::vector<MbufPool*> v;
    for (Core& c : cores) v.push_back(c.pool.get());
    return v;
  }
  // Step 2: core k polls queue k of `port`; its stack has `addr`, answers
  // ARP on core 0 only, and is linked to the others by rings.
  void build(Port& port, const Clock& clock, Ipv4Addr addr, const Toeplitz& hash,
             const TcpConfig& tcp) {
    const auto n = static_cast<std::uint16_t>(cores.size());
    rings.resize(n);
    for (auto& row : rings)
      for (std::uint16_t j = 0; j < n; ++j) row.push_back(std::make_unique<SpscRing<Mbuf*>>(1024));
    for (std::uint16_t k = 0; k < n; ++k) {
      Core& c = cores[k];
      WorkerConfig wc;
      wc.name = port.name() + std::to_string(k);
      c.worker = std::make_unique<Worker>(wc, clock);
      TxBatch& tx = c.worker->add_queue(port, k);
      c.worker->add_pool(*c.pool);
      StackConfig sc;
      sc.netif.mac = port.mac();
      sc.netif.addrs = {Ipv4Cidr{addr, 24}};
      sc.netif.mtu = port.mtu();
      sc.arp.reply_requests = k == 0;
      sc.netif.gratuitous_arp = false;
      sc.seed = addr.to_u32() * 31 + k;
      sc.tcp = tcp;
      c.stack = std::make_unique<Stack>(sc, *c.pool, c.worker->timers(), c.worker->counters(), tx,
                                        clock.now());
      c.steer = std::make_unique<FlowSteer>(hash, n, k);
      Stack::CoreLinks links;
      links.steer = c.steer.get();
      for (std::uint16_t j = 0; j < n; ++j) {
        links.to.push_back(rings[k][j].get());
        if (j != k) links.from.push_back(rings[j][k].get());
      }
      c.stack->set_core_links(std::move(links));
      c.worker->set_handler(*c.stack);
    }
  }
  // Each core's loop on its own (unpinned) thread; stop() joins them.
  void start() {
    for (Core& c : cores) {
      std::string err;
      ASSERT_TRUE(c.worker->start(nullptr, &err)) << err;
    }
  }
  void stop() {
    for (Core& c : cores)
      if (c.worker) c.worker->stop();
  }
  // Stacks, then workers (their batches flush into the port); the pools
  // stay until the caller has closed the port.
  void teardown() {
    stop();
    for (Core& c : cores) c.stack.reset();
    for (Core& c : cores) c.worker.reset();
  }
  void expect_no_leak() {
    rings.clear();
    for (Core& c : cores) EXPECT_EQ(c.pool->in_use(), 0u) << "a core leaked mbufs";
  }
};

struct MultiOptions {
  std::uint16_t cores = 2;
  const RssKey* key = &kRssKeyMicrosoft;  // both hosts' flow steering
  std::uint32_t pool_size = 8192;         // per core
  TcpConfig tcp;
  // Each core on its own thread on the TSC clock (start_threads()), instead
  // of all in the caller's thread on the virtual clock (step()).
  bool threaded = false;
};

inline const Ipv4Addr kMultiA = Ipv4Addr::from_u32(0x0a000001);  // 10.0.0.1
inline const Ipv4Addr kMultiB = Ipv4Addr::from_u32(0x0a000002);  // 10.0.0.2

class MultiStacks {
 public:
  explicit MultiStacks(const MultiOptions& o = MultiOptions{})
      : hash(*o.key), clk_(o.threaded ? static_cast<const Clock&>(tsc_) : clock) {
    MemlinkConfig lc;
    lc.queues = o.cores;
    std::string err;
    link = Memlink::create(lc, clk_, &err);
    EXPECT_NE(link, nullptr) << err;
    a.make_pools(o.cores, o.pool_size, "a");
    b.make_pools(o.cores, o.pool_size, "b");
    a.build(link->a(), clk_, kMultiA, hash, o.tcp);
    b.build(link->b(), clk_, kMultiB, hash, o.tcp);
    link->set_rx_pool(0, a.cores[0].pool.get());
    link->set_rx_pool(1, b.cores[0].pool.get());
  }

  ~MultiStacks() {
    a.teardown();
    b.teardown();
    link.reset();
    a.expect_no_leak();
    b.expect_no_leak();
  }

  void step(Duration d = std::chrono::microseconds(10)) {
    for (MultiHost* h : {&a, &b})
      for (Core& c : h->cores) c.worker->run_once(clock.now());
    clock.advance(d);
  }
  bool run_until(const std::function<bool()>& done, int max_steps = 200000) {
    for (int i = 0; i < max_steps; ++i) {
      if (done()) return true;
      step();
    }
    return done();
  }
  // Threaded: every core's loop on its own thread; stop_threads() joins
  // them, after which their state may be read here.
  void start_threads() {
    a.start();
    b.start();
  }
  void stop_threads() {
    a.stop();
    b.stop();
  }
  void sync() {
    for (MultiHost* h : {&a, &b})
      for (Core& c : h->cores) c.stack->set_now(clock.now());
  }

  VirtualClock clock;
  TscClock tsc_;
  Toeplitz hash;
  const Clock& clk_;
  std::unique_ptr<Memlink> link;
  MultiHost a, b;
};

}  // namespace ustack::testing
