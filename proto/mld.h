// Multicast Listener Discovery version 2 for a host (RFC 3810 §6) for the
// groups the stack listens to: the solicited-node group of each of its
// addresses (RFC 4861 §7.2.1; all-nodes is never reported, §6). Joining
// or leaving sends a State Change Report at once and once more after a
// random delay up to the Unsolicited Report Interval (the Robustness
// Variable is 2, §9.1, §9.11); a Query (checked as §6.2 says: link-local
// source, hop limit 1, Router Alert) is answered with a Current State
// Report after a random delay up to its Maximum Response Delay (§6.2's
// rules 1-3 for merging pending responses). Every report goes to ff02::16
// from the link-local address, or from :: while DAD runs on it (§5.2.13),
// with hop limit 1 and a Router Alert (§5). The group set is a fixed
// array of kMaxGroups; groups past it are counted and not reported.
//
// Left out: falling back to MLDv1 reports when a router queries in MLDv1
// (§8.2.1): a v1 query is answered with a v2 report.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/counters.h"
#include "core/instant.h"
#include "core/mbuf.h"
#include "core/random.h"
#include "core/timer_wheel.h"
#include "proto/ip_addr.h"

namespace ustack {

class Stack;
struct Ipv6Meta;

class Mld {
 public:
  static constexpr std::size_t kMaxGroups = 16;

  explicit Mld(Stack& stack);
  Mld(const Mld&) = delete;
  Mld& operator=(const Mld&) = delete;

  // The interface's addresses changed (or the stack starts): reports for
  // the groups joined and left since the last call (§6.1).
  void update(Instant now);
  // A Multicast Listener Query (data at the ICMPv6 header, checksum
  // verified); takes ownership.
  void query(Mbuf* m, const Ipv6Meta& meta);
  std::span<const Ipv6Addr> groups() const { return {joined_.data(), joined_n_}; }

 private:
  using Groups = std::array<Ipv6Addr, kMaxGroups>;
  std::size_t current(Groups& out);
  bool joined(const Ipv6Addr& g) const;
  void send_report(std::uint8_t record_type, std::span<const Ipv6Addr> groups);
  void respond();
  void retransmit();
  static void on_response(Timer& t, void* arg);
  static void on_change(Timer& t, void* arg);

  Stack& stack_;
  Rng rng_;
  Groups joined_{};
  std::size_t joined_n_ = 0;
  // State changes to send once more (§6.1).
  Groups pending_join_{};
  std::size_t pending_join_n_ = 0;
  Groups pending_leave_{};
  std::size_t pending_leave_n_ = 0;
  Timer change_timer_;
  // Query responses due (§6.2): all groups, or those listed.
  bool respond_all_ = false;
  Groups respond_{};
  std::size_t respond_n_ = 0;
  Instant respond_at_{};
  Timer response_timer_;

  Counter& rx_query_;
  Counter& tx_report_;
  Counter& drop_source_;
  Counter& drop_hop_limit_;
  Counter& drop_router_alert_;
  Counter& drop_malformed_;
  Counter& query_not_member_;
  Counter& groups_over_;
  Counter& drop_no_mbuf_;
};

}  // namespace ustack
