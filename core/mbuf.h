// Mbuf: the packet buffer every layer passes by pointer.
//
// Memory of a pool element: [Mbuf][private area][headroom | data room].
// A segment's bytes are buf_addr[data_off, data_off + data_len). Segments
// chain through `next`; the first segment holds pkt_len and nb_segs.
//
// Ownership: a Mbuf* is owned by whoever holds it; passing it on (to tx_burst,
// to a queue, to mbuf_free) gives it away. Sharing is explicit: mbuf_clone()
// makes an indirect mbuf that references the same bytes and bumps the
// reference count of the direct one. Memory that belongs to someone else (a
// DPDK rte_mbuf, an AF_PACKET ring block) is attached as an external buffer
// with a shared-info block whose callback runs when its last user is freed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace ustack {

class MbufPool;

// Offload flags (Mbuf::ol_flags). Receive flags are set by drivers; transmit
// flags are requests to the driver, only made when its capabilities say so.
namespace ol {
inline constexpr std::uint32_t kRxIpCksumGood = 1u << 0;
inline constexpr std::uint32_t kRxIpCksumBad = 1u << 1;
inline constexpr std::uint32_t kRxL4CksumGood = 1u << 2;
inline constexpr std::uint32_t kRxL4CksumBad = 1u << 3;
inline constexpr std::uint32_t kRxRssHash = 1u << 4;  // rss_hash is valid
inline constexpr std::uint32_t kRxVlanStripped = 1u << 5;
inline constexpr std::uint32_t kTxIpCksum = 1u << 16;   // driver fills the IPv4 checksum
inline constexpr std::uint32_t kTxTcpCksum = 1u << 17;  // driver fills the TCP checksum
inline constexpr std::uint32_t kTxUdpCksum = 1u << 18;  // driver fills the UDP checksum
inline constexpr std::uint32_t kTxTcpSeg = 1u << 19;    // TSO with tso_segsz
inline constexpr std::uint32_t kTxIpv4 = 1u << 20;
inline constexpr std::uint32_t kTxIpv6 = 1u << 21;
}  // namespace ol

// Shared information of an external buffer. The attacher sets free_cb and
// opaque and one reference per mbuf it attaches; the callback runs on the
// thread that drops the last reference.
struct ExtBufInfo {
  void (*free_cb)(void* addr, void* opaque) = nullptr;
  void* opaque = nullptr;
  std::atomic<std::uint32_t> refcnt{0};
};

struct alignas(64) Mbuf {
  // ---- cache line 0: what receive and transmit paths touch.
  std::byte* buf_addr;     // start of the buffer (headroom starts here)
  Mbuf* next;              // next segment, nullptr at the end of the chain
  std::uint32_t pkt_len;   // bytes over the whole chain (first segment)
  std::uint16_t data_off;  // offset of the first data byte from buf_addr
  std::uint16_t data_len;  // bytes in this segment
  std::uint32_t buf_len;   // bytes in the buffer
  std::uint16_t nb_segs;   // segments in the chain (first segment)
  std::uint16_t port;      // receiving port id
  std::uint32_t ol_flags;  // ol::k* flags
  std::uint32_t rss_hash;  // valid when ol::kRxRssHash is set
  std::uint16_t l2_len;    // parsed header lengths, set by the layer that parsed them
  std::uint16_t l3_len;
  std::uint16_t l4_len;
  std::uint16_t tso_segsz;  // MSS for ol::kTxTcpSeg
  std::atomic<std::uint16_t> refcnt;
  std::uint16_t queue;  // receiving queue
  MbufPool* pool;       // owning pool: where this Mbuf goes back on free
  // ---- cache line 1: sharing and user data.
  Mbuf* direct;           // for an indirect mbuf: the mbuf whose bytes it references
  ExtBufInfo* ext;        // for an external buffer: its shared info
  std::uint64_t udata64;  // free for the current owner (layers use it transiently)

  // ---- single-segment accessors
  std::byte* data() { return buf_addr + data_off; }
  const std::byte* data() const { return buf_addr + data_off; }
  template <typename T>
  T* data_as(std::size_t offset = 0) {
    return reinterpret_cast<T*>(data() + offset);
  }
  std::span<std::byte> span() { return {data(), data_len}; }
  std::span<const std::byte> span() const { return {data(), data_len}; }
  std::uint32_t headroom() const { return data_off; }
  std::uint32_t tailroom() const { return buf_len - data_off - data_len; }
  bool is_indirect() const { return direct != nullptr; }
  bool has_ext() const { return ext != nullptr; }
  // True when nobody else can see these bytes, so writing them is safe.
  // An external buffer's own count is about the lifetime of the memory (an
  // AF_PACKET block holds many frames), not about sharing these bytes: a
  // clone of this mbuf references it through `direct` and raises refcnt.
  bool is_writable() const {
    return refcnt.load(std::memory_order_relaxed) == 1 && direct == nullptr;
  }

  // Grows the first segment at the front by n bytes; nullptr if no headroom.
  std::byte* prepend(std::uint16_t n) {
    if (n > data_off) return nullptr;
    data_off = static_cast<std::uint16_t>(data_off - n);
    data_len = static_cast<std::uint16_t>(data_len + n);
    pkt_len += n;
    return data();
  }
  // Removes n bytes from the front of the first segment; nullptr if too few.
  std::byte* adj(std::uint16_t n) {
    if (n > data_len) return nullptr;
    data_off = static_cast<std::uint16_t>(data_off + n);
    data_len = static_cast<std::uint16_t>(data_len - n);
    pkt_len -= n;
    return data();
  }
  // Appends n bytes at the end of the last segment; nullptr if no tailroom.
  std::byte* append(std::uint16_t n);
  // Removes n bytes from the end of the chain; false if it has fewer.
  bool trim(std::uint32_t n);

  Mbuf* last() {
    Mbuf* m = this;
    while (m->next != nullptr) m = m->next;
    return m;
  }
  // Appends `tail` (a whole chain) to this chain; takes ownership of it.
  void chain(Mbuf* tail);

  std::uint16_t refs() const { return refcnt.load(std::memory_order_relaxed); }
  // Adds a reference to this segment (not the chain). Dropping a reference
  // skips the atomic read-modify-write when the count is 1, as DPDK does.
  void add_ref(std::uint16_t n = 1) { refcnt.fetch_add(n, std::memory_order_relaxed); }
};

static_assert(sizeof(Mbuf) == 128, "Mbuf is two cache lines");
static_assert(std::atomic<std::uint16_t>::is_always_lock_free);

// Frees a whole chain (segments whose reference count drops to zero go back
// to their pools; external buffers' callbacks run when their last user goes).
void mbuf_free(Mbuf* m);
// Frees n chains; segments are returned to their pools in bursts.
void mbuf_free_bulk(Mbuf* const* ms, std::size_t n);

// Makes an indirect copy of chain `m` from `pool`: new segments that reference
// the same bytes (zero copy). nullptr if the pool is out of mbufs.
Mbuf* mbuf_clone(Mbuf* m, MbufPool& pool);

// Makes an indirect copy of bytes [offset, offset + len) of chain `m` (zero
// copy; the new chain's segments reference m's). nullptr if the range is
// outside the chain or the pool runs out.
Mbuf* mbuf_clone_range(Mbuf* m, std::uint32_t offset, std::uint32_t len, MbufPool& pool);
// The same from segment `seg` on, for callers that keep their own byte
// counts (the segments after `seg` must hold offset + len bytes; pkt_len is
// not consulted). nullptr if the pool runs out.
Mbuf* mbuf_clone_segments(Mbuf* seg, std::uint32_t offset, std::uint32_t len, MbufPool& pool);

// A deep copy of chain `m` into fresh mbufs of `pool` (slow paths only: a
// frame whose shared bytes must change). nullptr if the pool runs out.
Mbuf* mbuf_copy(const Mbuf* m, MbufPool& pool);

// True when a segment of the chain points into external memory (directly,
// or as a clone of one that does): a driver's receive ring, for example an
// AF_PACKET frame or block.
bool mbuf_has_ext(const Mbuf* m);

// For a chain about to be held for long (reassembly, out-of-order data,
// data the application leaves unread, a send queue waiting on the peer): a
// chain in external memory is replaced by a copy in `pool`, since held it
// would pin the driver's ring, and a ring stops at the first unit it has
// not got back (AF_PACKET drops every later frame until it is freed).
// False, leaving *m as it was, only when a copy is needed and the pool is
// empty.
bool mbuf_unpin(Mbuf** m, MbufPool& pool);

// Copies the single segment `m` (at most `max` bytes) into the room after
// the data of `tail` and frees it, when `tail` is a buffer of our own (not
// external, not shared) with that room: small segments then share buffers
// instead of holding one each (Linux's tcp_try_coalesce). False, with
// nothing done, otherwise.
bool mbuf_coalesce(Mbuf* tail, Mbuf* m, std::uint32_t max);

// A chain of fresh mbufs from `pool` holding `len` bytes (contents not
// set), each segment filled to its data room. nullptr if the pool runs out.
Mbuf* mbuf_alloc_chain(MbufPool& pool, std::uint32_t len);

// Makes the first `n` bytes of chain *m contiguous in its first segment
// (n <= (*m)->pkt_len): drops empty leading segments, then moves bytes from
// the following segments into the first one, or into a fresh head segment
// from `pool` when the first cannot take them. The chain's metadata stays on
// its head. Returns false, leaving *m a valid chain still owned by the
// caller, only when the pool is empty or n exceeds a segment's room.
bool mbuf_pullup(Mbuf** m, std::uint32_t n, MbufPool& pool);

// Attaches external memory to a fresh mbuf (one from alloc with no data).
// The caller has already counted this mbuf in info->refcnt.
void mbuf_attach_extbuf(Mbuf* m, std::byte* addr, std::uint32_t len, ExtBufInfo* info);

// Copies up to `len` bytes starting at `offset` of the chain into `out`;
// returns how many it copied. For tests and slow paths.
std::size_t mbuf_read(const Mbuf* m, std::size_t offset, std::span<std::byte> out);

// Owning handle. Frees the chain it still holds when it goes out of scope.
class MbufPtr {
 public:
  MbufPtr() = default;
  explicit MbufPtr(Mbuf* m) : m_(m) {}
  MbufPtr(MbufPtr&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  MbufPtr& operator=(MbufPtr&& o) noexcept {
    if (this != &o) reset(std::exchange(o.m_, nullptr));
    return *this;
  }
  MbufPtr(const MbufPtr&) = delete;
  MbufPtr& operator=(const MbufPtr&) = delete;
  ~MbufPtr() { reset(); }

  Mbuf* get() const { return m_; }
  Mbuf* operator->() const { return m_; }
  Mbuf& operator*() const { return *m_; }
  explicit operator bool() const { return m_ != nullptr; }
  [[nodiscard]] Mbuf* release() { return std::exchange(m_, nullptr); }
  void reset(Mbuf* m = nullptr) {
    if (m_ != nullptr) mbuf_free(m_);
    m_ = m;
  }

 private:
  Mbuf* m_ = nullptr;
};

}  // namespace ustack
