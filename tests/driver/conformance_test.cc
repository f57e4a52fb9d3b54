// Driver conformance: every driver this build can open here, as two ports
// joined by a link: the driver under test (A) and a peer (B).
//
//   memlink    A and B are the two ends of one in-memory link.
//   af_packet  A and B are both ustack ports, on the two ends of a veth pair
//              in two namespaces.
//   uring_tap  A is a TAP that the driver creates inside a namespace; B is
//              the kernel side of that TAP, reached through a plain
//              AF_PACKET socket (RawSocketPort below). Also with virtio-net
//              headers (uring_tap_vnet), with SQPOLL (uring_tap_sqpoll),
//              and with its other two ways to receive (uring_tap_multishot,
//              uring_tap_linked).
//   dpdk       A is a DPDK port on net_af_packet over the veth end in
//              namespace A (EAL on normal pages, started once for the
//              process, the vdev hot-plugged per test); B is af_packet.
//
// Checked both ways, with one queue and with two where the driver has them:
// bursts of every frame size 60..MTU+14 (single segments, two-segment
// chains, frames from a pool the driver never saw), contents intact,
// statistics equal to what moved, frames received in place where
// capabilities().zero_copy_rx promises it (by pointer identity), and no mbuf
// leaked: every pool back to in_use() == 0 once the ports are closed.
// Traffic stays inside the namespaces the test makes; every loop is bounded.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/clock.h"
#include "drivers/factory.h"
#include "kernel/netns.h"
#include "unit/test_pool.h"
#ifdef USTACK_HAVE_URING
#include "drivers/uring_tap/uring_tap.h"
#endif

namespace ustack {
namespace {

using Clock = std::chrono::steady_clock;
using testing::NetnsPair;

// ---- A port on a plain AF_PACKET socket: the kernel side of a TAP, as a
// peer the tests can drive like any other port (copies; one system call per
// frame; for tests only).
class RawSocketPort final : public Port {
 public:
  static std::unique_ptr<RawSocketPort> open(const std::string& iface, MbufPool& pool,
                                             std::string* error) {
    std::unique_ptr<RawSocketPort> p(new RawSocketPort(iface, pool));
    p->fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (p->fd_ < 0) {
      *error = std::string("raw socket: ") + std::strerror(errno);
      return nullptr;
    }
    const int one = 1, rcvbuf = 8 << 20;
    setsockopt(p->fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    setsockopt(p->fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    if (sll.sll_ifindex == 0 || bind(p->fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
      *error = "raw socket: cannot bind to " + iface + ": " + std::strerror(errno);
      return nullptr;
    }
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, iface.c_str(), iface.size());
    ioctl(p->fd_, SIOCGIFMTU, &ifr);
    p->mtu_ = static_cast<std::uint32_t>(ifr.ifr_mtu);
    ioctl(p->fd_, SIOCGIFHWADDR, &ifr);
    std::memcpy(p->mac_.b.data(), ifr.ifr_hwaddr.sa_data, 6);
    p->caps_.max_mtu = p->mtu_;
    return p;
  }
  ~RawSocketPort() override {
    if (fd_ >= 0) close(fd_);
  }

  std::uint16_t rx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override {
    std::uint16_t got = 0;
    std::uint64_t bytes = 0;
    while (got < n) {
      Mbuf* m = pool_.alloc();
      if (m == nullptr) break;
      const ssize_t r = recv(fd_, m->data(), m->tailroom(), MSG_TRUNC | MSG_DONTWAIT);
      if (r < 0 || static_cast<std::size_t>(r) > m->tailroom()) {
        mbuf_free(m);
        if (r < 0) break;
        stats_[q].rx_drop();
        continue;
      }
      m->append(static_cast<std::uint16_t>(r));
      bytes += static_cast<std::uint64_t>(r);
      pkts[got++] = m;
    }
    if (got > 0) stats_[q].rx(got, bytes);
    return got;
  }

  std::uint16_t tx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override {
    std::uint16_t sent = 0;
    std::uint64_t bytes = 0;
    for (std::uint16_t i = 0; i < n; ++i) {
      Mbuf* m = pkts[i];
      iovec iov[16];
      int k = 0;
      for (Mbuf* s = m; s != nullptr && k < 16; s = s->next) iov[k++] = {s->data(), s->data_len};
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<std::size_t>(k);
      if (sendmsg(fd_, &msg, MSG_DONTWAIT) == static_cast<ssize_t>(m->pkt_len)) {
        ++sent;
        bytes += m->pkt_len;
      } else {
        stats_[q].tx_drop();
      }
      mbuf_free(m);
    }
    if (sent > 0) stats_[q].tx(sent, bytes);
    return sent;
  }

 private:
  RawSocketPort(const std::string& iface, MbufPool& pool) : Port("raw:" + iface, 1), pool_(pool) {}
  MbufPool& pool_;
  int fd_ = -1;
};

// ---- How a port proves it received a frame in place.
enum class InPlace {
  kNo,          // no promise (a copying peer)
  kSameMbuf,    // the receiver gets the very Mbuf the sender sent (memlink)
  kExtBuf,      // the mbuf references the kernel's RX ring (af_packet)
  kPoolBuffer,  // the kernel wrote into the mbuf's own data room (uring_tap)
};

struct Side {
  std::shared_ptr<Port> port;
  std::vector<std::unique_ptr<MbufPool>> pools;  // one per queue
  InPlace in_place = InPlace::kNo;
  std::vector<MbufPool*> pool_ptrs() const {
    std::vector<MbufPool*> v;
    for (const auto& p : pools) v.push_back(p.get());
    return v;
  }
};

using Param = std::tuple<std::string, int>;  // driver, queues

bool needs_namespaces(const std::string& driver) {
  return driver != "memlink";
}

class DriverConformance : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    const auto& [driver, queues] = GetParam();
    driver_ = driver;
    queues_ = static_cast<std::uint16_t>(queues);
    std::string why;
    if (needs_namespaces(driver_) && !testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
    ASSERT_TRUE(open(&why)) << why;
    ASSERT_TRUE(a_.port && b_.port);
    EXPECT_EQ(a_.port->capabilities().zero_copy_rx, a_.in_place != InPlace::kNo);
  }

  void TearDown() override {
    // Closing the ports gives back every buffer they held (uring_tap's
    // posted reads); after that nothing may be out of any pool.
    a_.port.reset();
    b_.port.reset();
    for (Side* s : {&a_, &b_}) {
      for (const auto& p : s->pools)
        EXPECT_EQ(p->in_use(), 0u) << "mbufs leaked from " << p->name();
    }
    if (foreign_) {
      EXPECT_EQ(foreign_->in_use(), 0u) << "mbufs leaked from the foreign pool";
    }
    ns_.reset();
  }

  void make_pools(Side& s, std::uint16_t n, const std::string& tag) {
    for (std::uint16_t q = 0; q < n; ++q)
      s.pools.push_back(testing::make_pool(2048, 2048, tag + std::to_string(q)));
  }

  bool open(std::string* error) {
    foreign_ = testing::make_pool(256, 2048, "foreign");
    if (driver_ == "memlink") {
      static int serial = 0;
      const std::string link = "conformance" + std::to_string(serial++);
      make_pools(a_, queues_, "a");
      make_pools(b_, queues_, "b");
      a_.port = open_port({.driver = "memlink",
                           .iface = link,
                           .end = "a",
                           .queues = queues_,
                           .rx_pools = a_.pool_ptrs()},
                          clock_, error);
      b_.port = open_port({.driver = "memlink",
                           .iface = link,
                           .end = "b",
                           .queues = queues_,
                           .rx_pools = b_.pool_ptrs()},
                          clock_, error);
      a_.in_place = b_.in_place = InPlace::kSameMbuf;
      return a_.port && b_.port;
    }
    if (driver_ == "af_packet" || driver_ == "af_packet_sendmmsg") {
      ns_ = NetnsPair::create(NetnsPair::Options{}, error);
      if (!ns_) return false;
      make_pools(a_, queues_, "a");
      make_pools(b_, queues_, "b");
      PortSpec sa{.driver = "af_packet", .iface = ns_->if_a(), .queues = queues_};
      sa.rx_pools = a_.pool_ptrs();
      PortSpec sb{.driver = "af_packet", .iface = ns_->if_b(), .queues = queues_};
      sb.rx_pools = b_.pool_ptrs();
      sa.af_packet_tx_sendmmsg = sb.af_packet_tx_sendmmsg = driver_ == "af_packet_sendmmsg";
      if (!ns_->run_in_a([&] { a_.port = open_port(sa, clock_, error); }) || !a_.port) return false;
      if (!ns_->run_in_b([&] { b_.port = open_port(sb, clock_, error); }) || !b_.port) return false;
      a_.in_place = b_.in_place = InPlace::kExtBuf;
      return true;
    }
    if (driver_ == "dpdk") {
      ns_ = NetnsPair::create(NetnsPair::Options{}, error);
      if (!ns_) return false;
      make_pools(a_, queues_, "a");
      make_pools(b_, queues_, "b");
      PortSpec sa{.driver = "dpdk", .queues = queues_};
      sa.rx_pools = a_.pool_ptrs();
      sa.dpdk_args =
          "--no-huge --no-shconf -m 512 --no-pci --log-level=*:warning "
          "--vdev=net_af_packet0,iface=" +
          ns_->if_a() + ",qpairs=" + std::to_string(queues_) + ",qdisc_bypass=1";
      PortSpec sb{.driver = "af_packet", .iface = ns_->if_b(), .queues = queues_};
      sb.rx_pools = b_.pool_ptrs();
      // The PMD opens its packet sockets when the vdev is plugged in: inside A.
      if (!ns_->run_in_a([&] { a_.port = open_port(sa, clock_, error); }) || !a_.port) return false;
      if (!ns_->run_in_b([&] { b_.port = open_port(sb, clock_, error); }) || !b_.port) return false;
      a_.in_place = InPlace::kExtBuf;
      b_.in_place = InPlace::kExtBuf;
      return true;
    }
    // uring_tap, uring_tap_*: the TAP inside namespace B, its kernel side
    // read and written through a packet socket.
    NetnsPair::Options o;
    o.veth = false;
    ns_ = NetnsPair::create(o, error);
    if (!ns_) return false;
    make_pools(a_, queues_, "a");
    make_pools(b_, 1, "b");
    PortSpec sa{.driver = "uring_tap", .iface = ns_->if_b(), .queues = queues_};
    sa.rx_pools = a_.pool_ptrs();
    sa.vnet_hdr = driver_ == "uring_tap_vnet";
    sa.sqpoll = driver_ == "uring_tap_sqpoll";
    if (driver_ == "uring_tap_linked") sa.uring_rx = "linked";
    if (driver_ == "uring_tap_multishot") sa.uring_rx = "multishot";
    if (with_kernel_address_) sa.kernel_cidr = "10.0.0.2/24";
    if (!ns_->run_in_b([&] { a_.port = open_port(sa, clock_, error); }) || !a_.port) return false;
    std::unique_ptr<RawSocketPort> raw;
    if (!ns_->run_in_b([&] { raw = RawSocketPort::open(ns_->if_b(), *b_.pools[0], error); }) ||
        !raw)
      return false;
    b_.port = std::move(raw);
    a_.in_place = InPlace::kPoolBuffer;
    return true;
  }

  std::string driver_;
  std::uint16_t queues_ = 1;
  bool with_kernel_address_ = false;
  VirtualClock clock_;
  std::unique_ptr<NetnsPair> ns_;  // declared before the ports: removed after them
  std::unique_ptr<MbufPool> foreign_;
  Side a_, b_;
};

// ---- Test frames: Ethernet + IPv4 + UDP to an address nobody has, sent to
// a MAC nobody has (so kernels on the way drop them unseen), then a magic,
// the sequence number and a pattern. Source ports vary so multi-queue
// links spread the frames over their queues.
constexpr std::uint32_t kMagic = 0x5553544b;  // "USTK"
constexpr std::size_t kPayloadOff = 14 + 20 + 8;
const MacAddr kNobody = MacAddr::local_from(0x99999999);

std::uint16_t csum16(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}
std::uint32_t get32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

std::vector<std::uint8_t> frame_bytes(std::uint32_t size, std::uint32_t seq, const MacAddr& src) {
  std::vector<std::uint8_t> f(size);
  std::uint8_t* p = f.data();
  std::memcpy(p, kNobody.b.data(), 6);
  std::memcpy(p + 6, src.b.data(), 6);
  put16(p + 12, 0x0800);
  std::uint8_t* ip = p + 14;
  ip[0] = 0x45;
  put16(ip + 2, static_cast<std::uint16_t>(size - 14));
  ip[8] = 64;
  ip[9] = 17;
  put32(ip + 12, 0x0a000062);  // 10.0.0.98
  put32(ip + 16, 0x0a000063);  // 10.0.0.99
  put16(ip + 10, csum16(ip, 20));
  std::uint8_t* udp = ip + 20;
  put16(udp, static_cast<std::uint16_t>(10000 + seq % 61));
  put16(udp + 2, 9);
  put16(udp + 4, static_cast<std::uint16_t>(size - 34));
  put32(p + kPayloadOff, kMagic);
  put32(p + kPayloadOff + 4, seq);
  for (std::size_t i = kPayloadOff + 8; i < size; ++i)
    p[i] = static_cast<std::uint8_t>(i * 7 + seq);
  return f;
}

// One frame as an mbuf: a single segment, a chain of two, or (kind 2) a
// single segment from a pool the driver never registered.
Mbuf* make_mbuf(const std::vector<std::uint8_t>& bytes, int kind, MbufPool& pool,
                MbufPool& foreign) {
  const auto n = static_cast<std::uint16_t>(bytes.size());
  if (kind == 1) {
    const auto half = static_cast<std::uint16_t>(n / 2);
    Mbuf* h = pool.alloc();
    Mbuf* t = pool.alloc();
    if (h == nullptr || t == nullptr) return nullptr;
    std::memcpy(h->append(half), bytes.data(), half);
    std::memcpy(t->append(static_cast<std::uint16_t>(n - half)), bytes.data() + half, n - half);
    h->chain(t);
    return h;
  }
  Mbuf* m = (kind == 2 ? foreign : pool).alloc();
  if (m == nullptr) return nullptr;
  std::memcpy(m->append(n), bytes.data(), n);
  return m;
}

struct DirectionResult {
  std::uint64_t frames = 0, bytes = 0;     // test frames sent
  std::uint64_t received = 0, extras = 0;  // test frames back / other frames seen
  std::uint64_t rx_bytes = 0;              // bytes of everything handed out
  std::vector<std::uint64_t> per_queue;    // frames handed out per receive queue
};

// Sends every size 60..max from `tx` to `rx` in bursts of 32 spread over
// tx's queues, receiving each burst completely before the next.
void run_direction(Side& tx, Side& rx, MbufPool& foreign, DirectionResult* r) {
  Port& tp = *tx.port;
  Port& rp = *rx.port;
  const std::uint32_t max = std::min(tp.mtu(), rp.mtu()) + 14;
  const std::uint16_t txq = tp.num_queues(), rxq = rp.num_queues();
  r->per_queue.assign(rxq, 0);
  std::vector<std::uint32_t> sizes;
  for (std::uint32_t s = 60; s <= max; ++s) sizes.push_back(s);
  std::vector<std::uintptr_t> sent_ptr(sizes.size());
  std::vector<bool> seen(sizes.size());
  const auto in_place_ok = [&](Mbuf* m, std::uint16_t q, std::uint32_t seq) {
    switch (rx.in_place) {
      case InPlace::kNo:
        return true;
      case InPlace::kSameMbuf:
        return reinterpret_cast<std::uintptr_t>(m) == sent_ptr[seq];
      case InPlace::kExtBuf:
        return m->has_ext();
      case InPlace::kPoolBuffer: {
        const MbufPool& p = *rx.pools[q];
        const std::span<std::byte> mem = p.memory();
        return p.contains(m) && !m->has_ext() && !m->is_indirect() && m->next == nullptr &&
               m->data() == m->buf_addr + p.headroom() && m->data() >= mem.data() &&
               m->data() + m->data_len <= mem.data() + mem.size();
      }
    }
    return false;
  };
  constexpr std::size_t kBurst = 32;
  for (std::size_t first = 0; first < sizes.size(); first += kBurst) {
    const std::size_t last = std::min(sizes.size(), first + kBurst);
    std::vector<std::vector<Mbuf*>> per_q(txq);
    for (std::size_t i = first; i < last; ++i) {
      const auto seq = static_cast<std::uint32_t>(i);
      const auto bytes = frame_bytes(sizes[i], seq, tp.mac());
      const std::uint16_t q = static_cast<std::uint16_t>(i % txq);
      Mbuf* m = make_mbuf(bytes, i % 7 == 3 ? 1 : (i % 5 == 2 ? 2 : 0), *tx.pools[q], foreign);
      ASSERT_NE(m, nullptr);
      sent_ptr[i] = reinterpret_cast<std::uintptr_t>(m);
      per_q[q].push_back(m);
      ++r->frames;
      r->bytes += sizes[i];
    }
    for (std::uint16_t q = 0; q < txq; ++q) {
      const auto n = static_cast<std::uint16_t>(per_q[q].size());
      if (n == 0) continue;
      ASSERT_EQ(tp.tx_burst(q, per_q[q].data(), n), n) << "burst at size " << sizes[first];
    }
    std::size_t want = last - first, got = 0;
    const auto end = Clock::now() + std::chrono::seconds(5);
    while (got < want && Clock::now() < end) {
      for (std::uint16_t q = 0; q < rxq; ++q) {
        Mbuf* pkts[64];
        const std::uint16_t n = rp.rx_burst(q, pkts, 64);
        r->per_queue[q] += n;
        for (std::uint16_t k = 0; k < n; ++k) {
          Mbuf* m = pkts[k];
          r->rx_bytes += m->pkt_len;
          std::vector<std::uint8_t> b(m->pkt_len);
          mbuf_read(m, 0, std::as_writable_bytes(std::span(b)));
          const bool ours = b.size() >= kPayloadOff + 8 && get32(&b[kPayloadOff]) == kMagic;
          if (!ours) {
            ++r->extras;
            mbuf_free(m);
            continue;
          }
          const std::uint32_t seq = get32(&b[kPayloadOff + 4]);
          ASSERT_LT(seq, sizes.size());
          EXPECT_FALSE(seen[seq]) << "frame " << seq << " twice";
          seen[seq] = true;
          EXPECT_EQ(b, frame_bytes(sizes[seq], seq, tp.mac())) << "frame of " << sizes[seq];
          EXPECT_TRUE(in_place_ok(m, q, seq)) << "frame of " << sizes[seq] << " not in place";
          EXPECT_EQ(m->queue, q);
          mbuf_free(m);
          ++got;
          ++r->received;
        }
      }
    }
    ASSERT_EQ(got, want) << "frames lost in the burst from size " << sizes[first];
  }
}

void check_direction(Side& tx, Side& rx, MbufPool& foreign) {
  const QueueStatsSnapshot t0 = tx.port->total_stats(), r0 = rx.port->total_stats();
  DirectionResult r;
  run_direction(tx, rx, foreign, &r);
  if (::testing::Test::HasFatalFailure()) return;
  // A driver whose writes complete in the background (uring_tap with
  // SQPOLL) counts them when it reaps their completions, on its next poll.
  const auto end = Clock::now() + std::chrono::seconds(2);
  while (tx.port->total_stats().tx_packets - t0.tx_packets < r.frames && Clock::now() < end) {
    for (std::uint16_t q = 0; q < tx.port->num_queues(); ++q) {
      Mbuf* pkts[32];
      mbuf_free_bulk(pkts, tx.port->rx_burst(q, pkts, 32));
    }
  }
  const QueueStatsSnapshot t1 = tx.port->total_stats(), r1 = rx.port->total_stats();
  EXPECT_EQ(r.received, r.frames);
  EXPECT_EQ(t1.tx_packets - t0.tx_packets, r.frames);
  EXPECT_EQ(t1.tx_bytes - t0.tx_bytes, r.bytes);
  EXPECT_EQ(t1.tx_dropped - t0.tx_dropped, 0u);
  EXPECT_EQ(r1.rx_packets - r0.rx_packets, r.received + r.extras);
  EXPECT_EQ(r1.rx_bytes - r0.rx_bytes, r.rx_bytes);
  EXPECT_EQ(r1.rx_dropped - r0.rx_dropped, 0u);
  std::string spread;
  for (std::size_t q = 0; q < r.per_queue.size(); ++q)
    spread += " q" + std::to_string(q) + "=" + std::to_string(r.per_queue[q]);
  std::printf("  %s -> %s: %llu frames, %llu other frames;%s\n", tx.port->name().c_str(),
              rx.port->name().c_str(), static_cast<unsigned long long>(r.received),
              static_cast<unsigned long long>(r.extras), spread.c_str());
}

TEST_P(DriverConformance, BurstsFromAToB) {
  check_direction(a_, b_, *foreign_);
}

TEST_P(DriverConformance, BurstsFromBToA) {
  check_direction(b_, a_, *foreign_);
}

TEST_P(DriverConformance, BothWaysRepeatedly) {
  for (int round = 0; round < 3 && !HasFailure(); ++round) {
    check_direction(a_, b_, *foreign_);
    check_direction(b_, a_, *foreign_);
  }
}

TEST_P(DriverConformance, DescribesItself) {
  const PortCapabilities& c = a_.port->capabilities();
  EXPECT_EQ(a_.port->num_queues(), queues_);
  EXPECT_GE(c.max_queues, queues_);
  EXPECT_GE(a_.port->mtu(), 1500u);
  EXPECT_FALSE(a_.port->mac().is_zero());
  EXPECT_FALSE(a_.port->mac().is_multicast());
  EXPECT_NE(a_.port->mac(), b_.port->mac()) << "two hosts on one link need two addresses";
  if (queues_ > 1 && driver_ != "memlink") {
    EXPECT_EQ(c.rss, RssKind::kKernel);
  }
  // The kernel's ports can sleep in wait_rx (poll, io_uring); the others poll.
  EXPECT_EQ(c.rx_wait, driver_.rfind("af_packet", 0) == 0 || driver_.rfind("uring_tap", 0) == 0);
}

std::vector<Param> params() {
  std::vector<Param> v = {{"memlink", 1},
                          {"memlink", 2},
                          {"af_packet", 1},
                          {"af_packet", 2},
                          {"af_packet_sendmmsg", 1}};
#ifdef USTACK_HAVE_DPDK
  v.insert(v.end(), {{"dpdk", 1}, {"dpdk", 2}});
#endif
#ifdef USTACK_HAVE_URING
  v.insert(v.end(), {{"uring_tap", 1},
                     {"uring_tap", 2},
                     {"uring_tap_vnet", 1},
                     {"uring_tap_sqpoll", 1},
                     {"uring_tap_multishot", 1},
                     {"uring_tap_multishot", 2},
                     {"uring_tap_linked", 1},
                     {"uring_tap_linked", 2}});
#endif
  return v;
}

INSTANTIATE_TEST_SUITE_P(Drivers, DriverConformance, ::testing::ValuesIn(params()),
                         [](const auto& p) {
                           return std::get<0>(p.param) + "_q" +
                                  std::to_string(std::get<1>(p.param));
                         });

#ifdef USTACK_HAVE_URING

// ---- uring_tap only.

// Runs fn on a thread of its own inside namespace `ns` with CAP_NET_ADMIN
// taken out of its effective set (capabilities belong to threads).
void without_net_admin(const NetnsPair& pair, const std::function<void()>& fn) {
  std::thread t([&] {
    pair.run_in_b([&] {
      __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct data[2]{};
      ASSERT_EQ(syscall(SYS_capget, &hdr, data), 0);
      __user_cap_data_struct saved[2] = {data[0], data[1]};
      data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
      ASSERT_EQ(syscall(SYS_capset, &hdr, data), 0);
      fn();
      syscall(SYS_capset, &hdr, saved);
    });
  });
  t.join();
}

TEST(UringTap, SaysClearlyWhatIsWrong) {
  std::string why;
  if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
  NetnsPair::Options o;
  o.veth = false;
  auto pair = NetnsPair::create(o, &why);
  ASSERT_NE(pair, nullptr) << why;
  auto pool = testing::make_pool(512, 2048, "errors");
  auto small = testing::make_pool(64, 512, "small");
  const auto open = [&](UringTapConfig cfg) {
    std::string err;
    std::unique_ptr<Port> p;
    pair->run_in_b([&] { p = open_uring_tap(cfg, &err); });
    EXPECT_EQ(p, nullptr);
    return err;
  };
  UringTapConfig good;
  good.iface = pair->if_b();
  good.rx_pools = {pool.get()};
  UringTapConfig c = good;
  c.iface = "";
  EXPECT_NE(open(c).find("bad interface name"), std::string::npos);
  c.iface = "a-name-far-too-long-for-linux";
  EXPECT_NE(open(c).find("bad interface name"), std::string::npos);
  c = good;
  c.queues = 0;
  EXPECT_NE(open(c).find("queues must be"), std::string::npos);
  c = good;
  c.queues = 2;
  EXPECT_NE(open(c).find("one receive pool per queue"), std::string::npos);
  c = good;
  c.rx_depth = 0;
  EXPECT_NE(open(c).find("rx_depth"), std::string::npos);
  c = good;
  c.kernel_cidr = "10.0.0.2";
  EXPECT_NE(open(c).find("kernel_cidr '10.0.0.2'"), std::string::npos);
  c.kernel_cidr = "10.0.0.2/33";
  EXPECT_NE(open(c).find("kernel_cidr"), std::string::npos);
  c = good;
  c.rx_pools = {small.get()};
  const std::string room = open(c);
  EXPECT_NE(room.find("too small for the MTU"), std::string::npos) << room;
  c = good;
  c.iface = "lo";  // exists, and is no TAP
  const std::string lo = open(c);
  EXPECT_NE(lo.find("not a TAP"), std::string::npos) << lo;
  std::string perm;
  without_net_admin(*pair, [&] {
    std::unique_ptr<Port> p = open_uring_tap(good, &perm);
    EXPECT_EQ(p, nullptr);
  });
  EXPECT_NE(perm.find("no permission"), std::string::npos) << perm;
  EXPECT_NE(perm.find("CAP_NET_ADMIN"), std::string::npos) << perm;
  // And the good one opens (in namespace B), with an address of its own.
  std::string err;
  std::unique_ptr<Port> p;
  pair->run_in_b([&] { p = open_uring_tap(good, &err); });
  ASSERT_NE(p, nullptr) << err;
  EXPECT_TRUE(p->mac().b[0] & 2) << "locally administered";
  p.reset();
  EXPECT_EQ(pool->in_use(), 0u);
}

// io_uring refused by the kernel, as kernel.io_uring_disabled or a seccomp
// policy does it: here a seccomp filter on one thread makes io_uring_setup
// fail with `err`, so nothing outside this test changes.
std::string open_without_io_uring(const NetnsPair& pair, const UringTapConfig& cfg, int err) {
  std::string text;
  std::thread t([&] {
    pair.run_in_b([&] {
      sock_filter code[] = {
          BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
          BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
          BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
          BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
          BPF_STMT(BPF_RET | BPF_K,
                   SECCOMP_RET_ERRNO | (static_cast<unsigned>(err) & SECCOMP_RET_DATA)),
          BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      };
      sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
      ASSERT_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
      ASSERT_EQ(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0) << std::strerror(errno);
      std::unique_ptr<Port> p = open_uring_tap(cfg, &text);
      EXPECT_EQ(p, nullptr);
    });
  });
  t.join();  // the filter ends with its thread
  return text;
}

TEST(UringTap, ExplainsWhenIoUringIsRefused) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the seccomp filter here is written for x86-64";
#endif
  std::string why;
  if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
  NetnsPair::Options o;
  o.veth = false;
  auto pair = NetnsPair::create(o, &why);
  ASSERT_NE(pair, nullptr) << why;
  auto pool = testing::make_pool(512, 2048, "no-uring");
  UringTapConfig cfg;
  cfg.iface = pair->if_b();
  cfg.rx_pools = {pool.get()};
  const std::string perm = open_without_io_uring(*pair, cfg, EPERM);
  EXPECT_NE(perm.find("uring_tap: io_uring"), std::string::npos) << perm;
  EXPECT_NE(perm.find("not permitted"), std::string::npos) << perm;
  const std::string nosys = open_without_io_uring(*pair, cfg, ENOSYS);
  EXPECT_NE(nosys.find("has no io_uring"), std::string::npos) << nosys;
  EXPECT_EQ(pool->in_use(), 0u);
}

// A namespace with no veth (the ports make their TAP in it), a pool, and a
// port config for that TAP.
struct TapSetup {
  std::unique_ptr<NetnsPair> pair;
  std::unique_ptr<MbufPool> pool;
  UringTapConfig cfg;
};

std::unique_ptr<TapSetup> tap_setup(const std::string& pool_name, std::string* error) {
  auto t = std::make_unique<TapSetup>();
  NetnsPair::Options o;
  o.veth = false;
  t->pair = NetnsPair::create(o, error);
  if (!t->pair) return nullptr;
  t->pool = testing::make_pool(1024, 2048, pool_name);
  t->cfg.iface = t->pair->if_b();
  t->cfg.rx_pools = {t->pool.get()};
  return t;
}

constexpr UringTapRx kEveryRx[] = {UringTapRx::kDrain, UringTapRx::kMultishot, UringTapRx::kLinked};

// A closed port lets go of its TAP at once, and of the buffers its reads
// hold: the next port can take it, whichever way it receives.
TEST(UringTap, ClosingReleasesTheTap) {
  std::string why;
  if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
  const auto t = tap_setup("reopen", &why);
  ASSERT_NE(t, nullptr) << why;
  UringTapConfig cfg = t->cfg;
  for (const UringTapRx rx : kEveryRx) {
    cfg.rx = rx;
    for (int i = 0; i < 3; ++i) {
      std::string err;
      std::unique_ptr<Port> p;
      t->pair->run_in_b([&] { p = open_uring_tap(cfg, &err); });
      ASSERT_NE(p, nullptr) << uring_tap_rx_name(rx) << " round " << i << ": " << err;
      Mbuf* m = nullptr;
      EXPECT_EQ(p->rx_burst(0, &m, 1), 0);  // posts its reads (drain: finds the TAP empty)
      EXPECT_EQ(p->rx_burst(0, &m, 1), 0);  // drain: leaves one read waiting
      if (rx == UringTapRx::kDrain) {
        EXPECT_EQ(t->pool->in_use(), 1u) << "one read waits on the empty TAP";
      } else {
        EXPECT_EQ(t->pool->in_use(), 128u) << uring_tap_rx_name(rx) << ": rx_depth with the kernel";
      }
    }
    EXPECT_EQ(t->pool->in_use(), 0u) << uring_tap_rx_name(rx);
  }
}

// A raw packet socket on the kernel side of `pair`'s link B (the TAP or
// the veth end in namespace B); -1 when it cannot be had.
int raw_socket_in_b(const NetnsPair& pair) {
  int raw = -1;
  pair.run_in_b([&] {
    raw = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(if_nametoindex(pair.if_b().c_str()));
    if (raw >= 0 && bind(raw, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
      close(raw);
      raw = -1;
    }
  });
  return raw;
}

// Port::wait_rx sleeps until a frame comes (not spinning) and the frame is
// then there for rx_burst: `raw` sends one 100 ms after the port starts
// waiting with a 2 s timeout.
void expect_wait_rx_wakes_for_a_frame(Port& port, int raw) {
  ASSERT_TRUE(port.capabilities().rx_wait);
  Mbuf* m = nullptr;
  while (port.rx_burst(0, &m, 1) == 1) mbuf_free(m);  // the kernel's own, if any
  const auto bytes = frame_bytes(200, 1, MacAddr::local_from(7));
  const auto t0 = Clock::now();
  std::thread sender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(send(raw, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  });
  int wakeups = 0;
  std::uint16_t got = 0;
  while (got == 0 && Clock::now() - t0 < std::chrono::seconds(5)) {
    port.wait_rx(0, std::chrono::seconds(2));
    ++wakeups;
    got = port.rx_burst(0, &m, 1);
    if (got == 1 && m->pkt_len != bytes.size()) {  // not ours: a stray from the kernel
      mbuf_free(m);
      got = 0;
    }
  }
  sender.join();
  ASSERT_EQ(got, 1) << "the frame did not come";
  mbuf_free(m);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(90)) << "it came before it was sent";
  EXPECT_LE(wakeups, 4) << "wait_rx returned without a frame, again and again";
}

// wait_rx, whichever way the TAP port receives.
TEST(UringTap, WaitRxSleepsUntilAFrameComes) {
  std::string why;
  if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
  const auto t = tap_setup("wait", &why);
  ASSERT_NE(t, nullptr) << why;
  UringTapConfig cfg = t->cfg;
  for (const UringTapRx rx : kEveryRx) {
    SCOPED_TRACE(uring_tap_rx_name(rx));
    cfg.rx = rx;
    std::unique_ptr<Port> port;
    std::string err;
    t->pair->run_in_b([&] { port = open_uring_tap(cfg, &err); });
    ASSERT_NE(port, nullptr) << err;
    const int raw = raw_socket_in_b(*t->pair);
    ASSERT_GE(raw, 0) << std::strerror(errno);
    expect_wait_rx_wakes_for_a_frame(*port, raw);
    close(raw);
    port.reset();
    EXPECT_EQ(t->pool->in_use(), 0u);
  }
}

// wait_rx on both ring versions: V2 wakes for the frame, V3 when the block
// holding it retires (retire_timeout_ms).
TEST(AfPacket, WaitRxSleepsUntilAFrameComes) {
  std::string why;
  if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
  auto pair = NetnsPair::create(NetnsPair::Options{}, &why);
  ASSERT_NE(pair, nullptr) << why;
  auto pool = testing::make_pool(1024, 2048, "wait");
  VirtualClock clock;
  for (const int ring : {2, 3}) {
    SCOPED_TRACE("TPACKET_V" + std::to_string(ring));
    PortSpec spec{.driver = "af_packet", .iface = pair->if_a(), .rx_pools = {pool.get()}};
    spec.af_packet_ring = ring;
    std::shared_ptr<Port> port;
    std::string err;
    pair->run_in_a([&] { port = open_port(spec, clock, &err); });
    ASSERT_NE(port, nullptr) << err;
    const int raw = raw_socket_in_b(*pair);
    ASSERT_GE(raw, 0) << std::strerror(errno);
    expect_wait_rx_wakes_for_a_frame(*port, raw);
    close(raw);
    port.reset();
    EXPECT_EQ(pool->in_use(), 0u);
  }
}

// Frames tx_burst cannot write as they are: a chain longer than one write
// takes (copied, then sent), and frames too short or too long (dropped and
// counted). Nothing leaks, nothing is freed twice.
TEST(UringTap, OddFrames) {
  std::string why;
  if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
  NetnsPair::Options o;
  o.veth = false;
  auto pair = NetnsPair::create(o, &why);
  ASSERT_NE(pair, nullptr) << why;
  auto pool = testing::make_pool(1024, 2048, "odd");
  auto peer_pool = testing::make_pool(256, 2048, "odd-peer");
  UringTapConfig cfg;
  cfg.iface = pair->if_b();
  cfg.rx_pools = {pool.get()};
  std::unique_ptr<Port> port;
  std::unique_ptr<RawSocketPort> peer;
  std::string err;
  pair->run_in_b([&] {
    port = open_uring_tap(cfg, &err);
    if (port) peer = RawSocketPort::open(pair->if_b(), *peer_pool, &err);
  });
  ASSERT_TRUE(port && peer) << err;
  const auto bytes = frame_bytes(1000, 7, port->mac());
  Mbuf* chain = nullptr;
  for (std::size_t off = 0; off < bytes.size(); off += 40) {  // 25 segments
    Mbuf* s = pool->alloc();
    ASSERT_NE(s, nullptr);
    const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(40, bytes.size() - off));
    std::memcpy(s->append(n), bytes.data() + off, n);
    if (chain == nullptr) {
      chain = s;
    } else {
      chain->chain(s);
    }
  }
  ASSERT_EQ(chain->nb_segs, 25);
  Mbuf* tiny = make_mbuf(std::vector<std::uint8_t>(10, 1), 0, *pool, *pool);
  Mbuf* huge = make_mbuf(frame_bytes(port->mtu() + 19, 8, port->mac()), 0, *pool, *pool);
  Mbuf* burst[3] = {tiny, chain, huge};
  EXPECT_EQ(port->tx_burst(0, burst, 3), 1);
  Mbuf* got = nullptr;
  const auto end = Clock::now() + std::chrono::seconds(5);
  while (got == nullptr && Clock::now() < end) {
    Mbuf* m = nullptr;
    if (peer->rx_burst(0, &m, 1) == 0) continue;
    if (m->pkt_len == bytes.size()) {
      got = m;
    } else {
      mbuf_free(m);
    }
  }
  ASSERT_NE(got, nullptr) << "the long chain did not arrive";
  std::vector<std::uint8_t> b(got->pkt_len);
  mbuf_read(got, 0, std::as_writable_bytes(std::span(b)));
  EXPECT_EQ(b, bytes);
  mbuf_free(got);
  const QueueStatsSnapshot st = port->stats(0);
  EXPECT_EQ(st.tx_packets, 1u);
  EXPECT_EQ(st.tx_bytes, bytes.size());
  EXPECT_EQ(st.tx_dropped, 2u);
  port.reset();
  peer.reset();
  EXPECT_EQ(pool->in_use(), 0u);
  EXPECT_EQ(peer_pool->in_use(), 0u);
}

// A uring_tap with virtio-net headers whose kernel side is in namespace B
// (10.0.0.2/24), a UDP socket of `family` made there, and the kernel side's
// MAC: what the checksum offload tests of both families share.
struct VnetTap {
  std::unique_ptr<NetnsPair> pair;
  std::unique_ptr<MbufPool> pool;
  std::unique_ptr<Port> port;
  int udp = -1;
  MacAddr kmac;
  ~VnetTap() {
    if (udp >= 0) close(udp);
    port.reset();
    if (pool) {
      EXPECT_EQ(pool->in_use(), 0u);
    }
  }
};

// Fills *t; a gtest failure when anything cannot be made.
void open_vnet_tap(int family, VnetTap* t) {
  std::string why;
  NetnsPair::Options o;
  o.veth = false;
  t->pair = NetnsPair::create(o, &why);
  ASSERT_NE(t->pair, nullptr) << why;
  t->pool = testing::make_pool(1024, 2048, "vnet");
  UringTapConfig cfg;
  cfg.iface = t->pair->if_b();
  cfg.rx_pools = {t->pool.get()};
  cfg.vnet_hdr = true;
  cfg.kernel_cidr = "10.0.0.2/24";
  std::string err;
  t->pair->run_in_b([&] {
    t->port = open_uring_tap(cfg, &err);
    t->udp = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  });
  ASSERT_NE(t->port, nullptr) << err;
  ASSERT_GE(t->udp, 0);
  EXPECT_TRUE(t->port->capabilities().tx_l4_cksum);
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, t->pair->if_b().c_str(), t->pair->if_b().size());
  ASSERT_EQ(ioctl(t->udp, SIOCGIFHWADDR, &ifr), 0);
  std::memcpy(t->kmac.b.data(), ifr.ifr_hwaddr.sa_data, 6);
}

// A UDP datagram 7777 -> 5555 carrying `text` behind the IP header `ip`
// (`ip_len` bytes, the family's EtherType), whose checksum field holds
// `pseudo` folded and complemented: the pseudo-header sum a driver
// continues. With `offload` the checksum is left to the kernel
// (ol::kTxUdpCksum and `family_flag`); without it the sum is wrong.
Mbuf* vnet_udp_frame(VnetTap& t, std::uint16_t ether_type, const std::uint8_t* ip,
                     std::size_t ip_len, std::uint32_t pseudo, const char* text, bool offload,
                     std::uint32_t family_flag) {
  const auto len = static_cast<std::uint16_t>(std::strlen(text));
  const auto ulen = static_cast<std::uint16_t>(8 + len);
  Mbuf* m = t.pool->alloc();
  if (m == nullptr) return m;
  const std::size_t total = 14 + ip_len + ulen;
  auto* f = reinterpret_cast<std::uint8_t*>(m->append(static_cast<std::uint16_t>(total)));
  std::memset(f, 0, total);
  std::memcpy(f, t.kmac.b.data(), 6);
  std::memcpy(f + 6, t.port->mac().b.data(), 6);
  put16(f + 12, ether_type);
  std::memcpy(f + 14, ip, ip_len);
  std::uint8_t* u = f + 14 + ip_len;
  put16(u, 7777);
  put16(u + 2, 5555);
  put16(u + 4, ulen);
  std::memcpy(u + 8, text, len);
  put16(u + 6, static_cast<std::uint16_t>(~csum16(nullptr, 0, pseudo + ulen)));
  if (offload) m->ol_flags = ol::kTxUdpCksum | family_flag;
  m->l2_len = 14;
  m->l3_len = static_cast<std::uint16_t>(ip_len);
  m->l4_len = 8;
  return m;
}

// Sends `bad` (a wrong sum, not offloaded) then `good` (offloaded): the
// kernel must drop the first, so the first datagram its socket sees is the
// second one.
void expect_only_offloaded_arrives(VnetTap& t, Mbuf* bad, Mbuf* good, const char* good_text) {
  Mbuf* frames[2] = {bad, good};
  ASSERT_TRUE(bad && good);
  ASSERT_EQ(t.port->tx_burst(0, frames, 2), 2);
  timeval tv{5, 0};
  setsockopt(t.udp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[256] = {};
  const ssize_t r = recv(t.udp, buf, sizeof buf - 1, 0);
  ASSERT_GT(r, 0) << std::strerror(errno);
  EXPECT_STREQ(buf, good_text);
  EXPECT_EQ(t.port->stats(0).tx_packets, 2u) << "the kernel took both frames";
}

// With virtio-net headers: checksums the kernel left undone arrive marked
// good, and a UDP checksum we leave to the kernel reaches its socket.
TEST(UringTap, VnetHeaderChecksumOffload) {
  std::string why;
  if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
  VnetTap t;
  ASSERT_NO_FATAL_FAILURE(open_vnet_tap(AF_INET, &t));
  const int udp = t.udp;
  const auto& port = t.port;
  const auto& pair = t.pair;
  const std::string mac = port->mac().to_string();
  ASSERT_EQ(testing::sh("ip -n " + pair->ns_b() + " neigh add 10.0.0.1 lladdr " + mac + " dev " +
                        pair->if_b()),
            0);
  // The kernel's UDP socket -> us: the TAP offers checksum offload, so the
  // kernel leaves the sum to "hardware" and says so.
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(7777);
  to.sin_addr.s_addr = htonl(0x0a000001);
  sockaddr_in me{};
  me.sin_family = AF_INET;
  me.sin_port = htons(5555);
  me.sin_addr.s_addr = htonl(0x0a000002);
  ASSERT_EQ(bind(udp, reinterpret_cast<sockaddr*>(&me), sizeof me), 0) << std::strerror(errno);
  const char msg[] = "checksum left to the hardware";
  ASSERT_EQ(sendto(udp, msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(sizeof msg));
  Mbuf* got = nullptr;
  const auto end = Clock::now() + std::chrono::seconds(5);
  while (got == nullptr && Clock::now() < end) {
    Mbuf* m = nullptr;
    if (port->rx_burst(0, &m, 1) == 0) continue;
    const auto* b = reinterpret_cast<const std::uint8_t*>(m->data());
    if (m->pkt_len >= 42 && b[12] == 0x08 && b[13] == 0x00 && b[23] == 17) {
      got = m;
    } else {
      mbuf_free(m);
    }
  }
  ASSERT_NE(got, nullptr) << "the kernel's datagram did not arrive";
  EXPECT_TRUE(got->ol_flags & ol::kRxL4CksumGood);
  EXPECT_EQ(std::memcmp(got->data() + 42, msg, sizeof msg), 0);
  mbuf_free(got);

  // Us -> the kernel's socket, UDP checksum left to the kernel: the field
  // holds the pseudo-header sum (not complemented), as for a NIC.
  std::uint8_t ip[20] = {0x45};
  ip[8] = 64;
  ip[9] = 17;
  put32(ip + 12, 0x0a000001);
  put32(ip + 16, 0x0a000002);
  const std::uint32_t pseudo = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17;
  const auto frame = [&](const char* text, bool offload) {
    put16(ip + 2, static_cast<std::uint16_t>(28 + std::strlen(text)));
    put16(ip + 10, 0);
    put16(ip + 10, csum16(ip, 20));
    return vnet_udp_frame(t, 0x0800, ip, 20, pseudo, text, offload, ol::kTxIpv4);
  };
  expect_only_offloaded_arrives(t, frame("not offloaded: a bad sum", false),
                                frame("sum completed by the kernel", true),
                                "sum completed by the kernel");
}

// The same over IPv6: a UDP checksum we leave to the kernel (the field
// holds the IPv6 pseudo-header sum, RFC 8200 §8.1, and the mbuf
// ol::kTxIpv6) reaches its UDP6 socket.
TEST(UringTap, VnetHeaderChecksumOffloadIpv6) {
  std::string why;
  if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
  VnetTap t;
  ASSERT_NO_FATAL_FAILURE(open_vnet_tap(AF_INET6, &t));
  const std::string ns = t.pair->ns_b(), ifb = t.pair->if_b();
  ASSERT_EQ(testing::sh("ip netns exec " + ns + " sysctl -qw net.ipv6.conf.all.disable_ipv6=0 " +
                        "net.ipv6.conf." + ifb + ".disable_ipv6=0"),
            0);
  ASSERT_EQ(testing::sh("ip -n " + ns + " -6 addr add fd00::2/64 dev " + ifb + " nodad"), 0);
  ASSERT_EQ(testing::sh("ip -n " + ns + " -6 neigh add fd00::1 lladdr " +
                        t.port->mac().to_string() + " dev " + ifb),
            0);
  sockaddr_in6 me{};
  me.sin6_family = AF_INET6;
  me.sin6_port = htons(5555);
  ASSERT_EQ(inet_pton(AF_INET6, "fd00::2", &me.sin6_addr), 1);
  ASSERT_EQ(bind(t.udp, reinterpret_cast<sockaddr*>(&me), sizeof me), 0) << std::strerror(errno);
  std::uint8_t ip[40] = {0x60};
  ip[6] = 17;
  ip[7] = 64;
  ASSERT_EQ(inet_pton(AF_INET6, "fd00::1", ip + 8), 1);
  ASSERT_EQ(inet_pton(AF_INET6, "fd00::2", ip + 24), 1);
  // The pseudo-header: both addresses, the next header (and the length,
  // added by vnet_udp_frame).
  std::uint32_t pseudo = 17;
  for (int i = 8; i < 40; i += 2) pseudo += static_cast<std::uint32_t>(ip[i] << 8 | ip[i + 1]);
  const auto frame = [&](const char* text, bool offload) {
    put16(ip + 4, static_cast<std::uint16_t>(8 + std::strlen(text)));
    return vnet_udp_frame(t, 0x86dd, ip, 40, pseudo, text, offload, ol::kTxIpv6);
  };
  expect_only_offloaded_arrives(t, frame("not offloaded: a bad sum", false),
                                frame("IPv6 sum completed by the kernel", true),
                                "IPv6 sum completed by the kernel");
}

#endif  // USTACK_HAVE_URING

}  // namespace
}  // namespace ustack
