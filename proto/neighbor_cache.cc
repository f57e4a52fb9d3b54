#include "proto/neighbor_cache.h"

#include "proto/pending_frames.h"

namespace ustack {

struct NeighborCache::Entry {
  Ipv6Addr ip;
  MacAddr mac;
  State state = State::kFree;
  std::uint8_t tries = 0;
  std::int32_t next = -1;  // the bucket's chain
  Instant reachable_until{};
  PendingFrames pending;
  Timer timer;
  NeighborCache* cache = nullptr;
};

NeighborCache::NeighborCache(const NeighborConfig& cfg, TimerWheel& timers, CounterSet& counters,
                             NeighborIo& io, std::uint64_t seed)
    : cfg_(cfg),
      timers_(timers),
      io_(io),
      rng_(seed ^ 0x6e64),
      table_(cfg.max_entries, Hash{rng_.next() | 1}, counters.get("nd.evicted"),
             counters.get("nd.drop.table_full")),
      c_learned_(counters.get("nd.learned")),
      c_solicits_(counters.get("nd.tx.solicit")),
      c_queued_(counters.get("nd.queued")),
      c_queue_full_(counters.get("nd.drop.queue_full")),
      c_failed_(counters.get("nd.resolve_failed")),
      c_failed_pkts_(counters.get("nd.drop.unresolved")),
      c_advert_unknown_(counters.get("nd.drop.advert_no_entry")),
      c_advert_ignored_(counters.get("nd.advert_ignored")),
      c_probe_failed_(counters.get("nd.probe_failed")) {
  for (std::uint32_t i = 0; i < cfg.max_entries; ++i) {
    Entry& e = table_.slab()[static_cast<std::int32_t>(i)];
    e.cache = this;
    e.timer.set_callback(&NeighborCache::on_timer, &e);
  }
}

NeighborCache::~NeighborCache() {
  clear();
}

NeighborCache::Entry* NeighborCache::find(const Ipv6Addr& ip) const {
  return table_.find(ip);
}

NeighborCache::Entry* NeighborCache::insert(const Ipv6Addr& ip, Instant now) {
  // A full table gives up the first entry the clock hand finds that is not
  // resolving (those hold packets and a solicitation in flight).
  Entry* e = table_.insert(
      ip, [](const Entry& x) { return x.state != State::kFree && x.state != State::kIncomplete; },
      [this](Entry& victim) { remove(victim); });
  if (e == nullptr) return nullptr;
  e->mac = MacAddr{};
  e->state = State::kIncomplete;
  e->tries = 0;
  e->reachable_until = now;
  e->pending = PendingFrames{};
  return e;
}

void NeighborCache::remove(Entry& e) {
  release_pending(e, /*send=*/false);
  timers_.cancel(e.timer);
  e.state = State::kFree;
  table_.remove(e);
}

void NeighborCache::solicit(Entry& e, Instant now) {
  ++e.tries;
  c_solicits_.inc();
  io_.nd_send_solicit(e.ip, e.state == State::kProbe ? &e.mac : nullptr);
  timers_.arm(e.timer, now + cfg_.retrans_timer);
}

void NeighborCache::set_reachable(Entry& e, Instant now) {
  e.state = State::kReachable;
  e.tries = 0;
  // RFC 4861 §6.3.2: a random ReachableTime in [0.5, 1.5) x the base.
  const auto base = cfg_.base_reachable_time.count();
  e.reachable_until =
      now + Duration(base / 2 +
                     static_cast<Duration::rep>(rng_.below(static_cast<std::uint64_t>(base) + 1)));
  timers_.cancel(e.timer);
}

void NeighborCache::set_stale(Entry& e) {
  e.state = State::kStale;
  e.tries = 0;
  timers_.cancel(e.timer);
}

void NeighborCache::release_pending(Entry& e, bool send) {
  pending_total_ -= e.pending.count;
  if (send) return e.pending.send_all(e.mac, [this](Mbuf* m) { io_.nd_transmit(m); });
  if (e.pending.count > 0) c_failed_pkts_.inc(e.pending.count);
  e.pending.free_all();
}

bool NeighborCache::enqueue(Entry& e, Mbuf* frame) {
  if (!e.pending.push(frame, cfg_.max_pending, cfg_.max_pending_bytes)) {
    c_queue_full_.inc();
    mbuf_free(frame);
    return false;
  }
  ++pending_total_;
  c_queued_.inc();
  return true;
}

void NeighborCache::on_timer(Timer&, void* arg) {
  Entry& e = *static_cast<Entry*>(arg);
  NeighborCache& c = *e.cache;
  const Instant now = c.timers_.current();
  switch (e.state) {
    case State::kIncomplete:
      if (e.tries < c.cfg_.max_multicast_solicit) return c.solicit(e, now);
      // RFC 4861 §7.2.2: resolution failed; the waiting packets go (an
      // address unreachable error to their senders is for forwarding nodes).
      c.c_failed_.inc();
      return c.remove(e);
    case State::kDelay:
      // §7.3.3: no confirmation within DELAY_FIRST_PROBE_TIME: probe.
      e.state = State::kProbe;
      e.tries = 0;
      return c.solicit(e, now);
    case State::kProbe:
      if (e.tries < c.cfg_.max_unicast_solicit) return c.solicit(e, now);
      // §7.3.3: "If no response is received after waiting RetransTimer
      // milliseconds after sending the MAX_UNICAST_SOLICIT solicitations,
      // ... the entry SHOULD be deleted."
      c.c_probe_failed_.inc();
      return c.remove(e);
    default:
      return;
  }
}

NeighborCache::Resolve NeighborCache::resolve(const Ipv6Addr& ip, Mbuf* frame, Instant now) {
  Entry* e = find(ip);
  if (e == nullptr) {
    // §7.2.2: create an INCOMPLETE entry, queue, and solicit.
    e = insert(ip, now);
    if (e == nullptr) {
      mbuf_free(frame);
      return Resolve::kDropped;
    }
    enqueue(*e, frame);
    solicit(*e, now);
    return Resolve::kQueued;
  }
  if (e->state == State::kIncomplete)
    return enqueue(*e, frame) ? Resolve::kQueued : Resolve::kDropped;
  if (e->state == State::kReachable && now >= e->reachable_until) e->state = State::kStale;
  if (e->state == State::kStale) {
    // §7.3.3: "The first time a node sends a packet to a neighbor whose
    // entry is STALE, the sender changes the state to DELAY".
    e->state = State::kDelay;
    timers_.arm(e->timer, now + cfg_.delay_first_probe_time);
  }
  wire::store_mac(frame->data(), e->mac);
  io_.nd_transmit(frame);
  return Resolve::kSent;
}

void NeighborCache::on_advert(const NeighborAdvert& na, Instant now) {
  Entry* e = find(na.target);
  if (e == nullptr) {
    // §7.2.5: "If no entry exists, the advertisement SHOULD be silently
    // discarded" -- so nobody fills the cache with unasked-for adverts.
    c_advert_unknown_.inc();
    return;
  }
  if (e->state == State::kIncomplete) {
    if (na.target_mac == nullptr) {
      c_advert_ignored_.inc();  // nothing to learn
      return;
    }
    e->mac = *na.target_mac;
    if (na.solicited) {
      set_reachable(*e, now);
    } else {
      set_stale(*e);
    }
    c_learned_.inc();
    const bool had_packets = e->pending.count > 0;
    release_pending(*e, /*send=*/true);
    if (had_packets && e->state == State::kStale) {
      e->state = State::kDelay;  // packets just went to a STALE entry
      timers_.arm(e->timer, now + cfg_.delay_first_probe_time);
    }
    return;
  }
  const bool differs = na.target_mac != nullptr && *na.target_mac != e->mac;
  if (!na.override_flag && differs) {
    // §7.2.5: Override clear and a different address: a REACHABLE entry
    // turns STALE, keeping the old address; otherwise ignored.
    if (e->state == State::kReachable) set_stale(*e);
    c_advert_ignored_.inc();
    return;
  }
  if (differs) e->mac = *na.target_mac;
  if (na.solicited) {
    set_reachable(*e, now);
  } else if (differs) {
    set_stale(*e);
  }
}

void NeighborCache::on_source_link_addr(const Ipv6Addr& ip, const MacAddr& mac, Instant now) {
  Entry* e = find(ip);
  if (e == nullptr) {
    // §7.2.3: "If an entry does not already exist, the node SHOULD create
    // a new one and set its reachability state to STALE".
    e = insert(ip, now);
    if (e == nullptr) return;
    e->mac = mac;
    set_stale(*e);
    c_learned_.inc();
    return;
  }
  if (e->state == State::kIncomplete) {
    e->mac = mac;
    set_stale(*e);
    c_learned_.inc();
    const bool had_packets = e->pending.count > 0;
    release_pending(*e, /*send=*/true);
    if (had_packets) {
      e->state = State::kDelay;
      timers_.arm(e->timer, now + cfg_.delay_first_probe_time);
    }
    return;
  }
  // "If an entry already exists and the cached link-layer address differs
  // ... replaced ... and the entry's reachability state MUST be set to STALE."
  if (e->mac != mac) {
    e->mac = mac;
    set_stale(*e);
  }
}

void NeighborCache::confirm_reachable(const Ipv6Addr& ip, Instant now) {
  Entry* e = find(ip);
  if (e != nullptr && e->state != State::kIncomplete) set_reachable(*e, now);
}

NeighborCache::State NeighborCache::state(const Ipv6Addr& ip, Instant now) const {
  const Entry* e = find(ip);
  if (e == nullptr) return State::kFree;
  if (e->state == State::kReachable && now >= e->reachable_until) return State::kStale;
  return e->state;
}

const MacAddr* NeighborCache::peek(const Ipv6Addr& ip) const {
  const Entry* e = find(ip);
  return e != nullptr && e->state != State::kIncomplete ? &e->mac : nullptr;
}

void NeighborCache::clear() {
  for (std::uint32_t i = 0; i < cfg_.max_entries; ++i) {
    Entry& e = table_.slab()[static_cast<std::int32_t>(i)];
    if (e.state != State::kFree) remove(e);
  }
}

}  // namespace ustack
