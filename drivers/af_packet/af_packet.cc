#include "drivers/af_packet/af_packet.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace ustack {
namespace {

constexpr std::uint32_t kTxDataOffsetV3 = TPACKET_ALIGN(sizeof(tpacket3_hdr));
constexpr std::uint32_t kTxDataOffsetV2 = TPACKET_ALIGN(sizeof(tpacket2_hdr));
constexpr std::uint32_t kTxDataOffset = std::max(kTxDataOffsetV2, kTxDataOffsetV3);

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

struct Queue;

// A receive block handed to user space, and the reference count that keeps
// it from the kernel while mbufs point into it.
// With TPACKET_V2 the unit is one frame instead: `frame` points at its
// tpacket2_hdr.
struct Block {
  ExtBufInfo info;
  tpacket_block_desc* desc = nullptr;
  std::byte* frame = nullptr;
  Queue* queue = nullptr;
  // Between the reader taking the unit and its last mbuf going. Cleared
  // after the status goes back to the kernel, so a reader that sees it
  // clear and then TP_STATUS_USER sees a status the kernel wrote anew.
  std::atomic<bool> held{false};
};

struct Queue {
  int fd = -1;
  void* map = nullptr;
  std::size_t map_len = 0;
  std::byte* rx_base = nullptr;
  std::byte* tx_base = nullptr;
  std::uint32_t tx_head = 0;
  std::uint32_t current = 0;  // block being read
  bool reading = false;       // `current` is open (we hold a reference)
  tpacket3_hdr* next_pkt = nullptr;
  std::uint32_t pkts_left = 0;
  std::unique_ptr<Block[]> blocks;     // V3: per block; V2: per frame
  std::uint32_t units = 0;             // how many
  std::atomic<std::uint32_t> held{0};  // blocks (frames) still referenced by mbufs
  std::uint64_t wrapped_held = 0;      // polls that found the next unit still held
  MbufPool* pool = nullptr;
  std::unique_ptr<std::byte[]> whole;  // V2: a frame longer than a slot, read whole
};

// The longest frame read whole (AfPacketPort::read_whole): an IP packet of
// 64 KiB (a GSO/GRO super-frame) behind an Ethernet header, and room in
// front to put back a VLAN tag.
constexpr std::size_t kVlanRoom = 4;
constexpr std::size_t kWholeFrameMax = 65536 + 14;
constexpr int kWholeRcvBuf = 32 << 20;

void return_frame(void*, void* opaque) {
  auto* b = static_cast<Block*>(opaque);
  auto* h = reinterpret_cast<tpacket2_hdr*>(b->frame);
  __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  b->held.store(false, std::memory_order_release);
  b->queue->held.fetch_sub(1, std::memory_order_relaxed);
}

void return_block(void*, void* opaque) {
  auto* b = static_cast<Block*>(opaque);
  // The kernel owns the block again once it reads TP_STATUS_KERNEL.
  __atomic_store_n(&b->desc->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  b->held.store(false, std::memory_order_release);
  b->queue->held.fetch_sub(1, std::memory_order_relaxed);
}

bool set_int(int fd, int level, int opt, int value) {
  return setsockopt(fd, level, opt, &value, sizeof value) == 0;
}

class AfPacketPort final : public Port {
 public:
  AfPacketPort(const AfPacketConfig& cfg, std::uint16_t queues)
      : Port("af_packet:" + cfg.iface, queues), cfg_(cfg), queues_v_(queues) {}

  ~AfPacketPort() override {
    for (Queue& q : queues_v_) {
      // mbufs still pointing into a ring must be gone before it is unmapped.
      if (q.map != nullptr) munmap(q.map, q.map_len);
      if (q.fd >= 0) close(q.fd);
    }
  }

  bool open(std::string* error);

  std::uint16_t rx_burst(std::uint16_t qi, Mbuf** pkts, std::uint16_t n) override;
  std::uint16_t tx_burst(std::uint16_t qi, Mbuf** pkts, std::uint16_t n) override;
  void wait_rx(std::uint16_t qi, std::chrono::microseconds timeout) override;

 private:
  bool open_queue(Queue& q, int ifindex, std::string* error);
  void finish_block(Queue& q);
  // What both ring versions say about one received frame.
  struct FrameInfo {
    std::byte* frame;  // start of the frame's slot (its header)
    std::uint32_t snaplen, len, status;
    std::uint16_t mac, vlan_tci, vlan_tpid;
  };
  Mbuf* take_frame(Queue& q, const FrameInfo& f, Block& blk, std::uint16_t qi);
  std::byte* read_whole(Queue& q, const FrameInfo& f, std::uint16_t qi);
  std::uint16_t rx_burst_v2(Queue& q, std::uint16_t qi, Mbuf** pkts, std::uint16_t n);
  std::uint16_t tx_burst_sendmmsg(Queue& q, std::uint16_t qi, Mbuf** pkts, std::uint16_t n);

  AfPacketConfig cfg_;
  std::vector<Queue> queues_v_;
  std::uint32_t tx_frame_count_ = 0;
};

bool AfPacketPort::open(std::string* error) {
  const std::string& ifn = cfg_.iface;
  if (ifn.empty() || ifn.size() >= IFNAMSIZ) {
    *error = "af_packet: bad interface name '" + ifn + "'";
    return false;
  }
  const unsigned ifindex = if_nametoindex(ifn.c_str());
  if (ifindex == 0) {
    *error = "af_packet: interface '" + ifn + "' does not exist";
    return false;
  }
  // Permission first: it is the most basic thing that can be missing.
  {
    const int probe = socket(AF_PACKET, SOCK_RAW, 0);
    if (probe < 0 && (errno == EPERM || errno == EACCES)) {
      *error =
          "af_packet: no permission to open a packet socket (run as root or grant "
          "CAP_NET_RAW)";
      return false;
    }
    if (probe >= 0) close(probe);
  }
  // Interface facts through an ordinary socket.
  const int ctl = socket(AF_INET, SOCK_DGRAM, 0);
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifn.c_str(), ifn.size());
  if (ctl < 0 || ioctl(ctl, SIOCGIFFLAGS, &ifr) != 0) {
    *error = errno_text(("af_packet: cannot read the flags of " + ifn).c_str());
    if (ctl >= 0) close(ctl);
    return false;
  }
  if ((ifr.ifr_flags & IFF_UP) == 0) {
    close(ctl);
    *error = "af_packet: interface '" + ifn + "' is down (ip link set " + ifn + " up)";
    return false;
  }
  ioctl(ctl, SIOCGIFMTU, &ifr);
  mtu_ = static_cast<std::uint32_t>(ifr.ifr_mtu);
  ioctl(ctl, SIOCGIFHWADDR, &ifr);
  std::memcpy(mac_.b.data(), ifr.ifr_hwaddr.sa_data, 6);
  close(ctl);

  const std::uint32_t need = kTxDataOffset + mtu_ + 18;
  if (need > cfg_.frame_size) {
    *error = "af_packet: MTU " + std::to_string(mtu_) + " of " + ifn + " does not fit the ring's " +
             std::to_string(cfg_.frame_size) + "-byte frames (need " + std::to_string(need) + ")";
    return false;
  }
  if (cfg_.rx_pools.size() < queues_) {
    *error = "af_packet: one receive pool per queue is required";
    return false;
  }
  caps_.max_queues = queues_;
  caps_.max_mtu = mtu_;
  caps_.rss = queues_ > 1 ? RssKind::kKernel : RssKind::kNone;
  caps_.zero_copy_rx = true;
  caps_.rx_wait = true;
  caps_.zero_copy_tx = false;
  tx_frame_count_ = cfg_.tx_frames;
  for (std::uint16_t i = 0; i < queues_; ++i) {
    queues_v_[i].pool = cfg_.rx_pools[i];
    if (!open_queue(queues_v_[i], static_cast<int>(ifindex), error)) return false;
  }
  return true;
}

bool AfPacketPort::open_queue(Queue& q, int ifindex, std::string* error) {
  q.fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
  if (q.fd < 0) {
    if (errno == EPERM || errno == EACCES) {
      *error =
          "af_packet: no permission to open a packet socket (run as root or grant "
          "CAP_NET_RAW)";
    } else {
      *error = errno_text("af_packet: socket(AF_PACKET)");
    }
    return false;
  }
  const bool v2 = cfg_.ring_version == 2;
  if (!set_int(q.fd, SOL_PACKET, PACKET_VERSION, v2 ? TPACKET_V2 : TPACKET_V3)) {
    *error = errno_text(v2 ? "af_packet: TPACKET_V2" : "af_packet: TPACKET_V3");
    return false;
  }
  tpacket_req3 rx{};
  rx.tp_block_size = cfg_.block_size;
  rx.tp_block_nr = cfg_.block_count;
  rx.tp_frame_size = cfg_.frame_size;
  rx.tp_frame_nr = cfg_.block_size / cfg_.frame_size * cfg_.block_count;
  if (!v2) rx.tp_retire_blk_tov = cfg_.retire_timeout_ms;
  if (setsockopt(q.fd, SOL_PACKET, PACKET_RX_RING, &rx, sizeof rx) != 0) {
    *error = errno_text("af_packet: PACKET_RX_RING (block_size must be a page multiple)");
    return false;
  }
  tpacket_req3 tx{};
  const std::uint32_t tx_block = 1u << 16;
  if (!cfg_.tx_sendmmsg) {
    const std::uint32_t per_block = tx_block / cfg_.frame_size;
    tx.tp_block_size = tx_block;
    tx.tp_block_nr = (cfg_.tx_frames + per_block - 1) / per_block;
    tx.tp_frame_size = cfg_.frame_size;
    tx.tp_frame_nr = tx.tp_block_nr * per_block;
    tx_frame_count_ = tx.tp_frame_nr;
    if (setsockopt(q.fd, SOL_PACKET, PACKET_TX_RING, &tx, sizeof tx) != 0) {
      *error = errno_text("af_packet: PACKET_TX_RING");
      return false;
    }
  }
  const std::size_t rx_len = std::size_t{rx.tp_block_size} * rx.tp_block_nr;
  const std::size_t tx_len = std::size_t{tx.tp_block_size} * tx.tp_block_nr;
  q.map_len = rx_len + tx_len;
  q.map = mmap(nullptr, q.map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, q.fd, 0);
  if (q.map == MAP_FAILED) {
    q.map = mmap(nullptr, q.map_len, PROT_READ | PROT_WRITE, MAP_SHARED, q.fd, 0);
  }
  if (q.map == MAP_FAILED) {
    q.map = nullptr;
    *error = errno_text("af_packet: mmap of the rings");
    return false;
  }
  q.rx_base = static_cast<std::byte*>(q.map);
  q.tx_base = q.rx_base + rx_len;
  if (v2) {
    // One unit per frame; frames do not straddle blocks.
    const std::uint32_t frames_per_block = cfg_.block_size / cfg_.frame_size;
    q.units = rx.tp_frame_nr;
    q.blocks = std::make_unique<Block[]>(q.units);
    for (std::uint32_t i = 0; i < q.units; ++i) {
      Block& b = q.blocks[i];
      b.frame = q.rx_base + std::size_t{i / frames_per_block} * cfg_.block_size +
                std::size_t{i % frames_per_block} * cfg_.frame_size;
      b.queue = &q;
      b.info.free_cb = return_frame;
      b.info.opaque = &b;
    }
  } else {
    q.units = cfg_.block_count;
    q.blocks = std::make_unique<Block[]>(q.units);
    for (std::uint32_t i = 0; i < q.units; ++i) {
      Block& b = q.blocks[i];
      b.desc = reinterpret_cast<tpacket_block_desc*>(q.rx_base + std::size_t{i} * cfg_.block_size);
      b.queue = &q;
      b.info.free_cb = return_block;
      b.info.opaque = &b;
    }
  }
  if (v2) {
    // A frame longer than a V2 slot (a GSO/GRO super-frame) is also queued
    // whole on the socket, for read_whole. V3 blocks hold such frames.
    set_int(q.fd, SOL_PACKET, PACKET_COPY_THRESH, 1);
    // The kernel queues one only while the socket's receive buffer has
    // room (the default, about 200 KiB, is three such frames): room for a
    // burst of them (charged only while they wait; SO_RCVBUFFORCE as root
    // passes net.core.rmem_max).
    if (!set_int(q.fd, SOL_SOCKET, SO_RCVBUFFORCE, kWholeRcvBuf))
      set_int(q.fd, SOL_SOCKET, SO_RCVBUF, kWholeRcvBuf);
    q.whole = std::make_unique<std::byte[]>(kVlanRoom + kWholeFrameMax);
  }
  if (cfg_.qdisc_bypass) set_int(q.fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1);
  // Linux >= 4.20; on older kernels our own frames come back and are
  // dropped by the stack as having our source MAC.
  if (!cfg_.capture_outgoing) set_int(q.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(q.fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
    *error = errno_text("af_packet: bind");
    return false;
  }
  if (cfg_.promiscuous) {
    packet_mreq mr{};
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    setsockopt(q.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
  }
  if (queues_ > 1) {
    const int group = (getpid() & 0xffff) | (PACKET_FANOUT_HASH << 16);
    if (!set_int(q.fd, SOL_PACKET, PACKET_FANOUT, group)) {
      *error = errno_text("af_packet: PACKET_FANOUT");
      return false;
    }
  }
  return true;
}

// Drops the reader's own reference to the current block and moves on.
void AfPacketPort::finish_block(Queue& q) {
  Block& b = q.blocks[q.current];
  if (b.info.refcnt.fetch_sub(1, std::memory_order_acq_rel) == 1) return_block(nullptr, &b);
  q.reading = false;
  q.current = (q.current + 1) % cfg_.block_count;
}

// A frame the kernel cut to the ring's slot. Over a veth or on an interface
// with GRO, TCP hands over super-frames of up to 64 KiB that the V2 ring's
// 2 KiB slots cannot hold; with PACKET_COPY_THRESH the kernel also queues
// each such frame whole on the socket, in ring order, and marks its slot
// TP_STATUS_COPY. Reads it from there (a system call, for these frames
// only) and returns where it lies, kVlanRoom bytes into Queue::whole; or
// counts a drop and returns nullptr.
std::byte* AfPacketPort::read_whole(Queue& q, const FrameInfo& f, std::uint16_t qi) {
  if ((f.status & TP_STATUS_COPY) != 0 && q.whole != nullptr) {
    std::byte* buf = q.whole.get() + kVlanRoom;
    const ssize_t n = recv(q.fd, buf, kWholeFrameMax, MSG_DONTWAIT | MSG_TRUNC);
    if (n == static_cast<ssize_t>(f.len)) return buf;
  }
  stats_[qi].rx_drop();
  log_once(LogLevel::kWarn,
           "af_packet: dropping frames larger than the ring's slots (jumbo frames, or "
           "segmentation offload super-frames the kernel could not queue whole); turn "
           "segmentation offloads off on the sender (ethtool -K <iface> tso off gso off gro off)");
  return nullptr;
}

Mbuf* AfPacketPort::take_frame(Queue& q, const FrameInfo& f, Block& blk, std::uint16_t qi) {
  std::byte* frame = f.frame;
  std::uint32_t len = f.snaplen;
  std::byte* data = frame + f.mac;
  // More than half of the ring held by live mbufs: copy instead.
  bool copy = q.held.load(std::memory_order_relaxed) * 2 > q.units;
  if (f.snaplen < f.len) {
    data = read_whole(q, f, qi);
    if (data == nullptr) return nullptr;
    len = f.len;
    copy = true;
  }
  std::uint16_t head = f.mac;
  const bool vlan = (f.status & TP_STATUS_VLAN_VALID) != 0 && f.vlan_tci != 0;
  if (vlan && head >= 4) {
    // The kernel took the 802.1Q tag out; put it back in front of the
    // ethertype so the stack sees the frame as it was on the wire.
    std::memmove(data - 4, data, 12);
    data -= 4;
    head = static_cast<std::uint16_t>(head - 4);
    const std::uint16_t tpid = (f.status & TP_STATUS_VLAN_TPID_VALID) ? f.vlan_tpid : ETH_P_8021Q;
    const std::uint16_t be_tpid = htons(tpid), be_tci = htons(f.vlan_tci);
    std::memcpy(data + 12, &be_tpid, 2);
    std::memcpy(data + 14, &be_tci, 2);
    len += 4;
  }
  // One mbuf's data_len is 16 bits: a longer frame (a 64 KiB super-frame in
  // a V3 block) goes into a chain.
  if (len > UINT16_MAX) copy = true;
  Mbuf* m = nullptr;
  if (copy) {
    m = mbuf_alloc_chain(*q.pool, len);
    if (m != nullptr) {
      std::uint32_t off = 0;
      for (Mbuf* s = m; s != nullptr; s = s->next) {
        std::memcpy(s->data(), data + off, s->data_len);
        off += s->data_len;
      }
    }
  } else {
    m = q.pool->alloc();
    if (m != nullptr) {
      blk.info.refcnt.fetch_add(1, std::memory_order_relaxed);
      mbuf_attach_extbuf(m, frame, head + len, &blk.info);
      m->data_off = head;
      m->data_len = static_cast<std::uint16_t>(len);
      m->pkt_len = len;
    }
  }
  if (m == nullptr) {
    stats_[qi].rx_drop();
    return nullptr;
  }
  // From a local sender the checksum may not be filled in yet (it would be
  // by the NIC): the kernel says so, and vouches for the data.
  if (f.status & (TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID)) m->ol_flags |= ol::kRxL4CksumGood;
  m->queue = qi;
  return m;
}

std::uint16_t AfPacketPort::rx_burst_v2(Queue& q, std::uint16_t qi, Mbuf** pkts, std::uint16_t n) {
  std::uint16_t got = 0;
  std::uint64_t bytes = 0;
  while (got < n) {
    Block& fr = q.blocks[q.current];
    // Still held by mbufs from the last lap round the ring: its USER status
    // is that lap's, not new data (the kernel cannot write it until we give
    // it back). Wait for it.
    if (fr.held.load(std::memory_order_acquire)) {
      ++q.wrapped_held;
      break;
    }
    auto* h = reinterpret_cast<tpacket2_hdr*>(fr.frame);
    const std::uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if ((status & TP_STATUS_USER) == 0) break;
    // The frame is ours until its last mbuf goes (our own reference first).
    fr.held.store(true, std::memory_order_relaxed);
    fr.info.refcnt.store(1, std::memory_order_relaxed);
    q.held.fetch_add(1, std::memory_order_relaxed);
    q.current = (q.current + 1) % q.units;
    const FrameInfo f{fr.frame,  h->tp_snaplen,  h->tp_len,      status,
                      h->tp_mac, h->tp_vlan_tci, h->tp_vlan_tpid};
    Mbuf* m = take_frame(q, f, fr, qi);
    if (fr.info.refcnt.fetch_sub(1, std::memory_order_acq_rel) == 1) return_frame(nullptr, &fr);
    if (m == nullptr) continue;
    bytes += m->pkt_len;
    pkts[got++] = m;
  }
  if (got > 0) stats_[qi].rx(got, bytes);
  return got;
}

std::uint16_t AfPacketPort::rx_burst(std::uint16_t qi, Mbuf** pkts, std::uint16_t n) {
  Queue& q = queues_v_[qi];
  if (cfg_.ring_version == 2) return rx_burst_v2(q, qi, pkts, n);
  std::uint16_t got = 0;
  std::uint64_t bytes = 0;
  while (got < n) {
    if (!q.reading) {
      Block& b = q.blocks[q.current];
      // Still held by mbufs from the last lap round the ring (see V2).
      if (b.held.load(std::memory_order_acquire)) {
        ++q.wrapped_held;
        break;
      }
      if ((__atomic_load_n(&b.desc->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0)
        break;
      b.held.store(true, std::memory_order_relaxed);
      b.info.refcnt.store(1, std::memory_order_relaxed);  // the reader's own reference
      q.held.fetch_add(1, std::memory_order_relaxed);
      q.reading = true;
      q.pkts_left = b.desc->hdr.bh1.num_pkts;
      q.next_pkt = reinterpret_cast<tpacket3_hdr*>(reinterpret_cast<std::byte*>(b.desc) +
                                                   b.desc->hdr.bh1.offset_to_first_pkt);
    }
    if (q.pkts_left == 0) {
      finish_block(q);
      continue;
    }
    tpacket3_hdr* ppd = q.next_pkt;
    --q.pkts_left;
    q.next_pkt =
        reinterpret_cast<tpacket3_hdr*>(reinterpret_cast<std::byte*>(ppd) + ppd->tp_next_offset);
    const FrameInfo f{reinterpret_cast<std::byte*>(ppd),
                      ppd->tp_snaplen,
                      ppd->tp_len,
                      ppd->tp_status,
                      ppd->tp_mac,
                      static_cast<std::uint16_t>(ppd->hv1.tp_vlan_tci),
                      ppd->hv1.tp_vlan_tpid};
    Mbuf* m = take_frame(q, f, q.blocks[q.current], qi);
    if (m == nullptr) continue;
    bytes += m->pkt_len;
    pkts[got++] = m;
  }
  if (got > 0) stats_[qi].rx(got, bytes);
  return got;
}

// The packet socket is readable once the unit before the kernel's current
// one is no longer the kernel's (packet_poll): a frame (V2) or a retired
// block (V3, at most retire_timeout_ms after its first frame) waits, or one
// is still held by our mbufs, which returns at once (spurious, allowed).
void AfPacketPort::wait_rx(std::uint16_t qi, std::chrono::microseconds timeout) {
  pollfd p{queues_v_[qi].fd, POLLIN, 0};
  const auto us = timeout.count();
  const timespec ts{us / 1'000'000, (us % 1'000'000) * 1000};
  ppoll(&p, 1, &ts, nullptr);
}

// AfPacketConfig::tx_sendmmsg: one sendmmsg() per burst, each message's
// iovecs pointing at the frame's segments (no copy here; the kernel copies
// once into its skb). Frames the kernel did not take (a full queue) are
// dropped and counted, as a full ring's are.
std::uint16_t AfPacketPort::tx_burst_sendmmsg(Queue& q, std::uint16_t qi, Mbuf** pkts,
                                              std::uint16_t n) {
  constexpr std::uint16_t kMax = 32;
  constexpr unsigned kMaxSegs = 8;
  std::uint16_t done = 0, sent = 0;
  std::uint64_t bytes = 0;
  while (done < n) {
    mmsghdr msgs[kMax]{};
    iovec iov[kMax][kMaxSegs];
    Mbuf* batch[kMax];
    std::uint16_t k = 0;
    for (; done < n && k < kMax; ++done) {
      Mbuf* m = pkts[done];
      unsigned segs = 0;
      for (const Mbuf* s = m; s != nullptr && segs <= kMaxSegs; s = s->next) ++segs;
      if (segs > kMaxSegs) {  // rare: a long chain of small pieces; send one copy
        Mbuf* c = mbuf_copy(m, *q.pool);
        mbuf_free(m);
        m = c;
        if (m == nullptr || m->next != nullptr) {
          if (m != nullptr) mbuf_free(m);
          stats_[qi].tx_drop();
          continue;
        }
        segs = 1;
      }
      unsigned j = 0;
      for (Mbuf* s = m; s != nullptr; s = s->next) iov[k][j++] = {s->data(), s->data_len};
      msgs[k].msg_hdr.msg_iov = iov[k];
      msgs[k].msg_hdr.msg_iovlen = segs;
      batch[k++] = m;
    }
    const int r = k == 0 ? 0 : sendmmsg(q.fd, msgs, k, MSG_DONTWAIT);
    const std::uint16_t took = r > 0 ? static_cast<std::uint16_t>(r) : 0;
    for (std::uint16_t j = 0; j < took; ++j) bytes += batch[j]->pkt_len;
    sent = static_cast<std::uint16_t>(sent + took);
    mbuf_free_bulk(batch, took);
    if (took < k) {
      drop_unsent(qi, batch, took, k);
      break;
    }
  }
  drop_unsent(qi, pkts, done, n);
  if (sent > 0) stats_[qi].tx(sent, bytes);
  return sent;
}

std::uint16_t AfPacketPort::tx_burst(std::uint16_t qi, Mbuf** pkts, std::uint16_t n) {
  Queue& q = queues_v_[qi];
  if (cfg_.tx_sendmmsg) return tx_burst_sendmmsg(q, qi, pkts, n);
  std::uint16_t sent = 0;
  std::uint64_t bytes = 0;
  std::uint16_t i = 0;
  for (; i < n; ++i) {
    Mbuf* m = pkts[i];
    std::byte* slot = q.tx_base + std::size_t{q.tx_head} * cfg_.frame_size;
    const bool v2 = cfg_.ring_version == 2;
    // tp_status is the first field of a tpacket2_hdr, the sixth of a
    // tpacket3_hdr; the data follows the aligned header (no PACKET_TX_HAS_OFF).
    std::uint32_t* status = v2 ? &reinterpret_cast<tpacket2_hdr*>(slot)->tp_status
                               : &reinterpret_cast<tpacket3_hdr*>(slot)->tp_status;
    const std::uint32_t data_off = v2 ? kTxDataOffsetV2 : kTxDataOffsetV3;
    if (__atomic_load_n(status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) break;
    if (m->pkt_len > cfg_.frame_size - data_off) {
      stats_[qi].tx_drop();
      mbuf_free(m);
      continue;
    }
    std::byte* dst = slot + data_off;
    for (const Mbuf* s = m; s != nullptr; s = s->next) {
      std::memcpy(dst, s->data(), s->data_len);
      dst += s->data_len;
    }
    if (v2) {
      auto* h = reinterpret_cast<tpacket2_hdr*>(slot);
      h->tp_len = m->pkt_len;
      h->tp_snaplen = m->pkt_len;
    } else {
      auto* h = reinterpret_cast<tpacket3_hdr*>(slot);
      h->tp_len = m->pkt_len;
      h->tp_snaplen = m->pkt_len;
      h->tp_next_offset = 0;
    }
    __atomic_store_n(status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    q.tx_head = (q.tx_head + 1) % tx_frame_count_;
    bytes += m->pkt_len;
    ++sent;
    mbuf_free(m);
  }
  drop_unsent(qi, pkts, i, n);
  if (sent > 0) {
    // One system call per burst hands every queued frame to the driver.
    if (send(q.fd, nullptr, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS &&
        errno != EINTR) {
      log_once(LogLevel::kWarn, "af_packet: send() on the TX ring failed");
    }
    stats_[qi].tx(sent, bytes);
  }
  return sent;
}

}  // namespace

std::unique_ptr<Port> open_af_packet(const AfPacketConfig& cfg, std::string* error) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  if (cfg.queues == 0 || cfg.queues > 64) {
    *error = "af_packet: queues must be 1..64";
    return nullptr;
  }
  auto port = std::make_unique<AfPacketPort>(cfg, cfg.queues);
  if (!port->open(error)) return nullptr;
  return port;
}

}  // namespace ustack
