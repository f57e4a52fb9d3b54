// Stateless address autoconfiguration (RFC 4862 §5.5) from the Prefix
// Information options with the A flag that router discovery
// (proto/router_discovery.h) accepted: an address of the /64 prefix and the
// modified EUI-64 interface identifier (RFC 4291 Appendix A, RFC 2464 §4),
// checked by DAD like every other; its preferred lifetime deprecates it
// (§5.5.4), its valid lifetime removes it, both on one timer; §5.5.3 e)'s
// two-hour rule keeps an unauthenticated advertisement from cutting a
// valid lifetime short. At most Ipv6Layer::kMaxAutoconfAddrs addresses;
// prefixes past that are counted and ignored.
#pragma once

#include <cstdint>

#include "core/counters.h"
#include "core/instant.h"
#include "core/timer_wheel.h"
#include "proto/wire/ndp_router.h"

namespace ustack {

class Stack;

// The end of a lifetime in seconds from `now`; all ones is infinity (RFC
// 4861 §4.6.2): kForever.
Instant lifetime_end(Instant now, std::uint32_t seconds);

class Slaac {
 public:
  explicit Slaac(Stack& stack);
  Slaac(const Slaac&) = delete;
  Slaac& operator=(const Slaac&) = delete;

  // A Prefix Information option with the A flag, from a valid
  // advertisement (RFC 4862 §5.5.3).
  void on_prefix(const wire::PrefixInfo& pi, Instant now);

 private:
  void expire(Instant now);
  void rearm(Instant now);
  static void on_timer(Timer& t, void* arg);

  Stack& stack_;
  Timer timer_;
  Counter& formed_;
  Counter& refreshed_;
  Counter& ignored_;
  Counter& full_;
  Counter& deprecated_;
  Counter& expired_;
};

}  // namespace ustack
