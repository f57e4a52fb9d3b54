#include "drivers/impair/impair_port.h"

namespace ustack {

ImpairPort::ImpairPort(std::shared_ptr<Port> inner, const ImpairConfig& cfg)
    : Port(inner->name() + "+impair", inner->num_queues()),
      inner_(std::move(inner)),
      cfg_(cfg),
      rng_(cfg.seed) {
  mac_ = inner_->mac();
  mtu_ = inner_->mtu();
  caps_ = inner_->capabilities();
}

ImpairPort::~ImpairPort() = default;

bool ImpairPort::lose(double p) {
  // 53 random bits against p: exact enough for any loss rate worth testing.
  return p > 0 && static_cast<double>(rng_.next() >> 11) * 0x1.0p-53 < p;
}

std::uint16_t ImpairPort::rx_burst(std::uint16_t queue, Mbuf** pkts, std::uint16_t n) {
  const std::uint16_t got = inner_->rx_burst(queue, pkts, n);
  if (cfg_.rx_loss <= 0) return got;
  std::uint16_t kept = 0;
  for (std::uint16_t i = 0; i < got; ++i) {
    if (lose(cfg_.rx_loss)) {
      mbuf_free(pkts[i]);
      ++rx_lost_;
      stats_[queue].rx_drop();
    } else {
      pkts[kept++] = pkts[i];
    }
  }
  return kept;
}

std::uint16_t ImpairPort::tx_burst(std::uint16_t queue, Mbuf** pkts, std::uint16_t n) {
  if (cfg_.tx_loss <= 0) return inner_->tx_burst(queue, pkts, n);
  // Lost frames are "sent": taken out of the burst (order kept) and freed.
  Mbuf* keep[256];
  std::uint16_t done = 0;
  while (done < n) {
    const std::uint16_t chunk = static_cast<std::uint16_t>(std::min<int>(n - done, 256));
    std::uint16_t k = 0;
    for (std::uint16_t i = 0; i < chunk; ++i) {
      Mbuf* m = pkts[done + i];
      if (lose(cfg_.tx_loss)) {
        mbuf_free(m);
        ++tx_lost_;
      } else {
        keep[k++] = m;
      }
    }
    const std::uint16_t sent = k > 0 ? inner_->tx_burst(queue, keep, k) : 0;
    if (sent < k) {
      // The inner port is full: the rest of this burst stays with the
      // caller. Put the unsent frames back where the caller looks for them.
      for (std::uint16_t i = sent; i < k; ++i) pkts[done + chunk - (k - i)] = keep[i];
      return static_cast<std::uint16_t>(done + chunk - (k - sent));
    }
    done = static_cast<std::uint16_t>(done + chunk);
  }
  return n;
}

}  // namespace ustack
