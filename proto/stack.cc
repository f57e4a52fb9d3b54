#include "proto/stack.h"

#include <sys/random.h>

#include "proto/wire/ipv4.h"

namespace ustack {
namespace {

std::uint64_t system_seed() {
  std::uint64_t s = 0;
  if (getrandom(&s, sizeof s, 0) != sizeof s || s == 0) s = 0x5eed5eed5eed5eedull;
  return s;
}

StackConfig with_seed(StackConfig cfg) {
  if (cfg.seed == 0) cfg.seed = system_seed();
  return cfg;
}

}  // namespace

Stack::Stack(const StackConfig& cfg, MbufPool& pool, TimerWheel& timers, CounterSet& counters,
             TxBatch& tx, Instant now)
    : cfg_(with_seed(cfg)),
      pool_(pool),
      timers_(timers),
      counters_(counters),
      tx_(tx),
      caps_(tx.port().capabilities()),
      now_(now) {
  ethernet_ = std::make_unique<EthernetLayer>(*this);
  arp_ = std::make_unique<ArpLayer>(*this);
  ipv4_ = std::make_unique<Ipv4Layer>(*this);
  icmp_ = std::make_unique<IcmpLayer>(*this);
  udp_ = std::make_unique<UdpLayer>(*this);
  tcp_ = std::make_unique<TcpLayer>(*this, cfg_.tcp);
  ipv4_->register_protocol(wire::kIpProtoIcmp, icmp_.get());
  ipv4_->register_protocol(wire::kIpProtoUdp, udp_.get());
  ipv4_->register_protocol(wire::kIpProtoTcp, tcp_.get());
  icmp_->set_error_sink(wire::kIpProtoUdp, udp_.get());
  icmp_->set_error_sink(wire::kIpProtoTcp, tcp_.get());
}

Stack::~Stack() {
  // Connections first (they may still send), then waiting packets and
  // fragments go back to their pools before the layers.
  tcp_.reset();
  arp_->cache().clear();
  ipv4_->reassembler().clear();
}

void Stack::start(Instant now) {
  now_ = now;
  if (cfg_.netif.gratuitous_arp) arp_->announce();
}

void Stack::on_rx(Worker&, std::size_t, Mbuf** pkts, std::uint16_t n, Instant now) {
  now_ = now;
  for (std::uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) prefetch(pkts[i + 1]->data());
    ethernet_->input(pkts[i]);
  }
}

void Stack::on_poll(Worker&, Instant now) {
  now_ = now;
  if (app_ != nullptr) app_->poll(now);
}

void Stack::input(Mbuf* frame, Instant now) {
  now_ = now;
  ethernet_->input(frame);
}

}  // namespace ustack
