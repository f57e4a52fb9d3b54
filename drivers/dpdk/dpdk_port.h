// dpdk: a port on a DPDK poll-mode driver (any PMD: a NIC, net_af_packet,
// net_ring, ...).
//
// EAL: started once per process, by the first open, with the caller's
// arguments. The EAL cannot be started twice, so later opens reuse it: they
// must pass the same arguments apart from --vdev, and their --vdev devices
// are hot-plugged (rte_eal_hotplug_add) when the port opens and removed when
// it closes. So one process can open, close and reopen ports (one test per
// veth pair) on one EAL. --file-prefix (unique per process) and
// --proc-type=primary are added unless given. The EAL's thread pinning of
// the caller is undone: ustack pins its own workers.
//
// Receive, zero copy: each received rte_mbuf segment becomes a ustack Mbuf
// header from the queue's rx pool attached to the rte_mbuf's data as an
// external buffer; its ExtBufInfo lives in the rte_mbuf's private area and
// its callback frees that rte_mbuf. DESIGN.md puts the ustack Mbuf inside
// the rte_mbuf; this is the equivalent scheme that keeps MbufPool the only
// owner of Mbuf headers (a header alloc and pointer arithmetic, no copy).
// Transmit, zero copy: each ustack segment gets an rte_mbuf attached to its
// bytes (rte_pktmbuf_attach_extbuf); the shared info's callback frees the
// ustack chain once the PMD has freed every rte_mbuf of the frame (a
// multi-segment frame keeps one extra rte_mbuf as the holder of its shared
// info). Frames are copied only when the device cannot send chains.
// External memory is given to the PMD by virtual address: right for virtual
// devices and IOVA-as-VA; a NIC in IOVA-as-PA mode would need ustack's pools
// registered with rte_extmem_register first (not done here).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/mbuf_pool.h"
#include "core/port.h"

namespace ustack {

struct DpdkConfig {
  // EAL arguments separated by spaces, e.g. "--no-huge -m 512 --no-pci
  // --in-memory --vdev=net_af_packet0,iface=veth0".
  std::string eal_args;
  // The port to drive. When eal_args name --vdev devices, the first one's
  // port is used instead (DPDK numbers hot-plugged ports itself).
  std::uint16_t port_id = 0;
  std::uint16_t queues = 1;
  // One pool per queue, owned by the queue's worker: the headers of frames
  // received in place.
  std::vector<MbufPool*> rx_pools;
  std::uint16_t rx_desc = 1024;
  std::uint16_t tx_desc = 1024;
  std::uint32_t mbufs_per_queue = 8191;  // rte_mbufs per queue (receive and transmit)
  bool promiscuous = false;
};

// Opens the port, or returns nullptr with one clear sentence in *error (the
// EAL cannot start, no such device or port, a queue cannot be set up, ...).
std::unique_ptr<Port> open_dpdk(const DpdkConfig& cfg, std::string* error);

}  // namespace ustack
