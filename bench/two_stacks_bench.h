// Two ustack hosts joined by a memlink, each with its own pool, worker and
// stack, driven alternately in ONE thread (the benchmark's copy of the
// wiring in tests/proto/two_stacks.h, which bench/ must not include).
//
// The clock is the caller's: a TscClock for timed benchmarks, a
// VirtualClock for deterministic instruction counts. ARP entries are
// pinned both ways, so no ARP request or probe ever shows up in a
// measurement. With `offload` each host sees its memlink end through
// OffloadPort, a NIC that checksums in hardware: the stack then skips its
// software TCP/IPv4 checksums on both paths (what it costs on such a NIC).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/mbuf_pool.h"
#include "core/port.h"
#include "core/worker.h"
#include "drivers/memlink/memlink.h"
#include "proto/stack.h"

namespace ustack::bench {

inline constexpr Ipv4Addr kAddrA = Ipv4Addr::from_u32(0x0a000001);  // 10.0.0.1
inline constexpr Ipv4Addr kAddrB = Ipv4Addr::from_u32(0x0a000002);  // 10.0.0.2

// A memlink end seen as a NIC with checksum offloads: frames it receives
// are marked verified, and the stack leaves transmit checksums to it (which
// nobody checks: the receiving OffloadPort trusts its "hardware").
class OffloadPort final : public Port {
 public:
  explicit OffloadPort(Port& inner) : Port(inner.name() + "+offload", 1), inner_(inner) {
    mac_ = inner.mac();
    mtu_ = inner.mtu();
    caps_ = inner.capabilities();
    caps_.rx_ipv4_cksum = caps_.rx_l4_cksum = true;
    caps_.tx_ipv4_cksum = caps_.tx_l4_cksum = true;
  }
  std::uint16_t rx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override {
    const std::uint16_t got = inner_.rx_burst(q, pkts, n);
    for (std::uint16_t i = 0; i < got; ++i)
      pkts[i]->ol_flags = ol::kRxIpCksumGood | ol::kRxL4CksumGood;
    return got;
  }
  std::uint16_t tx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override {
    return inner_.tx_burst(q, pkts, n);
  }

 private:
  Port& inner_;
};

struct BenchHost {
  std::unique_ptr<OffloadPort> offload_port;
  std::unique_ptr<MbufPool> pool;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<Stack> stack;

  TcpLayer& tcp() { return stack->tcp(); }
  std::uint64_t counter(const char* name) { return worker->counters().value(name); }
};

struct BenchLinkOptions {
  std::uint32_t pool_a = 16384;  // mbufs per host
  std::uint32_t pool_b = 16384;
  std::uint32_t ring_size = 4096;  // memlink frames in flight per direction
  TcpConfig tcp;                   // both hosts
  bool offload = false;            // checksum offloads (OffloadPort)
};

class BenchStacks {
 public:
  // nullptr and *error when a pool cannot be mapped or the link made.
  static std::unique_ptr<BenchStacks> create(const BenchLinkOptions& o, const Clock& clock,
                                             std::string* error) {
    std::unique_ptr<BenchStacks> s(new BenchStacks(clock));
    MemlinkConfig lc;
    lc.ring_size = o.ring_size;
    s->link = Memlink::create(lc, clock, error);
    if (!s->link) return nullptr;
    if (!s->make_host(s->a, "a", s->link->a(), kAddrA, o.pool_a, o, error) ||
        !s->make_host(s->b, "b", s->link->b(), kAddrB, o.pool_b, o, error))
      return nullptr;
    s->link->set_rx_pool(0, s->a.pool.get());
    s->link->set_rx_pool(1, s->b.pool.get());
    s->a.stack->arp().cache().add_static(kAddrB, s->link->b().mac());
    s->b.stack->arp().cache().add_static(kAddrA, s->link->a().mac());
    return s;
  }

  ~BenchStacks() {
    // Connections and frames in flight go back before the pools go.
    a.stack.reset();
    b.stack.reset();
    a.worker.reset();
    b.worker.reset();
    link.reset();
  }
  BenchStacks(const BenchStacks&) = delete;
  BenchStacks& operator=(const BenchStacks&) = delete;

  // One iteration of each host, each reading the clock itself; then a
  // virtual clock moves on, if one was given.
  void step() {
    a.worker->run_once();
    b.worker->run_once();
    if (virtual_clock_ != nullptr) virtual_clock_->advance(virtual_step_);
  }
  // With a VirtualClock: how far step() moves it.
  void advance_per_step(VirtualClock& clock, Duration d) {
    virtual_clock_ = &clock;
    virtual_step_ = d;
  }
  // Steps until done() or max_steps ran; returns done().
  template <typename F>
  bool run_until(F&& done, std::uint64_t max_steps = 1'000'000) {
    for (std::uint64_t i = 0; i < max_steps; ++i) {
      if (done()) return true;
      step();
    }
    return done();
  }
  // Lets the stacks see the current time before an application call made
  // outside a callback.
  void sync() {
    a.stack->set_now(clock_.now());
    b.stack->set_now(clock_.now());
  }

  std::unique_ptr<Memlink> link;
  BenchHost a;
  BenchHost b;

 private:
  explicit BenchStacks(const Clock& clock) : clock_(clock) {}

  bool make_host(BenchHost& h, const char* name, Port& end, Ipv4Addr addr, std::uint32_t pool_size,
                 const BenchLinkOptions& o, std::string* error) {
    MbufPoolConfig pc;
    pc.name = name;
    pc.capacity = pool_size;
    h.pool = MbufPool::create(pc, error);
    if (!h.pool) return false;
    Port* port = &end;
    if (o.offload) {
      h.offload_port = std::make_unique<OffloadPort>(end);
      port = h.offload_port.get();
    }
    WorkerConfig wc;
    wc.name = name;
    h.worker = std::make_unique<Worker>(wc, clock_);
    TxBatch& tx = h.worker->add_queue(*port, 0);
    h.worker->add_pool(*h.pool);
    StackConfig sc;
    sc.netif.mac = port->mac();
    sc.netif.addrs = {Ipv4Cidr{addr, 24}};
    sc.tcp = o.tcp;
    sc.seed = addr.to_u32();
    h.stack = std::make_unique<Stack>(sc, *h.pool, h.worker->timers(), h.worker->counters(), tx,
                                      clock_.now());
    h.worker->set_handler(*h.stack);
    return true;
  }

  const Clock& clock_;
  VirtualClock* virtual_clock_ = nullptr;
  Duration virtual_step_{0};
};

}  // namespace ustack::bench
