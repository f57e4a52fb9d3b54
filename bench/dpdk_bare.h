// A bare DPDK receive loop for driver_bench: what dpdk-testpmd's rxonly
// forwarding does (rte_eth_rx_burst, free the burst), on a vdev hot-plugged
// into an EAL that a ustack dpdk port already started. The baseline for
// ustack's dpdk port on the same PMD. Only this file and drivers/dpdk/ see
// rte_*.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace ustack::bench {

class DpdkBareRx {
 public:
  // Hot-plugs vdev `name` with `params` (e.g. "net_af_packet9",
  // "iface=veth0"), one queue, started. nullptr and *error when the EAL is
  // not running or the device does not come up.
  static std::unique_ptr<DpdkBareRx> open(const std::string& name, const std::string& params,
                                          std::string* error);
  ~DpdkBareRx();
  DpdkBareRx(const DpdkBareRx&) = delete;
  DpdkBareRx& operator=(const DpdkBareRx&) = delete;

  // One burst of up to 32 received and freed; how many.
  std::uint64_t poll();

 private:
  DpdkBareRx() = default;
  std::string name_;
  std::uint16_t port_ = 0;
  bool started_ = false;
};

}  // namespace ustack::bench
