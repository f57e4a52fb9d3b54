#include "proto/ipv4_reassembly.h"

#include <cstring>
#include <string>

#include <sys/random.h>

#include <algorithm>
#include <bit>

#include "core/clock.h"

namespace ustack {
namespace {

// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
inline std::uint64_t fmix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

std::uint64_t draw_seed() {
  std::uint64_t s = 0;
  if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != static_cast<ssize_t>(sizeof(s)) || s == 0) {
    s = fmix64(read_tsc() ^ reinterpret_cast<std::uintptr_t>(&s)) | 1;
  }
  return s;
}

// The buffer bytes a chain pins: what it costs the pool, whatever its data.
inline std::size_t buffer_bytes(const Mbuf* m) {
  std::size_t n = 0;
  for (; m != nullptr; m = m->next) n += m->buf_len;
  return n;
}

Counter& counter(CounterSet& counters, const char* prefix, const char* name) {
  return counters.get(std::string(prefix) + name);
}

}  // namespace

Ipv4Reassembler::Ipv4Reassembler(const ReassemblyConfig& cfg, TimerWheel& wheel,
                                 CounterSet& counters)
    : cfg_(cfg),
      wheel_(wheel),
      max_frags_(std::clamp<std::uint32_t>(cfg.max_fragments_per_datagram, 1, 8192)),
      seed_(cfg.hash_seed != 0 ? cfg.hash_seed : draw_seed()),
      ok_(counter(counters, cfg.counter_prefix, ".ok")),
      timeout_(counter(counters, cfg.counter_prefix, ".timeout")),
      overlap_(counter(counters, cfg.counter_prefix, ".overlap")),
      too_big_(counter(counters, cfg.counter_prefix, ".too_big")),
      bad_end_(counter(counters, cfg.counter_prefix, ".bad_end")),
      too_many_frags_(counter(counters, cfg.counter_prefix, ".too_many_frags")),
      mem_cap_(counter(counters, cfg.counter_prefix, ".mem_cap")),
      table_full_(counter(counters, cfg.counter_prefix, ".table_full")),
      duplicate_(counter(counters, cfg.counter_prefix, ".duplicate")),
      bad_length_(counter(counters, cfg.counter_prefix, ".bad_length")) {
  cfg_.max_payload = std::min<std::uint32_t>(cfg_.max_payload, 0xffff);
  cfg_.max_datagrams = std::clamp<std::uint32_t>(cfg_.max_datagrams, 1, 1u << 24);
  const std::uint32_t n = cfg_.max_datagrams;
  records_ = std::make_unique<Datagram[]>(n);
  spans_ = std::make_unique<Span[]>(std::size_t{n} * max_frags_);
  chains_ = std::make_unique<Mbuf*[]>(std::size_t{n} * max_frags_);
  // At least twice as many slots as records: probe chains stay short and
  // there is always an empty slot to end a probe.
  const std::uint32_t slots = std::bit_ceil(n * 2);
  table_ = std::make_unique<Slot[]>(slots);
  table_mask_ = slots - 1;
  for (std::uint32_t i = 0; i < slots; ++i) table_[i] = {0, kEmptySlot};
  for (std::uint32_t i = n; i-- > 0;) {
    Datagram& d = records_[i];
    d.owner = this;
    d.index = i;
    d.spans = &spans_[std::size_t{i} * max_frags_];
    d.chains = &chains_[std::size_t{i} * max_frags_];
    d.timer.set_callback(&Ipv4Reassembler::on_timeout, &d);
    d.next_free = free_;
    free_ = &d;
  }
}

Ipv4Reassembler::~Ipv4Reassembler() {
  clear();
}

void Ipv4Reassembler::clear() {
  while (oldest_ != nullptr) discard(*oldest_);
}

std::uint32_t Ipv4Reassembler::hash_of(const FragmentKey& key) const {
  // Both addresses whole (an IPv4 one sits in the low bytes of its mapped
  // form), then identification, protocol and family.
  std::uint64_t w[4];
  std::memcpy(&w[0], key.src.b.data(), 16);
  std::memcpy(&w[2], key.dst.b.data(), 16);
  const std::uint64_t rest = (std::uint64_t{key.id} << 16) | (std::uint64_t{key.protocol} << 8) |
                             static_cast<std::uint8_t>(key.src.family);
  std::uint64_t h = fmix64(w[0] ^ seed_);
  h = fmix64(h ^ w[1]);
  h = fmix64(h ^ w[2]);
  h = fmix64(h ^ w[3]);
  return static_cast<std::uint32_t>(fmix64(h ^ rest));
}

Ipv4Reassembler::Datagram* Ipv4Reassembler::find(const FragmentKey& key, std::uint32_t hash) const {
  for (std::uint32_t i = hash & table_mask_;; i = (i + 1) & table_mask_) {
    const Slot& s = table_[i];
    if (s.index == kEmptySlot) return nullptr;
    if (s.hash == hash && records_[s.index].key == key) return &records_[s.index];
  }
}

void Ipv4Reassembler::table_insert(Datagram& d) {
  std::uint32_t i = d.hash & table_mask_;
  while (table_[i].index != kEmptySlot) i = (i + 1) & table_mask_;
  table_[i] = {d.hash, d.index};
}

void Ipv4Reassembler::table_erase(const Datagram& d) {
  std::uint32_t i = d.hash & table_mask_;
  while (table_[i].index != d.index) i = (i + 1) & table_mask_;
  // Backward-shift deletion: pull later members of the probe run into the
  // hole when their home slot does not lie cyclically in (hole, j], so every
  // remaining entry stays reachable from its home with no tombstones.
  for (std::uint32_t j = i;;) {
    j = (j + 1) & table_mask_;
    if (table_[j].index == kEmptySlot) break;
    const std::uint32_t home = table_[j].hash & table_mask_;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      table_[i] = table_[j];
      i = j;
    }
  }
  table_[i] = {0, kEmptySlot};
}

Ipv4Reassembler::Datagram& Ipv4Reassembler::open(const FragmentKey& key, std::uint32_t hash,
                                                 Instant now) {
  if (free_ == nullptr) {
    // Every record is in use: the oldest datagram makes way (see the header).
    table_full_.inc();
    discard(*oldest_);
  }
  Datagram& d = *free_;
  free_ = d.next_free;
  d.next_free = nullptr;
  d.key = key;
  d.hash = hash;
  d.nfrags = 0;
  d.received = 0;
  d.end = 0;
  d.last_seen = false;
  d.bytes = 0;
  d.older = newest_;
  d.newer = nullptr;
  if (newest_ != nullptr) {
    newest_->newer = &d;
  } else {
    oldest_ = &d;
  }
  newest_ = &d;
  ++in_use_;
  table_insert(d);
  // RFC 1122 §3.3.2: a fixed timeout from the first fragment, not restarted.
  wheel_.arm(d.timer, now + cfg_.timeout);
  return d;
}

void Ipv4Reassembler::release(Datagram& d) {
  // armed() is false if the wheel already detached the timer (it is firing,
  // or the wheel was destroyed first), so a dead wheel is never touched.
  if (d.timer.armed()) wheel_.cancel(d.timer);
  table_erase(d);
  if (d.older != nullptr) {
    d.older->newer = d.newer;
  } else {
    oldest_ = d.newer;
  }
  if (d.newer != nullptr) {
    d.newer->older = d.older;
  } else {
    newest_ = d.older;
  }
  d.older = d.newer = nullptr;
  d.nfrags = 0;
  d.next_free = free_;
  free_ = &d;
  --in_use_;
}

void Ipv4Reassembler::discard(Datagram& d) {
  mbuf_free_bulk(d.chains, d.nfrags);
  bytes_held_ -= d.bytes;
  d.bytes = 0;
  release(d);
}

void Ipv4Reassembler::on_timeout(Timer& /*t*/, void* arg) {
  Datagram& d = *static_cast<Datagram*>(arg);
  d.owner->timeout_.inc();
  d.owner->discard(d);
}

bool Ipv4Reassembler::make_room(std::size_t need, const Datagram* keep) {
  while (bytes_held_ + need > cfg_.max_bytes) {
    Datagram* victim = oldest_;
    if (victim != nullptr && victim == keep) victim = victim->newer;
    if (victim == nullptr) return false;
    mem_cap_.inc();
    discard(*victim);
  }
  return true;
}

Mbuf* Ipv4Reassembler::refuse(Datagram* d, Mbuf* payload, Counter& c) {
  c.inc();
  mbuf_free(payload);
  if (d != nullptr) discard(*d);
  return nullptr;
}

Mbuf* Ipv4Reassembler::add(const FragmentKey& key, std::uint32_t offset, bool more_fragments,
                           Mbuf* payload, Instant now) {
  if (payload == nullptr) return nullptr;
  const std::uint32_t len = payload->pkt_len;

  // Malformed on its own: refused alone, the datagram (if any) is untouched.
  // RFC 791 §3.2: every fragment but the last ends on an 8-octet boundary,
  // and offsets count 8-octet blocks. A zero-length fragment adds nothing.
  if (len == 0 || (more_fragments && len % 8 != 0) || offset % 8 != 0) {
    return refuse(nullptr, payload, bad_length_);
  }

  const std::uint32_t hash = hash_of(key);
  Datagram* d = find(key, hash);

  // Past the largest payload any datagram can carry: the datagram is bogus.
  const std::uint64_t end64 = std::uint64_t{offset} + len;
  if (end64 > cfg_.max_payload) return refuse(d, payload, too_big_);
  const auto begin = static_cast<std::uint16_t>(offset);
  const auto end = static_cast<std::uint16_t>(end64);

  std::uint32_t pos = 0;
  if (d != nullptr) {
    const std::uint32_t n = d->nfrags;
    const Span* spans = d->spans;
    // In-order arrival appends: try the end before searching.
    if (n == 0 || spans[n - 1].begin < begin) {
      pos = n;
    } else {
      pos = static_cast<std::uint32_t>(
          std::lower_bound(spans, spans + n, begin,
                           [](const Span& s, std::uint16_t b) { return s.begin < b; }) -
          spans);
    }
    // An exact duplicate (same offset, length and MF; the held fragment is
    // the last one iff the last was seen and it ends at the datagram's end)
    // is not an overlap in the harmful sense: it adds and contradicts
    // nothing, so it is dropped alone and the datagram kept (RFC 5722 §4,
    // erratum 3089: duplicates are ignored).
    if (pos < n && spans[pos].begin == begin && spans[pos].end == end &&
        (d->last_seen && spans[pos].end == d->end) == !more_fragments) {
      return refuse(nullptr, payload, duplicate_);
    }
    // Any other overlap with a neighbour discards the whole datagram (RFC
    // 5722 §4, applied to IPv4 as Linux does).
    if ((pos > 0 && spans[pos - 1].end > begin) || (pos < n && spans[pos].begin < end)) {
      return refuse(d, payload, overlap_);
    }
    // RFC 791 §3.2: the last fragment fixes the total length. A second last
    // fragment with another end, a last fragment short of data already held,
    // or data past a known end: the fragments disagree, discard.
    if (!more_fragments ? (d->last_seen ? end != d->end : end < d->end)
                        : (d->last_seen && end > d->end)) {
      return refuse(d, payload, bad_end_);
    }
    if (n >= max_frags_) return refuse(d, payload, too_many_frags_);

    const bool last_seen = d->last_seen || !more_fragments;
    const std::uint32_t total = d->last_seen ? d->end : end;
    if (last_seen && d->received + len == total) {
      // Complete: no overlap and nothing past the end, so the bytes adding up
      // to the end means no hole is left. Link the fragments in order.
      std::copy_backward(d->chains + pos, d->chains + n, d->chains + n + 1);
      d->chains[pos] = payload;
      std::uint32_t segs = 0;
      for (std::uint32_t i = 0; i <= n; ++i) {
        Mbuf* c = d->chains[i];
        segs += c->nb_segs;
        if (i < n) c->last()->next = d->chains[i + 1];
      }
      Mbuf* head = d->chains[0];
      head->pkt_len = total;
      head->nb_segs = static_cast<std::uint16_t>(std::min<std::uint32_t>(segs, 0xffff));
      // No NIC saw the reassembled datagram's L4 checksum.
      head->ol_flags &= ~(ol::kRxL4CksumGood | ol::kRxL4CksumBad);
      bytes_held_ -= d->bytes;
      d->bytes = 0;
      d->nfrags = 0;
      release(*d);
      ok_.inc();
      return head;
    }
  } else if (offset == 0 && !more_fragments) {
    // Not a fragment at all (RFC 791: offset 0 and MF clear is a whole
    // datagram) and nothing of its key is held.
    ok_.inc();
    return payload;
  }

  // The fragment will be held: make room for its buffers.
  const std::size_t cost = buffer_bytes(payload);
  if (!make_room(cost, d)) return refuse(d, payload, mem_cap_);
  if (d == nullptr) d = &open(key, hash, now);

  const std::uint32_t n = d->nfrags;
  std::copy_backward(d->spans + pos, d->spans + n, d->spans + n + 1);
  std::copy_backward(d->chains + pos, d->chains + n, d->chains + n + 1);
  d->spans[pos] = {begin, end};
  d->chains[pos] = payload;
  d->nfrags = n + 1;
  d->received += len;
  if (!more_fragments) {
    d->last_seen = true;
    d->end = end;
  } else if (!d->last_seen && end > d->end) {
    d->end = end;
  }
  d->bytes += cost;
  bytes_held_ += cost;
  return nullptr;
}

}  // namespace ustack
