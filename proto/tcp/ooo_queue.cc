#include "proto/tcp/ooo_queue.h"

#include <algorithm>
#include <cstring>

#include "proto/tcp/recv_queue.h"

namespace ustack {
namespace {

// Segments at most this long are copied into the spare room of the buffer
// before them instead of being held in their own (mbuf_coalesce).
constexpr std::uint32_t kCoalesceMax = kTcpCoalesceMax;

}  // namespace

std::vector<OutOfOrderQueue::Interval>::iterator OutOfOrderQueue::find(SeqNum seq) {
  return std::lower_bound(iv_.begin(), iv_.end(), seq,
                          [](const Interval& iv, SeqNum s) { return iv.end < s; });
}

std::vector<OutOfOrderQueue::Interval>::const_iterator OutOfOrderQueue::find(SeqNum seq) const {
  return std::lower_bound(iv_.begin(), iv_.end(), seq,
                          [](const Interval& iv, SeqNum s) { return iv.end < s; });
}

void OutOfOrderQueue::free_interval(Interval& iv) {
  bytes_ -= static_cast<std::uint32_t>(iv.end - iv.start);
  mbufs_ -= iv.mbufs;
  mbuf_free(iv.head);
  iv.head = iv.tail = nullptr;
}

void OutOfOrderQueue::append_to(Interval& iv, Mbuf* m, std::uint32_t len, std::uint32_t nsegs) {
  Mbuf* t = iv.tail;
  if (!mbuf_coalesce(t, m, kCoalesceMax)) {
    t->next = m;
    iv.tail = m->last();
    iv.mbufs += nsegs;
    mbufs_ += nsegs;
  }
  iv.end = iv.end + len;
  bytes_ += len;
}

void OutOfOrderQueue::touch(SeqNum seq) {
  // Newest first: the interval now holding seq, then those reported
  // before it that still exist, each once.
  const auto holder = [&](SeqNum s) {
    auto it = find(s);
    return it != iv_.end() && it->start <= s && s < it->end ? it : iv_.end();
  };
  std::array<SeqNum, 4> next{};
  std::array<std::vector<Interval>::iterator, 4> seen{};
  std::size_t n = 0;
  next[n] = seq;
  seen[n++] = holder(seq);
  for (std::size_t r = 0; r < recent_n_ && n < next.size(); ++r) {
    const auto it = holder(recent_[r]);
    if (it == iv_.end() || std::find(seen.begin(), seen.begin() + n, it) != seen.begin() + n)
      continue;
    next[n] = recent_[r];
    seen[n++] = it;
  }
  recent_ = next;
  recent_n_ = static_cast<std::uint8_t>(n);
}

OutOfOrderQueue::Insert OutOfOrderQueue::insert(SeqNum seq, Mbuf* m, SeqRange* dup) {
  *dup = SeqRange{seq, seq};
  SeqNum end = seq + m->pkt_len;
  auto it = find(seq);
  // Held already, wholly or at the front.
  if (it != iv_.end() && it->start <= seq) {
    if (it->end >= end) {
      *dup = SeqRange{seq, end};
      mbuf_free(m);
      return Insert::kDuplicate;
    }
    if (it->end > seq) {
      *dup = SeqRange{seq, it->end};
      m = chain_trim_front(m, static_cast<std::uint32_t>(it->end - seq));
      seq = it->end;
    }
  }
  // Caps: checked before anything held is touched.
  const std::uint32_t nsegs = m->nb_segs;
  const std::uint32_t len = static_cast<std::uint32_t>(end - seq);
  const bool extends = it != iv_.end() && it->start <= seq;
  if (bytes_ + len > limits_.max_bytes || mbufs_ + nsegs > limits_.max_mbufs ||
      (!extends && iv_.size() >= limits_.max_intervals && (it == iv_.end() || it->start > end))) {
    mbuf_free(m);
    return Insert::kFull;
  }
  // Intervals wholly inside the new data go (it covers them); one that
  // starts inside it trims its tail (RFC 9293 §3.10.7.4: keep what is new).
  auto next = extends ? it + 1 : it;
  while (next != iv_.end() && next->start < end) {
    if (next->end <= end) {
      if (dup->len() == 0) *dup = SeqRange{next->start, next->end};
      free_interval(*next);
      next = iv_.erase(next);
    } else {
      if (dup->len() == 0) *dup = SeqRange{next->start, end};
      m->trim(static_cast<std::uint32_t>(end - next->start));
      end = next->start;
      break;
    }
  }
  const std::uint32_t add = static_cast<std::uint32_t>(end - seq);
  if (extends) {
    append_to(*it, m, add, nsegs);
    // Now touching the next one: merge.
    if (next != iv_.end() && next->start == it->end) {
      it->tail->next = next->head;
      it->tail = next->tail;
      it->end = next->end;
      it->mbufs += next->mbufs;
      iv_.erase(next);
    }
  } else if (next != iv_.end() && next->start == end) {
    // Just in front of the next one: it grows at its front.
    m->last()->next = next->head;
    next->head = m;
    next->start = seq;
    next->mbufs += nsegs;
    mbufs_ += nsegs;
    bytes_ += add;
  } else {
    iv_.insert(next, Interval{seq, end, m, m->last(), nsegs});
    mbufs_ += nsegs;
    bytes_ += add;
  }
  touch(seq);
  return Insert::kNew;
}

SeqNum OutOfOrderQueue::drain(SeqNum rcv_nxt, RecvQueue& in_order) {
  std::size_t i = 0;
  for (; i < iv_.size() && iv_[i].start <= rcv_nxt; ++i) {
    Interval& iv = iv_[i];
    if (iv.end <= rcv_nxt) {
      free_interval(iv);  // had all of it already
      continue;
    }
    bytes_ -= static_cast<std::uint32_t>(iv.end - iv.start);
    mbufs_ -= iv.mbufs;
    Mbuf* m = iv.head;
    m->pkt_len = static_cast<std::uint32_t>(iv.end - iv.start);
    m->nb_segs = static_cast<std::uint16_t>(std::min<std::uint32_t>(iv.mbufs, 0xffff));
    if (iv.start < rcv_nxt) m = chain_trim_front(m, static_cast<std::uint32_t>(rcv_nxt - iv.start));
    rcv_nxt = iv.end;
    in_order.append(m);
  }
  iv_.erase(iv_.begin(), iv_.begin() + static_cast<std::ptrdiff_t>(i));
  return rcv_nxt;
}

std::size_t OutOfOrderQueue::sack_blocks(std::span<SeqRange> out) const {
  std::size_t n = 0;
  for (std::size_t r = 0; r < recent_n_ && n < out.size(); ++r) {
    auto it = find(recent_[r]);
    if (it == iv_.end() || recent_[r] < it->start || recent_[r] >= it->end) continue;
    const SeqRange b{it->start, it->end};
    if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), b) !=
        out.begin() + static_cast<std::ptrdiff_t>(n))
      continue;
    out[n++] = b;
  }
  // Fill up with the highest intervals not reported yet: the sender learns
  // of every hole within a few ACKs even if reports are lost.
  for (auto it = iv_.rbegin(); it != iv_.rend() && n < out.size(); ++it) {
    const SeqRange b{it->start, it->end};
    if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), b) ==
        out.begin() + static_cast<std::ptrdiff_t>(n))
      out[n++] = b;
  }
  return n;
}

bool OutOfOrderQueue::holds(SeqNum start, SeqNum end) const {
  auto it = find(start);
  return it != iv_.end() && it->start <= start && end <= it->end;
}

void OutOfOrderQueue::clear() {
  for (Interval& iv : iv_) mbuf_free(iv.head);
  iv_.clear();
  bytes_ = mbufs_ = 0;
  recent_n_ = 0;
}

}  // namespace ustack
