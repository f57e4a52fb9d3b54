// Bare DPDK loops for driver_bench, on a vdev hot-plugged into an EAL that
// a ustack dpdk port already started: receive as dpdk-testpmd's rxonly
// forwarding does (rte_eth_rx_burst, free the burst) and transmit as its
// txonly does (allocate a burst, copy the frame in, rte_eth_tx_burst). The
// baselines for ustack's dpdk port on the same PMD. Only this file and
// drivers/dpdk/ see rte_*.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace ustack::bench {

class DpdkBare {
 public:
  // Hot-plugs vdev `name` with `params` (e.g. "net_af_packet9",
  // "iface=veth0"), one queue, started. nullptr and *error when the EAL is
  // not running or the device does not come up.
  static std::unique_ptr<DpdkBare> open(const std::string& name, const std::string& params,
                                        std::string* error);
  ~DpdkBare();
  DpdkBare(const DpdkBare&) = delete;
  DpdkBare& operator=(const DpdkBare&) = delete;

  // One burst of up to 32 received and freed; how many.
  std::uint64_t poll();
  // One burst of 32 copies of `frame` offered to the PMD; how many it took.
  std::uint64_t send(std::span<const std::uint8_t> frame);

 private:
  DpdkBare() = default;
  std::string name_;
  std::uint16_t port_ = 0;
  bool started_ = false;
};

}  // namespace ustack::bench
