// Duplicate address detection (RFC 4862 §5.4) for the interface's IPv6
// addresses: each starts tentative; DupAddrDetectTransmits solicitations
// go out RetransTimer apart, and an address nobody else claims within
// RetransTimer of the last becomes preferred. A solicitation for it from
// another node's DAD (§5.4.3) or an advertisement for it (§5.4.4) while it
// is tentative marks it duplicate: never used, counted. One timer serves
// every address.
//
// Left out: the random delay before the first solicitation (§5.4.2, a
// SHOULD for interfaces coming up together).
#pragma once

#include "core/counters.h"
#include "core/instant.h"
#include "core/timer_wheel.h"
#include "proto/ip_addr.h"

namespace ustack {

class Stack;

class Dad {
 public:
  explicit Dad(Stack& stack);
  Dad(const Dad&) = delete;
  Dad& operator=(const Dad&) = delete;

  // Sends the first probe of every tentative address that has none yet
  // (at start, and for each address added later).
  void start(Instant now);
  // Another node probes or claims `addr`. True when it was ours and
  // tentative (it is now duplicate).
  bool conflict(const Ipv6Addr& addr);
  // True while an address is tentative.
  bool running() const;

 private:
  static void on_timer(Timer& t, void* arg);
  void step(Instant now);

  Stack& stack_;
  Timer timer_;
  Counter& c_probes_;
  Counter& c_assigned_;
  Counter& c_duplicate_;
};

}  // namespace ustack
