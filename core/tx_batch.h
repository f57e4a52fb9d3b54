// A transmit batch for one (port, queue): frames queued during a loop
// iteration go out in bursts, flushed when full and at the end of the
// iteration.
#pragma once

#include <cstdint>

#include "core/port.h"

namespace ustack {

class TxBatch {
 public:
  static constexpr std::uint16_t kBurst = 32;

  TxBatch(Port& port, std::uint16_t queue) : port_(&port), queue_(queue) {}
  TxBatch(const TxBatch&) = delete;
  TxBatch& operator=(const TxBatch&) = delete;
  ~TxBatch() { flush(); }

  // Takes ownership of m.
  void push(Mbuf* m) {
    ++pushed_;
    pkts_[n_++] = m;
    if (n_ == kBurst) flush();
  }
  // Returns how many frames the driver accepted.
  std::uint16_t flush() {
    if (n_ == 0) return 0;
    const std::uint16_t n = n_;
    n_ = 0;
    return port_->tx_burst(queue_, pkts_, n);
  }
  std::uint16_t pending() const { return n_; }
  // Frames pushed since construction (the worker's idle test).
  std::uint64_t pushed() const { return pushed_; }
  Port& port() const { return *port_; }
  std::uint16_t queue() const { return queue_; }

 private:
  Port* port_;
  std::uint16_t queue_;
  std::uint16_t n_ = 0;
  std::uint64_t pushed_ = 0;
  Mbuf* pkts_[kBurst];
};

}  // namespace ustack
