#include "proto/stack.h"

#include <sys/random.h>

#include "proto/wire/bytes.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ipv4.h"
#include "proto/wire/ipv6.h"

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
  ipv6_ = std::make_unique<Ipv6Layer>(*this);
  icmpv6_ = std::make_unique<Icmpv6Layer>(*this);
  nd_ = std::make_unique<NdLayer>(*this);
  ipv6_->register_protocol(wire::kIpProtoIcmpv6, icmpv6_.get());
  ipv6_->register_protocol(wire::kIpProtoUdp, udp_.get());
  ipv6_->register_protocol(wire::kIpProtoTcp, tcp_.get());
  icmpv6_->set_error_sink(wire::kIpProtoUdp, udp_.get());
  icmpv6_->set_error_sink(wire::kIpProtoTcp, tcp_.get());
}

Stack::~Stack() {
  // Connections first (they may still send), then waiting packets and
  // fragments go back to their pools before the layers.
  tcp_.reset();
  Mbuf* m = nullptr;
  for (SpscRing<Mbuf*>* r : links_.from)
    while (r->dequeue(m)) mbuf_free(m);
  arp_->cache().clear();
  nd_->neighbors().clear();
  ipv6_->reassembler().clear();
  ipv4_->reassembler().clear();
}

void Stack::start(Instant now) {
  now_ = now;
  if (cfg_.netif.gratuitous_arp) arp_->announce();
  if (ipv6_enabled()) nd_->start(now);
}

void Stack::on_rx(Worker&, std::size_t, Mbuf** pkts, std::uint16_t n, Instant now) {
  now_ = now;
  if (links_.steer != nullptr) {
    for (std::uint16_t i = 0; i < n; ++i) steer_input(pkts[i]);
    return;
  }
  for (std::uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) prefetch(pkts[i + 1]->data());
    ethernet_->input(pkts[i]);
  }
}

void Stack::on_poll(Worker&, Instant now) {
  now_ = now;
  if (links_.steer != nullptr) poll_inbound();
  if (app_ != nullptr) app_->poll(now);
}

void Stack::set_core_links(CoreLinks links) {
  links_ = std::move(links);
  c_redirected_ = &counters_.get("steer.tx.redirected");
  c_handed_in_ = &counters_.get("steer.rx.handed_in");
  c_ring_full_ = &counters_.get("steer.drop.ring_full");
  c_arp_copies_ = &counters_.get("steer.tx.arp_copies");
  c_nd_copies_ = &counters_.get("steer.tx.nd_copies");
}

namespace {

// A Router Advertisement, Neighbor Solicitation or Advertisement, or
// Redirect right behind the IPv6 header: the messages of RFC 4861 §4 a
// host learns neighbors and routers from. They come without extension
// headers in practice; one that has them stays core 0's alone.
bool is_neighbor_discovery(const Mbuf& m) {
  constexpr std::size_t kIcmp = 14 + wire::Ipv6View::kHeaderLen;
  if (m.data_len < kIcmp + 1 || wire::load_be16(m.data() + 12) != wire::kEtherTypeIpv6 ||
      wire::load_u8(m.data() + 14 + wire::Ipv6View::kNextHeaderOffset) != wire::kIpProtoIcmpv6)
    return false;
  const std::uint8_t type = wire::load_u8(m.data() + kIcmp);
  return type >= wire::kIcmpv6RouterAdvert && type <= wire::kIcmpv6Redirect;
}

}  // namespace

void Stack::steer_input(Mbuf* m) {
  const FlowSteer& s = *links_.steer;
  const std::uint16_t owner = s.owner_of_frame(*m);
  if (owner != s.self()) {
    // Another core's flow (the driver's queue was not its owner's): to the
    // owner, which frees it (to this core's pool, through its remote ring).
    if (links_.to[owner]->enqueue(m)) {
      c_redirected_->inc();
    } else {
      c_ring_full_->inc();
      mbuf_free(m);
    }
    return;
  }
  share_neighbor_frame(*m);
  ethernet_->input(m);
}

void Stack::share_neighbor_frame(const Mbuf& m) {
  // Core 0's, whether the frame came on its queue or from another core's
  // (a NIC hashes ICMPv6 over the addresses, af_packet fanout ARP too).
  if (links_.steer->self() != 0 || m.data_len < 14) return;
  if (wire::load_be16(m.data() + 12) == wire::kEtherTypeArp) {
    share_copies(m, c_arp_copies_);
  } else if (is_neighbor_discovery(m)) {
    share_copies(m, c_nd_copies_);
  }
}

void Stack::share_copies(const Mbuf& m, Counter* copies) {
  // A copy each (not a clone: core 0 may answer in place in the original).
  for (std::uint16_t k = 1; k < links_.steer->cores(); ++k) {
    Mbuf* copy = mbuf_copy(&m, pool_);
    if (copy == nullptr) return;
    if (links_.to[k]->enqueue(copy)) {
      copies->inc();
    } else {
      c_ring_full_->inc();
      mbuf_free(copy);
    }
  }
}

void Stack::poll_inbound() {
  Mbuf* m = nullptr;
  for (SpscRing<Mbuf*>* r : links_.from) {
    for (int i = 0; i < 32 && r->dequeue(m); ++i) {
      c_handed_in_->inc();
      share_neighbor_frame(*m);
      ethernet_->input(m);
    }
  }
}

SendResult Stack::ip_output(Mbuf* m, const IpAddr& src, const IpAddr& dst, std::uint8_t protocol) {
  if (dst.is_v6()) {
    if (!ipv6_enabled()) {
      mbuf_free(m);
      return SendResult::kNoRoute;
    }
    return ipv6_->output(m, src.as_v6(), dst.as_v6(), protocol);
  }
  return ipv4_->output(m, src.as_v4(), dst.as_v4(), protocol);
}

IpAddr Stack::source_for(const IpAddr& dst) const {
  if (dst.is_v6())
    return IpAddr::v6(ipv6_enabled() ? ipv6_->source_for(dst.as_v6()) : Ipv6Addr::any());
  return IpAddr::v4(ipv4_->source_for(dst.as_v4()));
}

void Stack::input(Mbuf* frame, Instant now) {
  now_ = now;
  ethernet_->input(frame);
}

}  // namespace ustack
