// Two ustack hosts joined by a memlink, each with its own pool, worker and
// stack, driven in one thread on a virtual clock: deterministic end-to-end
// tests of everything from Ethernet up.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/worker.h"
#include "drivers/memlink/memlink.h"
#include "proto/stack.h"
#include "unit/test_pool.h"

namespace ustack::testing {

inline const Ipv4Addr kAddrA = Ipv4Addr::from_u32(0x0a000001);  // 10.0.0.1
inline const Ipv4Addr kAddrB = Ipv4Addr::from_u32(0x0a000002);  // 10.0.0.2
inline const Ipv6Addr kAddr6A = *Ipv6Addr::parse("fd00::1");
inline const Ipv6Addr kAddr6B = *Ipv6Addr::parse("fd00::2");

struct Host {
  std::unique_ptr<MbufPool> pool;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<Stack> stack;

  CounterSet& counters() { return worker->counters(); }
  std::uint64_t counter(const char* name) { return counters().value(name); }
};

struct LinkOptions {
  FaultConfig a_to_b;
  FaultConfig b_to_a;
  std::uint32_t mtu = 1500;
  std::uint32_t pool_size = 16384;
  Ipv4Addr a_gateway;         // host A's default route; 0.0.0.0: none (B never has one)
  std::uint16_t vlan_id = 0;  // 802.1Q VLAN of both interfaces; 0: untagged
  TcpConfig tcp;              // both hosts
  // IPv6 on both hosts: A fd00::1/64, B fd00::2/64 unless given here, plus
  // their link-local addresses; DAD with `dad_transmits` (0: none).
  bool ipv6 = false;
  std::vector<Ipv6Cidr> a_addrs6, b_addrs6;
  std::uint32_t dad_transmits = 1;
  bool b_slaac = false;  // B follows router advertisements (NetifConfig::slaac)
};

class TwoStacks {
 public:
  explicit TwoStacks(const LinkOptions& o = LinkOptions{}) {
    MemlinkConfig lc;
    lc.mtu = o.mtu;
    lc.a_to_b = o.a_to_b;
    lc.b_to_a = o.b_to_a;
    std::string err;
    link = Memlink::create(lc, clock, &err);
    EXPECT_NE(link, nullptr) << err;
    make_host(a, "a", link->a(), kAddrA, o.a_gateway, o,
              o.a_addrs6.empty() ? std::vector{Ipv6Cidr{kAddr6A, 64}} : o.a_addrs6, false);
    make_host(b, "b", link->b(), kAddrB, Ipv4Addr{}, o,
              o.b_addrs6.empty() ? std::vector{Ipv6Cidr{kAddr6B, 64}} : o.b_addrs6, o.b_slaac);
    link->set_rx_pool(0, a.pool.get());
    link->set_rx_pool(1, b.pool.get());
  }

  ~TwoStacks() {
    // Everything in flight or waiting goes back before the pools are checked.
    a.stack.reset();
    b.stack.reset();
    a.worker.reset();
    b.worker.reset();
    link.reset();
    EXPECT_EQ(a.pool->in_use(), 0u) << "host a leaked mbufs";
    EXPECT_EQ(b.pool->in_use(), 0u) << "host b leaked mbufs";
  }

  // One iteration of each host, then the clock moves by `step`.
  void step(Duration step = std::chrono::microseconds(10)) {
    a.worker->run_once(clock.now());
    b.worker->run_once(clock.now());
    clock.advance(step);
  }
  // Steps until `done` is true or `max_steps` ran; returns done().
  bool run_until(const std::function<bool()>& done, int max_steps = 100000,
                 Duration step_len = std::chrono::microseconds(10)) {
    for (int i = 0; i < max_steps; ++i) {
      if (done()) return true;
      step(step_len);
    }
    return done();
  }
  void run_for(Duration d, Duration step_len = std::chrono::milliseconds(1)) {
    const Instant end = clock.now() + d;
    while (clock.now() < end) step(step_len);
  }
  // Lets the stacks see the current time before an application call.
  void sync() {
    a.stack->set_now(clock.now());
    b.stack->set_now(clock.now());
  }

  VirtualClock clock;
  std::unique_ptr<Memlink> link;
  Host a;
  Host b;

 private:
  void make_host(Host& h, const char* name, Port& port, Ipv4Addr addr, Ipv4Addr gateway,
                 const LinkOptions& o, const std::vector<Ipv6Cidr>& addrs6, bool slaac) {
    h.pool = make_pool(o.pool_size, 2048, name);
    WorkerConfig wc;
    wc.name = name;
    h.worker = std::make_unique<Worker>(wc, clock);
    TxBatch& tx = h.worker->add_queue(port, 0);
    h.worker->add_pool(*h.pool);
    StackConfig sc;
    sc.netif.mac = port.mac();
    sc.netif.addrs = {Ipv4Cidr{addr, 24}};
    sc.netif.gateway = gateway;
    sc.netif.mtu = o.mtu;
    sc.netif.vlan_id = o.vlan_id;
    sc.seed = addr.to_u32();
    sc.tcp = o.tcp;
    if (o.ipv6) {
      sc.netif.addrs6 = addrs6;
      sc.netif.slaac = slaac;
      sc.ipv6.dad_transmits = o.dad_transmits;
    }
    h.stack = std::make_unique<Stack>(sc, *h.pool, h.worker->timers(), h.worker->counters(), tx,
                                      clock.now());
    h.worker->set_handler(*h.stack);
    if (o.ipv6) h.stack->start(clock.now());
  }
};

}  // namespace ustack::testing
