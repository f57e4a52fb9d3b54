// The bytes a TCP connection has accepted from the application and not yet
// had acknowledged, from SND.UNA on, as a list of mbuf segments (zero copy:
// the application's mbufs themselves, or mbufs we copied its bytes into).
//
// Segments to transmit are indirect clones of a byte range. Two cursors
// remember where the last ranges started, one for new data (SND.NXT, which
// only moves forward) and one for retransmissions (which move forward from
// SND.UNA through the holes of one recovery), so finding the bytes costs
// O(1) amortized however much is queued: the send path never walks the
// queue from its head (the cost that sinks stacks at large windows).
#pragma once

#include <cstdint>
#include <span>

#include "core/mbuf.h"
#include "core/mbuf_pool.h"
#include "proto/tcp/recv_queue.h"  // kTcpCoalesceMax

namespace ustack {

class SendQueue {
 public:
  SendQueue() = default;
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;
  ~SendQueue() { clear(); }

  std::uint32_t bytes() const { return bytes_; }
  // Takes ownership of the chain; small segments may be copied into the
  // last one's room, segments in a driver's ring into `pool` (see .cc).
  void append(Mbuf* chain, MbufPool& pool);
  // Copies up to `max` bytes of `data` (into the last segment's room first);
  // returns how many it took (fewer when the pool runs dry).
  std::uint32_t append_copy(std::span<const std::byte> data, std::uint32_t max, MbufPool& pool);
  // The first n bytes were acknowledged.
  void drop_front(std::uint32_t n);
  // An indirect chain over bytes [offset, offset + len) counted from the
  // front; nullptr if the pool runs dry. Precondition: offset + len <= bytes().
  Mbuf* clone(std::uint32_t offset, std::uint32_t len, MbufPool& pool);
  // Copies bytes [offset, offset + out.size()) (for tests and probes).
  std::size_t read(std::uint32_t offset, std::span<std::byte> out) const;
  void clear();

 private:
  Mbuf* head_ = nullptr;
  Mbuf* tail_ = nullptr;
  std::uint32_t bytes_ = 0;
  struct Cursor {
    Mbuf* seg = nullptr;    // a segment at or before the last clone's start
    std::uint32_t off = 0;  // its first byte's offset from the front
  };
  Cursor cursor_[2];  // [0] new data, [1] retransmissions behind it
  bool coalesce(Mbuf* seg);
  void link(Mbuf* segs);  // appends each segment as it is
};

}  // namespace ustack
