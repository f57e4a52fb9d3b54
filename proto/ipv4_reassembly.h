// Per-core IPv4 fragment reassembly (RFC 791 §3.2 "Fragmentation and
// Reassembly", RFC 815, RFC 1122 §3.3.2).
//
// The IPv4 input path, having validated a header with MF set or a non-zero
// fragment offset, strips the header and hands the payload to add(). The
// reassembler keeps the fragments of each datagram (zero copy: the mbuf
// chains themselves) and, when the last hole is filled, links them in order
// and returns the datagram's payload as one chain.
//
// Shape, chosen for the fast path (no allocation, no lock per packet):
//  - max_datagrams records are allocated at construction and kept in a free
//    list; each embeds its timeout Timer and a sorted array of up to
//    max_fragments_per_datagram fragment intervals. A sorted interval list
//    is equivalent to RFC 815's hole descriptors (the holes are the gaps
//    between neighbours) and, since overlaps are refused, "complete" is just
//    "last fragment seen and the bytes received add up to its end".
//  - Records are found by a fixed open-addressing hash table (linear probing,
//    backward-shift deletion, load factor <= 1/2) keyed by a seeded hash, so a
//    sender cannot aim many keys at one probe chain without knowing the seed.
//  - Records also sit on a list in creation order. Because the timeout is
//    fixed from the first fragment, this is also expiry order: the head is
//    the oldest datagram, the first to be sacrificed when room is needed.
//
// Policy (each refusal increments a counter, see kCounter* below):
//  - Key: source, destination, identification and protocol (RFC 791 §3.2:
//    "the fragments ... are reassembled ... by the identification field, the
//    source and destination addresses, and the protocol").
//  - Timeout: fixed at `timeout` from the datagram's first fragment and not
//    restarted by later ones (RFC 1122 §3.3.2 "the reassembly timeout value
//    SHOULD be a fixed value"; it recommends 60-120 s, we default to Linux's
//    30 s). On expiry the whole datagram is freed.
//  - A non-last fragment (MF set) whose length is not a multiple of 8 is
//    refused alone: RFC 791 §3.2 cuts every fragment but the last on an
//    8-octet boundary, so such a fragment is malformed.
//  - A zero-length fragment carries no data and is refused alone, last or not
//    (Linux also refuses end == offset). A genuine sender never sends one.
//  - A fragment whose end (offset + length) passes kMaxPayload = 65515 is
//    refused and its datagram discarded: 65515 = 65535 (the largest Total
//    Length, RFC 791 §3.1) - 20 (the minimal header) is the largest payload
//    any IPv4 datagram can carry ("ping of death"). Fragment zero's options,
//    if any, make the true limit smaller; we do not see that header, and the
//    result is a payload chain, so the bound only has to keep offsets in 16
//    bits and stop oversized datagrams.
//  - An exact duplicate (same offset, length and MF) of a fragment already
//    held is dropped alone and counted as a duplicate: it adds no bytes and
//    contradicts nothing, so it is not an overlap in the harmful sense (RFC
//    5722 §4 as amended by erratum 3089: duplicates are ignored). The copy
//    already held is kept.
//  - Any other overlap discards the whole datagram and the fragment (RFC
//    5722 §4 for IPv6; Linux applies the same rule to IPv4): overlapping
//    fragments are the tool of firewall evasion, and no correct sender
//    produces them.
//  - A last fragment (MF clear) whose end differs from an earlier last
//    fragment's, or lies before data already received, and a fragment that
//    reaches past the known end, discard the datagram (RFC 791: the last
//    fragment fixes the total length; Linux does the same).
//  - A datagram that would need more than max_fragments_per_datagram
//    fragments is discarded.
//  - Room is made by sacrificing the oldest other datagrams: when all
//    max_datagrams records are in use, and when holding a fragment would push
//    bytes_held() past max_bytes. The oldest incomplete datagram is the one
//    most likely to have lost a fragment and the closest to timing out,
//    while the newest are those still arriving; refusing new fragments
//    instead would let a burst of junk block all reassembly for a whole
//    timeout. If evicting every other datagram is still not enough, the
//    fragment is refused and its own datagram discarded. A fragment that
//    completes its datagram never causes an eviction (it is handed straight
//    to the caller, not held).
//  - Memory is counted as the buffer bytes the held mbufs pin (the sum of
//    buf_len over every segment), not just the payload: a 60-byte fragment in
//    a 2 KiB buffer costs 2 KiB.
//
// Not done here: RFC 1122 §3.3.2 asks for an ICMP Time Exceeded (code 1) to
// the source when a datagram times out after fragment zero arrived; the
// reassembler has no transmit path, and the header it would quote was
// stripped before add().
//
// IPv6 (RFC 8200 §4.5) uses the same machinery, as IpReassembler with its
// own ReassemblyConfig: keys of IPv6 addresses and a 32-bit identification,
// counters "ipv6.reasm.*", a 60 s timeout and a 65535-byte bound. The
// overlap rule above is RFC 5722's, written for IPv6.
//
// One instance per core; no method is thread safe. The TimerWheel and the
// CounterSet must outlive the reassembler.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/counters.h"
#include "core/instant.h"
#include "core/mbuf.h"
#include "core/timer_wheel.h"
#include "proto/ip_addr.h"

namespace ustack {

struct ReassemblyConfig {
  // From a datagram's first fragment to its discard (RFC 1122 §3.3.2).
  Duration timeout = std::chrono::seconds(30);
  // Per-core cap on the mbuf buffer bytes held by incomplete datagrams.
  std::size_t max_bytes = std::size_t{4} << 20;
  // Fragments one datagram may have; 1 to 8192 (65536 / 8: more cannot
  // fit without overlapping). Records are preallocated for
  // max_datagrams * max_fragments_per_datagram fragments, 12 bytes each.
  std::uint32_t max_fragments_per_datagram = 64;
  // Incomplete datagrams held at once; 1 to 2^24.
  std::uint32_t max_datagrams = 1024;
  // Key of the lookup hash; 0 draws one at construction (getrandom).
  std::uint64_t hash_seed = 0;
  // The largest reassembled payload (IPv4: 65535 - the 20-byte header), and
  // the first part of every counter's name.
  std::uint32_t max_payload = 65535 - 20;
  const char* counter_prefix = "ipv4.reasm";
};

// The reassembly key: IPv4's (RFC 791 §3.2) with a 16-bit identification,
// or IPv6's (RFC 8200 §4.5) with a 32-bit one; the protocol is the IPv4
// protocol or the Fragment header's Next Header.
struct FragmentKey {
  IpAddr src;
  IpAddr dst;
  std::uint32_t id = 0;
  std::uint8_t protocol = 0;

  friend bool operator==(const FragmentKey&, const FragmentKey&) = default;
};

class Ipv4Reassembler {
 public:
  // Largest payload of any IPv4 datagram: 65535 - a 20-byte header.
  static constexpr std::uint32_t kMaxPayload = 65535 - 20;

  // Counter names (of IPv4's prefix), registered at construction.
  static constexpr const char* kCounterOk = "ipv4.reasm.ok";  // datagrams returned
  // Datagrams discarded:
  static constexpr const char* kCounterTimeout = "ipv4.reasm.timeout";
  static constexpr const char* kCounterOverlap = "ipv4.reasm.overlap";
  static constexpr const char* kCounterTooBig = "ipv4.reasm.too_big";
  static constexpr const char* kCounterBadEnd = "ipv4.reasm.bad_end";
  static constexpr const char* kCounterTooManyFrags = "ipv4.reasm.too_many_frags";
  // Datagrams evicted, or a fragment refused with its datagram, for memory:
  static constexpr const char* kCounterMemCap = "ipv4.reasm.mem_cap";
  // Datagrams evicted because every record was in use:
  static constexpr const char* kCounterTableFull = "ipv4.reasm.table_full";
  // Fragments dropped alone:
  static constexpr const char* kCounterDuplicate = "ipv4.reasm.duplicate";
  static constexpr const char* kCounterBadLength = "ipv4.reasm.bad_length";

  Ipv4Reassembler(const ReassemblyConfig& cfg, TimerWheel& wheel, CounterSet& counters);
  Ipv4Reassembler(const Ipv4Reassembler&) = delete;
  Ipv4Reassembler& operator=(const Ipv4Reassembler&) = delete;
  ~Ipv4Reassembler();

  // Takes ownership of `payload`: the fragment's data (IP header removed,
  // link padding already trimmed, so payload->pkt_len is the fragment's data
  // length). `offset` is in bytes (the header field times 8).
  //
  // Returns the datagram's whole payload when this fragment completes it:
  // one chain, fragments linked in offset order, pkt_len and nb_segs set on
  // the head (fragment zero's first segment), owned by the caller. The L4
  // checksum flags are cleared on the head: no NIC checked the checksum of
  // the reassembled datagram. Returns nullptr otherwise; every mbuf that is
  // not returned is either held or freed, never leaked.
  //
  // A fragment with offset 0 and MF clear is a whole datagram: if no
  // fragment of its key is held it is returned as it is.
  Mbuf* add(const FragmentKey& key, std::uint32_t offset, bool more_fragments, Mbuf* payload,
            Instant now);

  // Incomplete datagrams held.
  std::size_t datagrams() const { return in_use_; }
  // Buffer bytes held (see max_bytes).
  std::size_t bytes_held() const { return bytes_held_; }
  // Frees every incomplete datagram (counting nothing) and cancels its timer.
  void clear();

 private:
  // A fragment's place in its datagram, [begin, end). Both fit in 16 bits
  // since end <= max_payload <= 65535.
  struct Span {
    std::uint16_t begin;
    std::uint16_t end;
  };

  struct Datagram {
    Ipv4Reassembler* owner = nullptr;
    FragmentKey key;
    std::uint32_t hash = 0;
    std::uint32_t index = 0;     // in records_
    std::uint32_t nfrags = 0;    // fragments held
    std::uint32_t received = 0;  // payload bytes held
    std::uint32_t end = 0;       // total length once last_seen, else the largest end seen
    bool last_seen = false;      // a fragment with MF clear is held
    std::size_t bytes = 0;       // buffer bytes held
    Span* spans = nullptr;       // sorted by begin, nfrags of max_frags_
    Mbuf** chains = nullptr;     // chains[i] holds spans[i]
    Datagram* older = nullptr;   // creation-order list (also expiry order)
    Datagram* newer = nullptr;
    Datagram* next_free = nullptr;
    Timer timer;
  };

  struct Slot {
    std::uint32_t hash;
    std::uint32_t index;  // kEmptySlot, or into records_
  };
  static constexpr std::uint32_t kEmptySlot = 0xffffffffu;

  static void on_timeout(Timer& t, void* arg);

  std::uint32_t hash_of(const FragmentKey& key) const;
  Datagram* find(const FragmentKey& key, std::uint32_t hash) const;
  void table_insert(Datagram& d);
  void table_erase(const Datagram& d);

  // Takes a record from the free list (evicting the oldest datagram if none
  // is free), keys it, arms its timer and links it in the table and lists.
  Datagram& open(const FragmentKey& key, std::uint32_t hash, Instant now);
  // Frees d's fragments and returns the record to the free list.
  void discard(Datagram& d);
  // Returns the record to the free list without touching its fragments.
  void release(Datagram& d);
  // Discards the oldest datagrams other than `keep` (may be null) until
  // `need` more bytes fit under max_bytes; false if even discarding all of
  // them is not enough.
  bool make_room(std::size_t need, const Datagram* keep);
  // Drops a fragment and, if there is one, its datagram; counts on `c`.
  Mbuf* refuse(Datagram* d, Mbuf* payload, Counter& c);

  ReassemblyConfig cfg_;
  TimerWheel& wheel_;
  std::uint32_t max_frags_;
  std::uint64_t seed_;

  std::unique_ptr<Datagram[]> records_;
  std::unique_ptr<Span[]> spans_;
  std::unique_ptr<Mbuf*[]> chains_;
  std::unique_ptr<Slot[]> table_;
  std::uint32_t table_mask_ = 0;

  Datagram* free_ = nullptr;
  Datagram* oldest_ = nullptr;
  Datagram* newest_ = nullptr;
  std::size_t in_use_ = 0;
  std::size_t bytes_held_ = 0;

  Counter& ok_;
  Counter& timeout_;
  Counter& overlap_;
  Counter& too_big_;
  Counter& bad_end_;
  Counter& too_many_frags_;
  Counter& mem_cap_;
  Counter& table_full_;
  Counter& duplicate_;
  Counter& bad_length_;
};

// The reassembler serves both families (see above).
using IpReassembler = Ipv4Reassembler;

}  // namespace ustack
