// Received TCP data: the in-order queue the application reads from (the
// segments' own mbufs, headers stripped: zero copy), and the bounded queue
// of segments that arrived ahead of a hole.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/mbuf.h"
#include "proto/tcp/seq.h"

namespace ustack {

class RecvQueue {
 public:
  RecvQueue() = default;
  RecvQueue(const RecvQueue&) = delete;
  RecvQueue& operator=(const RecvQueue&) = delete;
  ~RecvQueue() { clear(); }

  std::uint32_t bytes() const { return bytes_; }
  // Takes ownership of a chain of payload bytes (pkt_len of them).
  void append(Mbuf* chain);
  // The first segment (data at the oldest unread byte), or nullptr.
  const Mbuf* front() const { return head_; }
  // Forgets the first n bytes.
  void consume(std::uint32_t n);
  // Copies up to out.size() bytes and consumes them.
  std::size_t read(std::span<std::byte> out);
  // Hands over whole segments, up to `max` bytes, as a chain (pkt_len set)
  // the caller owns; nullptr when empty or the first segment exceeds `max`.
  Mbuf* take(std::uint32_t max);
  void clear();

 private:
  Mbuf* head_ = nullptr;
  Mbuf* tail_ = nullptr;
  std::uint32_t bytes_ = 0;
};

// Segments beyond RCV.NXT, sorted by sequence number, never overlapping
// (overlaps are trimmed on insert, RFC 9293 §3.10.7.4: keep what is new).
class OutOfOrderQueue {
 public:
  explicit OutOfOrderQueue(std::uint32_t max_segments) : max_(max_segments) {}
  void set_max(std::uint32_t max_segments) { max_ = max_segments; }
  OutOfOrderQueue(const OutOfOrderQueue&) = delete;
  OutOfOrderQueue& operator=(const OutOfOrderQueue&) = delete;
  ~OutOfOrderQueue() { clear(); }

  // Takes ownership of `m` (len payload bytes starting at seq). false (m
  // freed) when nothing of it was new or the queue is full.
  bool insert(SeqNum seq, Mbuf* m);
  // Moves the segments that now continue RCV.NXT into `in_order`; returns
  // the new RCV.NXT.
  SeqNum drain(SeqNum rcv_nxt, RecvQueue& in_order);
  std::uint32_t bytes() const { return bytes_; }
  std::size_t segments() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear();

 private:
  struct Entry {
    SeqNum seq;
    Mbuf* m;  // pkt_len bytes
    SeqNum end() const { return seq + m->pkt_len; }
  };
  std::vector<Entry> entries_;
  std::uint32_t max_;
  std::uint32_t bytes_ = 0;
};

// Removes n bytes from the front of chain m (freeing emptied segments);
// returns the new head. n < m->pkt_len.
Mbuf* chain_trim_front(Mbuf* m, std::uint32_t n);

}  // namespace ustack
