#include "bench/dpdk_bare.h"

#include <cstring>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

namespace ustack::bench {

namespace {

// One pool for every bare port of the process (pool names are global).
rte_mempool* bare_pool() {
  static rte_mempool* pool = rte_pktmbuf_pool_create("bench_bare_rx", 8191, 256, 0,
                                                     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  return pool;
}

}  // namespace

std::unique_ptr<DpdkBare> DpdkBare::open(const std::string& name, const std::string& params,
                                         std::string* error) {
  if (rte_eal_process_type() == RTE_PROC_INVALID) {
    *error = "dpdk bare loop: the EAL is not running";
    return nullptr;
  }
  rte_mempool* pool = bare_pool();
  if (pool == nullptr) {
    *error = "dpdk bare loop: no mempool";
    return nullptr;
  }
  if (rte_eal_hotplug_add("vdev", name.c_str(), params.c_str()) != 0) {
    *error = "dpdk bare loop: cannot add " + name + "," + params;
    return nullptr;
  }
  std::unique_ptr<DpdkBare> b(new DpdkBare());
  b->name_ = name;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &b->port_) != 0) {
    *error = "dpdk bare loop: no port " + name;
    return nullptr;
  }
  const rte_eth_conf conf{};
  const int socket = rte_eth_dev_socket_id(b->port_);
  if (rte_eth_dev_configure(b->port_, 1, 1, &conf) != 0 ||
      rte_eth_rx_queue_setup(b->port_, 0, 1024, static_cast<unsigned>(socket), nullptr, pool) !=
          0 ||
      rte_eth_tx_queue_setup(b->port_, 0, 512, static_cast<unsigned>(socket), nullptr) != 0 ||
      rte_eth_dev_start(b->port_) != 0) {
    *error = "dpdk bare loop: cannot start " + name;
    return nullptr;
  }
  b->started_ = true;
  return b;
}

DpdkBare::~DpdkBare() {
  if (started_) rte_eth_dev_stop(port_);
  if (!name_.empty()) {
    rte_eth_dev_close(port_);
    rte_eal_hotplug_remove("vdev", name_.c_str());
  }
}

std::uint64_t DpdkBare::send(std::span<const std::uint8_t> frame) {
  rte_mbuf* bufs[32];
  if (rte_pktmbuf_alloc_bulk(bare_pool(), bufs, 32) != 0) return 0;
  for (rte_mbuf* m : bufs) {
    std::memcpy(rte_pktmbuf_mtod(m, void*), frame.data(), frame.size());
    m->data_len = static_cast<std::uint16_t>(frame.size());
    m->pkt_len = static_cast<std::uint32_t>(frame.size());
  }
  const std::uint16_t n = rte_eth_tx_burst(port_, 0, bufs, 32);
  if (n < 32) rte_pktmbuf_free_bulk(bufs + n, 32u - n);
  return n;
}

std::uint64_t DpdkBare::poll() {
  rte_mbuf* bufs[32];
  const std::uint16_t n = rte_eth_rx_burst(port_, 0, bufs, 32);
  rte_pktmbuf_free_bulk(bufs, n);
  return n;
}

}  // namespace ustack::bench
