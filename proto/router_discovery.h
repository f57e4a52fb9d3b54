// Router discovery for a host (RFC 4861 §6.3), when NetifConfig::slaac is
// on: Router Advertisements are validated (§6.1.2) and give the default
// router list, the on-link prefix list, the link MTU and the Cur Hop Limit
// (§6.3.4); their prefixes with the A flag go to stateless address
// autoconfiguration (proto/slaac.h). Router Solicitations go out when the
// stack starts (§6.3.7). Both lists are fixed arrays (kMaxRouters,
// kMaxPrefixes): what does not fit is counted and ignored. One timer
// serves their lifetimes, another the solicitations.
//
// Left out: the advertisement's Reachable Time and Retrans Timer (the
// neighbor cache keeps its configured ones), Route Information options
// (RFC 4191) and router preferences, and Redirect (§8).
#pragma once

#include <array>
#include <cstdint>

#include "core/counters.h"
#include "core/instant.h"
#include "core/mbuf.h"
#include "core/random.h"
#include "core/timer_wheel.h"
#include "proto/ip_addr.h"
#include "proto/wire/ndp_router.h"

namespace ustack {

class Stack;
struct Ipv6Meta;

class RouterDiscovery {
 public:
  static constexpr std::size_t kMaxRouters = 4;
  static constexpr std::size_t kMaxPrefixes = 8;

  explicit RouterDiscovery(Stack& stack);
  RouterDiscovery(const RouterDiscovery&) = delete;
  RouterDiscovery& operator=(const RouterDiscovery&) = delete;

  // Schedules the first Router Solicitation (after a random delay up to
  // MAX_RTR_SOLICITATION_DELAY, §6.3.7) when router discovery is on.
  void start(Instant now);
  // A Router Advertisement (data at the ICMPv6 header, checksum verified);
  // takes ownership.
  void input(Mbuf* m, const Ipv6Meta& meta);

  // §6.3.6: a router whose neighbor entry is not INCOMPLETE before one of
  // unknown reachability; :: when the list is empty.
  Ipv6Addr default_router() const;
  // Inside a prefix a router said is on-link (§5.2).
  bool on_link(const Ipv6Addr& dst) const;
  std::size_t router_count() const;
  std::size_t prefix_count() const;
  std::uint32_t solicitations_sent() const { return rs_sent_; }

 private:
  struct Router {
    Ipv6Addr addr;
    Instant expires = kNever;
    bool used = false;
  };
  struct Prefix {
    Ipv6Addr prefix;  // host bits cleared
    std::uint8_t len = 0;
    Instant expires = kNever;
    bool used = false;
  };
  static constexpr Instant kNever = Instant::max();

  void advert(const wire::RouterAdvert& ra, const Ipv6Addr& src, Instant now);
  void update_router(const Ipv6Addr& src, std::uint16_t lifetime, Instant now);
  void update_prefix(const wire::PrefixInfo& pi, Instant now);
  void update_mtu(std::uint32_t mtu);
  void expire(Instant now);
  void rearm();
  void send_solicit();
  static void on_expiry(Timer& t, void* arg);
  static void on_solicit(Timer& t, void* arg);

  Stack& stack_;
  std::array<Router, kMaxRouters> routers_{};
  std::array<Prefix, kMaxPrefixes> prefixes_{};
  Timer expiry_;
  Timer solicit_;
  std::uint32_t rs_sent_ = 0;
  Rng rng_;

  Counter& rx_advert_;
  Counter& drop_hop_limit_;
  Counter& drop_source_;
  Counter& drop_malformed_;
  Counter& drop_disabled_;
  Counter& routers_full_;
  Counter& router_added_;
  Counter& router_expired_;
  Counter& prefixes_full_;
  Counter& prefix_ignored_;
  Counter& prefix_expired_;
  Counter& prefixes_over_;
  Counter& mtu_set_;
  Counter& mtu_ignored_;
  Counter& tx_solicit_;
  Counter& drop_no_mbuf_;
};

}  // namespace ustack
