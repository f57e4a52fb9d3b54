// The per-core ARP cache (RFC 826, with RFC 1122 §2.3.2's rules).
//
// Entries live in a fixed array found through a hash index of chains
// (proto/cache_table.h, shared with the IPv6 neighbor cache): no
// allocation after construction, O(1) lookup, bounded size. A packet for an
// unresolved next hop waits (linked through Mbuf::udata64, at most
// max_pending packets and max_pending_bytes per entry) while requests go out `retries` times,
// `retry_interval` apart; when the answer comes the packets leave in order,
// when it does not they are freed and counted (RFC 1122 §2.3.2.2 asks for a
// small queue; §2.3.2.1 for flooding prevention: one request per interval).
//
// A confirmed entry is trusted for `reachable_time`; after that it is stale:
// still used, but the next use re-confirms it with a request, and if that
// goes unanswered the entry is removed (RFC 1122 §2.3.2.1, "unicast poll"
// done as a broadcast request).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/counters.h"
#include "core/instant.h"
#include "core/mac_addr.h"
#include "core/mbuf.h"
#include "core/timer_wheel.h"
#include "proto/cache_table.h"
#include "proto/ip_addr.h"

namespace ustack {

struct ArpConfig {
  std::uint32_t max_entries = 1024;
  // Packets waiting per unresolved entry, by count and by bytes (Linux:
  // unres_qlen_bytes 212992, enough for a 64 KiB datagram in fragments).
  std::uint32_t max_pending = 128;
  std::uint32_t max_pending_bytes = 212992;
  std::uint32_t retries = 3;  // requests sent before giving up
  Duration retry_interval = std::chrono::seconds(1);
  Duration reachable_time = std::chrono::seconds(30);
  // Answer requests for our addresses. Off on all cores but one of a
  // multi-core host, which learn from the copies that core hands them
  // (Stack::set_core_links): one reply per request.
  bool reply_requests = true;
};

// What the cache needs from the stack around it.
class ArpIo {
 public:
  virtual ~ArpIo() = default;
  // Broadcast "who has `target`?".
  virtual void arp_send_request(Ipv4Addr target) = 0;
  // Transmit a frame that waited for resolution; its destination MAC is set.
  virtual void arp_transmit(Mbuf* frame) = 0;
};

class ArpCache {
 public:
  ArpCache(const ArpConfig& cfg, TimerWheel& timers, CounterSet& counters, ArpIo& io);
  ~ArpCache();
  ArpCache(const ArpCache&) = delete;
  ArpCache& operator=(const ArpCache&) = delete;

  enum class Resolve { kSent, kQueued, kDropped };
  // Sends `frame` (an Ethernet frame whose destination MAC is to be filled
  // in) to `next_hop`: at once through arp_transmit when the address is
  // known, else after resolution. Takes ownership in every case.
  Resolve resolve(Ipv4Addr next_hop, Mbuf* frame, Instant now);

  // The known MAC of `ip`, or nullptr (no side effects: for tests and tools).
  const MacAddr* peek(Ipv4Addr ip) const;

  // Applies RFC 826's merge rule to an ARP packet from (sender_ip,
  // sender_mac). `for_us`: its target address is ours. `is_reply`: opcode 2.
  // Creates an entry only for a request addressed to us; a reply we never
  // asked for teaches nothing unless the entry exists.
  void learn(Ipv4Addr sender_ip, const MacAddr& sender_mac, bool for_us, bool is_reply,
             Instant now);

  // Adds or overwrites a permanent entry (configuration; never expires).
  bool add_static(Ipv4Addr ip, const MacAddr& mac);
  // Forgets everything, freeing waiting packets.
  void clear();

  std::size_t size() const { return table_.used(); }
  std::size_t pending_packets() const { return pending_total_; }

 private:
  enum class State : std::uint8_t { kFree, kIncomplete, kReachable, kStale, kProbe, kStatic };
  struct Entry;
  // Fibonacci hashing of the address.
  struct Hash {
    std::size_t operator()(Ipv4Addr ip) const {
      return static_cast<std::size_t>((std::uint64_t{ip.to_u32()} * 0x9e3779b97f4a7c15ull) >> 20);
    }
  };

  Entry* find(Ipv4Addr ip) const;
  Entry* insert(Ipv4Addr ip, Instant now);
  void remove(Entry& e);
  void send_request(Entry& e, Instant now);
  void confirm(Entry& e, const MacAddr& mac, Instant now);
  void flush_pending(Entry& e);
  void drop_pending(Entry& e);
  static void on_timer(Timer& t, void* arg);

  ArpConfig cfg_;
  TimerWheel& timers_;
  ArpIo& io_;
  CacheTable<Entry, Ipv4Addr, Hash> table_;
  std::size_t pending_total_ = 0;

  Counter& c_learned_;
  Counter& c_updated_;
  Counter& c_unsolicited_;
  Counter& c_requests_;
  Counter& c_queued_;
  Counter& c_queue_full_;
  Counter& c_failed_;
  Counter& c_failed_pkts_;
};

}  // namespace ustack
