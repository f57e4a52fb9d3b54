#include "proto/dad.h"

#include <algorithm>

#include "proto/stack.h"

namespace ustack {

Dad::Dad(Stack& stack)
    : stack_(stack),
      c_probes_(stack.counters().get("ipv6.dad.tx.solicit")),
      c_assigned_(stack.counters().get("ipv6.dad.assigned")),
      c_duplicate_(stack.counters().get("ipv6.dad.duplicate")) {
  timer_.set_callback(&Dad::on_timer, this);
}

void Dad::start(Instant now) {
  if (running()) step(now);
}

bool Dad::running() const {
  for (const Ipv6LocalAddr& l : stack_.ipv6().addrs())
    if (l.state == Ipv6AddrState::kTentative) return true;
  return false;
}

void Dad::on_timer(Timer&, void* arg) {
  Dad& d = *static_cast<Dad*>(arg);
  d.step(d.stack_.timers().current());
}

void Dad::step(Instant now) {
  // Each address keeps its own schedule (dad_next), so one added later
  // (stateless autoconfiguration) starts its probes without hurrying the
  // others'.
  const std::uint32_t transmits = stack_.config().ipv6.dad_transmits;
  Instant next = kForever;
  for (Ipv6LocalAddr& l : stack_.ipv6().addrs()) {
    if (l.state != Ipv6AddrState::kTentative) continue;
    if (l.dad_next > now) {
      next = std::min(next, l.dad_next);
    } else if (l.dad_sent < transmits) {
      ++l.dad_sent;
      c_probes_.inc();
      stack_.nd().send_dad_solicit(l.addr);
      l.dad_next = now + stack_.config().ipv6.neighbors.retrans_timer;
      next = std::min(next, l.dad_next);
    } else {
      // §5.4: no one answered within RetransTimer of the last probe. An
      // autoconfigured address whose preferred lifetime ran out meanwhile
      // is deprecated at once (§5.5.4).
      l.state = l.preferred_until <= now ? Ipv6AddrState::kDeprecated : Ipv6AddrState::kPreferred;
      c_assigned_.inc();
    }
  }
  if (next != kForever) stack_.timers().arm(timer_, next);
}

bool Dad::conflict(const Ipv6Addr& addr) {
  Ipv6LocalAddr* l = stack_.ipv6().find_local(addr);
  if (l == nullptr || l->state != Ipv6AddrState::kTentative) return false;
  // §5.4.5: "the address MUST NOT be assigned to the interface".
  l->state = Ipv6AddrState::kDuplicate;
  c_duplicate_.inc();
  stack_.nd().mld().update(stack_.now());  // its group is left
  return true;
}

}  // namespace ustack
