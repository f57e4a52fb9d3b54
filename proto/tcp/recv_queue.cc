#include "proto/tcp/recv_queue.h"

#include <algorithm>
#include <cstring>

namespace ustack {

Mbuf* chain_trim_front(Mbuf* m, std::uint32_t n) {
  const std::uint16_t segs = m->nb_segs;
  std::uint16_t dropped = 0;
  while (n > 0 && n >= m->data_len && m->next != nullptr) {
    n -= m->data_len;
    Mbuf* next = m->next;
    next->ol_flags = m->ol_flags;
    m->next = nullptr;
    mbuf_free(m);
    m = next;
    ++dropped;
  }
  m->data_off = static_cast<std::uint16_t>(m->data_off + n);
  m->data_len = static_cast<std::uint16_t>(m->data_len - n);
  m->nb_segs = static_cast<std::uint16_t>(segs - dropped);
  std::uint32_t sum = 0;
  for (Mbuf* s = m; s != nullptr; s = s->next) sum += s->data_len;
  m->pkt_len = sum;
  return m;
}

void RecvQueue::append(Mbuf* chain) {
  if (chain == nullptr) return;
  bytes_ += chain->pkt_len;
  if (tail_ != nullptr && mbuf_coalesce(tail_, chain, kTcpCoalesceMax)) return;
  if (tail_ == nullptr) {
    head_ = chain;
  } else {
    tail_->next = chain;
  }
  tail_ = chain->last();
}

void RecvQueue::consume(std::uint32_t n) {
  n = std::min(n, bytes_);
  bytes_ -= n;
  while (n > 0 && head_ != nullptr) {
    if (n >= head_->data_len) {
      n -= head_->data_len;
      Mbuf* next = head_->next;
      forget(head_);
      head_->next = nullptr;
      mbuf_free(head_);
      head_ = next;
    } else {
      head_->data_off = static_cast<std::uint16_t>(head_->data_off + n);
      head_->data_len = static_cast<std::uint16_t>(head_->data_len - n);
      n = 0;
    }
  }
  // Drop segments left empty.
  while (head_ != nullptr && head_->data_len == 0) {
    Mbuf* next = head_->next;
    forget(head_);
    head_->next = nullptr;
    mbuf_free(head_);
    head_ = next;
  }
  if (head_ == nullptr) tail_ = nullptr;
}

std::size_t RecvQueue::read(std::span<std::byte> out) {
  std::size_t done = 0;
  for (const Mbuf* s = head_; s != nullptr && done < out.size(); s = s->next) {
    const std::size_t n = std::min<std::size_t>(s->data_len, out.size() - done);
    std::memcpy(out.data() + done, s->data(), n);
    done += n;
  }
  consume(static_cast<std::uint32_t>(done));
  return done;
}

Mbuf* RecvQueue::take(std::uint32_t max) {
  if (head_ == nullptr || head_->data_len > max) return nullptr;
  Mbuf* first = head_;
  Mbuf* last = head_;
  std::uint32_t n = head_->data_len;
  std::uint16_t segs = 1;
  forget(first);
  while (last->next != nullptr && n + last->next->data_len <= max) {
    last = last->next;
    forget(last);
    n += last->data_len;
    ++segs;
  }
  head_ = last->next;
  last->next = nullptr;
  if (head_ == nullptr) tail_ = nullptr;
  bytes_ -= n;
  first->pkt_len = n;
  first->nb_segs = segs;
  return first;
}

void RecvQueue::clear() {
  if (head_ != nullptr) mbuf_free(head_);
  head_ = tail_ = unpinned_ = nullptr;
  bytes_ = 0;
}

bool RecvQueue::unpin(MbufPool& pool) {
  Mbuf* prev = unpinned_;
  for (Mbuf* s = prev != nullptr ? prev->next : head_; s != nullptr;) {
    Mbuf* next = s->next;
    if (s->ext != nullptr || (s->direct != nullptr && s->direct->ext != nullptr)) {
      // Copied alone: cut it out of the list for the copy.
      s->next = nullptr;
      s->pkt_len = s->data_len;
      s->nb_segs = 1;
      Mbuf* copy = s;
      if (!mbuf_unpin(&copy, pool)) {
        s->next = next;
        unpinned_ = prev;
        return false;
      }
      Mbuf* copy_last = copy->last();
      copy_last->next = next;
      (prev != nullptr ? prev->next : head_) = copy;
      if (tail_ == s) tail_ = copy_last;
      prev = copy_last;
    } else {
      prev = s;
    }
    s = next;
  }
  unpinned_ = prev;
  return true;
}

}  // namespace ustack
