#include "drivers/uring_tap/uring_tap.h"

#include <arpa/inet.h>
#include <endian.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <utility>

#include "core/log.h"

namespace ustack {
namespace {

// Registered buffers are at most 1 GiB each: a larger pool is registered as
// several, and an mbuf that straddles two of them uses a plain read/write.
constexpr std::size_t kRegChunkShift = 30;
constexpr std::size_t kRegChunk = std::size_t{1} << kRegChunkShift;
constexpr unsigned kMaxRegChunks = 1024;
// Segments one write takes as they are; longer chains are copied first.
constexpr unsigned kMaxIov = 16;
constexpr unsigned kReapBatch = 64;
constexpr std::uint32_t kDrainBatch = 64;  // the most reads in one drain batch
constexpr std::uint32_t kMaxDepth = 4096;
constexpr std::uint16_t kMaxQueues = 256;  // the kernel's MAX_TAP_QUEUES

// struct virtio_net_hdr of <linux/virtio_net.h> (which C++ cannot include:
// it has a member named `class`), little endian (TUNSETVNETLE).
struct VirtioNetHdr {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;
  std::uint16_t gso_size;
  std::uint16_t csum_start;
  std::uint16_t csum_offset;
};
static_assert(sizeof(VirtioNetHdr) == 10);
constexpr std::uint8_t kVirtioNetHdrFNeedsCsum = 1;
constexpr std::uint8_t kVirtioNetHdrFDataValid = 2;
constexpr std::uint8_t kVirtioNetHdrGsoNone = 0;
constexpr std::uint32_t kVnetHdrLen = sizeof(VirtioNetHdr);

// IORING_OP_READ_MULTISHOT (Linux 6.7) follows IORING_OP_SENDMSG_ZC in the
// kernel's enum io_uring_op (include/uapi/linux/io_uring.h); liburing 2.3
// predates it and has neither the constant nor a prep helper.
static_assert(IORING_OP_SENDMSG_ZC == 48, "liburing's opcode numbering is the kernel's");
constexpr std::uint8_t kOpReadMultishot = 49;
constexpr std::uint16_t kBufGroup = 0;  // the queue's ring of provided buffers

// user_data of a completion: what it belongs to, in its low two bits.
constexpr std::uint64_t kTagRx = 1;       // (Mbuf* | 1): a read into that mbuf
constexpr std::uint64_t kTagTx = 2;       // (slot << 3 | 2): a write of a TX slot
constexpr std::uint64_t kTagRxMulti = 3;  // the multishot read
constexpr std::uint64_t kTagMask = 3;
// With kTagRx: the last read of its chain (linked), or the read that waits
// on the empty TAP (drain: a chain of one).
constexpr std::uint64_t kChainEnd = 4;
constexpr std::uint64_t kTagBits = 7;
static_assert(alignof(Mbuf) >= 8, "rx user_data keeps tags in the pointer's low bits");

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

// "10.0.0.2/24" -> address and prefix length.
bool parse_cidr(const std::string& text, in_addr* addr, int* prefix) {
  const std::size_t slash = text.find('/');
  if (slash == std::string::npos) return false;
  if (inet_pton(AF_INET, text.substr(0, slash).c_str(), addr) != 1) return false;
  const char* b = text.data() + slash + 1;
  const char* e = text.data() + text.size();
  const auto [end, ec] = std::from_chars(b, e, *prefix);
  return ec == std::errc() && end == e && b != e && *prefix >= 0 && *prefix <= 32;
}

std::uint32_t round_pow2(std::uint32_t v) {
  std::uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

// kernel.io_uring_disabled (Linux >= 6.6), or -1 when the kernel has none.
int io_uring_disabled_sysctl() {
  FILE* f = std::fopen("/proc/sys/kernel/io_uring_disabled", "r");
  if (f == nullptr) return -1;
  int v = -1;
  if (std::fscanf(f, "%d", &v) != 1) v = -1;
  std::fclose(f);
  return v;
}

std::string io_uring_init_error(int err) {
  if (err == EPERM) {
    const int v = io_uring_disabled_sysctl();
    if (v == 2)
      return "uring_tap: io_uring is disabled by the kernel (sysctl kernel.io_uring_disabled = 2; "
             "set it to 0)";
    if (v == 1)
      return "uring_tap: io_uring is disabled for this process (sysctl kernel.io_uring_disabled = "
             "1 and it is not in kernel.io_uring_group; run as root or set the sysctl to 0)";
    return "uring_tap: io_uring_setup is not permitted here (a seccomp filter or container policy "
           "blocks it)";
  }
  if (err == ENOSYS)
    return "uring_tap: this kernel has no io_uring (built without CONFIG_IO_URING, or the system "
           "call is filtered)";
  if (err == ENOMEM)
    return "uring_tap: cannot create an io_uring: out of memory or over the locked-memory limit "
           "(ulimit -l)";
  return errno_text("uring_tap: io_uring_queue_init", err);
}

// A frame on its way to the kernel: the mbuf is freed when the write's
// completion is reaped; the iovecs and virtio header live here until then.
struct TxSlot {
  Mbuf* m = nullptr;
  std::uint32_t bytes = 0;
  VirtioNetHdr hdr{};
  iovec iov[kMaxIov + 1];
};

struct Queue {
  int fd = -1;
  int file = -1;  // what SQEs name: fd, or 0 when the fd is a registered file
  bool fixed_file = false;
  io_uring ring{};
  bool ring_ok = false;
  MbufPool* pool = nullptr;
  // The registered region (the pool's memory), empty when not registered.
  std::byte* reg_base = nullptr;
  std::size_t reg_size = 0;
  // Receive: buffers with the kernel (reads in flight, or mbufs in the
  // ring of provided buffers), and completed frames not yet handed out
  // (posted + ready <= rx_depth, so the FIFO never overflows).
  std::uint32_t rx_posted = 0;
  std::uint32_t rx_chains = 0;       // hard-linked chains of reads in flight
  std::unique_ptr<Mbuf*[]> scratch;  // buffers being posted
  UringTapRx rx = UringTapRx::kLinked;
  // Drain: the last batch found the TAP empty (-EAGAIN), the size of the
  // next batch, and the frames the reads since the last refill brought.
  bool rx_empty = false;
  std::uint32_t rx_batch = 1;
  std::uint32_t rx_batch_got = 0;
  // Multishot receive: the ring of provided buffers (mapped here, shared
  // with the kernel), the mbuf behind each buffer id, and free ids.
  bool mshot_armed = false;  // the multishot read is in flight
  io_uring_buf_ring* br = nullptr;
  std::size_t br_bytes = 0;
  std::uint32_t br_mask = 0;
  std::unique_ptr<Mbuf*[]> by_bid;
  std::unique_ptr<std::uint16_t[]> free_bids;
  std::uint32_t free_bid_count = 0;
  std::unique_ptr<Mbuf*[]> ready;
  std::uint32_t ready_mask = 0;
  std::uint32_t ready_head = 0;
  std::uint32_t ready_count = 0;
  std::uint32_t rx_errors_in_row = 0;
  bool rx_stopped = false;
  // Transmit slots: a free stack of indexes.
  std::unique_ptr<TxSlot[]> slots;
  std::unique_ptr<std::uint32_t[]> free_slots;
  std::uint32_t free_count = 0;
  std::uint32_t tx_inflight = 0;
  bool closing = false;
};

class UringTapPort final : public Port {
 public:
  UringTapPort(const UringTapConfig& cfg, std::uint16_t queues)
      : Port("uring_tap:" + cfg.iface, queues), cfg_(cfg), q_(queues) {}
  ~UringTapPort() override;

  bool open(std::string* error);

  std::uint16_t rx_burst(std::uint16_t qi, Mbuf** pkts, std::uint16_t n) override;
  std::uint16_t tx_burst(std::uint16_t qi, Mbuf** pkts, std::uint16_t n) override;
  void wait_rx(std::uint16_t qi, std::chrono::microseconds timeout) override;

 private:
  bool open_tap(Queue& q, bool first, std::string* error);
  bool configure_kernel_side(std::string* error);
  bool open_ring(Queue& q, std::string* error);
  bool open_buf_ring(Queue& q, std::string* why);
  bool nowait_reads_work(Queue& q, std::string* why);
  void close_queue(Queue& q, std::uint16_t qi);
  void release_buf_ring(Queue& q);

  // Registered-buffer index for bytes [p, p + len), or -1 to use a plain
  // read/write.
  static int reg_index(const Queue& q, const std::byte* p, std::size_t len) {
    if (q.reg_size == 0 || p < q.reg_base || p + len > q.reg_base + q.reg_size) return -1;
    const std::size_t first = static_cast<std::size_t>(p - q.reg_base) >> kRegChunkShift;
    const std::size_t last = static_cast<std::size_t>(p + len - 1 - q.reg_base) >> kRegChunkShift;
    return first == last ? static_cast<int>(first) : -1;
  }
  std::uint32_t alloc_rx(Queue& q, std::uint32_t want);
  std::uint32_t refill(Queue& q);
  std::uint32_t refill_chains(Queue& q);
  std::uint32_t refill_drain(Queue& q);
  std::uint32_t refill_ring(Queue& q);
  void prep_read(const Queue& q, io_uring_sqe* sqe, Mbuf* m) const;
  void reap(Queue& q, std::uint16_t qi);
  bool take_frame(Queue& q, std::uint16_t qi, Mbuf* m, int res, std::uint64_t* rx_bad);
  void read_failed(Queue& q, int res, std::uint64_t* rx_bad);
  void flush(Queue& q, bool prepared);
  bool prep_write(Queue& q, Mbuf* m);

  UringTapConfig cfg_;
  std::vector<Queue> q_;
  std::string ifname_;
  std::uint32_t hdr_len_ = 0;  // virtio_net_hdr bytes before each frame
};

UringTapPort::~UringTapPort() {
  for (std::uint16_t i = 0; i < queues_; ++i) close_queue(q_[i], i);
}

bool UringTapPort::open(std::string* error) {
  hdr_len_ = cfg_.vnet_hdr ? kVnetHdrLen : 0;
  for (std::uint16_t i = 0; i < queues_; ++i) {
    q_[i].pool = cfg_.rx_pools[i];
    if (!open_tap(q_[i], i == 0, error)) return false;
  }
  name_ = "uring_tap:" + ifname_;
  if (!configure_kernel_side(error)) return false;
  for (std::uint16_t i = 0; i < queues_; ++i) {
    const MbufPool& p = *q_[i].pool;
    if (std::uint32_t{p.data_room()} < mtu_ + 18) {
      *error = "uring_tap: pool '" + p.name() + "' has a data room of " +
               std::to_string(p.data_room()) + " bytes, too small for the MTU " +
               std::to_string(mtu_) + " of " + ifname_ + " (need " + std::to_string(mtu_ + 18) +
               ")";
      return false;
    }
    if (p.headroom() < hdr_len_) {
      *error = "uring_tap: pool '" + p.name() + "' needs at least " + std::to_string(hdr_len_) +
               " bytes of headroom for the virtio-net header";
      return false;
    }
  }
  // Every queue receives the same way: the one asked for where each queue
  // can, else hard-linked reads.
  UringTapRx rx = cfg_.rx;
  std::string why;
  for (Queue& q : q_) {
    if (!open_ring(q, error)) return false;
    if (rx == UringTapRx::kMultishot && !open_buf_ring(q, &why)) rx = UringTapRx::kLinked;
    if (rx == UringTapRx::kDrain && !nowait_reads_work(q, &why)) rx = UringTapRx::kLinked;
  }
  for (Queue& q : q_) {
    if (rx != UringTapRx::kMultishot) release_buf_ring(q);
    q.rx = rx;
  }
  static constexpr const char* kHow[] = {
      "batches of non-blocking reads, one read waiting when the TAP is empty",
      "a multishot read into a ring of provided buffers", "hard-linked chains of reads"};
  const char* how = kHow[static_cast<int>(rx)];
  if (rx == cfg_.rx) {
    log(LogLevel::kInfo, "uring_tap: %s receives with rx %s: %s", ifname_.c_str(),
        uring_tap_rx_name(rx), how);
  } else {
    log(LogLevel::kInfo, "uring_tap: %s receives with rx linked (%s), not %s: %s", ifname_.c_str(),
        how, uring_tap_rx_name(cfg_.rx), why.c_str());
  }
  caps_.max_queues = queues_;
  caps_.max_mtu = mtu_;
  caps_.rss = queues_ > 1 ? RssKind::kKernel : RssKind::kNone;
  caps_.zero_copy_rx = true;
  caps_.rx_wait = true;
  caps_.zero_copy_tx = true;
  caps_.rx_l4_cksum = cfg_.vnet_hdr;
  caps_.tx_l4_cksum = cfg_.vnet_hdr;
  return true;
}

bool UringTapPort::open_tap(Queue& q, bool first, std::string* error) {
  q.fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (q.fd < 0) {
    const int e = errno;
    if (e == ENOENT) {
      *error = "uring_tap: /dev/net/tun does not exist (load the tun module: modprobe tun)";
    } else if (e == EACCES || e == EPERM) {
      *error = "uring_tap: no permission to open /dev/net/tun (run as root or grant CAP_NET_ADMIN)";
    } else if (e == ENODEV || e == ENXIO) {
      *error = "uring_tap: the kernel has no TUN/TAP driver behind /dev/net/tun (modprobe tun)";
    } else {
      *error = errno_text("uring_tap: open /dev/net/tun", e);
    }
    return false;
  }
  const std::string& want = first ? cfg_.iface : ifname_;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, want.c_str(), want.size());
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (queues_ > 1) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  if (cfg_.vnet_hdr) ifr.ifr_flags |= IFF_VNET_HDR;
  if (ioctl(q.fd, TUNSETIFF, &ifr) != 0) {
    const int e = errno;
    if (e == EPERM || e == EACCES) {
      *error = "uring_tap: no permission to create or attach TAP '" + want +
               "' (run as root or grant CAP_NET_ADMIN)";
    } else if (e == EBUSY) {
      *error = "uring_tap: TAP '" + want +
               "' is already attached (a single-queue TAP takes one user: another process, or "
               "a port still open)";
    } else if (e == EINVAL) {
      *error = "uring_tap: '" + want +
               "' exists but is not a TAP with these flags (a TUN, another kind of interface, or "
               "a different multi-queue / vnet-header setting)";
    } else if (e == E2BIG) {
      *error =
          "uring_tap: TAP '" + want + "' has no room for " + std::to_string(queues_) + " queues";
    } else {
      *error = errno_text("uring_tap: TUNSETIFF on '" + want + "'", e);
    }
    return false;
  }
  if (first) ifname_ = ifr.ifr_name;  // the kernel's name (patterns like "tap%d")
  if (cfg_.vnet_hdr) {
    int len = static_cast<int>(kVnetHdrLen);
    int le = 1;
    if (ioctl(q.fd, TUNSETVNETHDRSZ, &len) != 0) {
      *error = errno_text("uring_tap: TUNSETVNETHDRSZ", errno);
      return false;
    }
    ioctl(q.fd, TUNSETVNETLE, &le);  // fails only where little endian is native anyway
    // Frames from the kernel may leave the TCP/UDP checksum to us; no GSO.
    if (first && ioctl(q.fd, TUNSETOFFLOAD, static_cast<unsigned long>(TUN_F_CSUM)) != 0) {
      *error = errno_text("uring_tap: TUNSETOFFLOAD", errno);
      return false;
    }
  }
  return true;
}

bool UringTapPort::configure_kernel_side(std::string* error) {
  const int ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (ctl < 0) {
    *error = errno_text("uring_tap: socket(AF_INET) for interface setup", errno);
    return false;
  }
  auto fail = [&](const std::string& what) {
    const int e = errno;
    *error = errno_text("uring_tap: cannot " + what + " of " + ifname_, e);
    close(ctl);
    return false;
  };
  ifreq ifr{};
  auto reset = [&] {
    ifr = ifreq{};
    std::memcpy(ifr.ifr_name, ifname_.c_str(), ifname_.size());
  };
  if (cfg_.mtu != 0) {
    reset();
    ifr.ifr_mtu = static_cast<int>(cfg_.mtu);
    if (ioctl(ctl, SIOCSIFMTU, &ifr) != 0) return fail("set the MTU");
  }
  if (!cfg_.kernel_cidr.empty()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    int prefix = 0;
    parse_cidr(cfg_.kernel_cidr, &sin.sin_addr, &prefix);  // checked by open_uring_tap
    reset();
    std::memcpy(&ifr.ifr_addr, &sin, sizeof sin);
    if (ioctl(ctl, SIOCSIFADDR, &ifr) != 0) return fail("set the address " + cfg_.kernel_cidr);
    sin.sin_addr.s_addr =
        htonl(prefix == 0 ? 0u : ~std::uint32_t{0} << (32 - static_cast<unsigned>(prefix)));
    reset();
    std::memcpy(&ifr.ifr_netmask, &sin, sizeof sin);
    if (ioctl(ctl, SIOCSIFNETMASK, &ifr) != 0) return fail("set the netmask");
  }
  reset();
  if (ioctl(ctl, SIOCGIFFLAGS, &ifr) != 0) return fail("read the flags");
  if (cfg_.bring_up && (ifr.ifr_flags & IFF_UP) == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (ioctl(ctl, SIOCSIFFLAGS, &ifr) != 0) return fail("bring up");
  }
  reset();
  if (ioctl(ctl, SIOCGIFMTU, &ifr) != 0) return fail("read the MTU");
  mtu_ = static_cast<std::uint32_t>(ifr.ifr_mtu);
  reset();
  if (ioctl(ctl, SIOCGIFHWADDR, &ifr) != 0) return fail("read the MAC");
  close(ctl);
  MacAddr kernel_mac;
  std::memcpy(kernel_mac.b.data(), ifr.ifr_hwaddr.sa_data, 6);
  if (cfg_.mac) {
    mac_ = *cfg_.mac;
  } else {
    // Our own host on the link: an address of our own, never the kernel's.
    std::uint64_t seed = std::hash<std::string>{}(ifname_) ^ (std::uint64_t(getpid()) << 16);
    mac_ = MacAddr::local_from(seed);
    while (mac_ == kernel_mac) mac_ = MacAddr::local_from(++seed);
  }
  if (mac_ == kernel_mac) {
    *error = "uring_tap: the configured MAC " + mac_.to_string() +
             " is the TAP's own kernel-side address; ustack needs a different one";
    return false;
  }
  return true;
}

bool UringTapPort::open_ring(Queue& q, std::string* error) {
  const std::uint32_t entries = round_pow2(cfg_.rx_depth + cfg_.tx_depth + 1);
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = entries * 2;
  if (cfg_.sqpoll) {
    p.flags |= IORING_SETUP_SQPOLL;
    p.sq_thread_idle = cfg_.sqpoll_idle_ms;
  } else {
    // Completions wait for our next system call instead of interrupting the
    // polling thread; the TASKRUN flag tells us when one is worth making.
    p.flags |= IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  }
  int rc = io_uring_queue_init_params(entries, &q.ring, &p);
  if (rc == -EINVAL && !cfg_.sqpoll) {  // kernels before 5.19
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 2;
    rc = io_uring_queue_init_params(entries, &q.ring, &p);
  }
  if (rc < 0) {
    *error = io_uring_init_error(-rc);
    return false;
  }
  q.ring_ok = true;
  if ((p.features & IORING_FEAT_NODROP) == 0) {
    *error = "uring_tap: this kernel's io_uring is too old (no IORING_FEAT_NODROP; need >= 5.19)";
    return false;
  }
  if (io_uring_register_files(&q.ring, &q.fd, 1) == 0) {
    q.fixed_file = true;
    q.file = 0;
  } else {
    q.file = q.fd;
  }
  if (cfg_.register_buffers) {
    const std::span<std::byte> mem = q.pool->memory();
    const std::size_t chunks = (mem.size() + kRegChunk - 1) / kRegChunk;
    if (chunks > kMaxRegChunks) {
      *error = "uring_tap: pool '" + q.pool->name() + "' is too large to register (over " +
               std::to_string(kMaxRegChunks) + " GiB)";
      return false;
    }
    std::vector<iovec> iov(chunks);
    for (std::size_t i = 0; i < chunks; ++i) {
      iov[i].iov_base = mem.data() + i * kRegChunk;
      iov[i].iov_len = std::min(kRegChunk, mem.size() - i * kRegChunk);
    }
    rc = io_uring_register_buffers(&q.ring, iov.data(), static_cast<unsigned>(chunks));
    if (rc == 0) {
      q.reg_base = mem.data();
      q.reg_size = mem.size();
    } else {
      log_once(LogLevel::kWarn,
               "uring_tap: cannot register the pool's memory with io_uring (%s; the locked-memory "
               "limit, ulimit -l, is the usual cause): using plain reads and writes",
               std::strerror(-rc));
    }
  }
  q.scratch = std::make_unique<Mbuf*[]>(cfg_.rx_depth);
  const std::uint32_t ready_cap = round_pow2(cfg_.rx_depth);
  q.ready = std::make_unique<Mbuf*[]>(ready_cap);
  q.ready_mask = ready_cap - 1;
  q.slots = std::make_unique<TxSlot[]>(cfg_.tx_depth);
  q.free_slots = std::make_unique<std::uint32_t[]>(cfg_.tx_depth);
  for (std::uint32_t i = 0; i < cfg_.tx_depth; ++i) q.free_slots[i] = cfg_.tx_depth - 1 - i;
  q.free_count = cfg_.tx_depth;
  return true;
}

// Sets up multishot receive on q: false, with the reason, when this kernel
// cannot (no IORING_OP_READ_MULTISHOT, no rings of provided buffers).
bool UringTapPort::open_buf_ring(Queue& q, std::string* why) {
  io_uring_probe* probe = io_uring_get_probe_ring(&q.ring);
  const bool has_op = probe != nullptr && io_uring_opcode_supported(probe, kOpReadMultishot) != 0;
  if (probe != nullptr) io_uring_free_probe(probe);
  if (!has_op) {
    *why = "this kernel has no IORING_OP_READ_MULTISHOT, Linux < 6.7";
    return false;
  }
  const std::uint32_t entries = round_pow2(cfg_.rx_depth);
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t bytes = (entries * sizeof(io_uring_buf) + page - 1) / page * page;
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    *why = errno_text("cannot map a ring of provided buffers", errno);
    return false;
  }
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
  reg.ring_entries = entries;
  reg.bgid = kBufGroup;
  const int rc = io_uring_register_buf_ring(&q.ring, &reg, 0);
  if (rc != 0) {
    munmap(mem, bytes);
    *why = errno_text("cannot register a ring of provided buffers", -rc);
    return false;
  }
  q.br = static_cast<io_uring_buf_ring*>(mem);
  q.br_bytes = bytes;
  q.br_mask = static_cast<std::uint32_t>(io_uring_buf_ring_mask(entries));
  io_uring_buf_ring_init(q.br);
  q.by_bid = std::make_unique<Mbuf*[]>(entries);
  q.free_bids = std::make_unique<std::uint16_t[]>(entries);
  for (std::uint32_t i = 0; i < entries; ++i)
    q.free_bids[i] = static_cast<std::uint16_t>(entries - 1 - i);
  q.free_bid_count = entries;
  return true;
}

// Drain needs reads with RWF_NOWAIT on the TAP (the file must support
// IOCB_NOWAIT): a read of zero bytes tells, and takes no frame.
bool UringTapPort::nowait_reads_work(Queue& q, std::string* why) {
  static char none;
  io_uring_sqe* sqe = io_uring_get_sqe(&q.ring);
  if (sqe == nullptr) {
    *why = "no room in a fresh submission queue";
    return false;
  }
  io_uring_prep_read(sqe, q.file, &none, 0, 0);
  sqe->rw_flags = RWF_NOWAIT;
  if (q.fixed_file) sqe->flags |= IOSQE_FIXED_FILE;
  sqe->user_data = 0;  // ignored by reap, should it come late
  io_uring_submit(&q.ring);
  __kernel_timespec ts{1, 0};
  io_uring_cqe* cqe = nullptr;
  if (io_uring_wait_cqe_timeout(&q.ring, &cqe, &ts) != 0 || cqe == nullptr) {
    *why = "a non-blocking read of the TAP did not complete";
    return false;
  }
  const int res = cqe->res;
  io_uring_cqe_seen(&q.ring, cqe);
  if (res < 0) {
    *why = errno_text("this kernel refuses non-blocking reads (RWF_NOWAIT) of a TAP", -res);
    return false;
  }
  return true;
}

// Takes q's ring of provided buffers back from the kernel and frees the
// mbufs in it. Only once no read can pick from it (none armed).
void UringTapPort::release_buf_ring(Queue& q) {
  if (q.br == nullptr) return;
  io_uring_unregister_buf_ring(&q.ring, kBufGroup);
  for (std::uint32_t bid = 0; bid <= q.br_mask; ++bid) {
    if (q.by_bid[bid] == nullptr) continue;
    mbuf_free(q.by_bid[bid]);
    q.by_bid[bid] = nullptr;
    --q.rx_posted;
  }
  munmap(q.br, q.br_bytes);
  q.br = nullptr;
}

// Cancels what is in flight, waits (bounded) for the kernel to let go of the
// buffers, and gives every mbuf back.
void UringTapPort::close_queue(Queue& q, std::uint16_t qi) {
  if (q.ring_ok) {
    q.closing = true;
    // A cancelled read does not cut its hard-linked chain: the next read
    // is issued and waits in turn, so cancel until nothing is left.
    // Multishot: buffers in the ring stay there, and come back below once
    // the read is gone.
    const auto busy = [&q] {
      return q.tx_inflight > 0 ||
             (q.rx == UringTapRx::kMultishot ? q.mshot_armed : q.rx_posted > 0);
    };
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (busy() && std::chrono::steady_clock::now() < end) {
      io_uring_sqe* sqe = io_uring_get_sqe(&q.ring);
      if (sqe != nullptr) {
        io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
        sqe->user_data = 0;
      }
      io_uring_submit(&q.ring);
      __kernel_timespec ts{0, 1'000'000};
      io_uring_cqe* cqe = nullptr;
      io_uring_wait_cqe_timeout(&q.ring, &cqe, &ts);
      reap(q, qi);
    }
    if (!q.mshot_armed) release_buf_ring(q);
    while (q.ready_count > 0) {
      mbuf_free(q.ready[q.ready_head]);
      q.ready_head = (q.ready_head + 1) & q.ready_mask;
      --q.ready_count;
    }
    if (q.rx_posted + q.tx_inflight > 0) {
      // The kernel may still write into them: better lost than reused.
      log(LogLevel::kWarn, "uring_tap: %s queue %u: %u buffers still with the kernel at close",
          ifname_.c_str(), unsigned{qi}, q.rx_posted + q.tx_inflight);
    }
    // The ring lets go of the TAP file and the pool's pages here, at once;
    // io_uring_queue_exit alone would leave that to a kernel worker, and
    // the TAP would stay attached (EBUSY) for a while after we close it.
    if (q.rx_posted + q.tx_inflight == 0) {
      if (q.fixed_file) io_uring_unregister_files(&q.ring);
      if (q.reg_size != 0) io_uring_unregister_buffers(&q.ring);
    }
    io_uring_queue_exit(&q.ring);
    q.ring_ok = false;
  }
  if (q.fd >= 0) close(q.fd);
  q.fd = -1;
}

// A read into m completed with res: true when the frame is queued for
// rx_burst; false when it is not (counted in *rx_bad if it is an error, and
// the caller frees m).
bool UringTapPort::take_frame(Queue& q, std::uint16_t qi, Mbuf* m, int res, std::uint64_t* rx_bad) {
  const std::uint32_t room = m->buf_len - m->data_off;
  if (res <= static_cast<int>(hdr_len_) || q.closing ||
      static_cast<std::uint32_t>(res) - hdr_len_ > room) {
    read_failed(q, res, rx_bad);
    return false;
  }
  const auto len = static_cast<std::uint16_t>(static_cast<std::uint32_t>(res) - hdr_len_);
  m->data_len = len;
  m->pkt_len = len;
  m->queue = qi;
  if (hdr_len_ != 0) {
    VirtioNetHdr h;
    std::memcpy(&h, m->data() - hdr_len_, sizeof h);
    if (h.gso_type != kVirtioNetHdrGsoNone) {
      ++*rx_bad;  // never offered (no TUN_F_TSO*), so never expected
      return false;
    }
    if (h.flags & (kVirtioNetHdrFNeedsCsum | kVirtioNetHdrFDataValid)) {
      // Sent by the local kernel with the checksum left to the "hardware",
      // or already checked: the bytes are intact.
      m->ol_flags |= ol::kRxL4CksumGood;
    }
  }
  q.ready[(q.ready_head + q.ready_count) & q.ready_mask] = m;
  ++q.ready_count;
  q.rx_errors_in_row = 0;
  return true;
}

// A read brought no frame: res is its error, or the size of a frame that
// did not fit. Cancellations and the closing queue's reads are no errors.
void UringTapPort::read_failed(Queue& q, int res, std::uint64_t* rx_bad) {
  if (q.closing || res == -ECANCELED || res == -EINTR || res == -EAGAIN) return;
  ++*rx_bad;
  if (res > static_cast<int>(hdr_len_)) {
    log_once(LogLevel::kWarn, "uring_tap: dropping frames larger than the pool's data room");
  } else if (++q.rx_errors_in_row > 2 * cfg_.rx_depth && !q.rx_stopped) {
    q.rx_stopped = true;
    log(LogLevel::kError, "uring_tap: reads on %s keep failing (%s); receive stopped",
        ifname_.c_str(), std::strerror(-res));
  } else {
    log_once(LogLevel::kWarn, "uring_tap: a read from the TAP failed: %s",
             std::strerror(res < 0 ? -res : EIO));
  }
}

void UringTapPort::reap(Queue& q, std::uint16_t qi) {
  io_uring_cqe* cqes[kReapBatch];
  Mbuf* dead[kReapBatch];
  for (;;) {
    const unsigned got = io_uring_peek_batch_cqe(&q.ring, cqes, kReapBatch);
    if (got == 0) return;
    unsigned ndead = 0;
    std::uint64_t tx_ok = 0, tx_bytes = 0, tx_bad = 0, rx_bad = 0;
    for (unsigned i = 0; i < got; ++i) {
      const std::uint64_t ud = cqes[i]->user_data;
      const int res = cqes[i]->res;
      switch (ud & kTagMask) {
        case kTagRx: {
          Mbuf* m = reinterpret_cast<Mbuf*>(ud & ~kTagBits);
          --q.rx_posted;
          if ((ud & kChainEnd) != 0) --q.rx_chains;
          if (take_frame(q, qi, m, res, &rx_bad)) {
            ++q.rx_batch_got;
          } else {
            if (res == -EAGAIN) q.rx_empty = true;  // drain: the TAP has no more
            dead[ndead++] = m;
          }
          break;
        }
        case kTagRxMulti: {
          if (ud != kTagRxMulti) break;  // not ours (liburing's own timeouts are all ones)
          const std::uint32_t flags = cqes[i]->flags;
          if ((flags & IORING_CQE_F_MORE) == 0) q.mshot_armed = false;  // armed again by refill
          if ((flags & IORING_CQE_F_BUFFER) == 0) {
            if (res != -ENOBUFS) read_failed(q, res, &rx_bad);  // -ENOBUFS: the ring ran dry
            break;
          }
          const auto bid = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
          Mbuf* m = q.by_bid[bid];
          q.by_bid[bid] = nullptr;
          q.free_bids[q.free_bid_count++] = bid;
          --q.rx_posted;
          if (!take_frame(q, qi, m, res, &rx_bad)) dead[ndead++] = m;
          break;
        }
        case kTagTx: {
          const auto idx = static_cast<std::uint32_t>(ud >> 3);
          TxSlot& s = q.slots[idx];
          --q.tx_inflight;
          if (res >= 0) {
            ++tx_ok;
            tx_bytes += s.bytes;
          } else {
            ++tx_bad;
            log_once(LogLevel::kWarn, "uring_tap: a write to the TAP failed: %s (is it up?)",
                     std::strerror(-res));
          }
          dead[ndead++] = s.m;
          s.m = nullptr;
          q.free_slots[q.free_count++] = idx;
          break;
        }
        default:  // the cancel request itself
          break;
      }
    }
    io_uring_cq_advance(&q.ring, got);
    if (ndead > 0) mbuf_free_bulk(dead, ndead);
    if (tx_ok > 0) stats_[qi].tx(tx_ok, tx_bytes);
    if (tx_bad > 0) stats_[qi].tx_drop(tx_bad);
    if (rx_bad > 0) stats_[qi].rx_drop(rx_bad);
    if (got < kReapBatch) return;
  }
}

// Linked: posts reads until rx_depth buffers are with the kernel or waiting to
// be handed out. Returns how many it prepared.
//
// Reads are posted as a few chains (cfg.rx_chains) linked with
// IOSQE_IO_HARDLINK: only the head of each chain waits on the TAP, and when
// it completes the next read of its chain is issued at once (and finds the
// next frame if one is queued). Independent reads would each wait on the
// TAP's wait queue, and every arriving frame would wake all of them, on the
// sending CPU. A hard link, unlike a plain one, is not cut by a short read
// (a frame smaller than the buffer), which every read of a TAP is.
std::uint32_t UringTapPort::refill_chains(Queue& q) {
  const std::uint32_t chains = cfg_.rx_chains == 0 ? cfg_.rx_depth : cfg_.rx_chains;
  const std::uint32_t chain_len = std::max<std::uint32_t>(1, cfg_.rx_depth / chains);
  std::uint32_t prepared = 0;
  while (q.rx_chains < chains) {
    std::uint32_t want = std::min(chain_len, cfg_.rx_depth - q.rx_posted - q.ready_count);
    want = std::min(want, io_uring_sq_space_left(&q.ring));
    const std::uint32_t k = alloc_rx(q, want);
    if (k == 0) break;
    for (std::uint32_t i = 0; i < k; ++i) {
      io_uring_sqe* sqe = io_uring_get_sqe(&q.ring);  // room was checked above
      prep_read(q, sqe, q.scratch[i]);
      if (i + 1 < k) {
        sqe->flags |= IOSQE_IO_HARDLINK;
      } else {
        sqe->user_data |= kChainEnd;
      }
    }
    ++q.rx_chains;
    q.rx_posted += k;
    prepared += k;
  }
  return prepared;
}

// A read of one frame into m's data room (and the virtio-net header into
// its headroom), tagged as m's.
void UringTapPort::prep_read(const Queue& q, io_uring_sqe* sqe, Mbuf* m) const {
  std::byte* dst = m->buf_addr + m->data_off - hdr_len_;
  const std::uint32_t len = m->buf_len - m->data_off + hdr_len_;
  const int idx = reg_index(q, dst, len);
  if (idx >= 0) {
    io_uring_prep_read_fixed(sqe, q.file, dst, len, 0, idx);
  } else {
    io_uring_prep_read(sqe, q.file, dst, len, 0);
  }
  if (q.fixed_file) sqe->flags |= IOSQE_FIXED_FILE;
  sqe->user_data = reinterpret_cast<std::uint64_t>(m) | kTagRx;
}

// Prepares the reads q's way of receiving wants now. Returns how many SQEs.
std::uint32_t UringTapPort::refill(Queue& q) {
  if (q.rx_stopped) return 0;
  switch (q.rx) {
    case UringTapRx::kDrain:
      return refill_drain(q);
    case UringTapRx::kMultishot:
      return refill_ring(q);
    case UringTapRx::kLinked:
      break;
  }
  return refill_chains(q);
}

// Drain (see uring_tap.h): once what was posted came back, either one read
// that waits (the last batch found the TAP empty) or the next batch of
// reads with RWF_NOWAIT, which take queued frames or fail at once.
std::uint32_t UringTapPort::refill_drain(Queue& q) {
  // Not while a read waits or (SQPOLL) a batch is still out, nor with the
  // FIFO of frames for rx_burst full (posted + ready <= rx_depth).
  if (q.rx_posted > 0 || q.ready_count >= cfg_.rx_depth) return 0;
  const std::uint32_t got = std::exchange(q.rx_batch_got, 0);
  const bool wait = std::exchange(q.rx_empty, false);
  if (wait) {
    q.rx_batch = std::max<std::uint32_t>(got, 1);
  } else if (got >= q.rx_batch) {
    q.rx_batch = std::min(2 * q.rx_batch, kDrainBatch);
  }
  std::uint32_t want = wait ? 1 : std::min(q.rx_batch, cfg_.rx_depth - q.ready_count);
  want = std::min(want, io_uring_sq_space_left(&q.ring));
  const std::uint32_t k = alloc_rx(q, want);
  for (std::uint32_t i = 0; i < k; ++i) {
    io_uring_sqe* sqe = io_uring_get_sqe(&q.ring);  // room was checked above
    prep_read(q, sqe, q.scratch[i]);
    if (wait) {
      sqe->user_data |= kChainEnd;
      ++q.rx_chains;
    } else {
      sqe->rw_flags = RWF_NOWAIT;
    }
  }
  q.rx_posted += k;
  return k;
}

// Multishot: puts fresh mbufs in the ring of provided buffers until rx_depth
// are with the kernel or waiting to be handed out (no system call), and
// prepares the multishot read when none is armed. Returns how many SQEs it
// prepared.
std::uint32_t UringTapPort::refill_ring(Queue& q) {
  const std::uint32_t k = alloc_rx(q, cfg_.rx_depth - q.rx_posted - q.ready_count);
  for (std::uint32_t i = 0; i < k; ++i) {
    Mbuf* m = q.scratch[i];
    const std::uint16_t bid = q.free_bids[--q.free_bid_count];  // as many ids as rx_depth
    q.by_bid[bid] = m;
    io_uring_buf_ring_add(q.br, m->buf_addr + m->data_off - hdr_len_,
                          m->buf_len - m->data_off + hdr_len_, bid, static_cast<int>(q.br_mask),
                          static_cast<int>(i));
  }
  if (k > 0) {
    io_uring_buf_ring_advance(q.br, static_cast<int>(k));
    q.rx_posted += k;
  }
  if (q.mshot_armed || q.rx_posted == 0) return 0;
  io_uring_sqe* sqe = io_uring_get_sqe(&q.ring);
  if (sqe == nullptr) return 0;  // the SQ is full of writes: armed on the next call
  io_uring_prep_rw(kOpReadMultishot, sqe, q.file, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  if (q.fixed_file) sqe->flags |= IOSQE_FIXED_FILE;
  sqe->buf_group = kBufGroup;
  sqe->user_data = kTagRxMulti;
  q.mshot_armed = true;
  return 1;
}

// Takes up to `want` mbufs from q's pool into q.scratch, fewer when the
// pool runs low. Returns how many.
std::uint32_t UringTapPort::alloc_rx(Queue& q, std::uint32_t want) {
  std::uint32_t k = 0;
  while (k < want) {
    std::uint32_t n = std::min<std::uint32_t>(want - k, 64);
    while (n > 0 && !q.pool->alloc_bulk(&q.scratch[k], n)) n /= 2;
    if (n == 0) break;
    k += n;
  }
  return k;
}

// One system call at most: submits what was prepared and, when the kernel
// has completions parked for us (TASKRUN), lets it post them.
void UringTapPort::flush(Queue& q, bool prepared) {
  int rc = 0;
  if (cfg_.sqpoll) {
    if (prepared) rc = io_uring_submit(&q.ring);  // a wakeup only if the thread sleeps
  } else if (prepared || (__atomic_load_n(q.ring.sq.kflags, __ATOMIC_RELAXED) &
                          (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0) {
    rc = io_uring_submit_and_get_events(&q.ring);
  }
  if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR) {
    log_once(LogLevel::kWarn, "uring_tap: io_uring_submit failed: %s", std::strerror(-rc));
  }
}

std::uint16_t UringTapPort::rx_burst(std::uint16_t qi, Mbuf** pkts, std::uint16_t n) {
  Queue& q = q_[qi];
  std::uint16_t got = 0;
  std::uint64_t bytes = 0;
  auto hand_out = [&] {
    while (got < n && q.ready_count > 0) {
      Mbuf* m = q.ready[q.ready_head];
      q.ready_head = (q.ready_head + 1) & q.ready_mask;
      --q.ready_count;
      bytes += m->pkt_len;
      pkts[got++] = m;
    }
  };
  hand_out();  // what earlier reaps left
  flush(q, refill(q) > 0);
  reap(q, qi);
  hand_out();
  if (got > 0) stats_[qi].rx(got, bytes);
  return got;
}

// Sleeps in io_uring_enter until the ring has a completion (a frame, or a
// write's) or the timeout passes; first makes sure a read waits on the TAP,
// and returns at once if frames wait for rx_burst or no read could be armed.
void UringTapPort::wait_rx(std::uint16_t qi, std::chrono::microseconds timeout) {
  Queue& q = q_[qi];
  // Drain may need two rounds: a batch that finds the TAP empty, then the
  // read that waits.
  for (int round = 0; round < 2 && q.ready_count == 0; ++round) {
    flush(q, refill(q) > 0);
    reap(q, qi);
  }
  if (q.ready_count > 0 || (q.rx == UringTapRx::kMultishot ? !q.mshot_armed : q.rx_chains == 0))
    return;
  const auto us = timeout.count();
  __kernel_timespec ts{us / 1'000'000, (us % 1'000'000) * 1000};
  io_uring_cqe* cqe = nullptr;
  io_uring_wait_cqe_timeout(&q.ring, &cqe, &ts);
}

// Takes ownership of m: queues its write, or frees it and returns false.
bool UringTapPort::prep_write(Queue& q, Mbuf* m) {
  if (m->pkt_len < 14 || m->pkt_len > mtu_ + 18) {
    log_once(LogLevel::kWarn,
             "uring_tap: dropping a frame shorter than 14 or above MTU + 18 bytes");
    mbuf_free(m);
    return false;
  }
  unsigned segs = 0;
  for (const Mbuf* s = m; s != nullptr; s = s->next) ++segs;
  if (segs > kMaxIov) {  // rare: a long chain of small pieces; write one copy
    Mbuf* c = mbuf_copy(m, *q.pool);
    mbuf_free(m);
    if (c == nullptr) return false;
    m = c;
    segs = 0;
    for (const Mbuf* s = m; s != nullptr; s = s->next) ++segs;
    if (segs > kMaxIov) {
      mbuf_free(m);
      return false;
    }
  }
  const std::uint32_t idx = q.free_slots[--q.free_count];
  TxSlot& slot = q.slots[idx];
  slot.m = m;
  slot.bytes = m->pkt_len;
  io_uring_sqe* sqe = io_uring_get_sqe(&q.ring);  // room checked by the caller
  if (hdr_len_ == 0 && segs == 1) {
    const int ri = reg_index(q, m->data(), m->data_len);
    if (ri >= 0) {
      io_uring_prep_write_fixed(sqe, q.file, m->data(), m->data_len, 0, ri);
    } else {
      io_uring_prep_write(sqe, q.file, m->data(), m->data_len, 0);
    }
  } else {
    unsigned n = 0;
    if (hdr_len_ != 0) {
      slot.hdr = VirtioNetHdr{};
      slot.hdr.gso_type = kVirtioNetHdrGsoNone;
      if ((m->ol_flags & (ol::kTxTcpCksum | ol::kTxUdpCksum)) != 0 && m->l2_len != 0 &&
          m->l3_len != 0) {
        // The field holds the pseudo-header sum; the kernel completes it.
        slot.hdr.flags = kVirtioNetHdrFNeedsCsum;
        slot.hdr.csum_start = htole16(static_cast<std::uint16_t>(m->l2_len + m->l3_len));
        slot.hdr.csum_offset = htole16((m->ol_flags & ol::kTxTcpCksum) != 0 ? 16 : 6);
      }
      slot.iov[n++] = {&slot.hdr, kVnetHdrLen};
    }
    for (Mbuf* s = m; s != nullptr; s = s->next) slot.iov[n++] = {s->data(), s->data_len};
    io_uring_prep_writev(sqe, q.file, slot.iov, n, 0);
  }
  if (q.fixed_file) sqe->flags |= IOSQE_FIXED_FILE;
  sqe->user_data = (std::uint64_t{idx} << 3) | kTagTx;
  ++q.tx_inflight;
  return true;
}

std::uint16_t UringTapPort::tx_burst(std::uint16_t qi, Mbuf** pkts, std::uint16_t n) {
  Queue& q = q_[qi];
  if (q.free_count < n) reap(q, qi);
  std::uint16_t i = 0, sent = 0, bad = 0;
  for (; i < n; ++i) {
    if (q.free_count == 0 || io_uring_sq_space_left(&q.ring) == 0) break;
    if (prep_write(q, pkts[i])) {
      ++sent;
    } else {
      ++bad;
    }
  }
  if (bad > 0) stats_[qi].tx_drop(bad);
  drop_unsent(qi, pkts, i, n);
  if (sent > 0) {
    flush(q, true);
    reap(q, qi);  // writes to a TAP complete inside the submit
  }
  return sent;
}

}  // namespace

bool parse_uring_tap_rx(const std::string& text, UringTapRx* out) {
  for (const UringTapRx rx : {UringTapRx::kDrain, UringTapRx::kMultishot, UringTapRx::kLinked}) {
    if (text == uring_tap_rx_name(rx)) {
      *out = rx;
      return true;
    }
  }
  return false;
}

const char* uring_tap_rx_name(UringTapRx rx) {
  switch (rx) {
    case UringTapRx::kDrain:
      return "drain";
    case UringTapRx::kMultishot:
      return "multishot";
    case UringTapRx::kLinked:
      break;
  }
  return "linked";
}

std::unique_ptr<Port> open_uring_tap(const UringTapConfig& cfg, std::string* error) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  if (cfg.iface.empty() || cfg.iface.size() >= IFNAMSIZ) {
    *error = "uring_tap: bad interface name '" + cfg.iface + "' (1 to " +
             std::to_string(IFNAMSIZ - 1) + " characters)";
    return nullptr;
  }
  if (cfg.queues == 0 || cfg.queues > kMaxQueues) {
    *error = "uring_tap: queues must be 1.." + std::to_string(kMaxQueues);
    return nullptr;
  }
  if (cfg.rx_pools.size() < cfg.queues ||
      std::any_of(cfg.rx_pools.begin(), cfg.rx_pools.begin() + cfg.queues,
                  [](MbufPool* p) { return p == nullptr; })) {
    *error = "uring_tap: one receive pool per queue is required";
    return nullptr;
  }
  if (cfg.rx_depth == 0 || cfg.rx_depth > kMaxDepth || cfg.tx_depth == 0 ||
      cfg.tx_depth > kMaxDepth) {
    *error = "uring_tap: rx_depth and tx_depth must be 1.." + std::to_string(kMaxDepth);
    return nullptr;
  }
  if (cfg.rx_chains > cfg.rx_depth) {
    *error = "uring_tap: rx_chains must be 0..rx_depth";
    return nullptr;
  }
  if (!cfg.kernel_cidr.empty()) {
    in_addr a{};
    int prefix = 0;
    const bool ok = parse_cidr(cfg.kernel_cidr, &a, &prefix);
    if (!ok) {
      *error = "uring_tap: kernel_cidr '" + cfg.kernel_cidr +
               "' is not an IPv4 address with a prefix, like 10.0.0.2/24";
      return nullptr;
    }
  }
  if (cfg.mtu != 0 && (cfg.mtu < 68 || cfg.mtu > 65535)) {
    *error = "uring_tap: mtu must be 68..65535 (or 0 to leave the TAP's)";
    return nullptr;
  }
  if (cfg.mac && (cfg.mac->is_multicast() || cfg.mac->is_zero())) {
    *error = "uring_tap: mac " + cfg.mac->to_string() + " is not a unicast address";
    return nullptr;
  }
  auto port = std::make_unique<UringTapPort>(cfg, cfg.queues);
  if (!port->open(error)) return nullptr;
  return port;
}

}  // namespace ustack
