// Neighbor Discovery (RFC 4861) on the wire: solicitations answered for our
// addresses, advertisements fed to the neighbor cache, solicitations sent
// for it, duplicate address detection (RFC 4862 §5.4, proto/dad.h) for
// the interface's addresses, router discovery (proto/router_discovery.h)
// stateless autoconfiguration (proto/slaac.h) and MLD reports for the
// addresses' groups (proto/mld.h).
#pragma once

#include "core/counters.h"
#include "core/mbuf.h"
#include "proto/dad.h"
#include "proto/ipv6.h"
#include "proto/mld.h"
#include "proto/neighbor_cache.h"
#include "proto/router_discovery.h"
#include "proto/slaac.h"
#include "proto/wire/ndp.h"

namespace ustack {

class Stack;

class NdLayer final : public NeighborIo {
 public:
  explicit NdLayer(Stack& stack);

  // Starts DAD for every tentative address, and router solicitation when
  // router discovery is on.
  // RFC 4862 §5.4.2: the groups are joined (MLD) before DAD probes.
  void start(Instant now) {
    mld_.update(now);
    dad_.start(now);
    routers_.start(now);
  }
  // A Neighbor Solicitation or Advertisement (data at the ICMPv6 header,
  // checksum verified); takes ownership.
  void input(Mbuf* m, const Ipv6Meta& meta);
  NeighborCache& neighbors() { return cache_; }
  Dad& dad() { return dad_; }
  RouterDiscovery& routers() { return routers_; }
  const RouterDiscovery& routers() const { return routers_; }
  Slaac& slaac() { return slaac_; }
  Mld& mld() { return mld_; }

  // NeighborIo
  void nd_send_solicit(const Ipv6Addr& target, const MacAddr* unicast) override;
  void nd_transmit(Mbuf* frame) override;

  // DAD's probe: from ::, to the target's solicited-node group, no option
  // (RFC 4862 §5.4.2).
  void send_dad_solicit(const Ipv6Addr& target);

 private:
  void solicitation(const wire::NdMessage& ns, const Ipv6Meta& meta);
  void advertisement(const wire::NdMessage& na, const Ipv6Meta& meta);
  void send(const wire::NdMessage& msg, const Ipv6Addr& src, const Ipv6Addr& dst,
            const MacAddr* mac);

  Stack& stack_;
  NeighborCache cache_;
  Dad dad_;
  RouterDiscovery routers_;
  Slaac slaac_;
  Mld mld_;
  Counter& rx_solicit_;
  Counter& rx_advert_;
  Counter& tx_advert_;
  Counter& drop_hop_limit_;
  Counter& drop_malformed_;
  Counter& drop_not_our_target_;
  Counter& conflict_;
  Counter& drop_no_mbuf_;
  Counter& drop_no_source_;
};

}  // namespace ustack
