// A port that wraps another and loses frames on purpose, in both
// directions, with seeded randomness: the way to put loss between ustack
// and a real peer (the Linux kernel in a namespace) on a machine without
// netem, so that both ends' loss recovery (SACK, RFC 6675) runs against
// each other.
//
// Frames lost on receive are freed and counted as rx drops; frames lost on
// transmit are freed and reported as sent (as the wire would). Everything
// else is the inner port's, untouched (capabilities, MAC, MTU, queues).
#pragma once

#include <cstdint>
#include <memory>

#include "core/port.h"
#include "core/random.h"

namespace ustack {

struct ImpairConfig {
  double rx_loss = 0;  // probability that a received frame is lost
  double tx_loss = 0;  // probability that a transmitted frame is lost
  std::uint64_t seed = 1;
};

class ImpairPort final : public Port {
 public:
  // Shares ownership of `inner`.
  ImpairPort(std::shared_ptr<Port> inner, const ImpairConfig& cfg);
  ~ImpairPort() override;

  std::uint16_t rx_burst(std::uint16_t queue, Mbuf** pkts, std::uint16_t n) override;
  std::uint16_t tx_burst(std::uint16_t queue, Mbuf** pkts, std::uint16_t n) override;

  std::uint64_t rx_lost() const { return rx_lost_; }
  std::uint64_t tx_lost() const { return tx_lost_; }
  Port& inner() { return *inner_; }

 private:
  bool lose(double p);

  std::shared_ptr<Port> inner_;
  ImpairConfig cfg_;
  Rng rng_;
  std::uint64_t rx_lost_ = 0;
  std::uint64_t tx_lost_ = 0;
};

}  // namespace ustack
