// Multi-core scaling on a machine with few cores: two ustack hosts over a
// memlink of N queues, each host a StackGroup of N cores, for N = 1 and 2.
//
// - `--run stepped` (default): every core of both hosts is stepped in ONE
//   thread. The wall time is then the CPU time of all the work, so the
//   figure per connection (or per MB) shows what N cores cost for the same
//   work: flat means the work divides across cores (each core's share is
//   1/N), and the difference is the price of multi-core itself (hand-over
//   of frames between cores, extra lookups). This is what a 2-core machine
//   can say about 8 or 32 cores.
// - `--run threads`: each core on its own thread, as deployed. With 2 CPUs,
//   N = 2 puts 4 busy-polling threads on 2 CPUs, so this shows correctness
//   under real concurrency and the overcommitted rate, not scaling.
//
// Modes: crr (connect, close, reconnect: connections per second, `--conc`
// open at once per core) and bulk (one connection per core of A sending
// without end to B: Gbps). The link does not steer by default (queue q to
// queue q, like af_packet fanout): frames of about half the flows are
// handed between cores on each host; `--symmetric` uses the symmetric key,
// with which every flow stays on one core index at both ends; `--rss`
// makes the link steer as a NIC does (each frame on its owner's queue, its
// hash attached), so nothing is handed over and nothing hashed in software.
//
// usage: multicore_bench [--mode crr|bulk] [--cores 1,2] [--seconds S]
//                        [--conc N] [--run stepped|threads] [--symmetric] [--rss]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "drivers/memlink/memlink.h"
#include "proto/stack_group.h"
#include "tcp_bench_apps.h"

namespace ustack::bench {
namespace {

const Ipv4Addr kA = Ipv4Addr::from_u32(0x0a000001);
const Ipv4Addr kB = Ipv4Addr::from_u32(0x0a000002);
constexpr std::uint16_t kPort = 5001;

struct Options {
  std::string mode = "crr";
  std::vector<int> cores = {1, 2};
  double seconds = 3;
  std::uint32_t conc = 64;
  bool threads = false;
  bool symmetric = false;
  bool link_rss = false;  // the link steers as a NIC (memlink RSS) instead of q -> q
};

// Keeps `conc` connections in the connect-close cycle on its core.
class CrrClient final : public StackApp, public TcpHandler {
 public:
  CrrClient(Stack& s, std::uint32_t conc) : stack_(s), conc_(conc) {}
  void poll(Instant) override {
    if (stop.load(std::memory_order_relaxed)) return;
    while (open_ < conc_) {
      std::string err;
      if (stack_.tcp().connect(IpAddr::v4(kB), kPort, *this, &err) == nullptr) {
        if (failed++ == 0) std::fprintf(stderr, "multicore_bench: connect: %s\n", err.c_str());
        return;
      }
      ++open_;
    }
  }
  void on_connected(TcpConn& c) override { c.close(); }
  void on_closed(TcpConn&, TcpCloseReason r) override {
    --open_;
    if (r == TcpCloseReason::kNormal) {
      done.fetch_add(1, std::memory_order_relaxed);
    } else if (failed++ == 0) {
      std::fprintf(stderr, "multicore_bench: a connection ended: %s\n", to_string(r));
    }
  }
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::uint64_t failed = 0;

 private:
  Stack& stack_;
  std::uint32_t conc_;
  std::uint32_t open_ = 0;
};

// Closes when the peer does.
class CloseBack final : public TcpHandler {
 public:
  void on_peer_closed(TcpConn& c) override { c.close(); }
};

// Opens one bulk connection from its core on the first poll.
class BulkOpener final : public StackApp {
 public:
  BulkOpener(Stack& s, BulkSender& sender) : stack_(s), sender_(sender) {}
  void poll(Instant) override {
    if (opened_) return;
    opened_ = true;
    std::string err;
    if (stack_.tcp().connect(IpAddr::v4(kB), kPort, sender_, &err) == nullptr)
      std::fprintf(stderr, "multicore_bench: connect: %s\n", err.c_str());
  }

 private:
  Stack& stack_;
  BulkSender& sender_;
  bool opened_ = false;
};

struct Result {
  double rate = 0;    // connections/s or Gbit/s
  double ns_per = 0;  // stepped: wall ns per connection or per MB
  std::uint64_t handed = 0;
  std::uint64_t failed = 0;
};

Result run(const Options& o, std::uint16_t n) {
  TscClock clock;
  MemlinkConfig lc;
  lc.queues = n;
  lc.ring_size = 8192;
  const RssKey& key = o.symmetric ? kRssKeySymmetric : kRssKeyMicrosoft;
  lc.rss_into_a.enabled = lc.rss_into_b.enabled = o.link_rss;
  lc.rss_into_a.key = lc.rss_into_b.key = key;
  std::string err;
  auto link = Memlink::create(lc, clock, &err);
  if (!link) {
    std::fprintf(stderr, "multicore_bench: %s\n", err.c_str());
    std::exit(1);
  }
  StackGroup a(key), b(key);
  MbufPoolConfig pc;
  pc.capacity = 16384;
  pc.name = "a";
  if (!a.make_pools(n, pc, &err)) std::exit(1);
  pc.name = "b";
  if (!b.make_pools(n, pc, &err)) std::exit(1);
  StackConfig sc;
  sc.netif.gratuitous_arp = false;
  sc.seed = 1;
  sc.tcp.max_connections = 65536;  // per core, TIME-WAIT included
  // An active open may take only the ports whose replies hash to its core:
  // 1/n of the ephemeral range per peer. TIME-WAIT must leave some free
  // (past the cap a closing connection skips TIME-WAIT, as Linux does past
  // tcp_max_tw_buckets).
  sc.tcp.max_time_wait = 16384 / n;
  sc.netif.addrs = {Ipv4Cidr{kA, 24}};
  a.build(link->a(), clock, sc);
  sc.netif.addrs = {Ipv4Cidr{kB, 24}};
  b.build(link->b(), clock, sc);
  link->set_rx_pool(0, a.cores[0].pool.get());
  link->set_rx_pool(1, b.cores[0].pool.get());
  for (auto& c : a.cores) c.stack->arp().cache().add_static(kB, link->b().mac());
  for (auto& c : b.cores) c.stack->arp().cache().add_static(kA, link->a().mac());

  // Per core of B: its own handlers (a core's state is its own).
  std::vector<std::unique_ptr<CloseBack>> closers;
  std::vector<std::unique_ptr<Sink>> sinks;
  std::vector<std::unique_ptr<Acceptor>> acceptors;
  for (auto& c : b.cores) {
    closers.push_back(std::make_unique<CloseBack>());
    sinks.push_back(std::make_unique<Sink>());
    TcpHandler* h = o.mode == "crr" ? static_cast<TcpHandler*>(closers.back().get())
                                    : static_cast<TcpHandler*>(sinks.back().get());
    acceptors.push_back(std::make_unique<Acceptor>(h));
    if (c.stack->tcp().listen(kPort, *acceptors.back(), &err) == nullptr) std::exit(1);
  }
  std::vector<std::unique_ptr<CrrClient>> crr;
  std::vector<std::unique_ptr<BulkSender>> senders;
  std::vector<std::unique_ptr<BulkOpener>> openers;
  for (auto& c : a.cores) {
    if (o.mode == "crr") {
      crr.push_back(std::make_unique<CrrClient>(*c.stack, o.conc));
      c.stack->set_app(crr.back().get());
    } else {
      senders.push_back(std::make_unique<BulkSender>(true, *c.pool));
      openers.push_back(std::make_unique<BulkOpener>(*c.stack, *senders.back()));
      c.stack->set_app(openers.back().get());
    }
  }
  const auto work = [&] {
    std::uint64_t w = 0;
    for (auto& c : crr) w += c->done.load(std::memory_order_relaxed);
    for (auto& k : sinks) w += k->bytes;
    return w;
  };
  const auto step_all = [&] {
    for (StackGroup* g : {&a, &b})
      for (auto& c : g->cores) c.worker->run_once();
  };
  // Warm up (connections open, windows grown), then measure.
  const auto warm_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  std::uint64_t w0 = 0;
  std::chrono::steady_clock::time_point t0;
  if (!o.threads) {
    while (std::chrono::steady_clock::now() < warm_end) step_all();
    w0 = work();
    t0 = std::chrono::steady_clock::now();
    const auto end = t0 + std::chrono::duration<double>(o.seconds);
    while (std::chrono::steady_clock::now() < end) step_all();
  } else {
    // The counters belong to the cores' threads: read after the join, so
    // the figure includes the start (no warm-up subtracted).
    t0 = std::chrono::steady_clock::now();
    if (!a.start(nullptr, &err) || !b.start(nullptr, &err)) std::exit(1);
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  }
  for (auto& c : crr) c->stop.store(true);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  a.stop();
  b.stop();
  const std::uint64_t w1 = work();
  Result r;
  const double amount = static_cast<double>(w1 - w0);
  if (o.mode == "crr") {
    r.rate = amount / secs;
    r.ns_per = secs * 1e9 / std::max(amount, 1.0);
    for (auto& c : crr) r.failed += c->failed;
  } else {
    r.rate = amount * 8 / secs / 1e9;
    r.ns_per = secs * 1e9 / std::max(amount / 1e6, 1e-9);
  }
  r.handed = a.sum("steer.rx.handed_in") + b.sum("steer.rx.handed_in");
  for (auto& c : a.cores) c.stack->set_app(nullptr);
  a.teardown();
  b.teardown();
  link.reset();  // frames still in it go back to the pools, which go last
  return r;
}

bool parse(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--mode") {
      o->mode = value();
    } else if (arg == "--cores") {
      o->cores.clear();
      std::stringstream ss(value());
      for (std::string x; std::getline(ss, x, ',');) o->cores.push_back(std::atoi(x.c_str()));
    } else if (arg == "--seconds") {
      o->seconds = std::atof(value().c_str());
    } else if (arg == "--conc") {
      o->conc = static_cast<std::uint32_t>(std::atoi(value().c_str()));
    } else if (arg == "--run") {
      const std::string v = value();
      if (v != "stepped" && v != "threads") return false;
      o->threads = v == "threads";
    } else if (arg == "--symmetric") {
      o->symmetric = true;
    } else if (arg == "--rss") {
      o->link_rss = true;
    } else {
      return false;
    }
  }
  for (int n : o->cores)
    if (n < 1 || n > 16) return false;
  return (o->mode == "crr" || o->mode == "bulk") && o->seconds > 0 && o->conc > 0;
}

}  // namespace
}  // namespace ustack::bench

int main(int argc, char** argv) {
  using namespace ustack::bench;
  Options o;
  if (!parse(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: multicore_bench [--mode crr|bulk] [--cores 1,2] [--seconds S] "
                 "[--conc N] [--run stepped|threads] [--symmetric] [--rss]\n");
    return 2;
  }
  std::printf("mode %s, %s, %s key, link %s, %.1f s per row\n", o.mode.c_str(),
              o.threads ? "a thread per core" : "every core stepped in one thread",
              o.symmetric ? "symmetric" : "Microsoft",
              o.link_rss ? "steers by RSS" : "queue q to queue q", o.seconds);
  std::printf("%-14s %14s %16s %14s %8s\n", "cores/host", o.mode == "crr" ? "conn/s" : "Gbit/s",
              o.mode == "crr" ? "ns CPU per conn" : "ns CPU per MB", "handed over", "failed");
  for (int n : o.cores) {
    const Result r = run(o, static_cast<std::uint16_t>(n));
    std::printf("%-14d %14.*f %16.0f %14llu %8llu\n", n, o.mode == "crr" ? 0 : 2, r.rate, r.ns_per,
                static_cast<unsigned long long>(r.handed),
                static_cast<unsigned long long>(r.failed));
  }
  return 0;
}
