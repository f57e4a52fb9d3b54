#include "proto/router_discovery.h"

#include <algorithm>

#include "proto/slaac.h"
#include "proto/stack.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/ipv6_ethernet.h"

namespace ustack {
namespace {

// RFC 4861 §6.1.2: a Router Advertisement is accepted with hop limit 255
// only (no router forwarded it).
constexpr std::uint8_t kNdHopLimit = 255;

Ipv6Addr masked(const Ipv6Addr& a, unsigned len) {
  Ipv6Addr r;
  for (unsigned i = 0; i < 16 && len > 0; ++i) {
    const unsigned bits = std::min(len, 8u);
    r.b[i] = static_cast<std::uint8_t>(a.b[i] & (0xff00u >> bits));
    len -= bits;
  }
  return r;
}

}  // namespace

RouterDiscovery::RouterDiscovery(Stack& stack)
    : stack_(stack),
      rng_(stack.config().seed ^ 0x5010c1),
      rx_advert_(stack.counters().get("nd.rx.router_advert")),
      drop_hop_limit_(stack.counters().get("nd.ra.drop.hop_limit")),
      drop_source_(stack.counters().get("nd.ra.drop.source_not_link_local")),
      drop_malformed_(stack.counters().get("nd.ra.drop.malformed")),
      drop_disabled_(stack.counters().get("nd.ra.drop.slaac_off")),
      routers_full_(stack.counters().get("nd.ra.routers_full")),
      router_added_(stack.counters().get("nd.ra.router_added")),
      router_expired_(stack.counters().get("nd.ra.router_expired")),
      prefixes_full_(stack.counters().get("nd.ra.prefixes_full")),
      prefix_ignored_(stack.counters().get("nd.ra.prefix_ignored")),
      prefix_expired_(stack.counters().get("nd.ra.prefix_expired")),
      prefixes_over_(stack.counters().get("nd.ra.prefixes_over")),
      mtu_set_(stack.counters().get("nd.ra.mtu_set")),
      mtu_ignored_(stack.counters().get("nd.ra.mtu_ignored")),
      tx_solicit_(stack.counters().get("nd.tx.router_solicit")),
      drop_no_mbuf_(stack.counters().get("nd.ra.drop.no_mbuf")) {
  expiry_.set_callback(&RouterDiscovery::on_expiry, this);
  solicit_.set_callback(&RouterDiscovery::on_solicit, this);
}

void RouterDiscovery::start(Instant now) {
  const Ipv6Config& c = stack_.config().ipv6;
  if (!stack_.config().netif.slaac || c.router_solicitations == 0) return;
  // §6.3.7: the first solicitation after a random delay between 0 and
  // MAX_RTR_SOLICITATION_DELAY, so hosts coming up together do not collide.
  const auto max_delay = static_cast<std::uint64_t>(c.max_router_solicitation_delay.count());
  const Duration delay(static_cast<Duration::rep>(rng_.below(max_delay + 1)));
  stack_.timers().arm(solicit_, now + delay);
}

void RouterDiscovery::input(Mbuf* m, const Ipv6Meta& meta) {
  rx_advert_.inc();
  if (!stack_.config().netif.slaac) {
    drop_disabled_.inc();
    return mbuf_free(m);
  }
  // §6.1.2: hop limit 255 and a link-local source (the router's address on
  // this link, RFC 4291 §2.5.6); the checksum was checked by ICMPv6, code
  // and lengths by RouterAdvert::parse.
  if (meta.hop_limit != kNdHopLimit) {
    drop_hop_limit_.inc();
    return mbuf_free(m);
  }
  if (!meta.src.is_link_local()) {
    drop_source_.inc();
    return mbuf_free(m);
  }
  if (!mbuf_pullup(&m, m->pkt_len, stack_.pool())) {  // options read from one run
    drop_no_mbuf_.inc();
    return mbuf_free(m);
  }
  MbufPtr hold(m);
  const auto ra = wire::RouterAdvert::parse(std::as_const(*m).span());
  if (!ra) {
    drop_malformed_.inc();
    return;
  }
  advert(*ra, meta.src, stack_.now());
}

void RouterDiscovery::advert(const wire::RouterAdvert& ra, const Ipv6Addr& src, Instant now) {
  // §6.3.4, in its order.
  if (ra.cur_hop_limit != 0) stack_.ipv6().set_hop_limit(ra.cur_hop_limit);
  update_router(src, ra.router_lifetime, now);
  // "If the advertisement contains a Source Link-Layer Address option, the
  // link-layer address SHOULD be recorded in the Neighbor Cache entry for
  // the router (creating an entry if necessary)".
  if (ra.source_mac) stack_.nd().neighbors().on_source_link_addr(src, *ra.source_mac, now);
  if (ra.mtu) update_mtu(*ra.mtu);
  for (const wire::PrefixInfo& pi : ra.prefix_list()) {
    if (pi.on_link()) update_prefix(pi, now);
    if (pi.autonomous()) stack_.nd().slaac().on_prefix(pi, now);  // RFC 4862 §5.5.3
  }
  prefixes_over_.inc(ra.prefixes_over);
  // §6.3.7: "Once the host sends a Router Solicitation, and receives a
  // valid Router Advertisement with a non-zero Router Lifetime, the host
  // MUST desist from sending additional solicitations".
  if (ra.router_lifetime != 0) stack_.timers().cancel(solicit_);
  rearm();
}

void RouterDiscovery::update_router(const Ipv6Addr& src, std::uint16_t lifetime, Instant now) {
  Router* found = nullptr;
  Router* free = nullptr;
  for (Router& r : routers_) {
    if (r.used && r.addr == src) found = &r;
    if (!r.used && free == nullptr) free = &r;
  }
  // §6.3.4: a new router with a nonzero lifetime joins the list; a known
  // one's lifetime is reset; a lifetime of zero times it out at once.
  if (lifetime == 0) {
    if (found != nullptr) {
      found->used = false;
      router_expired_.inc();
    }
    return;
  }
  if (found == nullptr) {
    if (free == nullptr) {
      routers_full_.inc();
      return;
    }
    found = free;
    found->used = true;
    found->addr = src;
    router_added_.inc();
  }
  found->expires = now + std::chrono::seconds(lifetime);
}

void RouterDiscovery::update_prefix(const wire::PrefixInfo& pi, Instant now) {
  // §6.3.4: "If the prefix is the link-local prefix, silently ignore the
  // Prefix Information option"; a length past 128 means nothing.
  if (pi.prefix.is_link_local() || pi.prefix_len > 128) {
    prefix_ignored_.inc();
    return;
  }
  const Ipv6Addr net = masked(pi.prefix, pi.prefix_len);
  Prefix* found = nullptr;
  Prefix* free = nullptr;
  for (Prefix& p : prefixes_) {
    if (p.used && p.len == pi.prefix_len && p.prefix == net) found = &p;
    if (!p.used && free == nullptr) free = &p;
  }
  if (pi.valid_lifetime == 0) {  // "time out the prefix immediately"
    if (found != nullptr) {
      found->used = false;
      prefix_expired_.inc();
    }
    return;
  }
  if (found == nullptr) {
    if (free == nullptr) {
      prefixes_full_.inc();
      return;
    }
    found = free;
    found->used = true;
    found->prefix = net;
    found->len = pi.prefix_len;
  }
  found->expires = lifetime_end(now, pi.valid_lifetime);
}

void RouterDiscovery::update_mtu(std::uint32_t mtu) {
  // §6.3.4: copied into LinkMTU when at least the IPv6 minimum (RFC 8200
  // §5) and not above the link's maximum (the interface's MTU, RFC 2464
  // §2: 1500 on plain Ethernet); otherwise the option is ignored.
  if (mtu < wire::kIpv6MinMtu || mtu > stack_.config().netif.mtu) {
    mtu_ignored_.inc();
    return;
  }
  stack_.ipv6().set_link_mtu(mtu);
  mtu_set_.inc();
}

Ipv6Addr RouterDiscovery::default_router() const {
  const Router* first = nullptr;
  for (const Router& r : routers_) {
    if (!r.used) continue;
    const auto s = stack_.nd().neighbors().state(r.addr, stack_.now());
    if (s != NeighborCache::State::kFree && s != NeighborCache::State::kIncomplete) return r.addr;
    if (first == nullptr) first = &r;
  }
  return first != nullptr ? first->addr : Ipv6Addr::any();
}

bool RouterDiscovery::on_link(const Ipv6Addr& dst) const {
  for (const Prefix& p : prefixes_)
    if (p.used && dst.in_prefix(p.prefix, p.len)) return true;
  return false;
}

std::size_t RouterDiscovery::router_count() const {
  return static_cast<std::size_t>(
      std::count_if(routers_.begin(), routers_.end(), [](const Router& r) { return r.used; }));
}

std::size_t RouterDiscovery::prefix_count() const {
  return static_cast<std::size_t>(
      std::count_if(prefixes_.begin(), prefixes_.end(), [](const Prefix& p) { return p.used; }));
}

void RouterDiscovery::expire(Instant now) {
  for (Router& r : routers_) {
    if (r.used && r.expires <= now) {
      r.used = false;
      router_expired_.inc();
    }
  }
  for (Prefix& p : prefixes_) {
    if (p.used && p.expires <= now) {
      p.used = false;
      prefix_expired_.inc();
    }
  }
  rearm();
}

void RouterDiscovery::rearm() {
  Instant next = kNever;
  for (const Router& r : routers_)
    if (r.used) next = std::min(next, r.expires);
  for (const Prefix& p : prefixes_)
    if (p.used) next = std::min(next, p.expires);
  if (next == kNever) {
    stack_.timers().cancel(expiry_);
  } else {
    stack_.timers().arm(expiry_, next);
  }
}

void RouterDiscovery::on_expiry(Timer&, void* arg) {
  auto& rd = *static_cast<RouterDiscovery*>(arg);
  rd.expire(rd.stack_.timers().current());
}

void RouterDiscovery::on_solicit(Timer&, void* arg) {
  auto& rd = *static_cast<RouterDiscovery*>(arg);
  const Instant now = rd.stack_.timers().current();
  rd.send_solicit();
  // §6.3.7: up to MAX_RTR_SOLICITATIONS, RTR_SOLICITATION_INTERVAL apart.
  const Ipv6Config& c = rd.stack_.config().ipv6;
  if (rd.rs_sent_ < c.router_solicitations)
    rd.stack_.timers().arm(rd.solicit_, now + c.router_solicitation_interval);
}

void RouterDiscovery::send_solicit() {
  // §6.3.7: from the link-local address once DAD cleared it, else from the
  // unspecified address and then without our link-layer address (§4.1).
  const Ipv6LocalAddr& ll = stack_.ipv6().addrs().front();
  const Ipv6Addr src = ll.assigned() ? ll.addr : Ipv6Addr::any();
  wire::RouterSolicit rs;
  if (!src.is_unspecified()) rs.source_mac = stack_.config().netif.mac;
  Mbuf* m = stack_.pool().alloc();
  if (m == nullptr) {
    drop_no_mbuf_.inc();
    return;
  }
  const auto len = static_cast<std::uint16_t>(rs.len());
  const Ipv6Addr dst = Ipv6Addr::all_routers();
  rs.emit({m->append(len), len}, src, dst);
  Ipv6TxOptions opts;
  opts.hop_limit = kNdHopLimit;
  ++rs_sent_;
  tx_solicit_.inc();
  stack_.ipv6().output_to(m, src, dst, wire::kIpProtoIcmpv6, opts, wire::multicast_mac(dst));
}

}  // namespace ustack
