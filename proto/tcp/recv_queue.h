// Received TCP data: the in-order queue the application reads from (the
// segments' own mbufs, headers stripped: zero copy). What arrives ahead of
// a hole waits in the OutOfOrderQueue (ooo_queue.h).
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

// Removes n bytes from the front of chain m (freeing emptied segments);
// returns the new head. n < m->pkt_len.
Mbuf* chain_trim_front(Mbuf* m, std::uint32_t n);

}  // namespace ustack
