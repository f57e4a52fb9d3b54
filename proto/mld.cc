#include "proto/mld.h"

#include <algorithm>

#include "proto/stack.h"
#include "proto/wire/ipv6_ethernet.h"
#include "proto/wire/ipv6_ext.h"
#include "proto/wire/mld.h"

namespace ustack {
namespace {

// RFC 3810 §9.11: Unsolicited Report Interval, 1 second.
constexpr Duration kUnsolicitedReportInterval = std::chrono::seconds(1);

bool contains(std::span<const Ipv6Addr> set, const Ipv6Addr& g) {
  return std::find(set.begin(), set.end(), g) != set.end();
}

template <std::size_t N>
void add_unique(std::array<Ipv6Addr, N>& set, std::size_t& n, const Ipv6Addr& g) {
  if (n < N && !contains({set.data(), n}, g)) set[n++] = g;
}

template <std::size_t N>
void remove(std::array<Ipv6Addr, N>& set, std::size_t& n, const Ipv6Addr& g) {
  auto end = std::remove(set.begin(), set.begin() + static_cast<long>(n), g);
  n = static_cast<std::size_t>(end - set.begin());
}

}  // namespace

Mld::Mld(Stack& stack)
    : stack_(stack),
      rng_(stack.config().seed ^ 0x3810),
      rx_query_(stack.counters().get("mld.rx.query")),
      tx_report_(stack.counters().get("mld.tx.report")),
      drop_source_(stack.counters().get("mld.drop.source_not_link_local")),
      drop_hop_limit_(stack.counters().get("mld.drop.hop_limit")),
      drop_router_alert_(stack.counters().get("mld.drop.no_router_alert")),
      drop_malformed_(stack.counters().get("mld.drop.malformed")),
      query_not_member_(stack.counters().get("mld.rx.query_other_group")),
      groups_over_(stack.counters().get("mld.groups_over")),
      drop_no_mbuf_(stack.counters().get("mld.drop.no_mbuf")) {
  change_timer_.set_callback(&Mld::on_change, this);
  response_timer_.set_callback(&Mld::on_response, this);
}

std::size_t Mld::current(Groups& out) {
  std::size_t n = 0;
  for (const Ipv6LocalAddr& l : stack_.ipv6().addrs()) {
    if (l.state == Ipv6AddrState::kDuplicate) continue;
    const Ipv6Addr g = l.addr.solicited_node();
    if (contains({out.data(), n}, g)) continue;
    if (n == kMaxGroups) {
      groups_over_.inc();
      continue;
    }
    out[n++] = g;
  }
  return n;
}

bool Mld::joined(const Ipv6Addr& g) const {
  return contains(groups(), g);
}

void Mld::update(Instant now) {
  Groups cur{};
  const std::size_t cur_n = current(cur);
  const std::span<const Ipv6Addr> now_in{cur.data(), cur_n};
  Groups join{}, leave{};
  std::size_t join_n = 0, leave_n = 0;
  for (const Ipv6Addr& g : now_in)
    if (!joined(g)) join[join_n++] = g;
  for (const Ipv6Addr& g : groups())
    if (!contains(now_in, g)) leave[leave_n++] = g;
  joined_ = cur;
  joined_n_ = cur_n;
  if (join_n == 0 && leave_n == 0) return;
  // §6.1: a State Change Report at once: CHANGE_TO_EXCLUDE_MODE with no
  // sources to join (listen to every source), CHANGE_TO_INCLUDE_MODE with
  // none to leave.
  if (join_n != 0) send_report(wire::kMldChangeToExclude, {join.data(), join_n});
  if (leave_n != 0) send_report(wire::kMldChangeToInclude, {leave.data(), leave_n});
  // ... and [Robustness Variable] - 1 = once more, merged with what was
  // still to be repeated.
  for (std::size_t i = 0; i < join_n; ++i) {
    add_unique(pending_join_, pending_join_n_, join[i]);
    remove(pending_leave_, pending_leave_n_, join[i]);
  }
  for (std::size_t i = 0; i < leave_n; ++i) {
    add_unique(pending_leave_, pending_leave_n_, leave[i]);
    remove(pending_join_, pending_join_n_, leave[i]);
  }
  if (!change_timer_.armed()) {
    const auto max = static_cast<std::uint64_t>(kUnsolicitedReportInterval.count());
    stack_.timers().arm(change_timer_,
                        now + Duration(static_cast<Duration::rep>(rng_.below(max + 1))));
  }
}

void Mld::retransmit() {
  if (pending_join_n_ != 0)
    send_report(wire::kMldChangeToExclude, {pending_join_.data(), pending_join_n_});
  if (pending_leave_n_ != 0)
    send_report(wire::kMldChangeToInclude, {pending_leave_.data(), pending_leave_n_});
  pending_join_n_ = pending_leave_n_ = 0;
}

void Mld::query(Mbuf* m, const Ipv6Meta& meta) {
  rx_query_.inc();
  // §6.2: "the node checks if the source address of the message is a valid
  // link-local address, if the Hop Limit is set to 1, and if the Router
  // Alert option is present in the Hop-By-Hop Options header. If any of
  // these checks fails, the packet is dropped."
  Counter* bad = !meta.src.is_link_local() ? &drop_source_
                 : meta.hop_limit != 1     ? &drop_hop_limit_
                 : !meta.router_alert      ? &drop_router_alert_
                                           : nullptr;
  if (bad == nullptr && !mbuf_pullup(&m, m->pkt_len, stack_.pool())) bad = &drop_no_mbuf_;
  if (bad != nullptr) {
    bad->inc();
    return mbuf_free(m);
  }
  MbufPtr hold(m);
  const auto q = wire::MldQuery::parse(std::as_const(*m).span());
  if (!q) {
    drop_malformed_.inc();
    return;
  }
  if (!q->general() && !joined(q->group)) {
    query_not_member_.inc();
    return;
  }
  const Instant now = stack_.now();
  const auto max_ns = static_cast<std::uint64_t>(
      std::chrono::nanoseconds(std::chrono::milliseconds(q->max_resp_delay_ms())).count());
  const Instant due = now + Duration(static_cast<Duration::rep>(rng_.below(max_ns + 1)));
  const bool pending = response_timer_.armed();
  // §6.2 rule 1: a general response already due sooner covers this query;
  // rule 2: a general query (re)schedules the general response; rule 3: a
  // group query adds its group to what is due, at the sooner time.
  if (q->general()) {
    respond_all_ = true;
    respond_n_ = 0;
  } else if (pending && respond_all_) {
    return;
  } else {
    add_unique(respond_, respond_n_, q->group);
  }
  if (!pending || due < respond_at_) {
    respond_at_ = due;
    stack_.timers().arm(response_timer_, due);
  }
}

void Mld::respond() {
  // A Current State Report: MODE_IS_EXCLUDE with no sources for each group
  // asked about that we are still in.
  if (respond_all_) {
    if (joined_n_ != 0) send_report(wire::kMldModeIsExclude, groups());
  } else {
    Groups still{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < respond_n_; ++i)
      if (joined(respond_[i])) still[n++] = respond_[i];
    if (n != 0) send_report(wire::kMldModeIsExclude, {still.data(), n});
  }
  respond_all_ = false;
  respond_n_ = 0;
}

void Mld::send_report(std::uint8_t record_type, std::span<const Ipv6Addr> groups) {
  // §5.2.13: from the link-local address; from :: while DAD still runs on
  // it (RFC 4862 §5.4.2 joins the solicited-node group before probing).
  const Ipv6LocalAddr& ll = stack_.ipv6().addrs().front();
  const Ipv6Addr src = ll.assigned() ? ll.addr : Ipv6Addr::any();
  const Ipv6Addr dst = wire::kAllMldRouters;
  wire::MldReport r;
  r.record_type = record_type;
  r.groups = groups;
  Mbuf* m = stack_.pool().alloc();
  if (m == nullptr) {
    drop_no_mbuf_.inc();
    return;
  }
  const auto len = static_cast<std::uint16_t>(wire::kMldHopByHopLen + r.len());
  std::byte* p = m->append(len);
  wire::emit_mld_hop_by_hop(p, wire::kIpProtoIcmpv6);
  r.emit({p + wire::kMldHopByHopLen, r.len()}, src, dst);
  Ipv6TxOptions opts;
  opts.hop_limit = 1;  // §5: link-local only
  tx_report_.inc();
  stack_.ipv6().output_to(m, src, dst, wire::kIpProtoHopByHop, opts, wire::multicast_mac(dst));
}

void Mld::on_response(Timer&, void* arg) {
  static_cast<Mld*>(arg)->respond();
}

void Mld::on_change(Timer&, void* arg) {
  static_cast<Mld*>(arg)->retransmit();
}

}  // namespace ustack
