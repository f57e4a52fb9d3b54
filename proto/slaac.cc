#include "proto/slaac.h"

#include <algorithm>

#include "proto/stack.h"
#include "proto/wire/ipv6_ethernet.h"

namespace ustack {
namespace {

// RFC 4862 §5.5.3 e): "2 hours".
constexpr Duration kTwoHours = std::chrono::hours(2);
// RFC 4291 §2.5.1: interface identifiers of unicast addresses are 64 bits,
// so the prefix must be a /64 (§5.5.3 d)).
constexpr std::uint8_t kPrefixLen = 64;

}  // namespace

Instant lifetime_end(Instant now, std::uint32_t seconds) {
  if (seconds == wire::kInfiniteLifetime) return kForever;
  return now + std::chrono::seconds(seconds);
}

Slaac::Slaac(Stack& stack)
    : stack_(stack),
      formed_(stack.counters().get("ipv6.slaac.formed")),
      refreshed_(stack.counters().get("ipv6.slaac.refreshed")),
      ignored_(stack.counters().get("ipv6.slaac.prefix_ignored")),
      full_(stack.counters().get("ipv6.slaac.full")),
      deprecated_(stack.counters().get("ipv6.slaac.deprecated")),
      expired_(stack.counters().get("ipv6.slaac.expired")) {
  timer_.set_callback(&Slaac::on_timer, this);
}

void Slaac::on_prefix(const wire::PrefixInfo& pi, Instant now) {
  // §5.5.3 b) "If the prefix is the link-local prefix, silently ignore";
  // c) "If the preferred lifetime is greater than the valid lifetime,
  // silently ignore"; d) the prefix and the 64-bit identifier must make
  // 128 bits, "the Prefix Information option MUST be ignored" otherwise.
  if (pi.prefix.is_link_local() || pi.preferred_lifetime > pi.valid_lifetime ||
      pi.prefix_len != kPrefixLen) {
    ignored_.inc();
    return;
  }
  const Ipv6Addr addr = wire::address_from_prefix(pi.prefix, stack_.config().netif.mac);
  Ipv6LocalAddr* l = stack_.ipv6().find_local(addr);
  if (l == nullptr) {
    // d) a new prefix with a nonzero valid lifetime forms an address, which
    // DAD checks (§5.4) before it is used.
    if (pi.valid_lifetime == 0) {
      ignored_.inc();
      return;
    }
    Ipv6LocalAddr a;
    a.addr = addr;
    a.prefix_len = kPrefixLen;
    a.state = stack_.config().ipv6.dad_transmits == 0 ? Ipv6AddrState::kPreferred
                                                      : Ipv6AddrState::kTentative;
    a.preferred_until = lifetime_end(now, pi.preferred_lifetime);
    a.valid_until = lifetime_end(now, pi.valid_lifetime);
    if (!stack_.ipv6().add_autoconf(a)) {
      full_.inc();
      return;
    }
    formed_.inc();
    stack_.nd().mld().update(now);  // its group joined before DAD probes it
    stack_.nd().dad().start(now);
    return expire(now);
  }
  if (!l->autoconf) {  // configured by hand: it keeps its own (infinite) lifetimes
    ignored_.inc();
    return;
  }
  // e) the preferred lifetime is reset to the advertised one (a deprecated
  // address becomes preferred again), the valid lifetime by the two-hour
  // rule: an advertisement may lengthen it, or cut it to no less than two
  // hours, but never shorten one that has two hours or less left.
  refreshed_.inc();
  l->preferred_until = lifetime_end(now, pi.preferred_lifetime);
  if (l->state == Ipv6AddrState::kDeprecated && l->preferred_until > now)
    l->state = Ipv6AddrState::kPreferred;
  const Instant advertised = lifetime_end(now, pi.valid_lifetime);
  if (advertised > now + kTwoHours || advertised > l->valid_until) {
    l->valid_until = advertised;  // e) 1.
  } else if (l->valid_until <= now + kTwoHours) {
    // e) 2.: "ignore the Prefix Information option with regards to the
    // valid lifetime".
  } else {
    l->valid_until = now + kTwoHours;  // e) 3.
  }
  expire(now);
}

void Slaac::expire(Instant now) {
  std::vector<Ipv6LocalAddr>& addrs = stack_.ipv6().addrs();
  for (std::size_t i = 0; i < addrs.size();) {
    Ipv6LocalAddr& l = addrs[i];
    if (l.autoconf && l.valid_until <= now) {
      // §5.5.4: "An address (and its association with an interface) becomes
      // invalid when its valid lifetime expires."
      expired_.inc();
      const Ipv6Addr gone = l.addr;  // `l` is an element of what remove() rearranges
      stack_.ipv6().remove(gone);
      stack_.nd().mld().update(now);
      continue;
    }
    if (l.autoconf && l.state == Ipv6AddrState::kPreferred && l.preferred_until <= now) {
      l.state = Ipv6AddrState::kDeprecated;  // §5.5.4
      deprecated_.inc();
    }
    ++i;
  }
  rearm(now);
}

void Slaac::rearm(Instant now) {
  Instant next = kForever;
  for (const Ipv6LocalAddr& l : stack_.ipv6().addrs()) {
    if (!l.autoconf) continue;
    next = std::min(next, l.valid_until);
    // A tentative address whose preferred lifetime ended is deprecated by
    // DAD when it completes (Dad::step).
    if (l.state == Ipv6AddrState::kPreferred ||
        (l.state == Ipv6AddrState::kTentative && l.preferred_until > now))
      next = std::min(next, l.preferred_until);
  }
  if (next == kForever) {
    stack_.timers().cancel(timer_);
  } else {
    stack_.timers().arm(timer_, next);
  }
}

void Slaac::on_timer(Timer&, void* arg) {
  auto& s = *static_cast<Slaac*>(arg);
  s.expire(s.stack_.timers().current());
}

}  // namespace ustack
