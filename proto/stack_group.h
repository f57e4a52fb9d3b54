// The cores of one multi-core host: per core an mbuf pool, a worker that
// polls that core's queue of the port, a stack and its FlowSteer, and SPSC
// rings joining every pair of cores (Stack::set_core_links). Core k polls
// queue k; every core has the same addresses and MAC; core 0 answers ARP.
// Nothing is shared on the fast path: a core touches another only through
// the rings and the pools' remote-free rings.
//
// Built in two steps because a driver's receive queues take the pools:
//   make_pools(n, ...), open the port with pools(), then build(port, ...).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/mbuf_pool.h"
#include "core/ring.h"
#include "core/toeplitz.h"
#include "core/topology.h"
#include "core/worker.h"
#include "proto/flow_steer.h"
#include "proto/stack.h"

namespace ustack {

struct GroupCore {
  std::unique_ptr<MbufPool> pool;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<FlowSteer> steer;
  std::unique_ptr<Stack> stack;
  std::uint64_t counter(const char* name) const { return worker->counters().value(name); }
};

class StackGroup {
 public:
  // RSS key for the flow owners: must match the NIC's where the NIC steers
  // (memlink with RSS, DPDK); any key works where the stack steers itself.
  explicit StackGroup(const RssKey& key = kRssKeyMicrosoft) : hash_(key) {}
  ~StackGroup() { teardown(); }
  StackGroup(const StackGroup&) = delete;
  StackGroup& operator=(const StackGroup&) = delete;

  // Step 1: one pool per core, named `base.name` + the core's index.
  bool make_pools(std::uint16_t cores, const MbufPoolConfig& base, std::string* error);
  std::vector<MbufPool*> pools() const;
  // Step 2: the workers (pinned to cpus[k] when given, else unpinned) and
  // stacks from `base` (its MAC, or the port's when zero), each core with
  // its own seed.
  void build(Port& port, const Clock& clock, const StackConfig& base,
             const std::vector<int>& cpus = {}, std::uint32_t ring_size = 1024);
  // Each core's loop on its own thread. false and *error when pinning fails
  // (no thread is left running).
  bool start(const Topology* topology, std::string* error);
  // Stops and joins the threads; the cores' state may then be read.
  void stop();
  // Stacks, then workers (their batches flush into the port), then the
  // rings (frames in them are freed). The pools stay until destruction, so
  // the caller may close the port first.
  void teardown();

  std::size_t size() const { return cores.size(); }
  std::uint64_t sum(const char* counter) const;
  // Mbufs of every core's pool not back yet.
  std::uint64_t in_use() const;
  const Toeplitz& hash() const { return hash_; }

  std::vector<GroupCore> cores;
  // Set before build(): a lone core's worker sleeps when idle
  // (WorkerConfig::idle_sleep). With several cores each spins, since the
  // cores hand each other frames through rings that wait_rx does not watch.
  Duration idle_sleep{0};

 private:
  Toeplitz hash_;
  // rings_[from][to]; the diagonal is unused.
  std::vector<std::vector<std::unique_ptr<SpscRing<Mbuf*>>>> rings_;
};

}  // namespace ustack
