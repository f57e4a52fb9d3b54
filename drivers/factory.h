// Opening a port by driver name: how applications choose a driver without
// the core or the protocols ever naming one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/mbuf_pool.h"
#include "core/port.h"

namespace ustack {

struct PortSpec {
  std::string driver;  // "af_packet", "dpdk", "memlink", "uring_tap" (see available_drivers())
  std::string iface;   // interface name; for memlink, the link's name
  std::string end;     // memlink: "a" or "b"
  std::uint16_t queues = 1;
  std::uint32_t mtu = 1500;  // memlink only: real interfaces have their own
  // One pool per queue, owned by the queue's worker (af_packet: headers of
  // frames received in place).
  std::vector<MbufPool*> rx_pools;
  bool promiscuous = false;            // af_packet: also frames for other MACs
  bool capture_outgoing = false;       // af_packet: also frames this host sends (dump)
  int af_packet_ring = 3;              // af_packet: 3 (TPACKET_V3, throughput) or 2 (V2, latency)
  bool af_packet_tx_sendmmsg = false;  // af_packet: sendmmsg() instead of the TX ring
  // uring_tap: the TAP's kernel side gets this IPv4 address/prefix ("" to
  // leave it alone; the TAP is created if missing and brought up).
  std::string kernel_cidr;
  bool vnet_hdr = false;  // uring_tap: virtio-net headers, checksum offload
  bool sqpoll = false;    // uring_tap: a kernel thread polls the submission queue
  std::string uring_rx;   // uring_tap: "drain" (default), "multishot" or "linked"
  // dpdk: EAL arguments separated by spaces (see drivers/dpdk/dpdk_port.h:
  // the EAL starts once per process; later ports may differ only in --vdev),
  // and the port to drive when no --vdev names it.
  std::string dpdk_args;
  std::uint16_t port_id = 0;
};

// Driver names this build can open.
std::vector<std::string> available_drivers();

// Opens the port `spec` names. nullptr and one clear sentence in *error when
// it cannot (unknown driver, bad option, the driver's own failure).
// memlink ports opened by name share a process-wide link per name, created
// on first use with no faults; the link lives while either end is open.
std::shared_ptr<Port> open_port(const PortSpec& spec, const Clock& clock, std::string* error);

}  // namespace ustack
