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

namespace {

void copy_head_metadata(Mbuf* to, const Mbuf* from) {
  to->pkt_len = from->pkt_len;
  to->nb_segs = from->nb_segs;
  to->port = from->port;
  to->queue = from->queue;
  to->ol_flags = from->ol_flags;
  to->rss_hash = from->rss_hash;
  to->l2_len = from->l2_len;
  to->l3_len = from->l3_len;
  to->l4_len = from->l4_len;
  to->tso_segsz = from->tso_segsz;
}

}  // namespace

namespace {

// A new segment from `pool` referencing bytes [off, off + len) of segment s.
Mbuf* indirect_segment(Mbuf* s, std::uint32_t off, std::uint32_t len, MbufPool& pool) {
  Mbuf* c = pool.alloc();
  if (c == nullptr) return nullptr;
  Mbuf* d = s->direct != nullptr ? s->direct : s;
  d->add_ref();
  c->direct = d;
  c->buf_addr = s->buf_addr;
  c->buf_len = s->buf_len;
  c->data_off = static_cast<std::uint16_t>(s->data_off + off);
  c->data_len = static_cast<std::uint16_t>(len);
  return c;
}

// Appends segment c to the chain (head, tail).
void link_segment(Mbuf*& head, Mbuf*& tail, Mbuf* c) {
  if (head == nullptr) {
    head = c;
  } else {
    tail->next = c;
  }
  tail = c;
}

}  // namespace

Mbuf* mbuf_clone(Mbuf* m, MbufPool& pool) {
  if (m == nullptr) return nullptr;
  Mbuf* head = nullptr;
  Mbuf* tail = nullptr;
  for (Mbuf* s = m; s != nullptr; s = s->next) {
    Mbuf* c = indirect_segment(s, 0, s->data_len, pool);
    if (c == nullptr) {
      if (head != nullptr) mbuf_free(head);
      return nullptr;
    }
    link_segment(head, tail, c);
  }
  copy_head_metadata(head, m);
  return head;
}

Mbuf* mbuf_clone_range(Mbuf* m, std::uint32_t offset, std::uint32_t len, MbufPool& pool) {
  if (m == nullptr || len == 0 || std::uint64_t{offset} + len > m->pkt_len) return nullptr;
  return mbuf_clone_segments(m, offset, len, pool);
}

Mbuf* mbuf_clone_segments(Mbuf* m, std::uint32_t offset, std::uint32_t len, MbufPool& pool) {
  if (m == nullptr || len == 0) return nullptr;
  Mbuf* head = nullptr;
  Mbuf* tail = nullptr;
  std::uint32_t left = len;
  std::uint16_t segs = 0;
  for (Mbuf* s = m; s != nullptr && left > 0; s = s->next) {
    if (offset >= s->data_len) {
      offset -= s->data_len;
      continue;
    }
    const std::uint32_t take = std::min<std::uint32_t>(s->data_len - offset, left);
    Mbuf* c = indirect_segment(s, offset, take, pool);
    if (c == nullptr) {
      if (head != nullptr) mbuf_free(head);
      return nullptr;
    }
    link_segment(head, tail, c);
    left -= take;
    offset = 0;
    ++segs;
  }
  if (head == nullptr || left > 0) {  // the chain was shorter than promised
    if (head != nullptr) mbuf_free(head);
    return nullptr;
  }
  head->pkt_len = len;
  head->nb_segs = segs;
  return head;
}

Mbuf* mbuf_alloc_chain(MbufPool& pool, std::uint32_t len) {
  Mbuf* head = nullptr;
  std::uint32_t done = 0;
  do {
    Mbuf* seg = pool.alloc();
    if (seg == nullptr) {
      if (head != nullptr) mbuf_free(head);
      return nullptr;
    }
    const auto n = static_cast<std::uint16_t>(std::min<std::uint32_t>(len - done, seg->tailroom()));
    seg->append(n);
    done += n;
    if (head == nullptr) {
      head = seg;
    } else {
      head->chain(seg);
    }
  } while (done < len);
  return head;
}

Mbuf* mbuf_copy(const Mbuf* m, MbufPool& pool) {
  Mbuf* head = mbuf_alloc_chain(pool, m->pkt_len);
  if (head == nullptr) return nullptr;
  std::uint32_t off = 0;
  for (Mbuf* s = head; s != nullptr; s = s->next) {
    mbuf_read(m, off, s->span());
    off += s->data_len;
  }
  head->ol_flags = m->ol_flags;
  head->rss_hash = m->rss_hash;
  head->port = m->port;
  head->queue = m->queue;
  head->l2_len = m->l2_len;
  head->l3_len = m->l3_len;
  head->l4_len = m->l4_len;
  return head;
}

bool mbuf_has_ext(const Mbuf* m) {
  for (; m != nullptr; m = m->next)
    if (m->ext != nullptr || (m->direct != nullptr && m->direct->ext != nullptr)) return true;
  return false;
}

bool mbuf_unpin(Mbuf** mp, MbufPool& pool) {
  if (!mbuf_has_ext(*mp)) return true;
  Mbuf* copy = mbuf_copy(*mp, pool);
  if (copy == nullptr) return false;
  mbuf_free(*mp);
  *mp = copy;
  return true;
}

bool mbuf_coalesce(Mbuf* tail, Mbuf* m, std::uint32_t max) {
  const std::uint32_t len = m->data_len;
  if (len > max || m->next != nullptr || tail->has_ext() || !tail->is_writable() ||
      tail->tailroom() < len)
    return false;
  std::memcpy(tail->data() + tail->data_len, m->data(), len);
  tail->data_len = static_cast<std::uint16_t>(tail->data_len + len);
  mbuf_free(m);
  return true;
}

bool mbuf_pullup(Mbuf** mp, std::uint32_t n, MbufPool& pool) {
  Mbuf* m = *mp;
  if (n > m->pkt_len) return false;
  // Empty leading segments (a header that was stripped) go first.
  while (m->data_len == 0 && m->next != nullptr) {
    Mbuf* next = m->next;
    copy_head_metadata(next, m);
    next->nb_segs = static_cast<std::uint16_t>(m->nb_segs - 1);
    m->next = nullptr;
    mbuf_free(m);
    m = next;
  }
  *mp = m;
  if (m->data_len >= n) return true;
  if (!m->is_writable() || m->tailroom() < n - m->data_len) {
    Mbuf* head = pool.alloc();
    if (head == nullptr || head->tailroom() < n) {
      if (head != nullptr) mbuf_free(head);
      return false;
    }
    copy_head_metadata(head, m);
    head->nb_segs = static_cast<std::uint16_t>(m->nb_segs + 1);
    head->next = m;
    head->data_len = 0;
    m = head;
    *mp = m;
  }
  // Move bytes from the segments after the head into it.
  while (m->data_len < n) {
    Mbuf* s = m->next;
    const auto take =
        static_cast<std::uint16_t>(std::min<std::uint32_t>(n - m->data_len, s->data_len));
    std::memcpy(m->data() + m->data_len, s->data(), take);
    m->data_len = static_cast<std::uint16_t>(m->data_len + take);
    s->data_off = static_cast<std::uint16_t>(s->data_off + take);
    s->data_len = static_cast<std::uint16_t>(s->data_len - take);
    if (s->data_len == 0) {
      m->next = s->next;
      s->next = nullptr;
      mbuf_free(s);
      --m->nb_segs;
    }
  }
  return true;
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
