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
#include "proto/stack_group.h"
#include "unit/test_pool.h"

namespace ustack::testing {

using Core = GroupCore;

// A StackGroup with the tests' defaults: pools on normal pages, no
// gratuitous ARP, failures as test failures.
struct MultiHost : StackGroup {
  explicit MultiHost(const RssKey& key = kRssKeyMicrosoft) : StackGroup(key) {}
  void make_pools(std::uint16_t n, std::uint32_t size, const std::string& name) {
    MbufPoolConfig pc;
    pc.name = name;
    pc.capacity = size;
    pc.try_huge_pages = false;
    std::string err;
    EXPECT_TRUE(StackGroup::make_pools(n, pc, &err)) << err;
  }
  // With `addr6` (not ::) IPv6 runs too, its address usable at once (no
  // DAD, whose timers would cost a virtual second).
  void build(Port& port, const Clock& clock, Ipv4Addr addr, const TcpConfig& tcp,
             const Ipv6Addr& addr6 = {}) {
    StackConfig sc;
    sc.netif.addrs = {Ipv4Cidr{addr, 24}};
    if (!addr6.is_unspecified()) {
      sc.netif.addrs6 = {Ipv6Cidr{addr6, 64}};
      sc.ipv6.dad_transmits = 0;
    }
    sc.netif.mtu = port.mtu();
    sc.netif.gratuitous_arp = false;
    sc.seed = addr.to_u32();
    sc.tcp = tcp;
    StackGroup::build(port, clock, sc);
  }
  void start() {
    std::string err;
    ASSERT_TRUE(StackGroup::start(nullptr, &err)) << err;
  }
  void expect_no_leak() { EXPECT_EQ(in_use(), 0u) << "a core leaked mbufs"; }
};

struct MultiOptions {
  std::uint16_t cores = 2;
  const RssKey* key = &kRssKeyMicrosoft;  // both hosts' flow steering
  std::uint32_t pool_size = 8192;         // per core
  TcpConfig tcp;
  // Each core on its own thread on the TSC clock (start_threads()), instead
  // of all in the caller's thread on the virtual clock (step()).
  bool threaded = false;
  // The link steers by RSS with `key` (as a NIC: the frame lands on its
  // owner's queue, its hash attached) instead of queue q to queue q.
  bool link_rss = false;
  // Both hosts run IPv6 too (kMultiA6, kMultiB6).
  bool ipv6 = false;
};

inline const Ipv4Addr kMultiA = Ipv4Addr::from_u32(0x0a000001);  // 10.0.0.1
inline const Ipv4Addr kMultiB = Ipv4Addr::from_u32(0x0a000002);  // 10.0.0.2
inline const Ipv6Addr kMultiA6 = *Ipv6Addr::parse("fd00::1");
inline const Ipv6Addr kMultiB6 = *Ipv6Addr::parse("fd00::2");

class MultiStacks {
 public:
  explicit MultiStacks(const MultiOptions& o = MultiOptions{})
      : clk_(o.threaded ? static_cast<const Clock&>(tsc_) : clock), a(*o.key), b(*o.key) {
    MemlinkConfig lc;
    lc.queues = o.cores;
    lc.rss_into_a.enabled = lc.rss_into_b.enabled = o.link_rss;
    lc.rss_into_a.key = lc.rss_into_b.key = *o.key;
    std::string err;
    link = Memlink::create(lc, clk_, &err);
    EXPECT_NE(link, nullptr) << err;
    a.make_pools(o.cores, o.pool_size, "a");
    b.make_pools(o.cores, o.pool_size, "b");
    a.build(link->a(), clk_, kMultiA, o.tcp, o.ipv6 ? kMultiA6 : Ipv6Addr{});
    b.build(link->b(), clk_, kMultiB, o.tcp, o.ipv6 ? kMultiB6 : Ipv6Addr{});
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
  const Clock& clk_;
  std::unique_ptr<Memlink> link;
  MultiHost a, b;
};

}  // namespace ustack::testing
