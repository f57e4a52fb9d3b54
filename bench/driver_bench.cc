// driver_bench: frames per second each real driver receives from a kernel
// sender in a network namespace, next to a plain system-call receive loop on
// the same interface in the same run.
//
//   af_packet  veth pair in two namespaces; the sender blasts on the B end,
//              ustack's af_packet port receives on the A end; the baseline
//              is recvfrom() on an AF_PACKET socket bound to the A end.
//   uring_tap  a TAP inside one namespace; the sender blasts on the TAP's
//              kernel side; ustack's uring_tap port attaches to the TAP; the
//              baseline is read() on a plain /dev/net/tun descriptor of the
//              same TAP.
//   dpdk       the veth pair again; ustack's dpdk port on DPDK's
//              net_af_packet PMD (EAL on normal pages) receives on the A
//              end; the baseline is the same recvfrom() loop. Not run by
//              default (--drivers dpdk).
//
// The sender is a raw AF_PACKET socket in this program (sendmmsg, 64 frames
// per call, qdisc bypassed), bounded by --frames and --seconds; frames carry
// ethertype 0x88B5 (local experimental) to a made-up MAC, so no kernel stack
// answers them. It sends only inside the namespaces made here ("ustk...",
// removed at exit). Needs root. Sender and receiver are pinned to different
// cores when the machine has two.
//
// Both receivers sleep when idle, the same way: the bare loop reads until
// EAGAIN and then sleeps in poll(); ustack's loop calls rx_burst until it
// returns nothing and then sleeps in Port::wait_rx (drivers that cannot wait
// spin). On a machine shared with other work a receiver that spins takes
// CPU the kernel sender would get otherwise (see "snd cpu"), which is why.
// --spin makes both spin instead (pure poll mode).
//
// usage: driver_bench [--frames N] [--seconds S] [--sizes 64,1514]
//                     [--drivers af_packet,uring_tap,dpdk] [--rounds R]
//                     [--pace-us P]     one frame every P microseconds
//                     [--spin]          receivers never sleep (see above)
//                     [--tx]            transmit instead: ustack's port against
//                                       sendmmsg() (veth) or write() (TAP), each
//                                       counted by the kernel on the other side
//                     [--uring-rx M,..] uring_tap's ways to receive to run: drain,
//                                       multishot, linked (drain)
//                     [--sqpoll]        also uring_tap with IORING_SETUP_SQPOLL
//                     [--rx-depth N]    uring_tap rx_depth (128)
//                     [--rx-chains C]   ... linked: reads as C chains (2; 0: unlinked)
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/mbuf_pool.h"
#include "drivers/factory.h"
#include "kernel/netns.h"
#ifdef USTACK_HAVE_URING
#include "drivers/uring_tap/uring_tap.h"
#endif
#ifdef USTACK_HAVE_DPDK
#include "bench/dpdk_bare.h"
#endif

namespace ustack {
namespace {

using SteadyClock = std::chrono::steady_clock;
using testing::NetnsPair;

constexpr std::uint16_t kEtherType = 0x88b5;

struct Options {
  std::uint64_t frames = 3'000'000;
  double seconds = 3.0;
  std::vector<std::uint32_t> sizes = {64, 1514};
  std::vector<std::string> drivers = {"af_packet", "uring_tap"};
  bool sqpoll = false;
  bool spin = false;  // receivers never sleep
  bool tx = false;    // --tx: transmit rates instead of receive rates
#ifdef USTACK_HAVE_URING
  std::vector<UringTapRx> uring_rx = {UringTapRx::kDrain};
#endif
  int rounds = 3;
  unsigned pace_us = 0;          // 0: as fast as possible; else one frame per pace_us
  std::uint32_t rx_depth = 128;  // uring_tap reads in flight
  std::uint32_t rx_chains = 2;   // ... posted as this many hard-linked chains
};

void pin(int cpu) {
  if (std::thread::hardware_concurrency() < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

double since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// A `size`-byte frame (60..1514) to nobody (a locally administered MAC)
// with ethertype kEtherType, so no kernel stack answers it.
std::vector<std::uint8_t> test_frame(std::uint32_t size) {
  std::vector<std::uint8_t> f(size);
  std::memset(f.data(), 0x02, 12);
  f[5] = 0x99;
  f[11] = 0x01;
  f[12] = kEtherType >> 8;
  f[13] = kEtherType & 0xff;
  for (std::uint32_t i = 14; i < size; ++i) f[i] = static_cast<std::uint8_t>(i);
  return f;
}

// ---- The sender: a raw packet socket opened inside a namespace.
class Blaster {
 public:
  // Opens the socket in `ns` on `iface`; false with *error otherwise.
  bool open(const std::string& ns, const std::string& iface, std::string* error) {
    bool ok = NetnsPair::run_in(ns, [&] {
      fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(kEtherType));
      if (fd_ < 0) return;
      const int one = 1;
      setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
      sockaddr_ll sll{};
      sll.sll_family = AF_PACKET;
      sll.sll_protocol = htons(kEtherType);
      sll.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
      if (sll.sll_ifindex == 0 || bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
        close(fd_);
        fd_ = -1;
      }
    });
    if (!ok || fd_ < 0) {
      *error = "sender: cannot open a packet socket on " + iface + " in " + ns + ": " +
               std::strerror(errno);
      return false;
    }
    return true;
  }
  ~Blaster() {
    if (fd_ >= 0) close(fd_);
  }

  // Sends `size`-byte frames until `frames` went out or `seconds` passed,
  // on a thread pinned to core 1, 64 per call, or one every `pace_us`
  // microseconds when nonzero. Call join() for the result.
  void start(std::uint32_t size, std::uint64_t frames, double seconds, unsigned pace_us) {
    done_.store(false);
    thread_ = std::thread([this, size, frames, seconds, pace_us] {
      pin(1);
      std::vector<std::uint8_t> f = test_frame(size);
      constexpr unsigned kBatch = 64;
      iovec iov[kBatch];
      mmsghdr msgs[kBatch]{};
      for (unsigned i = 0; i < kBatch; ++i) {
        iov[i] = {f.data(), size};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const auto t0 = SteadyClock::now();
      const double cpu0 = thread_cpu_seconds();
      std::uint64_t sent = 0;
      std::uint64_t calls = 0;
      while (sent < frames) {
        if ((++calls & 15) == 0 && since(t0) >= seconds) break;
        const auto want = static_cast<unsigned>(std::min<std::uint64_t>(kBatch, frames - sent));
        const int r = sendmmsg(fd_, msgs, pace_us > 0 ? 1 : want, 0);
        if (pace_us > 0) usleep(pace_us);
        if (r > 0) sent += static_cast<std::uint64_t>(r);
      }
      elapsed_ = since(t0);
      cpu_ = thread_cpu_seconds() - cpu0;
      sent_ = sent;
      done_.store(true, std::memory_order_release);
    });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_.load(std::memory_order_acquire); }
  int fd() const { return fd_; }
  std::uint64_t sent() const { return sent_; }
  double elapsed() const { return elapsed_; }
  // CPU time of the sending thread, kernel work done on its behalf included
  // (for a TAP: waking the receiver).
  double cpu() const { return cpu_; }

 private:
  int fd_ = -1;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::uint64_t sent_ = 0;
  double elapsed_ = 0;
  double cpu_ = 0;
};

double thread_sys_seconds() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) * 1e-6;
}

struct Measure {
  std::uint64_t received = 0;
  double first = -1, last = 0;  // seconds since the start
  double sys = 0;               // kernel CPU time of the receiving thread
  void frame(double t, std::uint64_t n) {
    if (first < 0) first = t;
    last = t;
    received += n;
  }
  double rate() const { return last > first ? static_cast<double>(received) / (last - first) : 0; }
};

// Receives until the sender finished and 200 ms passed without a frame.
// `poll_once` receives what is there and returns how many frames it took.
Measure receive_while(Blaster& b, std::uint32_t size, const Options& o,
                      const std::function<std::uint64_t()>& poll_once) {
  Measure m;
  const double sys0 = thread_sys_seconds();
  const auto t0 = SteadyClock::now();
  b.start(size, o.frames, o.seconds, o.pace_us);
  double quiet_since = -1;
  for (;;) {
    const std::uint64_t n = poll_once();
    const double t = since(t0);
    if (n > 0) {
      m.frame(t, n);
      quiet_since = -1;
      continue;
    }
    if (!b.done()) continue;
    if (quiet_since < 0) quiet_since = t;
    if (t - quiet_since > 0.2 || t > o.seconds + 5) break;
  }
  b.join();
  m.sys = thread_sys_seconds() - sys0;
  return m;
}

struct Row {
  std::string key;         // driver, size, receiver
  std::string group;       // driver, size
  bool bare = false;       // the plain system-call loop (ends a round of its group)
  double rate = 0;         // received frames/s
  double loss = 0;         // percent of what was sent
  double send_ns = 0;      // sender CPU per frame sent
  double send_cpu = 0;     // percent of the run the sender was on a CPU
  double recv_sys_ns = 0;  // receiver kernel CPU per frame received
};
std::vector<Row> g_rows;

void report(const std::string& driver, std::uint32_t size, const std::string& receiver,
            const Blaster& b, const Measure& m) {
  const double sent = static_cast<double>(b.sent());
  const double got = static_cast<double>(m.received);
  Row r;
  char key[128];
  std::snprintf(key, sizeof key, "%-10s %5u  %-28s", driver.c_str(), size, receiver.c_str());
  r.key = key;
  r.group = driver + " " + std::to_string(size);
  r.bare = receiver.rfind("ustack", 0) != 0;
  r.rate = m.rate();
  r.loss = sent > 0 ? 100.0 * (1.0 - got / sent) : 0;
  r.send_ns = sent > 0 ? b.cpu() * 1e9 / sent : 0;
  r.send_cpu = b.elapsed() > 0 ? 100.0 * b.cpu() / b.elapsed() : 0;
  r.recv_sys_ns = got > 0 ? m.sys * 1e9 / got : 0;
  std::printf("%s %10llu %9.3f %10llu %9.3f %6.1f%% %9.0f %6.0f%% %9.0f\n", key,
              static_cast<unsigned long long>(b.sent()),
              b.elapsed() > 0 ? sent / b.elapsed() / 1e6 : 0,
              static_cast<unsigned long long>(m.received), r.rate / 1e6, r.loss, r.send_ns,
              r.send_cpu, r.recv_sys_ns);
  std::fflush(stdout);
  g_rows.push_back(r);
}

// Medians over the rounds, per (driver, size, receiver); for ustack's
// receivers also the median of their rate over the bare loop's in the same
// round (paired, so that load that comes and goes cancels out).
void summarize() {
  std::vector<std::string> keys;
  for (const Row& r : g_rows) {
    if (std::find(keys.begin(), keys.end(), r.key) == keys.end()) keys.push_back(r.key);
  }
  std::map<std::string, std::vector<double>> ratios;     // key -> per-round ratios
  std::map<std::string, std::vector<const Row*>> round;  // group -> its rows in this round
  for (const Row& r : g_rows) {
    if (!r.bare) {
      round[r.group].push_back(&r);
      continue;
    }
    for (const Row* u : round[r.group]) {
      if (r.rate > 0) ratios[u->key].push_back(u->rate / r.rate);
    }
    round[r.group].clear();
  }
  std::printf("\n# median over the rounds\n%-10s %5s  %-28s %9s %7s %9s %7s %9s %7s %8s\n",
              "driver", "size", "receiver", "recv Mpps", "lost", "send ns", "snd cpu", "rcv sys",
              "rounds", "vs bare");
  for (const std::string& k : keys) {
    std::vector<double> rates, losses, ns, cpu, sys;
    for (const Row& r : g_rows) {
      if (r.key != k) continue;
      rates.push_back(r.rate);
      losses.push_back(r.loss);
      ns.push_back(r.send_ns);
      cpu.push_back(r.send_cpu);
      sys.push_back(r.recv_sys_ns);
    }
    for (auto* v : {&rates, &losses, &ns, &cpu, &sys}) std::sort(v->begin(), v->end());
    const std::size_t mid = rates.size() / 2;
    std::vector<double>& rt = ratios[k];
    std::sort(rt.begin(), rt.end());
    char vs[16] = "-";
    if (!rt.empty()) std::snprintf(vs, sizeof vs, "%.0f%%", 100.0 * rt[rt.size() / 2]);
    std::printf("%s %9.3f %6.1f%% %9.0f %6.0f%% %9.0f %7zu %8s\n", k.c_str(), rates[mid] / 1e6,
                losses[mid], ns[mid], cpu[mid], sys[mid], rates.size(), vs);
  }
}

std::unique_ptr<MbufPool> make_pool(const std::string& name) {
  MbufPoolConfig cfg;
  cfg.name = name;
  cfg.capacity = 16384;
  cfg.data_room = 2048;
  std::string err;
  auto p = MbufPool::create(cfg, &err);
  if (!p) std::fprintf(stderr, "%s\n", err.c_str());
  return p;
}

// ustack's port: rx_burst(q, 32) and free; when nothing came, wait_rx
// (100 ms) unless spinning.
std::function<std::uint64_t()> port_loop(Port& port, bool spin) {
  return [&port, spin] {
    Mbuf* pkts[32];
    std::uint64_t total = 0;
    for (std::uint16_t q = 0; q < port.num_queues(); ++q) {
      const std::uint16_t n = port.rx_burst(q, pkts, 32);
      mbuf_free_bulk(pkts, n);
      total += n;
    }
    if (total == 0 && !spin && port.num_queues() == 1)
      port.wait_rx(0, std::chrono::milliseconds(100));
    return total;
  };
}

// A plain descriptor: non-blocking reads until EAGAIN, then poll() (100 ms)
// unless spinning.
std::function<std::uint64_t()> fd_loop(int fd, bool socket, bool spin) {
  auto buf = std::make_shared<std::vector<std::uint8_t>>(65536);
  return [fd, socket, spin, buf] {
    std::uint64_t n = 0;
    for (;;) {
      const ssize_t r = socket
                            ? recvfrom(fd, buf->data(), buf->size(), MSG_DONTWAIT, nullptr, nullptr)
                            : read(fd, buf->data(), buf->size());
      if (r < 0) break;
      ++n;
      if (n == 64) return n;
    }
    if (n == 0 && !spin) {
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, 100);
    }
    return n;
  };
}

// ---- Transmit (--tx): frames per second a sender gets onto the link,
// counted by the kernel on the receiving interface (its rx_packets, read
// through getifaddrs in that interface's namespace).
std::uint64_t rx_packets_in(const std::string& ns, const std::string& iface) {
  std::uint64_t n = 0;
  NetnsPair::run_in(ns, [&] {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return;
    for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr != nullptr && a->ifa_addr->sa_family == AF_PACKET && a->ifa_data != nullptr &&
          iface == a->ifa_name)
        n = static_cast<const rtnl_link_stats*>(a->ifa_data)->rx_packets;
    }
    freeifaddrs(list);
  });
  return n;
}

// Calls `burst` (which sends up to 32 frames and returns how many the
// sender took) until --frames went or --seconds passed, then waits until
// the peer's count stops moving (writes still in flight).
void transmit_while(const char* driver, std::uint32_t size, const char* sender, const Options& o,
                    const std::function<std::uint64_t()>& burst,
                    const std::function<std::uint64_t()>& peer_rx) {
  const std::uint64_t rx0 = peer_rx();
  const double sys0 = thread_sys_seconds();
  const double cpu0 = thread_cpu_seconds();
  const auto t0 = SteadyClock::now();
  std::uint64_t sent = 0, calls = 0;
  while (sent < o.frames && ((++calls & 15) != 0 || since(t0) < o.seconds)) sent += burst();
  const double elapsed = since(t0);
  const double cpu = thread_cpu_seconds() - cpu0;
  const double sys = thread_sys_seconds() - sys0;
  std::uint64_t rx = peer_rx();
  for (int i = 0; i < 50; ++i) {  // at most 1 s
    usleep(20'000);
    const std::uint64_t now = peer_rx();
    if (now == rx) break;
    rx = now;
  }
  const auto delivered = static_cast<double>((rx - rx0) & 0xffffffffu);  // a 32-bit counter
  Row r;
  char key[128];
  std::snprintf(key, sizeof key, "%-10s %5u  %-28s", driver, size, sender);
  r.key = key;
  r.group = std::string(driver) + " " + std::to_string(size) + " tx";
  r.bare = std::string(sender).rfind("ustack", 0) != 0;
  r.rate = elapsed > 0 ? delivered / elapsed : 0;
  r.loss = sent > 0 ? 100.0 * (1.0 - delivered / static_cast<double>(sent)) : 0;
  r.send_ns = sent > 0 ? cpu * 1e9 / static_cast<double>(sent) : 0;
  r.send_cpu = elapsed > 0 ? 100.0 * cpu / elapsed : 0;
  r.recv_sys_ns = sent > 0 ? sys * 1e9 / static_cast<double>(sent) : 0;
  std::printf("%s %10llu %9.3f %10llu %9.3f %6.1f%% %9.0f %6.0f%% %9.0f\n", key,
              static_cast<unsigned long long>(sent),
              elapsed > 0 ? static_cast<double>(sent) / elapsed / 1e6 : 0,
              static_cast<unsigned long long>(delivered), r.rate / 1e6, r.loss, r.send_ns,
              r.send_cpu, r.recv_sys_ns);
  std::fflush(stdout);
  g_rows.push_back(r);
}

// ustack's port sending bursts of 32 fresh mbufs (allocated, filled,
// handed to tx_burst; what the driver did not take it freed).
std::function<std::uint64_t()> port_sender(Port& port, MbufPool& pool, std::uint32_t size) {
  auto frame = std::make_shared<std::vector<std::uint8_t>>(test_frame(size));
  return [&port, &pool, frame] {
    Mbuf* pkts[32];
    std::uint16_t n = 0;
    for (; n < 32; ++n) {
      pkts[n] = pool.alloc();
      if (pkts[n] == nullptr) break;
      std::memcpy(pkts[n]->append(static_cast<std::uint32_t>(frame->size())), frame->data(),
                  frame->size());
    }
    return std::uint64_t{port.tx_burst(0, pkts, n)};
  };
}

// The bare sender on a veth end: sendmmsg() of 32 frames on an AF_PACKET
// socket in namespace A (qdisc bypassed, as ustack's ring is).
void bare_transmit_veth(const char* driver, const NetnsPair& pair, std::uint32_t size,
                        const Options& o) {
  Blaster s;
  std::string err;
  if (!s.open(pair.ns_a(), pair.if_a(), &err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return;
  }
  std::vector<std::uint8_t> f = test_frame(size);
  iovec iov[32];
  mmsghdr msgs[32]{};
  for (unsigned i = 0; i < 32; ++i) {
    iov[i] = {f.data(), size};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  transmit_while(
      driver, size, "sendmmsg() AF_PACKET socket", o,
      [&] {
        const int r = sendmmsg(s.fd(), msgs, 32, 0);
        return r > 0 ? static_cast<std::uint64_t>(r) : 0;
      },
      [&] { return rx_packets_in(pair.ns_b(), pair.if_b()); });
}

// The bare loop on a veth end: recvfrom() on an AF_PACKET socket in
// namespace A.
void bench_recvfrom(const char* driver, const NetnsPair& pair, Blaster& b, std::uint32_t size,
                    const Options& o) {
  int fd = -1;
  pair.run_in_a([&] {
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    const int rcvbuf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(if_nametoindex(pair.if_a().c_str()));
    bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll);
  });
  const Measure m = receive_while(b, size, o, fd_loop(fd, true, o.spin));
  report(driver, size, "recvfrom() AF_PACKET socket", b, m);
  close(fd);
}

// A veth pair with the sender on its B end; `round` runs for every round
// and frame size. false when anything fails (said on stderr).
bool on_veth(const char* driver, const Options& o,
             const std::function<bool(const NetnsPair&, Blaster&, std::uint32_t)>& round) {
  std::string err;
  auto pair = NetnsPair::create(NetnsPair::Options{}, &err);
  if (!pair) {
    std::fprintf(stderr, "%s: %s\n", driver, err.c_str());
    return false;
  }
  Blaster b;
  if (!b.open(pair->ns_b(), pair->if_b(), &err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return false;
  }
  for (int r = 0; r < o.rounds * static_cast<int>(o.sizes.size()); ++r) {
    if (!round(*pair, b, o.sizes[static_cast<std::size_t>(r) % o.sizes.size()])) return false;
  }
  return true;
}

// ustack's port of `spec` on the veth's A end, measured as `receiver`.
bool bench_port_in_a(PortSpec spec, const NetnsPair& pair, Blaster& b, std::uint32_t size,
                     const Options& o, const char* receiver) {
  auto pool = make_pool(spec.driver);
  if (!pool) return false;
  VirtualClock clock;
  std::shared_ptr<Port> port;
  std::string err;
  spec.iface = pair.if_a();
  spec.rx_pools = {pool.get()};
  pair.run_in_a([&] { port = open_port(spec, clock, &err); });
  if (!port) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return false;
  }
  if (o.tx) {
    transmit_while(spec.driver.c_str(), size, receiver, o, port_sender(*port, *pool, size),
                   [&] { return rx_packets_in(pair.ns_b(), pair.if_b()); });
    return true;
  }
  const Measure m = receive_while(b, size, o, port_loop(*port, o.spin));
  report(spec.driver, size, receiver, b, m);
  return true;
}

bool bench_af_packet(const Options& o) {
  return on_veth("af_packet", o, [&](const NetnsPair& pair, Blaster& b, std::uint32_t size) {
    if (!bench_port_in_a({.driver = "af_packet"}, pair, b, size, o, "ustack af_packet (V3 ring)"))
      return false;
    if (o.tx) {
      PortSpec mm{.driver = "af_packet"};
      mm.af_packet_tx_sendmmsg = true;
      if (!bench_port_in_a(mm, pair, b, size, o, "ustack af_packet (sendmmsg)")) return false;
      bare_transmit_veth("af_packet", pair, size, o);
    } else {
      bench_recvfrom("af_packet", pair, b, size, o);
    }
    return true;
  });
}

#ifdef USTACK_HAVE_DPDK
// DPDK's net_af_packet PMD on the same veth end, against a bare
// rte_eth_rx_burst loop on the same PMD (what dpdk-testpmd's rxonly does;
// --tx: rte_eth_tx_burst, as its txonly), then the recvfrom (sendmmsg)
// loop for scale. The EAL starts once, on normal pages,
// with ustack's first port; each round hot-plugs the vdevs anew. A PMD
// cannot sleep (no wait_rx), so both DPDK loops spin.
bool bench_dpdk(const Options& o) {
  return on_veth("dpdk", o, [&](const NetnsPair& pair, Blaster& b, std::uint32_t size) {
    const std::string pmd = "iface=" + pair.if_a() + ",qdisc_bypass=1,framecnt=4096";
    PortSpec spec{.driver = "dpdk"};
    spec.dpdk_args =
        "--no-huge --no-shconf -m 512 --no-pci -l 0 --log-level=*:warning "
        "--vdev=net_af_packet0," +
        pmd;
    if (!bench_port_in_a(spec, pair, b, size, o, "ustack dpdk (net_af_packet)")) return false;
    std::unique_ptr<bench::DpdkBare> bare;
    std::string err;
    pair.run_in_a([&] { bare = bench::DpdkBare::open("net_af_packet9", pmd, &err); });
    if (!bare) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return false;
    }
    if (o.tx) {
      const std::vector<std::uint8_t> f = test_frame(size);
      transmit_while(
          "dpdk", size, "rte_eth_tx_burst() loop", o, [&] { return bare->send(f); },
          [&] { return rx_packets_in(pair.ns_b(), pair.if_b()); });
      bare.reset();
      bare_transmit_veth("dpdk", pair, size, o);
      return true;
    }
    const Measure m = receive_while(b, size, o, [&bare] { return bare->poll(); });
    report("dpdk", size, "rte_eth_rx_burst() loop", b, m);
    bare.reset();
    bench_recvfrom("dpdk", pair, b, size, o);
    return true;
  });
}
#endif  // USTACK_HAVE_DPDK

#ifdef USTACK_HAVE_URING
// A plain descriptor of TAP `name` in the calling thread's namespace.
int open_tap_fd(const std::string& name, bool nonblock) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
  if (fd < 0) return -1;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// --tx on the TAP: ustack's uring_tap port (writes in batches through
// io_uring), then write() on a plain descriptor of the same TAP; the kernel
// counts what it was given as the TAP's rx_packets.
bool transmit_uring_tap(const NetnsPair& pair, const std::string& tap, std::uint32_t size,
                        const Options& o) {
  const auto peer_rx = [&] { return rx_packets_in(pair.ns_b(), tap); };
  {
    auto pool = make_pool("uring_tap");
    if (!pool) return false;
    std::unique_ptr<Port> port;
    UringTapConfig cfg;
    cfg.iface = tap;
    cfg.rx_pools = {pool.get()};
    cfg.rx = o.uring_rx[0];
    std::string err;
    pair.run_in_b([&] { port = open_uring_tap(cfg, &err); });
    if (!port) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return false;
    }
    transmit_while("uring_tap", size, "ustack uring_tap", o, port_sender(*port, *pool, size),
                   peer_rx);
  }
  int fd = -1;
  pair.run_in_b([&] { fd = open_tap_fd(tap, true); });
  if (fd < 0) {
    std::fprintf(stderr, "uring_tap: cannot attach to %s\n", tap.c_str());
    return false;
  }
  const std::vector<std::uint8_t> f = test_frame(size);
  transmit_while(
      "uring_tap", size, "write() on the TAP fd", o,
      [&] {
        std::uint64_t n = 0;
        for (int i = 0; i < 32; ++i) n += write(fd, f.data(), f.size()) > 0 ? 1 : 0;
        return n;
      },
      peer_rx);
  close(fd);
  return true;
}

bool bench_uring_tap(const Options& o) {
  std::string err;
  NetnsPair::Options no;
  no.veth = false;
  auto pair = NetnsPair::create(no, &err);
  if (!pair) {
    std::fprintf(stderr, "uring_tap: %s\n", err.c_str());
    return false;
  }
  const std::string tap = pair->if_b();
  // A persistent TAP, so both receivers attach to the same interface (and
  // the sender's socket stays bound to it between them).
  int keeper = -1;
  pair->run_in_b([&] {
    keeper = open_tap_fd(tap, false);
    if (keeper >= 0) ioctl(keeper, TUNSETPERSIST, 1);
    const int ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, tap.c_str(), tap.size());
    ioctl(ctl, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ioctl(ctl, SIOCSIFFLAGS, &ifr);
    close(ctl);
  });
  if (keeper < 0) {
    std::fprintf(stderr, "uring_tap: cannot create TAP %s\n", tap.c_str());
    return false;
  }
  close(keeper);  // detached: the TAP stays (persistent), and drops what it is sent
  bool ok = true;
  Blaster b;
  if (!b.open(pair->ns_b(), tap, &err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    ok = false;
  }
  for (int round = 0; round < o.rounds * static_cast<int>(o.sizes.size()); ++round) {
    const std::uint32_t size = o.sizes[static_cast<std::size_t>(round) % o.sizes.size()];
    if (!ok) break;
    if (o.tx) {
      ok = transmit_uring_tap(*pair, tap, size, o);
      continue;
    }
    // Each way to receive asked for, then SQPOLL with the first.
    std::vector<std::pair<UringTapRx, bool>> variants;
    for (const UringTapRx rx : o.uring_rx) variants.emplace_back(rx, false);
    if (o.sqpoll) variants.emplace_back(o.uring_rx[0], true);
    for (const auto& [rx, sqpoll] : variants) {
      const std::string name =
          std::string("ustack uring_tap (") + (sqpoll ? "SQPOLL" : uring_tap_rx_name(rx)) + ")";
      auto pool = make_pool("uring_tap");
      if (!pool) return false;
      std::unique_ptr<Port> port;
      UringTapConfig cfg;
      cfg.iface = tap;
      cfg.rx_pools = {pool.get()};
      cfg.rx_depth = o.rx_depth;
      cfg.rx_chains = o.rx_chains;
      cfg.sqpoll = sqpoll;
      cfg.rx = rx;
      pair->run_in_b([&] { port = open_uring_tap(cfg, &err); });
      if (!port) {
        std::fprintf(stderr, "%s\n", err.c_str());
        ok = false;
        break;
      }
      const Measure m = receive_while(b, size, o, port_loop(*port, o.spin));
      report("uring_tap", size, name, b, m);
    }
    if (!ok) break;
    int fd = -1;
    pair->run_in_b([&] { fd = open_tap_fd(tap, true); });
    if (fd < 0) {
      std::fprintf(stderr, "uring_tap: cannot attach to %s\n", tap.c_str());
      ok = false;
      break;
    }
    const Measure m = receive_while(b, size, o, fd_loop(fd, false, o.spin));
    report("uring_tap", size, "read() on the TAP fd", b, m);
    close(fd);
  }
  // Not persistent any more: the TAP goes with its last descriptor.
  pair->run_in_b([&] {
    const int fd = open_tap_fd(tap, false);
    if (fd >= 0) {
      ioctl(fd, TUNSETPERSIST, 0);
      close(fd);
    }
  });
  return ok;
}

#endif  // USTACK_HAVE_URING

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = s.find(',', start);
    const std::size_t end = comma == std::string::npos ? s.size() : comma;
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int run(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--frames" && has_value) {
      o.frames = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--seconds" && has_value) {
      o.seconds = std::strtod(argv[++i], nullptr);
    } else if (a == "--sizes" && has_value) {
      o.sizes.clear();
      for (const auto& s : split(argv[++i]))
        o.sizes.push_back(static_cast<std::uint32_t>(std::strtoul(s.c_str(), nullptr, 10)));
    } else if (a == "--drivers" && has_value) {
      o.drivers = split(argv[++i]);
    } else if (a == "--rx-depth" && has_value) {
      o.rx_depth = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--rx-chains" && has_value) {
      o.rx_chains = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--pace-us" && has_value) {
      o.pace_us = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--rounds" && has_value) {
      o.rounds = std::atoi(argv[++i]);
    } else if (a == "--sqpoll") {
      o.sqpoll = true;
    } else if (a == "--spin") {
      o.spin = true;
    } else if (a == "--tx") {
      o.tx = true;
#ifdef USTACK_HAVE_URING
    } else if (a == "--uring-rx" && has_value) {
      o.uring_rx.clear();
      for (const auto& m : split(argv[++i])) {
        UringTapRx rx{};
        if (!parse_uring_tap_rx(m, &rx)) {
          std::fprintf(stderr, "driver_bench: --uring-rx takes drain, multishot, linked\n");
          return 2;
        }
        o.uring_rx.push_back(rx);
      }
#endif
    } else {
      std::fprintf(
          stderr,
          "usage: driver_bench [--frames N] [--seconds S] [--sizes 64,1514] "
          "[--drivers af_packet,uring_tap,dpdk] [--rounds R] [--pace-us P] [--sqpoll] "
          "[--spin] [--tx] [--uring-rx drain,multishot,linked] [--rx-depth N] [--rx-chains C]\n");
      return 2;
    }
  }
  if (o.frames == 0 || o.frames > 100'000'000 || o.seconds <= 0 || o.seconds > 60 || o.rounds < 1 ||
      o.rounds > 20 || o.rx_depth == 0 || o.rx_depth > 4096) {
    std::fprintf(stderr,
                 "driver_bench: --frames must be 1..1e8, --seconds 0..60, --rounds 1..20 and "
                 "--rx-depth 1..4096\n");
    return 2;
  }
#ifdef USTACK_HAVE_URING
  if (o.uring_rx.empty()) {
    std::fprintf(stderr, "driver_bench: --uring-rx needs one of drain, multishot, linked\n");
    return 2;
  }
#endif
  for (std::uint32_t s : o.sizes) {
    if (s < 60 || s > 1514) {
      std::fprintf(stderr, "driver_bench: sizes must be 60..1514\n");
      return 2;
    }
  }
  std::string why;
  if (!testing::can_make_namespaces(&why)) {
    std::fprintf(stderr, "driver_bench: %s\n", why.c_str());
    return 1;
  }
  pin(0);
  std::printf(
      "# up to %llu frames or %.1f s per run. recv Mpps: frames received per second, from the\n"
      "# first to the last; send ns: CPU time of the sending thread per frame sent (kernel\n"
      "# work on its behalf included); snd cpu: share of the run the sender was on a CPU;\n"
      "# rcv sys: kernel CPU time of the receiving thread per frame received.\n# Receivers %s\n",
      static_cast<unsigned long long>(o.frames), o.seconds,
      o.spin ? "spin (--spin)." : "sleep when idle (poll(), Port::wait_rx).");
  std::printf("%-10s %5s  %-28s %10s %9s %10s %9s %7s %9s %7s %9s\n", "driver", "size", "receiver",
              "sent", "sent Mpps", "received", "recv Mpps", "lost", "send ns", "snd cpu",
              "rcv sys");
  const std::vector<std::string> have = available_drivers();
  bool ok = true;
  for (const std::string& d : o.drivers) {
    if (std::find(have.begin(), have.end(), d) == have.end()) {
      std::printf("%-10s (not in this build)\n", d.c_str());
      continue;
    }
    if (d == "af_packet") {
      ok = bench_af_packet(o) && ok;
#ifdef USTACK_HAVE_URING
    } else if (d == "uring_tap") {
      ok = bench_uring_tap(o) && ok;
#endif
#ifdef USTACK_HAVE_DPDK
    } else if (d == "dpdk") {
      ok = bench_dpdk(o) && ok;
#endif
    } else {
      std::fprintf(stderr, "driver_bench: no kernel-sender benchmark for '%s'\n", d.c_str());
      ok = false;
    }
  }
  summarize();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ustack

int main(int argc, char** argv) {
  return ustack::run(argc, argv);
}
