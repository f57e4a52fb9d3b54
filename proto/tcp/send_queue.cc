#include "proto/tcp/send_queue.h"

#include <algorithm>
#include <cstring>

namespace ustack {

bool SendQueue::coalesce(Mbuf* seg) {
  // Into the room after the last segment when it is a plain buffer of ours
  // (as append_copy does; clones in flight only reference bytes before it).
  const std::uint32_t n = seg->data_len;
  if (n > kTcpCoalesceMax || tail_ == nullptr || tail_->direct != nullptr ||
      tail_->ext != nullptr ||
      std::min<std::uint32_t>(tail_->tailroom(), 0xffffu - tail_->data_len) < n)
    return false;
  std::memcpy(tail_->data() + tail_->data_len, seg->data(), n);
  tail_->data_len = static_cast<std::uint16_t>(tail_->data_len + n);
  tail_->pkt_len = tail_->data_len;
  bytes_ += n;
  mbuf_free(seg);
  return true;
}

void SendQueue::append(Mbuf* chain, MbufPool& pool) {
  // Link the chain's non-empty segments one by one; the chain's own head
  // metadata (pkt_len, nb_segs) means nothing inside the queue. Small ones
  // are copied into the room of the segment before (a stream of tiny sends
  // costs buffers by the byte, not by the send); one still in a driver's
  // receive ring (an echo of received segments) is copied out of it, since
  // the queue holds it until acknowledged, which a peer can put off
  // indefinitely with a zero window (mbuf_unpin; with the pool empty it
  // stays as it is).
  while (chain != nullptr) {
    Mbuf* next = chain->next;
    chain->next = nullptr;
    if (chain->data_len == 0) {
      mbuf_free(chain);
    } else if (!coalesce(chain)) {
      chain->pkt_len = chain->data_len;
      chain->nb_segs = 1;
      mbuf_unpin(&chain, pool);
      link(chain);
    }
    chain = next;
  }
}

void SendQueue::link(Mbuf* segs) {
  while (segs != nullptr) {
    Mbuf* s = segs;
    segs = s->next;
    s->next = nullptr;
    s->pkt_len = s->data_len;
    s->nb_segs = 1;
    if (tail_ == nullptr) {
      head_ = s;
    } else {
      tail_->next = s;
    }
    tail_ = s;
    bytes_ += s->data_len;
  }
}

std::uint32_t SendQueue::append_copy(std::span<const std::byte> data, std::uint32_t max,
                                     MbufPool& pool) {
  std::uint32_t want = static_cast<std::uint32_t>(std::min<std::size_t>(data.size(), max));
  std::uint32_t done = 0;
  // Fill the room after the last segment when it is a plain buffer of ours
  // (never an indirect or external one: those bytes belong to someone else).
  if (tail_ != nullptr && tail_->direct == nullptr && tail_->ext == nullptr && want > 0) {
    const std::uint32_t room =
        std::min<std::uint32_t>(tail_->tailroom(), 0xffffu - tail_->data_len);
    const std::uint32_t n = std::min(room, want);
    if (n > 0) {
      std::memcpy(tail_->data() + tail_->data_len, data.data(), n);
      tail_->data_len = static_cast<std::uint16_t>(tail_->data_len + n);
      tail_->pkt_len = tail_->data_len;
      bytes_ += n;
      done = n;
    }
  }
  while (done < want) {
    Mbuf* m = pool.alloc();
    if (m == nullptr) break;
    const std::uint32_t n = std::min<std::uint32_t>(m->tailroom(), want - done);
    std::memcpy(m->append(static_cast<std::uint16_t>(n)), data.data() + done, n);
    link(m);
    done += n;
  }
  return done;
}

void SendQueue::drop_front(std::uint32_t n) {
  n = std::min(n, bytes_);
  bytes_ -= n;
  for (Cursor& k : cursor_) k.off = k.off >= n ? k.off - n : 0;
  while (n > 0 && head_ != nullptr) {
    if (n >= head_->data_len) {
      n -= head_->data_len;
      Mbuf* next = head_->next;
      for (Cursor& k : cursor_) {
        if (k.seg == head_) k = Cursor{};
      }
      head_->next = nullptr;
      mbuf_free(head_);
      head_ = next;
    } else {
      // The front segment is partly acknowledged: our view of it shrinks;
      // clones in flight keep their own offsets.
      head_->data_off = static_cast<std::uint16_t>(head_->data_off + n);
      head_->data_len = static_cast<std::uint16_t>(head_->data_len - n);
      head_->pkt_len = head_->data_len;
      n = 0;
    }
  }
  if (head_ == nullptr) {
    tail_ = nullptr;
    cursor_[0] = cursor_[1] = Cursor{};
  }
}

Mbuf* SendQueue::clone(std::uint32_t offset, std::uint32_t len, MbufPool& pool) {
  if (len == 0 || offset + len > bytes_) return nullptr;
  Cursor& k = cursor_[0].seg != nullptr && offset < cursor_[0].off ? cursor_[1] : cursor_[0];
  if (k.seg == nullptr || offset < k.off) k = Cursor{head_, 0};
  while (offset >= k.off + k.seg->data_len) {
    k.off += k.seg->data_len;
    k.seg = k.seg->next;
  }
  return mbuf_clone_segments(k.seg, offset - k.off, len, pool);
}

std::size_t SendQueue::read(std::uint32_t offset, std::span<std::byte> out) const {
  std::size_t done = 0;
  for (const Mbuf* s = head_; s != nullptr && done < out.size(); s = s->next) {
    if (offset >= s->data_len) {
      offset -= s->data_len;
      continue;
    }
    const std::size_t n = std::min<std::size_t>(s->data_len - offset, out.size() - done);
    std::memcpy(out.data() + done, s->data() + offset, n);
    done += n;
    offset = 0;
  }
  return done;
}

void SendQueue::clear() {
  if (head_ != nullptr) mbuf_free(head_);
  head_ = tail_ = nullptr;
  cursor_[0] = cursor_[1] = Cursor{};
  bytes_ = 0;
}

}  // namespace ustack
