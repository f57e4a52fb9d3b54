#include "core/port.h"

namespace ustack {

QueueStatsSnapshot QueueStats::snapshot() const {
  QueueStatsSnapshot s;
  s.rx_packets = rx_packets_.load(std::memory_order_relaxed);
  s.rx_bytes = rx_bytes_.load(std::memory_order_relaxed);
  s.rx_dropped = rx_dropped_.load(std::memory_order_relaxed);
  s.tx_packets = tx_packets_.load(std::memory_order_relaxed);
  s.tx_bytes = tx_bytes_.load(std::memory_order_relaxed);
  s.tx_dropped = tx_dropped_.load(std::memory_order_relaxed);
  return s;
}

Port::Port(std::string name, std::uint16_t queues)
    : name_(std::move(name)), queues_(queues), stats_(std::make_unique<QueueStats[]>(queues)) {}

Port::~Port() = default;

QueueStatsSnapshot Port::total_stats() const {
  QueueStatsSnapshot t;
  for (std::uint16_t q = 0; q < queues_; ++q) {
    const QueueStatsSnapshot s = stats(q);
    t.rx_packets += s.rx_packets;
    t.rx_bytes += s.rx_bytes;
    t.rx_dropped += s.rx_dropped;
    t.tx_packets += s.tx_packets;
    t.tx_bytes += s.tx_bytes;
    t.tx_dropped += s.tx_dropped;
  }
  return t;
}

void Port::drop_unsent(std::uint16_t queue, Mbuf** pkts, std::uint16_t from, std::uint16_t n) {
  if (from >= n) return;
  mbuf_free_bulk(pkts + from, n - from);
  stats_[queue].tx_drop(n - from);
}

}  // namespace ustack
