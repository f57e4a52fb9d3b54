#include "drivers/memlink/memlink.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <vector>

#include "core/random.h"
#include "core/ring.h"

namespace ustack {
namespace {

struct InFlight {
  Mbuf* m;
  std::int64_t arrive_ns;
  std::uint32_t len;  // the frame's length, as the sender saw it
};

constexpr std::uint32_t kOutbox = 512;     // plus room for every held frame
constexpr std::uint32_t kL2Overhead = 18;  // Ethernet header + one VLAN tag
constexpr std::uint16_t kMaxQueues = 64;
constexpr std::uint16_t kTxChunk = 64;  // frames handed to the rings at once

void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
std::uint64_t get(const std::atomic<std::uint64_t>& c) {
  return c.load(std::memory_order_relaxed);
}

bool chain_writable(const Mbuf* m) {
  for (; m != nullptr; m = m->next)
    if (!m->is_writable()) return false;
  return true;
}

void flip_bit(Mbuf* m, std::uint64_t bit) {
  std::uint64_t byte = bit / 8;
  for (; m != nullptr; m = m->next) {
    if (byte < m->data_len) {
      m->data()[byte] ^= std::byte(1u << (bit % 8));
      return;
    }
    byte -= m->data_len;
  }
}

// What one tx_burst handed to the rings and what it had to drop.
struct TxCount {
  std::uint16_t sent = 0;
  std::uint64_t bytes = 0;
  std::uint64_t dropped = 0;  // rings full

  // Reads the sender's copies only: once enqueued, a frame is the receiving
  // thread's (it may already be parsing it).
  void accept(const InFlight* f, std::uint16_t n) {
    for (std::uint16_t j = 0; j < n; ++j) bytes += f[j].len;
    sent = static_cast<std::uint16_t>(sent + n);
  }
  void refuse(const InFlight* f, std::uint16_t n) {
    for (std::uint16_t j = 0; j < n; ++j) mbuf_free(f[j].m);
    dropped += n;
  }
};

}  // namespace

// One direction of the link: the rings, the sender's lanes (rate limiting),
// the receiver's lanes (faults, reorder hold, outbox) and, with RSS, the
// steering that picks a frame's receive queue.
struct Memlink::Direction {
  struct TxLane {
    std::int64_t last_departure_ns = 0;
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> queue_dropped{0};
  };
  struct Held {
    Mbuf* m;
    std::uint32_t countdown;
    std::int64_t deadline_ns;
  };
  struct RxLane {
    Rng rng;
    bool bad_state = false;
    std::vector<Held> held;  // capacity: faults.reorder_max_held
    std::uint32_t nheld = 0;
    // Room for kOutbox frames plus, per arrival, itself, a duplicate and
    // every held frame it may release (out_reserve).
    std::vector<Mbuf*> outbox;
    std::uint32_t out_head = 0;  // next to hand out
    std::uint32_t out_len = 0;
    // The rings feeding this queue: (q, q) alone, or with RSS (t, q) for
    // every transmit queue t, polled round robin from next_source.
    std::vector<SpscRing<InFlight>*> sources;
    std::uint32_t next_source = 0;
    std::atomic<std::uint64_t> delivered{0}, lost{0}, duplicated{0}, corrupted{0}, reordered{0},
        mtu_dropped{0};
  };

  Direction(const FaultConfig& f, const RssSteerConfig& rss, std::uint16_t queues,
            std::uint32_t ring_size, std::uint32_t mtu, const Clock& c, int end)
      : faults(f),
        max_frame(mtu + kL2Overhead),
        clock(&c),
        nqueues(queues),
        rings(std::size_t{queues} * queues),
        tx(queues),
        rx(queues) {
    if (rss.enabled) steer = std::make_unique<RssSteer>(rss.key, queues);
    for (std::uint16_t r = 0; r < queues; ++r) {
      for (std::uint16_t t = 0; t < queues; ++t) {
        if (steer == nullptr && t != r) continue;
        auto& ring = rings[ring_index(t, r)];
        ring = std::make_unique<SpscRing<InFlight>>(ring_size);
        rx[r].sources.push_back(ring.get());
      }
      rx[r].rng.reseed(f.seed * 0x9e3779b97f4a7c15ull + static_cast<std::uint64_t>(end) * 1000 + r);
    }
    size_lanes();
  }

  std::size_t ring_index(std::uint16_t txq, std::uint16_t rxq) const {
    return std::size_t{txq} * nqueues + rxq;
  }
  SpscRing<InFlight>& ring(std::uint16_t txq, std::uint16_t rxq) {
    return *rings[ring_index(txq, rxq)];
  }

  // Held and outbox space for faults.reorder_max_held (no frame held).
  void size_lanes() {
    const std::uint32_t max_held = std::max<std::uint32_t>(faults.reorder_max_held, 1);
    out_reserve = 2 + max_held;
    for (auto& lane : rx) {
      lane.held.assign(max_held, Held{});
      lane.outbox.assign(kOutbox + out_reserve, nullptr);
      lane.out_head = 0;
    }
  }
  std::uint32_t outbox_size() const { return kOutbox + out_reserve; }

  ~Direction() {
    InFlight f{};
    for (auto& r : rings)
      if (r != nullptr)
        while (r->dequeue(f)) mbuf_free(f.m);
    for (auto& lane : rx) {
      for (std::uint32_t i = 0; i < lane.nheld; ++i) mbuf_free(lane.held[i].m);
      for (std::uint32_t i = 0; i < lane.out_len; ++i)
        mbuf_free(lane.outbox[(lane.out_head + i) % lane.outbox.size()]);
    }
  }

  bool timed() const { return faults.delay.count() > 0 || faults.rate_bps > 0; }

  // When a frame sent at `now` on `lane` arrives (delay, and serialization
  // behind the frames before it); false when the buffer in front of the
  // rate-limited wire is full.
  bool schedule(TxLane& lane, const Mbuf& m, std::int64_t now, std::int64_t* arrive) {
    std::int64_t depart = now;
    if (faults.rate_bps > 0) {
      const std::int64_t start = std::max(now, lane.last_departure_ns);
      const auto backlog_bytes = static_cast<std::uint64_t>(static_cast<uint128>(start - now) *
                                                            faults.rate_bps / 8'000'000'000u);
      if (backlog_bytes + m.pkt_len > faults.queue_bytes) return false;
      depart = start + static_cast<std::int64_t>(std::uint64_t{m.pkt_len} * 8'000'000'000u /
                                                 faults.rate_bps);
      lane.last_departure_ns = depart;
    }
    *arrive = depart + faults.delay.count();
    return true;
  }

  static void push_out(RxLane& lane, Mbuf* m) {
    lane.outbox[(lane.out_head + lane.out_len) % lane.outbox.size()] = m;
    ++lane.out_len;
  }

  void release_held(RxLane& lane, std::uint32_t i) {
    push_out(lane, lane.held[i].m);
    lane.held[i] = lane.held[--lane.nheld];
  }

  // Applies the fault model to one arriving frame.
  void arrive(RxLane& lane, Mbuf* m, std::int64_t now_ns) {
    if (m->pkt_len > max_frame) {
      add(lane.mtu_dropped);
      mbuf_free(m);
      return;
    }
    const FaultConfig& f = faults;
    if (f.burst_enter > 0) {
      if (lane.bad_state) {
        if (lane.rng.chance(f.burst_exit)) lane.bad_state = false;
      } else if (lane.rng.chance(f.burst_enter)) {
        lane.bad_state = true;
      }
    }
    if ((lane.bad_state && lane.rng.chance(f.burst_loss)) || lane.rng.chance(f.loss)) {
      add(lane.lost);
      mbuf_free(m);
      return;
    }
    if (lane.rng.chance(f.corrupt) && m->pkt_len > 0) {
      if (!chain_writable(m) && rx_pool != nullptr) {
        if (Mbuf* copy = mbuf_copy(m, *rx_pool)) {
          mbuf_free(m);
          m = copy;
        }
      }
      if (chain_writable(m)) {
        flip_bit(m, lane.rng.below(std::uint64_t{m->pkt_len} * 8));
        add(lane.corrupted);
      }
    }
    Mbuf* dup = nullptr;
    if (lane.rng.chance(f.duplicate) && rx_pool != nullptr) {
      dup = mbuf_clone(m, *rx_pool);
      if (dup != nullptr) add(lane.duplicated);
    }
    if (lane.nheld < lane.held.size() && lane.rng.chance(f.reorder)) {
      const std::uint32_t depth = std::max<std::uint32_t>(f.reorder_depth, 1);
      lane.held[lane.nheld++] = Held{m, 1 + static_cast<std::uint32_t>(lane.rng.below(depth)),
                                     now_ns + f.reorder_max_hold.count()};
      add(lane.reordered);
    } else {
      push_out(lane, m);
      // Each frame that goes by brings held frames one step closer.
      for (std::uint32_t i = 0; i < lane.nheld;) {
        if (--lane.held[i].countdown == 0) {
          release_held(lane, i);
        } else {
          ++i;
        }
      }
    }
    if (dup != nullptr) push_out(lane, dup);
  }

  FaultConfig faults;
  std::uint32_t out_reserve = 0;
  std::uint32_t max_frame;
  const Clock* clock;
  MbufPool* rx_pool = nullptr;
  std::uint16_t nqueues;
  std::unique_ptr<RssSteer> steer;  // nullptr: RSS off, queue q -> queue q
  // [txq * nqueues + rxq]; without RSS only the pairs (q, q) exist.
  std::vector<std::unique_ptr<SpscRing<InFlight>>> rings;
  std::vector<TxLane> tx;
  std::vector<RxLane> rx;
};

class Memlink::EndPort final : public Port {
 public:
  EndPort(const std::string& name, std::uint16_t queues, const MacAddr& mac, std::uint32_t mtu,
          const RssSteerConfig& rss, Direction* out, Direction* in)
      : Port(name, queues), out_(out), in_(in) {
    mac_ = mac;
    mtu_ = mtu;
    caps_.max_queues = queues;
    caps_.max_mtu = mtu;
    caps_.zero_copy_rx = true;
    caps_.zero_copy_tx = true;
    caps_.rss = rss.kind();
    if (rss.enabled) caps_.rss_key = rss.key;
  }

  std::uint16_t tx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override {
    Direction& d = *out_;
    Direction::TxLane& lane = d.tx[q];
    const bool timed = d.timed();
    const std::int64_t now = timed ? ns_of(d.clock->now()) : 0;
    TxCount c;
    std::uint16_t i = 0;
    while (i < n) {
      InFlight chunk[kTxChunk];
      std::uint16_t k = 0;
      for (; i < n && k < kTxChunk; ++i) {
        Mbuf* m = pkts[i];
        std::int64_t arrive = 0;
        if (timed && !d.schedule(lane, *m, now, &arrive)) {
          add(lane.queue_dropped);
          mbuf_free(m);  // dropped on the wire: the port did send it
          ++c.sent;
          continue;
        }
        chunk[k++] = InFlight{m, arrive, m->pkt_len};
      }
      if (d.steer != nullptr) {
        enqueue_steered(d, q, chunk, k, c);
        continue;
      }
      const auto enq = static_cast<std::uint16_t>(d.ring(q, q).enqueue_burst(chunk, k));
      c.accept(chunk, enq);
      if (enq < k) {
        // Ring full: free the rest of this chunk and everything after it.
        c.refuse(chunk + enq, static_cast<std::uint16_t>(k - enq));
        const auto rest = static_cast<std::uint16_t>(n - i);
        if (rest > 0) mbuf_free_bulk(pkts + i, rest);
        c.dropped += rest;
        break;
      }
    }
    add(lane.sent, c.sent);
    if (c.dropped > 0) {
      add(lane.queue_dropped, c.dropped);
      stats_[q].tx_drop(c.dropped);
    }
    stats_[q].tx(c.sent, c.bytes);
    return c.sent;
  }

  std::uint16_t rx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override {
    Direction& d = *in_;
    Direction::RxLane& lane = d.rx[q];
    const bool need_now = d.timed() || lane.nheld > 0 || d.faults.reorder > 0;
    const std::int64_t now = need_now ? ns_of(d.clock->now()) : 0;
    // Held frames that waited long enough go out first.
    for (std::uint32_t i = 0; i < lane.nheld;) {
      if (lane.held[i].deadline_ns <= now && lane.out_len + 1 < d.outbox_size()) {
        d.release_held(lane, i);
      } else {
        ++i;
      }
    }
    const bool faults = d.faults.any_random();
    auto take = [&](SpscRing<InFlight>& ring) {
      while (lane.out_len < n && lane.out_len + d.out_reserve <= d.outbox_size()) {
        const InFlight* f = ring.peek();
        if (f == nullptr || f->arrive_ns > now) break;
        Mbuf* m = f->m;
        InFlight taken{};
        ring.dequeue(taken);
        if (!faults && m->pkt_len <= d.max_frame) {
          Direction::push_out(lane, m);
        } else {
          d.arrive(lane, m, now);
        }
      }
    };
    const auto nsrc = static_cast<std::uint32_t>(lane.sources.size());
    if (nsrc == 1) {
      take(*lane.sources[0]);
    } else {
      for (std::uint32_t s = lane.next_source, visited = 0; visited < nsrc; ++visited) {
        take(*lane.sources[s]);
        if (++s == nsrc) s = 0;
      }
      // The next burst starts at the next ring: a ring that is never empty
      // cannot starve those after it.
      if (++lane.next_source == nsrc) lane.next_source = 0;
    }
    // Without RSS no hash is reported, also not a stale one on a reused mbuf.
    const std::uint32_t keep_flags = d.steer != nullptr ? ~0u : ~ol::kRxRssHash;
    const auto out = static_cast<std::uint16_t>(std::min<std::uint32_t>(n, lane.out_len));
    std::uint64_t bytes = 0;
    for (std::uint16_t i = 0; i < out; ++i) {
      Mbuf* m = lane.outbox[lane.out_head];
      lane.out_head = (lane.out_head + 1) % static_cast<std::uint32_t>(lane.outbox.size());
      m->port = 0;
      m->queue = q;
      m->ol_flags &= keep_flags;
      bytes += m->pkt_len;
      pkts[i] = m;
    }
    lane.out_len -= out;
    add(lane.delivered, out);
    stats_[q].rx(out, bytes);
    return out;
  }

 private:
  // RSS: the receive queue of each frame as the receiving NIC would pick
  // it, then one burst per receive queue, its frames in send order (a
  // stable counting sort), so each ring keeps the order of its flows.
  static void enqueue_steered(Direction& d, std::uint16_t q, const InFlight* chunk, std::uint16_t k,
                              TxCount& c) {
    const std::uint16_t nq = d.nqueues;
    std::uint16_t dest[kTxChunk];
    std::uint16_t first[kMaxQueues + 1];
    std::fill_n(first, nq + 1, std::uint16_t{0});
    for (std::uint16_t j = 0; j < k; ++j) {
      dest[j] = d.steer->steer(*chunk[j].m);
      ++first[dest[j] + 1];
    }
    for (std::uint16_t r = 0; r < nq; ++r)
      first[r + 1] = static_cast<std::uint16_t>(first[r + 1] + first[r]);
    std::uint16_t fill[kMaxQueues];
    std::copy_n(first, nq, fill);
    InFlight sorted[kTxChunk];
    for (std::uint16_t j = 0; j < k; ++j) sorted[fill[dest[j]]++] = chunk[j];
    for (std::uint16_t r = 0; r < nq; ++r) {
      const auto cnt = static_cast<std::uint16_t>(first[r + 1] - first[r]);
      if (cnt == 0) continue;
      const InFlight* part = sorted + first[r];
      const auto enq = static_cast<std::uint16_t>(d.ring(q, r).enqueue_burst(part, cnt));
      c.accept(part, enq);
      c.refuse(part + enq, static_cast<std::uint16_t>(cnt - enq));
    }
  }

  Direction* out_;
  Direction* in_;
};

std::unique_ptr<Memlink> Memlink::create(const MemlinkConfig& cfg, const Clock& clock,
                                         std::string* error) {
  if (cfg.queues == 0 || cfg.queues > kMaxQueues) {
    if (error) *error = "memlink '" + cfg.name + "': queues must be 1..64";
    return nullptr;
  }
  if (cfg.mtu < 68 || cfg.mtu > 65535 - kL2Overhead) {
    if (error) *error = "memlink '" + cfg.name + "': mtu must be 68..65517";
    return nullptr;
  }
  if (cfg.ring_size < 2) {
    if (error) *error = "memlink '" + cfg.name + "': ring_size must be at least 2";
    return nullptr;
  }
  std::unique_ptr<Memlink> link(new Memlink());
  link->dir_[0] = std::make_unique<Direction>(cfg.b_to_a, cfg.rss_into_a, cfg.queues, cfg.ring_size,
                                              cfg.mtu, clock, 0);
  link->dir_[1] = std::make_unique<Direction>(cfg.a_to_b, cfg.rss_into_b, cfg.queues, cfg.ring_size,
                                              cfg.mtu, clock, 1);
  link->end_[0] =
      std::make_unique<EndPort>(cfg.name + ".a", cfg.queues, cfg.mac_a, cfg.mtu, cfg.rss_into_a,
                                link->dir_[1].get(), link->dir_[0].get());
  link->end_[1] =
      std::make_unique<EndPort>(cfg.name + ".b", cfg.queues, cfg.mac_b, cfg.mtu, cfg.rss_into_b,
                                link->dir_[0].get(), link->dir_[1].get());
  return link;
}

Memlink::~Memlink() {
  end_[0].reset();
  end_[1].reset();
}

Port& Memlink::a() {
  return *end_[0];
}
Port& Memlink::b() {
  return *end_[1];
}

void Memlink::set_rx_pool(int end, MbufPool* pool) {
  dir_[end & 1]->rx_pool = pool;
}

void Memlink::set_faults_into(int end, const FaultConfig& faults) {
  Direction& d = *dir_[end & 1];
  d.faults = faults;
  d.size_lanes();
  for (std::size_t q = 0; q < d.rx.size(); ++q)
    d.rx[q].rng.reseed(faults.seed * 0x9e3779b97f4a7c15ull +
                       static_cast<std::uint64_t>(end) * 1000 + q);
}

Instant Memlink::next_arrival_into(int end) const {
  const Direction& d = *dir_[end & 1];
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (std::size_t q = 0; q < d.rx.size(); ++q) {
    const Direction::RxLane& lane = d.rx[q];
    if (lane.out_len > 0) return instant_from_ns(0);
    for (std::uint32_t i = 0; i < lane.nheld; ++i) next = std::min(next, lane.held[i].deadline_ns);
    // Arrival times are in ring order (one sender, constant delay, FIFO rate limit).
    for (SpscRing<InFlight>* ring : lane.sources)
      if (const InFlight* f = ring->peek()) next = std::min(next, f->arrive_ns);
  }
  return instant_from_ns(next);
}

LinkStatsSnapshot Memlink::stats_into(int end) const {
  const Direction& d = *dir_[end & 1];
  LinkStatsSnapshot s;
  for (const auto& t : d.tx) {
    s.sent += get(t.sent);
    s.queue_dropped += get(t.queue_dropped);
  }
  for (const auto& r : d.rx) {
    s.delivered += get(r.delivered);
    s.lost += get(r.lost);
    s.duplicated += get(r.duplicated);
    s.corrupted += get(r.corrupted);
    s.reordered += get(r.reordered);
    s.mtu_dropped += get(r.mtu_dropped);
  }
  return s;
}

}  // namespace ustack
