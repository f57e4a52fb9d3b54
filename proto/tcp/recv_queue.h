// Received TCP data: the in-order queue the application reads from (the
// segments' own mbufs, headers stripped: zero copy). What arrives ahead of
// a hole waits in the OutOfOrderQueue (ooo_queue.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/mbuf.h"
#include "core/mbuf_pool.h"
#include "proto/tcp/seq.h"

namespace ustack {

// In-order and out-of-order data: segments at most this long are copied
// into the room after the segment before them (mbuf_coalesce), so a flood
// of tiny segments costs buffers by the byte, not by the segment.
inline constexpr std::uint32_t kTcpCoalesceMax = 512;

class RecvQueue {
 public:
  RecvQueue() = default;
  RecvQueue(const RecvQueue&) = delete;
  RecvQueue& operator=(const RecvQueue&) = delete;
  ~RecvQueue() { clear(); }

  std::uint32_t bytes() const { return bytes_; }
  // Takes ownership of a chain of payload bytes (pkt_len of them); a small
  // one-segment chain may be copied into the last segment (mbuf_coalesce).
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
  // Replaces segments still in a driver's ring by copies (mbuf_unpin), from
  // the first segment appended since the last call. False when the pool ran
  // dry (those segments stay as they are).
  bool unpin(MbufPool& pool);

 private:
  Mbuf* head_ = nullptr;
  Mbuf* tail_ = nullptr;
  Mbuf* unpinned_ = nullptr;  // every segment up to this one is in pool memory
  // A segment leaves the queue: it can no longer mark where unpin() resumes.
  void forget(const Mbuf* s) {
    if (s == unpinned_) unpinned_ = nullptr;
  }
  std::uint32_t bytes_ = 0;
};

// Removes n bytes from the front of chain m (freeing emptied segments);
// returns the new head. n < m->pkt_len.
Mbuf* chain_trim_front(Mbuf* m, std::uint32_t n);

}  // namespace ustack
