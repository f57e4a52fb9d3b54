// memlink: two ports joined in memory. A frame transmitted on one end
// arrives on the other as the same Mbuf: no copy. Without RSS (the default)
// a frame sent on queue q arrives on queue q of the other end. With RSS on
// for a receiving end, a frame sent on any queue arrives on the queue a NIC
// would pick for it (Toeplitz hash and redirection table, rss_steer.h),
// carrying rss_hash and ol::kRxRssHash. Each direction applies its own
// FaultConfig, per receive queue, after steering. Time (delay, rate limit,
// reorder hold) comes from the Clock given at creation, so tests drive it
// with a VirtualClock.
//
// Threads: queue q of each end may be used by one thread for transmit and one
// for receive (typically the worker owning it). Each (transmit queue, receive
// queue) pair of a direction has its own SPSC ring (only the pairs (q, q)
// without RSS); a receive queue polls its rings round robin. Frames freed by
// the receiver return to the sender's pool through that pool's remote ring.
// A full ring makes tx_burst free and count the frames that do not fit;
// with RSS those need not be the last ones of the burst.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/mbuf_pool.h"
#include "core/port.h"
#include "drivers/memlink/fault_model.h"
#include "drivers/memlink/rss_steer.h"

namespace ustack {

struct MemlinkConfig {
  std::string name = "memlink";
  std::uint16_t queues = 1;
  // Frames in flight per ring: per queue and direction, or with RSS per
  // (transmit queue, receive queue) pair, so queues^2 rings of 16 B a slot.
  std::uint32_t ring_size = 4096;
  std::uint32_t mtu = 1500;  // frames above mtu + 18 (Ethernet + VLAN) are dropped
  MacAddr mac_a = MacAddr::local_from(0xa);
  MacAddr mac_b = MacAddr::local_from(0xb);
  FaultConfig a_to_b;
  FaultConfig b_to_a;
  // Receive side scaling of each receiving end (off: queue q -> queue q).
  RssSteerConfig rss_into_a;
  RssSteerConfig rss_into_b;
};

class Memlink {
 public:
  // `clock` must outlive the link. Pools for duplicated or corrupted copies
  // are needed only when those faults are configured: set_rx_pool().
  static std::unique_ptr<Memlink> create(const MemlinkConfig& cfg, const Clock& clock,
                                         std::string* error);
  ~Memlink();
  Memlink(const Memlink&) = delete;
  Memlink& operator=(const Memlink&) = delete;

  Port& a();
  Port& b();
  // The pool the receiving side of `end` (0 = A, 1 = B) takes copies from
  // when duplicating or corrupting a shared frame.
  void set_rx_pool(int end, MbufPool* pool);
  // Statistics of the direction towards `end` (0 = into A, 1 = into B).
  LinkStatsSnapshot stats_into(int end) const;
  // Changes the faults of the direction into `end` (setup only, no traffic).
  void set_faults_into(int end, const FaultConfig& faults);
  // The earliest instant at which rx_burst() on `end` may hand out a frame
  // (a frame already due: the past; nothing in flight or held:
  // Instant::max()). Lets a driver on a virtual clock skip idle time. Call
  // from the thread receiving on `end`.
  Instant next_arrival_into(int end) const;

  struct Direction;

 private:
  Memlink() = default;
  class EndPort;
  std::unique_ptr<Direction> dir_[2];  // dir_[e]: frames travelling into end e
  std::unique_ptr<EndPort> end_[2];
};

}  // namespace ustack
