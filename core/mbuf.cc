#include "core/mbuf.h"

#include <algorithm>
#include <cstring>

#include "core/mbuf_pool.h"

namespace ustack {
namespace {

// Drops one reference to segment m. Returns true when it was the last one.
inline bool drop_ref(Mbuf* m) {
  if (m->refcnt.load(std::memory_order_relaxed) == 1) return true;
  return m->refcnt.fetch_sub(1, std::memory_order_acq_rel) == 1;
}

// Collects segments to return to their pools in bursts.
class FreeBatch {
 public:
  ~FreeBatch() { flush(); }
  void add(Mbuf* seg) {
    if (n_ == kMax || (n_ > 0 && pool_ != seg->pool)) flush();
    pool_ = seg->pool;
    segs_[n_++] = seg;
  }
  void flush() {
    if (n_ > 0) pool_->put_bulk(segs_, n_);
    n_ = 0;
  }

 private:
  static constexpr std::uint32_t kMax = 64;
  Mbuf* segs_[kMax];
  std::uint32_t n_ = 0;
  MbufPool* pool_ = nullptr;
};

// Releases what a segment whose last reference is gone holds on to, then
// queues the segment itself for its pool.
void release_segment(Mbuf* seg, FreeBatch& batch) {
  if (seg->direct != nullptr) {
    Mbuf* d = seg->direct;
    seg->direct = nullptr;
    if (drop_ref(d)) release_segment(d, batch);  // direct mbufs have no `direct`
  } else if (seg->ext != nullptr) {
    ExtBufInfo* info = seg->ext;
    seg->ext = nullptr;
    if (info->refcnt.fetch_sub(1, std::memory_order_acq_rel) == 1)
      info->free_cb(seg->buf_addr, info->opaque);
  }
  batch.add(seg);
}

void free_chain(Mbuf* m, FreeBatch& batch) {
  while (m != nullptr) {
    Mbuf* next = m->next;
    if (drop_ref(m)) release_segment(m, batch);
    m = next;
  }
}

}  // namespace

std::byte* Mbuf::append(std::uint16_t n) {
  Mbuf* l = last();
  if (n > l->tailroom()) return nullptr;
  std::byte* p = l->data() + l->data_len;
  l->data_len = static_cast<std::uint16_t>(l->data_len + n);
  pkt_len += n;
  return p;
}

bool Mbuf::trim(std::uint32_t n) {
  if (n > pkt_len) return false;
  std::uint32_t keep = pkt_len - n;
  pkt_len = keep;
  Mbuf* m = this;
  std::uint16_t segs = 0;
  while (m != nullptr) {
    ++segs;
    if (keep <= m->data_len) {
      m->data_len = static_cast<std::uint16_t>(keep);
      Mbuf* rest = m->next;
      m->next = nullptr;
      if (rest != nullptr) mbuf_free(rest);
      break;
    }
    keep -= m->data_len;
    m = m->next;
  }
  nb_segs = segs;
  return true;
}

void Mbuf::chain(Mbuf* tail) {
  last()->next = tail;
  pkt_len += tail->pkt_len;
  nb_segs = static_cast<std::uint16_t>(nb_segs + tail->nb_segs);
}

void mbuf_free(Mbuf* m) {
  FreeBatch batch;
  free_chain(m, batch);
}

void mbuf_free_bulk(Mbuf* const* ms, std::size_t n) {
  FreeBatch batch;
  for (std::size_t i = 0; i < n; ++i) free_chain(ms[i], batch);
}

Mbuf* mbuf_clone(Mbuf* m, MbufPool& pool) {
  if (m == nullptr) return nullptr;
  Mbuf* head = nullptr;
  Mbuf* tail = nullptr;
  for (Mbuf* s = m; s != nullptr; s = s->next) {
    Mbuf* c = pool.alloc();
    if (c == nullptr) {
      if (head != nullptr) mbuf_free(head);
      return nullptr;
    }
    Mbuf* d = s->direct != nullptr ? s->direct : s;
    d->add_ref();
    c->direct = d;
    c->buf_addr = s->buf_addr;
    c->buf_len = s->buf_len;
    c->data_off = s->data_off;
    c->data_len = s->data_len;
    c->ol_flags = s->ol_flags;
    c->l2_len = s->l2_len;
    c->l3_len = s->l3_len;
    c->l4_len = s->l4_len;
    c->port = s->port;
    c->queue = s->queue;
    c->rss_hash = s->rss_hash;
    if (head == nullptr) {
      head = c;
    } else {
      tail->next = c;
    }
    tail = c;
  }
  if (head != nullptr) {
    head->pkt_len = m->pkt_len;
    head->nb_segs = m->nb_segs;
  }
  return head;
}

void mbuf_attach_extbuf(Mbuf* m, std::byte* addr, std::uint32_t len, ExtBufInfo* info) {
  m->buf_addr = addr;
  m->buf_len = len;
  m->data_off = 0;
  m->data_len = 0;
  m->pkt_len = 0;
  m->ext = info;
}

std::size_t mbuf_read(const Mbuf* m, std::size_t offset, std::span<std::byte> out) {
  std::size_t copied = 0;
  for (; m != nullptr && copied < out.size(); m = m->next) {
    if (offset >= m->data_len) {
      offset -= m->data_len;
      continue;
    }
    const std::size_t n = std::min<std::size_t>(m->data_len - offset, out.size() - copied);
    std::memcpy(out.data() + copied, m->data() + offset, n);
    copied += n;
    offset = 0;
  }
  return copied;
}

}  // namespace ustack
