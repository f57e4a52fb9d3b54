#include "apps/multi_host.h"

namespace ustack::app {

class MultiHost::CoreEnv final : public ServerEnv {
 public:
  CoreEnv(GroupCore& c, const Clock& clock) : core_(c), clock_(clock) {}
  Stack& stack() override { return *core_.stack; }
  Instant now() const override { return clock_.now(); }
  void for_each_counter(
      const std::function<void(const std::string&, std::uint64_t)>& fn) const override {
    core_.worker->counters().for_each(fn);
  }

 private:
  GroupCore& core_;
  const Clock& clock_;
};

std::unique_ptr<MultiHost> MultiHost::open(const HostOptions& o, const std::vector<int>& cpus,
                                           std::string* error) {
  std::unique_ptr<MultiHost> h(new MultiHost());
  h->topology_ = Topology::load(error);
  if (!h->topology_ || !h->topology_->check_cores(cpus, error)) return nullptr;
  h->cpus_ = cpus;
  MbufPoolConfig pc;
  pc.name = "core";
  pc.capacity = 32768;
  if (!h->group_.make_pools(static_cast<std::uint16_t>(cpus.size()), pc, error)) return nullptr;
  PortSpec spec;
  spec.driver = o.driver;
  spec.iface = o.iface;
  spec.queues = static_cast<std::uint16_t>(cpus.size());
  spec.rx_pools = h->group_.pools();
  spec.af_packet_ring = o.ring;
  spec.dpdk_args = o.dpdk_args;
  h->port_ = open_port(spec, h->clock_, error);
  if (!h->port_ || !host_address(o, &h->address_, error)) return nullptr;
  StackConfig sc;
  sc.netif.addrs = {h->address_};
  sc.netif.gateway = o.gateway;
  sc.netif.mtu = h->port_->mtu();
  // IPv6 runs on every core's stack; its frames all reach core 0 (like
  // every frame that is not IPv4, proto/flow_steer.h), which owns every
  // IPv6 connection. The addresses become usable once DAD is through.
  if (o.ip6) sc.netif.addrs6 = {*o.ip6};
  sc.netif.gateway6 = o.gateway6;
  sc.netif.slaac = o.slaac;
  if (o.mac) sc.netif.mac = *o.mac;  // else the port's
  h->group_.idle_sleep = o.idle_sleep;
  h->group_.build(*h->port_, h->clock_, sc, cpus);
  for (GroupCore& c : h->group_.cores) {
    c.stack->start(h->clock_.now());
    h->envs_.push_back(std::make_unique<CoreEnv>(c, h->clock_));
  }
  return h;
}

MultiHost::~MultiHost() {
  group_.teardown();
  port_.reset();
}

}  // namespace ustack::app
