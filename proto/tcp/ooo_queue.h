// Received data that arrived ahead of a hole (beyond RCV.NXT), kept as
// sorted, disjoint intervals of sequence space, each a chain of the
// segments' own mbufs (zero copy, except that a small segment extending an
// interval is copied into the tail mbuf's spare room, so a flood of tiny
// segments does not pin one buffer each).
//
// Cost per segment: a binary search over the intervals (O(log n)), then
// O(1) work to extend or merge, or a move of at most `max_intervals`
// 32-byte entries to open a new one. Segments that continue an interval
// (the common case behind a single loss) never create entries, so a flood
// of tiny out-of-order segments costs O(log n) each and the queue stays
// within its byte, mbuf and interval caps (the SegmentSmack lesson: never
// walk or re-sort per segment).
//
// It also remembers which intervals changed most recently, for the SACK
// option (RFC 2018 §4: "the first SACK block ... MUST specify the
// contiguous block of data containing the segment which triggered this
// ACK"; the others repeat the most recently reported ones).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/mbuf.h"
#include "proto/tcp/seq.h"

namespace ustack {

class RecvQueue;

struct SeqRange {
  SeqNum start;
  SeqNum end;  // one past the last byte
  std::uint32_t len() const { return static_cast<std::uint32_t>(end - start); }
  friend bool operator==(const SeqRange&, const SeqRange&) = default;
};

struct OooLimits {
  std::uint32_t max_bytes = 1u << 20;  // payload bytes held
  std::uint32_t max_mbufs = 256;       // buffers held (bounds memory for tiny segments)
  std::uint32_t max_intervals = 64;    // holes the queue tracks
};

class OutOfOrderQueue {
 public:
  enum class Insert : std::uint8_t {
    kNew,        // some of it was new (part may have been a duplicate)
    kDuplicate,  // nothing new: all of it was held already
    kFull,       // dropped: a cap would be exceeded
  };

  OutOfOrderQueue() = default;
  OutOfOrderQueue(const OutOfOrderQueue&) = delete;
  OutOfOrderQueue& operator=(const OutOfOrderQueue&) = delete;
  ~OutOfOrderQueue() { clear(); }

  void set_limits(const OooLimits& l) { limits_ = l; }
  // Takes ownership of `m` (pkt_len payload bytes starting at seq, all of
  // it beyond RCV.NXT). *dup gets the first duplicated range, if any, for
  // D-SACK (RFC 2883 §4); its length is 0 when nothing was duplicated.
  Insert insert(SeqNum seq, Mbuf* m, SeqRange* dup);
  // Moves the intervals that now continue RCV.NXT into `in_order`; returns
  // the new RCV.NXT.
  SeqNum drain(SeqNum rcv_nxt, RecvQueue& in_order);
  // Up to out.size() intervals for SACK blocks, the most recently changed
  // first; returns how many.
  std::size_t sack_blocks(std::span<SeqRange> out) const;
  // True when [start, end) is held entirely (a duplicate, for D-SACK).
  bool holds(SeqNum start, SeqNum end) const;

  std::uint32_t bytes() const { return bytes_; }
  std::uint32_t mbufs() const { return mbufs_; }
  std::size_t intervals() const { return iv_.size(); }
  bool empty() const { return iv_.empty(); }
  void clear();

 private:
  struct Interval {
    SeqNum start;
    SeqNum end;
    Mbuf* head;  // exactly [start, end), segment lengths summing to end - start
    Mbuf* tail;
    std::uint32_t mbufs;
  };
  // The first interval whose end is at or after seq (end == seq touches it).
  std::vector<Interval>::iterator find(SeqNum seq);
  std::vector<Interval>::const_iterator find(SeqNum seq) const;
  void append_to(Interval& iv, Mbuf* m, std::uint32_t len, std::uint32_t nsegs);
  void free_interval(Interval& iv);
  void touch(SeqNum seq);

  std::vector<Interval> iv_;
  OooLimits limits_;
  std::uint32_t bytes_ = 0;
  std::uint32_t mbufs_ = 0;
  // A byte of each of the most recently changed intervals, newest first
  // (intervals merge and drain, so a byte, not an index, names them).
  std::array<SeqNum, 4> recent_{};
  std::uint8_t recent_n_ = 0;
};

}  // namespace ustack
