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
};

constexpr std::uint32_t kOutbox = 512;     // plus room for every held frame
constexpr std::uint32_t kL2Overhead = 18;  // Ethernet header + one VLAN tag

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

}  // namespace

// One direction of the link: a ring per queue, the sender's lanes (rate
// limiting) and the receiver's lanes (faults, reorder hold, outbox).
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
    std::atomic<std::uint64_t> delivered{0}, lost{0}, duplicated{0}, corrupted{0}, reordered{0},
        mtu_dropped{0};
  };

  Direction(const FaultConfig& f, std::uint16_t queues, std::uint32_t ring_size, std::uint32_t mtu,
            const Clock& c, int end)
      : faults(f), max_frame(mtu + kL2Overhead), clock(&c), tx(queues), rx(queues) {
    for (std::uint16_t q = 0; q < queues; ++q) {
      rings.push_back(std::make_unique<SpscRing<InFlight>>(ring_size));
      rx[q].rng.reseed(f.seed * 0x9e3779b97f4a7c15ull + static_cast<std::uint64_t>(end) * 1000 + q);
    }
    size_lanes();
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
      while (r->dequeue(f)) mbuf_free(f.m);
    for (auto& lane : rx) {
      for (std::uint32_t i = 0; i < lane.nheld; ++i) mbuf_free(lane.held[i].m);
      for (std::uint32_t i = 0; i < lane.out_len; ++i)
        mbuf_free(lane.outbox[(lane.out_head + i) % lane.outbox.size()]);
    }
  }

  bool timed() const { return faults.delay.count() > 0 || faults.rate_bps > 0; }

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
  std::vector<std::unique_ptr<SpscRing<InFlight>>> rings;
  std::vector<TxLane> tx;
  std::vector<RxLane> rx;
};

class Memlink::EndPort final : public Port {
 public:
  EndPort(const std::string& name, std::uint16_t queues, const MacAddr& mac, std::uint32_t mtu,
          Direction* out, Direction* in)
      : Port(name, queues), out_(out), in_(in) {
    mac_ = mac;
    mtu_ = mtu;
    caps_.max_queues = queues;
    caps_.max_mtu = mtu;
    caps_.zero_copy_rx = true;
    caps_.zero_copy_tx = true;
  }

  std::uint16_t tx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override {
    Direction& d = *out_;
    Direction::TxLane& lane = d.tx[q];
    SpscRing<InFlight>& ring = *d.rings[q];
    const bool timed = d.timed();
    const std::int64_t now = timed ? ns_of(d.clock->now()) : 0;
    std::uint16_t sent = 0;
    std::uint64_t bytes = 0;
    std::uint16_t i = 0;
    while (i < n) {
      InFlight chunk[64];
      std::uint32_t len[64];
      std::uint16_t k = 0;
      for (; i < n && k < 64; ++i) {
        Mbuf* m = pkts[i];
        std::int64_t arrive = 0;
        if (timed) {
          std::int64_t depart = now;
          if (d.faults.rate_bps > 0) {
            const std::int64_t start = std::max(now, lane.last_departure_ns);
            const auto backlog_bytes = static_cast<std::uint64_t>(
                static_cast<uint128>(start - now) * d.faults.rate_bps / 8'000'000'000u);
            if (backlog_bytes + m->pkt_len > d.faults.queue_bytes) {
              add(lane.queue_dropped);
              mbuf_free(m);  // dropped on the wire: the port did send it
              ++sent;
              continue;
            }
            depart = start + static_cast<std::int64_t>(std::uint64_t{m->pkt_len} * 8'000'000'000u /
                                                       d.faults.rate_bps);
            lane.last_departure_ns = depart;
          }
          arrive = depart + d.faults.delay.count();
        }
        chunk[k] = InFlight{m, arrive};
        len[k++] = m->pkt_len;
      }
      // Lengths were read before: once enqueued, a frame is the receiving
      // thread's (it may already be parsing it).
      const auto enq = static_cast<std::uint16_t>(ring.enqueue_burst(chunk, k));
      for (std::uint16_t j = 0; j < enq; ++j) bytes += len[j];
      sent = static_cast<std::uint16_t>(sent + enq);
      if (enq < k) {
        // Ring full: free the rest of this chunk and everything after it.
        for (std::uint16_t j = enq; j < k; ++j) mbuf_free(chunk[j].m);
        const std::uint16_t rest = static_cast<std::uint16_t>(n - i);
        if (rest > 0) mbuf_free_bulk(pkts + i, rest);
        add(lane.queue_dropped, static_cast<std::uint64_t>(k - enq) + rest);
        stats_[q].tx_drop(static_cast<std::uint64_t>(k - enq) + rest);
        break;
      }
    }
    add(lane.sent, sent);
    stats_[q].tx(sent, bytes);
    return sent;
  }

  std::uint16_t rx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override {
    Direction& d = *in_;
    Direction::RxLane& lane = d.rx[q];
    SpscRing<InFlight>& ring = *d.rings[q];
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
    const auto out = static_cast<std::uint16_t>(std::min<std::uint32_t>(n, lane.out_len));
    std::uint64_t bytes = 0;
    for (std::uint16_t i = 0; i < out; ++i) {
      Mbuf* m = lane.outbox[lane.out_head];
      lane.out_head = (lane.out_head + 1) % static_cast<std::uint32_t>(lane.outbox.size());
      m->port = 0;
      m->queue = q;
      bytes += m->pkt_len;
      pkts[i] = m;
    }
    lane.out_len -= out;
    add(lane.delivered, out);
    stats_[q].rx(out, bytes);
    return out;
  }

 private:
  Direction* out_;
  Direction* in_;
};

std::unique_ptr<Memlink> Memlink::create(const MemlinkConfig& cfg, const Clock& clock,
                                         std::string* error) {
  if (cfg.queues == 0 || cfg.queues > 64) {
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
  link->dir_[0] =
      std::make_unique<Direction>(cfg.b_to_a, cfg.queues, cfg.ring_size, cfg.mtu, clock, 0);
  link->dir_[1] =
      std::make_unique<Direction>(cfg.a_to_b, cfg.queues, cfg.ring_size, cfg.mtu, clock, 1);
  link->end_[0] = std::make_unique<EndPort>(cfg.name + ".a", cfg.queues, cfg.mac_a, cfg.mtu,
                                            link->dir_[1].get(), link->dir_[0].get());
  link->end_[1] = std::make_unique<EndPort>(cfg.name + ".b", cfg.queues, cfg.mac_b, cfg.mtu,
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
    if (const InFlight* f = d.rings[q]->peek()) next = std::min(next, f->arrive_ns);
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
