#include "apps/bench_soak.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <string>

#include "apps/bench_pair.h"
#include "apps/cli.h"
#include "apps/host.h"

namespace ustack::app {
namespace {

constexpr std::uint16_t kBulkPort = 5001;
constexpr std::uint16_t kChurnPort = 5002;
constexpr std::uint32_t kMaxRequest = 4096;  // churn request (and echo) size, at most
constexpr Duration kSampleEvery = std::chrono::milliseconds(50);
constexpr Duration kDrainFor = std::chrono::seconds(60);
constexpr auto kRelaxed = std::memory_order_relaxed;

// One stack as the main thread sees it, written by the stack's own worker.
struct Gauges {
  std::atomic<std::uint32_t> in_use{0};     // mbufs out of the pool
  std::atomic<std::uint32_t> open{0};       // connections not in TIME-WAIT
  std::atomic<std::uint32_t> time_wait{0};  // connections in TIME-WAIT
  std::atomic<std::uint64_t> samples{0};

  void sample(Stack& s) {
    const std::uint32_t tw = s.tcp().time_wait_connections();
    in_use.store(s.pool().in_use(), kRelaxed);
    open.store(s.tcp().connections() - tw, kRelaxed);
    time_wait.store(tw, kRelaxed);
    samples.fetch_add(1, std::memory_order_release);
  }
};

// Samples its stack every kSampleEvery from the stack's worker.
class Sampler {
 public:
  Sampler(Stack& s, Gauges& g) : stack_(s), gauges_(g) {}
  void poll(Instant now) {
    if (now < next_) return;
    next_ = now + kSampleEvery;
    gauges_.sample(stack_);
  }

 private:
  Stack& stack_;
  Gauges& gauges_;
  Instant next_{};
};

// ---- A: bulk senders and churning request/response clients in fixed slots
// (no allocation per connection, so resident memory says something).
struct Slot {
  TcpConn* conn = nullptr;
  bool bulk = false;
  bool closing = false;
  bool abort_midway = false;
  std::uint64_t target = 0, sent = 0;     // bulk: bytes to send, sent
  std::uint32_t request = 0, echoed = 0;  // churn: bytes sent, received back
};

class SoakClient final : public StackApp, public TcpHandler {
 public:
  SoakClient(Stack& s, const SoakOptions& o, Gauges& g, std::uint64_t seed)
      : stack_(s), o_(o), sampler_(s, g), rng_(seed), slots_(o.bulk_conns + o.churn_conns) {
    for (std::uint32_t i = 0; i < o.bulk_conns; ++i) slots_[i].bulk = true;
  }

  void poll(Instant now) override {
    sampler_.poll(now);
    if (stopping.load(kRelaxed)) {
      idle.store(std::none_of(slots_.begin(), slots_.end(),
                              [](const Slot& s) { return s.conn != nullptr; }),
                 kRelaxed);
      return;
    }
    for (Slot& s : slots_)
      if (s.conn == nullptr) open(s);
  }

  void on_connected(TcpConn& c) override {
    Slot& s = slot(c);
    if (s.bulk) {
      push(c, s);
      return;
    }
    s.request = 1 + static_cast<std::uint32_t>(rng_() % kMaxRequest);
    send_pattern(c, 0, s.request);  // fits: the send buffer is far larger
    if (s.abort_midway) c.abort();  // on_closed(kAborted) runs inside
  }
  void on_writable(TcpConn& c) override {
    Slot& s = slot(c);
    if (s.bulk) push(c, s);
  }
  void on_readable(TcpConn& c) override {
    Slot& s = slot(c);
    for (const Mbuf* m = c.front(); m != nullptr; m = c.front()) {
      const std::uint32_t n = m->data_len;
      if (s.bulk || s.echoed + n > s.request || !matches_pattern({m->data(), n}, s.echoed))
        corrupt.fetch_add(1, kRelaxed);
      s.echoed += n;
      c.consume(n);
    }
    if (!s.bulk && s.echoed == s.request && !s.closing) {
      s.closing = true;
      c.close();
    }
  }
  void on_peer_closed(TcpConn& c) override {
    Slot& s = slot(c);
    if (!s.closing) {
      s.closing = true;
      c.close();
    }
  }
  void on_closed(TcpConn& c, TcpCloseReason r) override {
    Slot& s = slot(c);
    if (r == TcpCloseReason::kAborted && s.abort_midway) {
      aborted.fetch_add(1, kRelaxed);
    } else if (r != TcpCloseReason::kNormal) {
      errors.fetch_add(1, kRelaxed);
      last_error.store(static_cast<int>(r), kRelaxed);
    } else if (s.bulk) {
      if (s.sent == s.target) {
        bulk_done.fetch_add(1, kRelaxed);
      } else {
        errors.fetch_add(1, kRelaxed);
      }
    } else if (s.echoed == s.request) {
      churn_done.fetch_add(1, kRelaxed);
    } else {
      errors.fetch_add(1, kRelaxed);
    }
    s.conn = nullptr;
  }

  std::atomic<bool> stopping{false};
  std::atomic<bool> idle{false};
  std::atomic<std::uint64_t> bytes_sent{0}, bulk_done{0}, churn_done{0}, aborted{0};
  std::atomic<std::uint64_t> errors{0}, connect_failures{0}, corrupt{0};
  std::atomic<int> last_error{-1};

 private:
  static Slot& slot(TcpConn& c) { return *static_cast<Slot*>(c.user); }

  void open(Slot& s) {
    s = Slot{nullptr, s.bulk};
    if (s.bulk) {
      s.target = 1 + rng_() % o_.bulk_max_bytes;
    } else {
      s.abort_midway = o_.abort_one_in != 0 && rng_() % o_.abort_one_in == 0;
    }
    std::string err;
    TcpConn* c =
        stack_.tcp().connect(IpAddr::v4(kBenchB), s.bulk ? kBulkPort : kChurnPort, *this, &err);
    if (c == nullptr) {
      connect_failures.fetch_add(1, kRelaxed);
      return;
    }
    c->user = &s;
    s.conn = c;
  }

  void push(TcpConn& c, Slot& s) {
    if (s.closing) return;
    const std::uint64_t k = send_pattern(c, s.sent, s.target - s.sent);
    s.sent += k;
    bytes_sent.fetch_add(k, kRelaxed);
    if (s.sent == s.target) {
      s.closing = true;
      c.close();
    }
  }

  Stack& stack_;
  const SoakOptions& o_;
  Sampler sampler_;
  std::mt19937_64 rng_;
  std::vector<Slot> slots_;
};

// ---- B: a checking sink on kBulkPort and an echo on kChurnPort. The sink's
// per-connection offsets live in a fixed free list.
class SoakServer final : public StackApp {
 public:
  SoakServer(Stack& s, Gauges& g, std::uint32_t bulk_slots)
      : sampler_(s, g), sink_(*this), echo_(*this), offsets_(bulk_slots) {
    for (auto& o : offsets_) free_.push_back(&o);
  }
  void poll(Instant now) override { sampler_.poll(now); }
  bool listen(Stack& s, std::string* err) {
    return s.tcp().listen(kBulkPort, sink_, err) != nullptr &&
           s.tcp().listen(kChurnPort, echo_, err) != nullptr;
  }

  std::atomic<std::uint64_t> bytes_received{0}, corrupt{0}, errors{0};

 private:
  struct Sink final : TcpListenHandler, TcpHandler {
    explicit Sink(SoakServer& s) : srv(s) {}
    TcpHandler* on_accept(TcpConn& c) override {
      if (srv.free_.empty()) {
        srv.errors.fetch_add(1, kRelaxed);  // more bulk connections than slots
        return nullptr;
      }
      auto* off = srv.free_.back();
      srv.free_.pop_back();
      *off = 0;
      c.user = off;
      return this;
    }
    void on_readable(TcpConn& c) override {
      auto& off = *static_cast<std::uint64_t*>(c.user);
      for (const Mbuf* m = c.front(); m != nullptr; m = c.front()) {
        const std::uint32_t n = m->data_len;
        if (!matches_pattern({m->data(), n}, off)) srv.corrupt.fetch_add(1, kRelaxed);
        off += n;
        srv.bytes_received.fetch_add(n, kRelaxed);
        c.consume(n);
      }
    }
    void on_peer_closed(TcpConn& c) override { c.close(); }
    void on_closed(TcpConn& c, TcpCloseReason r) override {
      if (r != TcpCloseReason::kNormal) srv.errors.fetch_add(1, kRelaxed);
      srv.free_.push_back(static_cast<std::uint64_t*>(c.user));
    }
    SoakServer& srv;
  };
  struct Echo final : TcpListenHandler, TcpHandler {
    explicit Echo(SoakServer& s) : srv(s) {}
    TcpHandler* on_accept(TcpConn&) override { return this; }
    void on_readable(TcpConn& c) override {
      std::byte b[kMaxRequest];
      while (c.readable() > 0 && c.send_space() > 0) {
        const std::size_t n = c.read(std::span(b).first(
            std::min<std::size_t>(sizeof b, std::min(c.readable(), c.send_space()))));
        c.send(std::span<const std::byte>(b, n));
      }
    }
    // The client closes first, or aborts (then on_closed(kReset): expected).
    void on_peer_closed(TcpConn& c) override { c.close(); }
    SoakServer& srv;
  };

  Sampler sampler_;
  Sink sink_;
  Echo echo_;
  std::vector<std::uint64_t> offsets_;
  std::vector<std::uint64_t*> free_;
};

double rss_mib() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long pages = 0, resident = 0;
  const int got = std::fscanf(f, "%lu %lu", &pages, &resident);
  std::fclose(f);
  if (got != 2) return 0;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

double seconds_between(Instant a, Instant b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Faults {
  std::uint64_t lost = 0, duplicated = 0, corrupted = 0, reordered = 0;
};

Faults link_faults(Memlink& link) {
  Faults f;
  for (int end : {0, 1}) {
    const LinkStatsSnapshot s = link.stats_into(end);
    f.lost += s.lost;
    f.duplicated += s.duplicated;
    f.corrupted += s.corrupted;
    f.reordered += s.reordered;
  }
  return f;
}

}  // namespace

int run_soak(const SoakOptions& o, const Clock& clock, const Topology& topology) {
  std::string err;
  TcpConfig tcp = bench_tcp_config();
  // TIME-WAIT of 2 * 5 s: entries expire (and the table reaches its steady
  // size) within the warm-up of a one-minute run, instead of only piling up
  // to max_time_wait.
  tcp.msl = std::chrono::seconds(5);
  auto pair = BenchPair::create(o.faults, o.cores, clock, &err, tcp);
  if (!pair) {
    std::fprintf(stderr, "ustack bench: %s\n", err.c_str());
    return kExitUsage;
  }
  Gauges ga, gb;
  // Taken before any traffic: what an idle stack holds.
  const std::uint32_t base_a = pair->a().pool->in_use();
  const std::uint32_t base_b = pair->b().pool->in_use();
  SoakClient client(*pair->a().stack, o, ga, o.faults.seed);
  // A bulk connection closed by the client lingers in LAST-ACK on B a
  // little: room for several generations of each.
  SoakServer server(*pair->b().stack, gb, 4 * o.bulk_conns + 64);
  if (!server.listen(*pair->b().stack, &err)) {
    std::fprintf(stderr, "ustack bench: %s\n", err.c_str());
    return kExitUsage;
  }
  pair->a().stack->set_app(&client);
  pair->b().stack->set_app(&server);
  if (!pair->start(&topology, &err)) {
    std::fprintf(stderr, "ustack bench: %s\n", err.c_str());
    return kExitUsage;
  }
  const Instant start = clock.now();
  const auto span = [](double s) {
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
  };
  const Instant end = start + span(o.seconds);
  // Resident memory is compared with what it was after the warm-up (pools
  // touched, tables grown, TIME-WAIT filled to its steady level).
  const Instant warm = start + span(std::clamp(o.seconds / 4, 1.0, 120.0));
  double rss_warm = 0, rss_max = 0;
  Instant next_report = start + span(o.report_seconds);
  Instant next_rss = start;
  std::uint64_t last_bytes = 0, last_churn = 0;
  Instant last_at = start;
  auto report = [&](Instant now, double rss) {
    const std::uint64_t bytes = client.bytes_sent.load(kRelaxed);
    const std::uint64_t churn = client.churn_done.load(kRelaxed);
    const double dt = std::max(seconds_between(last_at, now), 1e-9);
    std::printf(
        "soak %6.0f s: %6.2f Gbps, %7.0f conn/s, errors %llu; mbufs a %u b %u; "
        "connections a %u+%u b %u+%u (open+TIME-WAIT); rss %.1f MiB\n",
        seconds_between(start, now), static_cast<double>(bytes - last_bytes) * 8 / dt / 1e9,
        static_cast<double>(churn - last_churn) / dt,
        static_cast<unsigned long long>(client.errors.load(kRelaxed) + server.errors.load()),
        ga.in_use.load(kRelaxed), gb.in_use.load(kRelaxed), ga.open.load(kRelaxed),
        ga.time_wait.load(kRelaxed), gb.open.load(kRelaxed), gb.time_wait.load(kRelaxed), rss);
    std::fflush(stdout);
    last_bytes = bytes;
    last_churn = churn;
    last_at = now;
  };
  while (!g_interrupted.load()) {
    const Instant now = clock.now();
    if (now >= end) break;
    pair->step();
    if (now >= next_rss) {
      next_rss = now + std::chrono::seconds(1);
      const double rss = rss_mib();
      if (now >= warm) {
        if (rss_warm == 0) rss_warm = rss;
        rss_max = std::max(rss_max, rss);
      }
      if (now >= next_report) {
        next_report = now + span(o.report_seconds);
        if (!o.json) report(now, rss);
      }
    }
  }
  const Instant ran_until = clock.now();
  // Drain: no new connections; the open ones finish. Back to baseline means
  // every slot idle, no connection on either side but TIME-WAIT, and every
  // mbuf back, in samples taken after the client went idle.
  client.stopping.store(true);
  const Instant drain_end = clock.now() + kDrainFor;
  bool settled = false;
  std::uint64_t seen_a = 0, seen_b = 0;
  while (clock.now() < drain_end && !g_interrupted.load()) {
    pair->step();
    if (!client.idle.load(kRelaxed)) continue;
    if (seen_a == 0) {
      seen_a = ga.samples.load(std::memory_order_acquire) + 1;
      seen_b = gb.samples.load(std::memory_order_acquire) + 1;
      continue;
    }
    if (ga.samples.load(std::memory_order_acquire) <= seen_a ||
        gb.samples.load(std::memory_order_acquire) <= seen_b)
      continue;
    if (ga.open.load(kRelaxed) == 0 && gb.open.load(kRelaxed) == 0 &&
        ga.in_use.load(kRelaxed) == base_a && gb.in_use.load(kRelaxed) == base_b) {
      settled = true;
      break;
    }
    seen_a = ga.samples.load(std::memory_order_acquire);
    seen_b = gb.samples.load(std::memory_order_acquire);
  }
  const double drain_s = seconds_between(ran_until, clock.now());
  pair->stop();
  const double rss_end = rss_mib();
  const double secs = seconds_between(start, ran_until);
  const Faults f = link_faults(pair->link());
  const std::uint64_t sent = client.bytes_sent.load();
  const std::uint64_t received = server.bytes_received.load();
  const std::uint64_t errors = client.errors.load() + server.errors.load();
  const std::uint64_t corrupt = client.corrupt.load() + server.corrupt.load();
  const double growth = rss_warm > 0 ? rss_end - rss_warm : 0;
  if (o.debug) {
    for (BenchHost* h : {&pair->a(), &pair->b()}) {
      std::printf("counters of %s:\n", h == &pair->a() ? "a" : "b");
      h->worker->counters().for_each([](const std::string& n, std::uint64_t v) {
        if (v != 0) std::printf("  %s=%llu\n", n.c_str(), static_cast<unsigned long long>(v));
      });
    }
  }
  std::vector<std::string> failures;
  if (errors != 0) {
    const int r = client.last_error.load();
    failures.push_back(
        std::to_string(errors) + " connection(s) failed" +
        (r >= 0 ? std::string(" (last: ") + to_string(static_cast<TcpCloseReason>(r)) + ")"
                : std::string()));
  }
  if (corrupt != 0) failures.push_back(std::to_string(corrupt) + " corrupt segment(s)");
  if (sent != received)
    failures.push_back("sent " + std::to_string(sent) + " bytes, received " +
                       std::to_string(received));
  if (client.churn_done.load() == 0 || client.bulk_done.load() == 0)
    failures.push_back("no progress");
  if (!settled)
    failures.push_back("not back to baseline after " + std::to_string(drain_s) + " s: mbufs a " +
                       std::to_string(ga.in_use.load()) + " (idle " + std::to_string(base_a) +
                       ") b " + std::to_string(gb.in_use.load()) + " (idle " +
                       std::to_string(base_b) + "), open connections a " +
                       std::to_string(ga.open.load()) + " b " + std::to_string(gb.open.load()));
  if (growth > o.max_rss_growth_mib)
    failures.push_back("resident memory grew " + std::to_string(growth) + " MiB after warm-up");
  if (!pair->finish(&err)) failures.push_back(err);
  const double gbps = static_cast<double>(received) * 8 / std::max(secs, 1e-9) / 1e9;
  const double cps = static_cast<double>(client.churn_done.load()) / std::max(secs, 1e-9);
  if (o.json) {
    std::printf(
        "{\"mode\":\"soak\",\"seconds\":%.3f,\"bytes\":%llu,\"gbps\":%.3f,\"bulk_conns_done\":%llu,"
        "\"churn_conns_done\":%llu,\"churn_per_second\":%.0f,\"aborted\":%llu,\"errors\":%llu,"
        "\"corrupt\":%llu,\"connect_failures\":%llu,\"lost\":%llu,\"duplicated\":%llu,"
        "\"corrupted\":%llu,\"reordered\":%llu,\"drain_seconds\":%.3f,\"settled\":%s,"
        "\"rss_warm_mib\":%.1f,\"rss_max_mib\":%.1f,\"rss_end_mib\":%.1f,\"ok\":%s}\n",
        secs, static_cast<unsigned long long>(received), gbps,
        static_cast<unsigned long long>(client.bulk_done.load()),
        static_cast<unsigned long long>(client.churn_done.load()), cps,
        static_cast<unsigned long long>(client.aborted.load()),
        static_cast<unsigned long long>(errors), static_cast<unsigned long long>(corrupt),
        static_cast<unsigned long long>(client.connect_failures.load()),
        static_cast<unsigned long long>(f.lost), static_cast<unsigned long long>(f.duplicated),
        static_cast<unsigned long long>(f.corrupted), static_cast<unsigned long long>(f.reordered),
        drain_s, settled ? "true" : "false", rss_warm, rss_max, rss_end,
        failures.empty() ? "true" : "false");
  } else {
    std::printf(
        "soak: %.0f s, %zu core(s): %llu bytes (%.2f Gbps) in %llu bulk connections, %llu "
        "churn connections (%.0f/s) and %llu aborted, every byte checked; faults: %llu lost, "
        "%llu duplicated, %llu corrupted, %llu reordered; drained in %.1f s; rss %.1f MiB "
        "after warm-up, %.1f max, %.1f at the end\n",
        secs, o.cores.size(), static_cast<unsigned long long>(received), gbps,
        static_cast<unsigned long long>(client.bulk_done.load()),
        static_cast<unsigned long long>(client.churn_done.load()), cps,
        static_cast<unsigned long long>(client.aborted.load()),
        static_cast<unsigned long long>(f.lost), static_cast<unsigned long long>(f.duplicated),
        static_cast<unsigned long long>(f.corrupted), static_cast<unsigned long long>(f.reordered),
        drain_s, rss_warm, rss_max, rss_end);
  }
  for (const auto& m : failures) std::fprintf(stderr, "ustack bench: soak failed: %s\n", m.c_str());
  return failures.empty() ? kExitOk : kExitFailure;
}

}  // namespace ustack::app
