// Two ustack stacks over memlink in one process, for `ustack bench`: the
// hosts, the run loop (one thread polling both, or each stack on its own
// core) and the teardown that checks every mbuf came back.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/mbuf_pool.h"
#include "core/topology.h"
#include "core/worker.h"
#include "drivers/memlink/memlink.h"
#include "proto/stack.h"

namespace ustack::app {

inline constexpr Ipv4Addr kBenchA = Ipv4Addr::from_u32(0x0a000001);
inline constexpr Ipv4Addr kBenchB = Ipv4Addr::from_u32(0x0a000002);

// The bytes of every benchmark stream: a 64 KiB block repeated, so a
// receiver checks each byte against its stream offset with memcmp.
const std::vector<std::byte>& bench_pattern();
// True when `data` is the pattern at stream offset `offset`.
bool matches_pattern(std::span<const std::byte> data, std::uint64_t offset);
// Sends pattern bytes from stream offset `offset` on `c`, at most `limit`
// of them (0: as many as fit); returns how many were queued.
std::uint64_t send_pattern(TcpConn& c, std::uint64_t offset, std::uint64_t limit);

// What every bench mode gives TCP: room for the connection-rate modes.
TcpConfig bench_tcp_config();

struct BenchHost {
  std::unique_ptr<MbufPool> pool;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<Stack> stack;
};

class BenchPair {
 public:
  // One core: this thread polls both stacks in step(); two: each stack runs
  // on its own pinned worker between start() and stop().
  static std::unique_ptr<BenchPair> create(const FaultConfig& faults, const std::vector<int>& cores,
                                           const Clock& clock, std::string* error,
                                           const TcpConfig& tcp = bench_tcp_config());
  ~BenchPair();

  BenchHost& a() { return a_; }
  BenchHost& b() { return b_; }
  Memlink& link() { return *link_; }
  bool threaded() const { return threaded_; }

  bool start(const Topology* topology, std::string* error);
  // One round of both stacks (one core), or a 1 ms sleep while the workers
  // run (two cores).
  void step();
  void stop();
  // Destroys the stacks and the link; false (with the counts in `error`)
  // when a pool still has mbufs out.
  bool finish(std::string* error);

 private:
  BenchPair() = default;
  const Clock* clock_ = nullptr;
  bool threaded_ = false;
  bool running_ = false;
  std::unique_ptr<Memlink> link_;
  BenchHost a_, b_;
};

}  // namespace ustack::app
