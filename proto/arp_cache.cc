#include "proto/arp_cache.h"

#include "proto/pending_frames.h"
#include "proto/wire/ethernet.h"

namespace ustack {

struct ArpCache::Entry {
  Ipv4Addr ip;
  MacAddr mac;
  State state = State::kFree;
  std::uint8_t tries = 0;
  std::int32_t next = -1;  // the bucket's chain
  Instant confirmed{};
  PendingFrames pending;
  Timer timer;
  ArpCache* cache = nullptr;
};

ArpCache::ArpCache(const ArpConfig& cfg, TimerWheel& timers, CounterSet& counters, ArpIo& io)
    : cfg_(cfg),
      timers_(timers),
      io_(io),
      table_(cfg.max_entries, Hash{}, counters.get("arp.evicted"),
             counters.get("arp.drop.table_full")),
      c_learned_(counters.get("arp.learned")),
      c_updated_(counters.get("arp.updated")),
      c_unsolicited_(counters.get("arp.drop.unsolicited_reply")),
      c_requests_(counters.get("arp.tx.request")),
      c_queued_(counters.get("arp.queued")),
      c_queue_full_(counters.get("arp.drop.queue_full")),
      c_failed_(counters.get("arp.resolve_failed")),
      c_failed_pkts_(counters.get("arp.drop.unresolved")) {
  for (std::uint32_t i = 0; i < cfg.max_entries; ++i) {
    Entry& e = table_.slab()[static_cast<std::int32_t>(i)];
    e.cache = this;
    e.timer.set_callback(&ArpCache::on_timer, &e);
  }
}

ArpCache::~ArpCache() {
  clear();
}

ArpCache::Entry* ArpCache::find(Ipv4Addr ip) const {
  return table_.find(ip);
}

ArpCache::Entry* ArpCache::insert(Ipv4Addr ip, Instant now) {
  // A full table gives up the first entry the clock hand finds that is not
  // resolving (those hold packets and a request in flight) and not static.
  Entry* e = table_.insert(
      ip,
      [](const Entry& x) {
        return x.state == State::kReachable || x.state == State::kStale || x.state == State::kProbe;
      },
      [this](Entry& victim) { remove(victim); });
  if (e == nullptr) return nullptr;
  e->mac = MacAddr{};
  e->state = State::kIncomplete;
  e->tries = 0;
  e->confirmed = now;
  e->pending = PendingFrames{};
  return e;
}

void ArpCache::remove(Entry& e) {
  drop_pending(e);
  timers_.cancel(e.timer);
  e.state = State::kFree;
  table_.remove(e);
}

void ArpCache::send_request(Entry& e, Instant now) {
  ++e.tries;
  c_requests_.inc();
  io_.arp_send_request(e.ip);
  timers_.arm(e.timer, now + cfg_.retry_interval);
}

void ArpCache::confirm(Entry& e, const MacAddr& mac, Instant now) {
  if (e.state == State::kStatic) return;
  e.mac = mac;
  e.confirmed = now;
  e.tries = 0;
  e.state = State::kReachable;
  timers_.cancel(e.timer);
  flush_pending(e);
}

void ArpCache::flush_pending(Entry& e) {
  pending_total_ -= e.pending.count;
  e.pending.send_all(e.mac, [this](Mbuf* m) { io_.arp_transmit(m); });
}

void ArpCache::drop_pending(Entry& e) {
  if (e.pending.count > 0) c_failed_pkts_.inc(e.pending.count);
  pending_total_ -= e.pending.count;
  e.pending.free_all();
}

void ArpCache::on_timer(Timer&, void* arg) {
  Entry& e = *static_cast<Entry*>(arg);
  ArpCache& c = *e.cache;
  const Instant now = c.timers_.current();
  if (e.tries < c.cfg_.retries) {
    c.send_request(e, now);
    return;
  }
  // RFC 1122 §2.3.2.1: give up; waiting packets are dropped and counted.
  c.c_failed_.inc();
  c.remove(e);
}

ArpCache::Resolve ArpCache::resolve(Ipv4Addr next_hop, Mbuf* frame, Instant now) {
  Entry* e = find(next_hop);
  if (e != nullptr && e->state != State::kIncomplete) {
    if (e->state == State::kReachable && now - e->confirmed >= cfg_.reachable_time)
      e->state = State::kStale;
    if (e->state == State::kStale) {
      // Use the old address, and ask again (once; retries on the timer).
      e->state = State::kProbe;
      e->tries = 0;
      send_request(*e, now);
    }
    wire::store_mac(frame->data(), e->mac);
    io_.arp_transmit(frame);
    return Resolve::kSent;
  }
  if (e == nullptr) {
    e = insert(next_hop, now);
    if (e == nullptr) {
      mbuf_free(frame);
      return Resolve::kDropped;
    }
    send_request(*e, now);
  }
  if (!e->pending.push(frame, cfg_.max_pending, cfg_.max_pending_bytes)) {
    c_queue_full_.inc();
    mbuf_free(frame);
    return Resolve::kDropped;
  }
  ++pending_total_;
  c_queued_.inc();
  return Resolve::kQueued;
}

const MacAddr* ArpCache::peek(Ipv4Addr ip) const {
  const Entry* e = find(ip);
  return e != nullptr && e->state != State::kIncomplete ? &e->mac : nullptr;
}

void ArpCache::learn(Ipv4Addr sender_ip, const MacAddr& sender_mac, bool for_us, bool is_reply,
                     Instant now) {
  // RFC 826: "If the pair <protocol type, sender protocol address> is already
  // in my translation table, update the sender hardware address field".
  if (Entry* e = find(sender_ip)) {
    if (e->state != State::kStatic) {
      c_updated_.inc();
      confirm(*e, sender_mac, now);
    }
    return;
  }
  // "?Am I the target protocol address? Yes: If Merge_flag is false, add the
  // triplet". Only for requests: a reply we never asked for (no entry) is
  // not learned, so nobody can fill the cache with unsolicited replies.
  if (!for_us) return;
  if (is_reply) {
    c_unsolicited_.inc();
    return;
  }
  Entry* e = insert(sender_ip, now);
  if (e == nullptr) return;
  c_learned_.inc();
  confirm(*e, sender_mac, now);
}

bool ArpCache::add_static(Ipv4Addr ip, const MacAddr& mac) {
  Entry* e = find(ip);
  if (e == nullptr) e = insert(ip, Instant{});
  if (e == nullptr) return false;
  e->mac = mac;
  e->state = State::kStatic;
  timers_.cancel(e->timer);
  flush_pending(*e);
  return true;
}

void ArpCache::clear() {
  for (std::uint32_t i = 0; i < cfg_.max_entries; ++i) {
    Entry& e = table_.slab()[static_cast<std::int32_t>(i)];
    if (e.state != State::kFree) remove(e);
  }
}

}  // namespace ustack
