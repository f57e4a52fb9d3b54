#include "drivers/factory.h"

#include <map>
#include <mutex>

#include "drivers/af_packet/af_packet.h"
#ifdef USTACK_HAVE_DPDK
#include "drivers/dpdk/dpdk_port.h"
#endif
#include "drivers/memlink/memlink.h"
#ifdef USTACK_HAVE_URING
#include "drivers/uring_tap/uring_tap.h"
#endif

namespace ustack {
namespace {

std::shared_ptr<Port> open_memlink(const PortSpec& spec, const Clock& clock, std::string* error) {
  if (spec.end != "a" && spec.end != "b") {
    if (error) *error = "memlink: end must be 'a' or 'b', not '" + spec.end + "'";
    return nullptr;
  }
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<Memlink>> links;
  std::lock_guard<std::mutex> lock(mu);
  std::shared_ptr<Memlink> link = links[spec.iface].lock();
  if (!link) {
    MemlinkConfig cfg;
    cfg.name = spec.iface;
    cfg.queues = spec.queues;
    cfg.mtu = spec.mtu;
    std::unique_ptr<Memlink> made = Memlink::create(cfg, clock, error);
    if (!made) return nullptr;
    link = std::shared_ptr<Memlink>(std::move(made));
    links[spec.iface] = link;
  }
  Port& p = spec.end == "a" ? link->a() : link->b();
  // The port keeps its link alive (aliasing constructor).
  return std::shared_ptr<Port>(link, &p);
}

}  // namespace

std::vector<std::string> available_drivers() {
  std::vector<std::string> v = {"af_packet"};
#ifdef USTACK_HAVE_DPDK
  v.push_back("dpdk");
#endif
  v.push_back("memlink");
#ifdef USTACK_HAVE_URING
  v.push_back("uring_tap");
#endif
  return v;
}

std::shared_ptr<Port> open_port(const PortSpec& spec, const Clock& clock, std::string* error) {
  if (spec.driver == "memlink") return open_memlink(spec, clock, error);
  if (spec.driver == "af_packet") {
    AfPacketConfig cfg;
    cfg.iface = spec.iface;
    cfg.queues = spec.queues;
    cfg.rx_pools = spec.rx_pools;
    cfg.promiscuous = spec.promiscuous;
    cfg.ring_version = spec.af_packet_ring;
    cfg.tx_sendmmsg = spec.af_packet_tx_sendmmsg;
    cfg.capture_outgoing = spec.capture_outgoing;
    return open_af_packet(cfg, error);
  }
#ifdef USTACK_HAVE_DPDK
  if (spec.driver == "dpdk") {
    DpdkConfig cfg;
    cfg.eal_args = spec.dpdk_args;
    cfg.port_id = spec.port_id;
    cfg.queues = spec.queues;
    cfg.rx_pools = spec.rx_pools;
    cfg.promiscuous = spec.promiscuous;
    return open_dpdk(cfg, error);
  }
#endif
#ifdef USTACK_HAVE_URING
  if (spec.driver == "uring_tap") {
    UringTapConfig cfg;
    cfg.iface = spec.iface;
    cfg.queues = spec.queues;
    cfg.rx_pools = spec.rx_pools;
    cfg.kernel_cidr = spec.kernel_cidr;
    cfg.vnet_hdr = spec.vnet_hdr;
    cfg.sqpoll = spec.sqpoll;
    if (!spec.uring_rx.empty() && !parse_uring_tap_rx(spec.uring_rx, &cfg.rx)) {
      if (error)
        *error =
            "uring_tap: receive mode '" + spec.uring_rx + "' is not drain, multishot or linked";
      return nullptr;
    }
    return open_uring_tap(cfg, error);
  }
#endif
  if (error) {
    std::string names;
    for (const auto& d : available_drivers()) names += (names.empty() ? "" : ", ") + d;
    *error = "unknown driver '" + spec.driver + "' (this build has: " + names + ")";
  }
  return nullptr;
}

}  // namespace ustack
