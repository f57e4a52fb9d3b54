// The driver interface: a port with N receive and N transmit queues.
//
// Queue q is polled and fed by exactly one worker, so a queue needs no lock.
// rx_burst fills `pkts` with up to n received frames and hands them over.
// tx_burst takes ownership of all n frames: it returns how many it sent and
// frees (and counts in tx_dropped) the ones it could not, so callers never
// keep a pointer they passed in. Protocols and the worker see only this
// interface; concrete drivers live in drivers/ and are made by name through
// drivers/factory.h.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/mac_addr.h"
#include "core/mbuf.h"

namespace ustack {

// How the port spreads flows over its receive queues.
enum class RssKind : std::uint8_t {
  kNone,               // one queue, or frames land wherever the driver puts them
  kToeplitz,           // NIC-style Toeplitz with rss_key
  kSymmetricToeplitz,  // Toeplitz with a key that hashes both directions alike
  kKernel,             // the kernel's flow hash (AF_PACKET fanout, multi-queue TAP)
};

struct PortCapabilities {
  bool rx_ipv4_cksum = false;  // sets ol::kRxIpCksum{Good,Bad}
  bool rx_l4_cksum = false;    // sets ol::kRxL4Cksum{Good,Bad}
  bool tx_ipv4_cksum = false;  // honours ol::kTxIpCksum
  bool tx_l4_cksum = false;    // honours ol::kTxTcpCksum / kTxUdpCksum
  bool tso = false;            // honours ol::kTxTcpSeg
  bool zero_copy_rx = false;   // received frames are referenced in place
  bool zero_copy_tx = false;   // transmitted mbufs are not copied
  bool rx_wait = false;        // wait_rx sleeps until a frame comes (else returns at once)
  std::uint16_t max_queues = 1;
  RssKind rss = RssKind::kNone;
  std::array<std::uint8_t, 40> rss_key{};
  std::uint32_t max_mtu = 1500;
};

struct QueueStatsSnapshot {
  std::uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0;
  std::uint64_t tx_packets = 0, tx_bytes = 0, tx_dropped = 0;
};

// Per-queue statistics: written by the queue's worker with plain adds,
// readable from any thread.
class QueueStats {
 public:
  void rx(std::uint64_t packets, std::uint64_t bytes) {
    add(rx_packets_, packets);
    add(rx_bytes_, bytes);
  }
  void rx_drop(std::uint64_t n = 1) { add(rx_dropped_, n); }
  void tx(std::uint64_t packets, std::uint64_t bytes) {
    add(tx_packets_, packets);
    add(tx_bytes_, bytes);
  }
  void tx_drop(std::uint64_t n = 1) { add(tx_dropped_, n); }
  QueueStatsSnapshot snapshot() const;

 private:
  using Cell = std::atomic<std::uint64_t>;
  static void add(Cell& c, std::uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  alignas(64) Cell rx_packets_{0};
  Cell rx_bytes_{0};
  Cell rx_dropped_{0};
  Cell tx_packets_{0};
  Cell tx_bytes_{0};
  Cell tx_dropped_{0};
};

class Port {
 public:
  Port(std::string name, std::uint16_t queues);
  virtual ~Port();
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  virtual std::uint16_t rx_burst(std::uint16_t queue, Mbuf** pkts, std::uint16_t n) = 0;
  virtual std::uint16_t tx_burst(std::uint16_t queue, Mbuf** pkts, std::uint16_t n) = 0;
  // For a worker with nothing to do that would rather sleep than spin (as a
  // read() loop sleeps in poll()): blocks until a frame may have arrived on
  // `queue` or `timeout` passed; spurious returns are allowed. Called by the
  // queue's worker only. Drivers that cannot wait return at once (the
  // default: pure poll mode).
  virtual void wait_rx(std::uint16_t queue, std::chrono::microseconds timeout) {
    (void)queue;
    (void)timeout;
  }

  const std::string& name() const { return name_; }
  std::uint16_t num_queues() const { return queues_; }
  const MacAddr& mac() const { return mac_; }
  std::uint32_t mtu() const { return mtu_; }
  const PortCapabilities& capabilities() const { return caps_; }
  QueueStatsSnapshot stats(std::uint16_t queue) const { return stats_[queue].snapshot(); }
  QueueStatsSnapshot total_stats() const;

 protected:
  // Frees frames [from, n) of a burst the driver could not send and counts them.
  void drop_unsent(std::uint16_t queue, Mbuf** pkts, std::uint16_t from, std::uint16_t n);

  std::string name_;
  std::uint16_t queues_;
  MacAddr mac_{};
  std::uint32_t mtu_ = 1500;
  PortCapabilities caps_{};
  std::unique_ptr<QueueStats[]> stats_;
};

}  // namespace ustack
