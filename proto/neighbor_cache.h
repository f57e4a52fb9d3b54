// The per-core IPv6 neighbor cache (RFC 4861 §5.1, §7.2, §7.3).
//
// Entries live in a fixed array reached through hash buckets chained by
// entry number: no allocation after construction, O(1) lookup, bounded
// size. Each entry is in one of RFC 4861 §7.3.2's states:
//
//   INCOMPLETE  resolution in progress: multicast solicitations every
//               retrans_timer, at most max_multicast_solicit, packets wait
//               (at most max_pending and max_pending_bytes; RFC 4861 §7.2.2
//               "SHOULD retain a small queue"); when none is answered the
//               entry goes and its packets are dropped and counted.
//   REACHABLE   confirmed within reachable_time; packets go at once.
//   STALE       not confirmed lately (or learned unasked, §7.2.3); still
//               used, and the first packet sent moves it to DELAY.
//   DELAY       waits delay_first_probe_time for an upper-layer
//               confirmation before probing (§7.3.3).
//   PROBE       unicast solicitations every retrans_timer, at most
//               max_unicast_solicit; unanswered, the entry goes.
//
// REACHABLE turns STALE lazily, when it is next used after reachable_time:
// the same outcome as a timer (§7.3.3) without one per entry. Time comes
// in as `now` (and from the timer wheel), so tests drive it on a virtual
// clock.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/counters.h"
#include "core/instant.h"
#include "core/mac_addr.h"
#include "core/mbuf.h"
#include "core/random.h"
#include "core/timer_wheel.h"
#include "proto/cache_table.h"
#include "proto/ip_addr.h"

namespace ustack {

struct NeighborConfig {
  std::uint32_t max_entries = 1024;
  std::uint32_t max_pending = 128;
  std::uint32_t max_pending_bytes = 212992;
  // RFC 4861 §10 protocol constants.
  std::uint32_t max_multicast_solicit = 3;
  std::uint32_t max_unicast_solicit = 3;
  Duration retrans_timer = std::chrono::seconds(1);
  Duration delay_first_probe_time = std::chrono::seconds(5);
  // BaseReachableTime; each entry's ReachableTime is drawn uniformly from
  // 0.5 to 1.5 times it (RFC 4861 §6.3.2, MIN/MAX_RANDOM_FACTOR).
  Duration base_reachable_time = std::chrono::seconds(30);
};

// What the cache needs from the stack around it.
class NeighborIo {
 public:
  virtual ~NeighborIo() = default;
  // A Neighbor Solicitation for `target`: to its solicited-node group when
  // `unicast` is nullptr (INCOMPLETE), else to that MAC (PROBE).
  virtual void nd_send_solicit(const Ipv6Addr& target, const MacAddr* unicast) = 0;
  // Transmit a frame whose destination MAC has been set.
  virtual void nd_transmit(Mbuf* frame) = 0;
};

// The flags and option of a received Neighbor Advertisement that §7.2.5
// decides on.
struct NeighborAdvert {
  Ipv6Addr target;
  const MacAddr* target_mac = nullptr;  // the Target Link-Layer Address option
  bool solicited = false;
  bool override_flag = false;
};

class NeighborCache {
 public:
  enum class State : std::uint8_t { kFree, kIncomplete, kReachable, kStale, kDelay, kProbe };

  NeighborCache(const NeighborConfig& cfg, TimerWheel& timers, CounterSet& counters, NeighborIo& io,
                std::uint64_t seed);
  ~NeighborCache();
  NeighborCache(const NeighborCache&) = delete;
  NeighborCache& operator=(const NeighborCache&) = delete;

  enum class Resolve { kSent, kQueued, kDropped };
  // Sends `frame` (an Ethernet frame whose destination MAC is to be filled
  // in) to the neighbor `ip`, at once or after resolution. Takes ownership.
  Resolve resolve(const Ipv6Addr& ip, Mbuf* frame, Instant now);

  // A Neighbor Advertisement arrived (RFC 4861 §7.2.5).
  void on_advert(const NeighborAdvert& na, Instant now);
  // A Neighbor Solicitation (or Router Solicitation/Advertisement, Redirect)
  // from `ip` carried its Source Link-Layer Address option (§7.2.3).
  void on_source_link_addr(const Ipv6Addr& ip, const MacAddr& mac, Instant now);
  // Reachability confirmed by an upper layer (§7.3.1), e.g. TCP progress.
  void confirm_reachable(const Ipv6Addr& ip, Instant now);

  // The state of `ip` at `now` (kFree: no entry) and its MAC (nullptr
  // when none).
  State state(const Ipv6Addr& ip, Instant now) const;
  const MacAddr* peek(const Ipv6Addr& ip) const;
  // Forgets everything, freeing waiting packets.
  void clear();

  std::size_t size() const { return table_.used(); }
  std::size_t pending_packets() const { return pending_total_; }

 private:
  struct Entry;
  // A keyed multiply-fold of the two halves: the key is random per cache,
  // so a peer cannot pick addresses that share a chain.
  struct Hash {
    std::uint64_t key;
    std::size_t operator()(const Ipv6Addr& ip) const {
      std::uint64_t w[2];
      std::memcpy(w, ip.b.data(), 16);
      const std::uint64_t h = (w[0] * key) ^ (w[1] * 0x9e3779b97f4a7c15ull + key);
      return static_cast<std::size_t>(h ^ (h >> 29) ^ (h >> 47));
    }
  };

  Entry* find(const Ipv6Addr& ip) const;
  Entry* insert(const Ipv6Addr& ip, Instant now);
  void remove(Entry& e);
  void solicit(Entry& e, Instant now);
  void set_reachable(Entry& e, Instant now);
  void set_stale(Entry& e);
  void release_pending(Entry& e, bool send);
  bool enqueue(Entry& e, Mbuf* frame);
  static void on_timer(Timer& t, void* arg);

  NeighborConfig cfg_;
  TimerWheel& timers_;
  NeighborIo& io_;
  Rng rng_;
  CacheTable<Entry, Ipv6Addr, Hash> table_;
  std::size_t pending_total_ = 0;

  Counter& c_learned_;
  Counter& c_solicits_;
  Counter& c_queued_;
  Counter& c_queue_full_;
  Counter& c_failed_;
  Counter& c_failed_pkts_;
  Counter& c_advert_unknown_;
  Counter& c_advert_ignored_;
  Counter& c_probe_failed_;
};

}  // namespace ustack
