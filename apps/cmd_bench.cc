// ustack bench: two ustack stacks in one process over memlink, each on its
// own core: no root and no NIC needed. Modes: bulk (Gbps, every byte
// checked), rr (1-byte round trips: rate and latency percentiles), crr
// (connect, one request, close: connections per second), soak (bulk and
// churn with faults for a long time, then back to baseline: bench_soak.h).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "apps/bench_pair.h"
#include "apps/bench_soak.h"
#include "apps/commands.h"
#include "apps/host.h"
#include "apps/percentile.h"

namespace ustack::app {
namespace {

constexpr std::uint16_t kPort = 5001;
// bulk --bytes: give up this long after --seconds.
constexpr auto kBytesGrace = std::chrono::seconds(600);

struct BenchOptions {
  std::string mode = "bulk";
  double seconds = 3;
  unsigned long long bytes = 0;  // bulk: stop after this many (0: run for `seconds`)
  std::uint32_t conns = 1;
  std::vector<int> cores;
  FaultConfig faults;
  bool json = false;
};

// Soak without fault options gets these: every fault at once, at rates a
// long run survives with every connection completing.
constexpr FaultConfig soak_default_faults() {
  FaultConfig f;
  f.loss = 0.002;
  f.reorder = 0.01;
  f.duplicate = 0.001;
  f.corrupt = 0.0005;
  return f;
}

// ---- bulk: A sends, B checks and discards.
struct BulkSink : TcpListenHandler, TcpHandler {
  TcpHandler* on_accept(TcpConn&) override { return this; }
  void on_readable(TcpConn& c) override {
    for (const Mbuf* m = c.front(); m != nullptr; m = c.front()) {
      const std::uint32_t n = m->data_len;
      std::uint64_t& off = offsets[&c];
      if (!matches_pattern(std::span(m->data(), n), off)) ++corrupt;
      bytes += n;
      off += n;
      c.consume(n);
    }
  }
  void on_peer_closed(TcpConn& c) override { c.close(); }
  std::uint64_t bytes = 0;
  std::uint64_t corrupt = 0;
  std::map<const TcpConn*, std::uint64_t> offsets;
};

struct BulkSource : StackApp, TcpHandler {
  BulkSource(Stack& s, std::uint32_t n, std::uint64_t max_bytes)
      : stack(s), conns(n), limit(max_bytes) {}
  void poll(Instant) override {
    if (!started) {
      started = true;
      std::string err;
      for (std::uint32_t i = 0; i < conns; ++i)
        if (stack.tcp().connect(IpAddr::v4(kBenchB), kPort, *this, &err) == nullptr) ++errors;
    }
  }
  void on_connected(TcpConn& c) override {
    offsets[&c] = 0;
    push(c);
  }
  void on_writable(TcpConn& c) override { push(c); }
  void on_closed(TcpConn& c, TcpCloseReason r) override {
    offsets.erase(&c);
    if (r != TcpCloseReason::kNormal) ++errors;
    ++closed;
  }
  void push(TcpConn& c) {
    if (stop) return;
    if (limit != 0 && sent >= limit) {
      c.close();
      return;
    }
    std::uint64_t& off = offsets[&c];
    const std::uint64_t k = send_pattern(c, off, limit == 0 ? 0 : limit - sent);
    off += k;
    sent += k;
    if (limit != 0 && sent >= limit) c.close();
  }
  Stack& stack;
  std::uint32_t conns;
  std::uint64_t limit;
  bool started = false;
  std::atomic<bool> stop{false};
  std::uint64_t sent = 0;
  std::uint32_t errors = 0, closed = 0;
  std::map<const TcpConn*, std::uint64_t> offsets;
};

// ---- rr and crr: B echoes one byte per request.
struct EchoByte : TcpListenHandler, TcpHandler {
  TcpHandler* on_accept(TcpConn& c) override {
    c.set_nodelay(true);
    return this;
  }
  void on_readable(TcpConn& c) override {
    std::byte b[256];
    const std::size_t n = c.read(b);
    if (n > 0) c.send(std::span<const std::byte>(b, n));
  }
  void on_peer_closed(TcpConn& c) override { c.close(); }
};

struct RrClient : StackApp, TcpHandler {
  RrClient(Stack& s, bool connect_each) : stack(s), crr(connect_each) {
    latencies.reserve(1 << 22);
  }
  void poll(Instant t) override {
    ++polls;
    if (conn_open) ++polls_open;
    if (!conn_open && !stop.load(std::memory_order_relaxed)) {
      std::string err;
      conn_open = stack.tcp().connect(IpAddr::v4(kBenchB), kPort, *this, &err) != nullptr;
      if (!conn_open) {
        ++connect_errors;
        last_error = err;
      }
      conn_start = t;
    }
  }
  void on_connected(TcpConn& c) override {
    c.set_nodelay(true);
    request(c);
  }
  void request(TcpConn& c) {
    sent_at = stack.now();
    const std::byte b{1};
    c.send(std::span<const std::byte>(&b, 1));
  }
  void on_readable(TcpConn& c) override {
    std::byte b[16];
    if (c.read(b) == 0) return;
    if (latencies.size() < latencies.capacity())
      latencies.push_back(
          static_cast<std::uint32_t>((stack.now() - (crr ? conn_start : sent_at)).count()));
    ++done;
    if (crr || stop.load(std::memory_order_relaxed)) {
      c.close();
    } else {
      request(c);
    }
  }
  void on_closed(TcpConn&, TcpCloseReason r) override {
    if (r != TcpCloseReason::kNormal) ++errors;
    conn_open = false;
    if (lifetimes.size() < 1000000)
      lifetimes.push_back(static_cast<std::uint32_t>((stack.now() - conn_start).count()));
  }
  std::vector<std::uint32_t> lifetimes;
  std::uint64_t connect_errors = 0, polls = 0, polls_open = 0;
  std::string last_error;
  Stack& stack;
  bool crr;
  bool conn_open = false;
  Instant sent_at{}, conn_start{};
  std::atomic<bool> stop{false};
  std::uint64_t done = 0;
  std::uint32_t errors = 0;
  std::vector<std::uint32_t> latencies;
};

double percentile_us(std::vector<std::uint32_t>& v, double p) {
  return percentile(v, p) / 1000.0;  // microseconds
}

}  // namespace

int cmd_bench(const Argv& argv) {
  const std::vector<cli::OptionSpec> specs = {
      {"mode", {"--mode"}, true, "MODE", "bulk (default), rr, crr, soak"},
      {"seconds", {"--seconds"}, true, "S", "how long to run (default 3; soak 60)"},
      {"bytes", {"--bytes"}, true, "N", "bulk: stop after N bytes"},
      {"conns",
       {"--conns"},
       true,
       "N",
       "bulk, soak: parallel bulk connections (default 1; soak 4)"},
      {"churn", {"--churn"}, true, "N", "soak: concurrent short connections (default 16)"},
      {"report", {"--report"}, true, "S", "soak: a progress line every S seconds (default 10)"},
      {"max_rss_growth",
       {"--max-rss-growth"},
       true,
       "MIB",
       "soak: resident memory may grow this much after the warm-up (default 8)"},
      {"cores", {"--cores"}, true, "LIST", "two cores for the two stacks (default: the first two)"},
      {"loss", {"--loss"}, true, "P", "random loss probability per frame, both ways"},
      {"reorder", {"--reorder"}, true, "P", "reordering probability"},
      {"dup", {"--dup"}, true, "P", "duplication probability"},
      {"corrupt", {"--corrupt"}, true, "P", "bit corruption probability"},
      {"seed", {"--seed"}, true, "N", "fault seed (same seed, same faults)"},
      {"json", {"--json"}, false, "", "print the result as JSON"},
      {"debug", {"-debug", "--debug"}, false, "", "print both stacks' counters at the end"},
      {"help", {"-h", "--help"}, false, "", "this help"},
  };
  cli::Args args;
  if (const int rc =
          cli::parse_command("bench", "[--mode bulk|rr|crr|soak] [options]", specs, argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  BenchOptions o;
  unsigned long long conns = 1, seed = 1;
  o.mode = args.get("mode", "bulk");
  if (!args.get_double("seconds", 0.1, 86400, &o.seconds, &err) ||
      !args.get_uint("bytes", 1, 1ull << 50, &o.bytes, &err) ||
      !args.get_uint("conns", 1, 10000, &conns, &err) ||
      !args.get_double("loss", 0, 1, &o.faults.loss, &err) ||
      !args.get_double("reorder", 0, 1, &o.faults.reorder, &err) ||
      !args.get_double("dup", 0, 1, &o.faults.duplicate, &err) ||
      !args.get_double("corrupt", 0, 1, &o.faults.corrupt, &err) ||
      !args.get_uint("seed", 0, ~0ull, &seed, &err)) {
    std::fprintf(stderr, "ustack bench: %s\n", err.c_str());
    return kExitUsage;
  }
  if (o.mode != "bulk" && o.mode != "rr" && o.mode != "crr" && o.mode != "soak") {
    std::fprintf(stderr, "ustack bench: --mode is bulk, rr, crr or soak, not '%s'\n",
                 o.mode.c_str());
    return kExitUsage;
  }
  SoakOptions soak;
  unsigned long long churn = soak.churn_conns;
  if (!args.get_uint("churn", 0, 10000, &churn, &err) ||
      !args.get_double("report", 0.1, 86400, &soak.report_seconds, &err) ||
      !args.get_double("max_rss_growth", 0, 1 << 20, &soak.max_rss_growth_mib, &err)) {
    std::fprintf(stderr, "ustack bench: %s\n", err.c_str());
    return kExitUsage;
  }
  if (o.mode == "soak") {
    if (!args.has("seconds")) o.seconds = soak.seconds;
    if (!args.has("conns")) conns = soak.bulk_conns;
    if (!args.has("loss") && !args.has("reorder") && !args.has("dup") && !args.has("corrupt"))
      o.faults = soak_default_faults();
  }
  o.conns = static_cast<std::uint32_t>(conns);
  o.faults.seed = seed;
  o.json = args.has("json");
  auto topo = Topology::load(&err);
  if (!topo) {
    std::fprintf(stderr, "ustack bench: %s\n", err.c_str());
    return kExitUsage;
  }
  if (args.has("cores")) {
    if (!parse_core_list(args.get("cores"), &o.cores, &err) || !topo->check_cores(o.cores, &err)) {
      std::fprintf(stderr, "ustack bench: %s\n", err.c_str());
      return kExitUsage;
    }
  } else {
    o.cores = topo->cores();
  }
  if (o.cores.empty() || o.cores.size() > 2) {
    std::fprintf(stderr, "ustack bench: give one or two cores with --cores\n");
    return kExitUsage;
  }
  install_signal_handlers();
  TscClock clock;
  if (o.mode == "soak") {
    soak.seconds = o.seconds;
    soak.bulk_conns = o.conns;
    soak.churn_conns = static_cast<std::uint32_t>(churn);
    soak.cores = o.cores;
    soak.faults = o.faults;
    soak.json = o.json;
    soak.debug = args.has("debug");
    return run_soak(soak, clock, *topo);
  }
  auto pair = BenchPair::create(o.faults, o.cores, clock, &err);
  if (!pair) {
    std::fprintf(stderr, "ustack bench: %s\n", err.c_str());
    return kExitUsage;
  }
  BenchHost& a = pair->a();
  BenchHost& b = pair->b();
  BulkSink sink;
  EchoByte echo;
  std::unique_ptr<BulkSource> bulk;
  std::unique_ptr<RrClient> rr;
  if (o.mode == "bulk") {
    b.stack->tcp().listen(kPort, sink, &err);
    bulk = std::make_unique<BulkSource>(*a.stack, o.conns, o.bytes);
    a.stack->set_app(bulk.get());
  } else {
    b.stack->tcp().listen(kPort, echo, &err);
    rr = std::make_unique<RrClient>(*a.stack, o.mode == "crr");
    a.stack->set_app(rr.get());
  }
  const Instant start = clock.now();
  const Instant end =
      start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o.seconds));
  auto finished = [&] {
    if (bulk && o.bytes != 0) return sink.bytes >= o.bytes || clock.now() >= end + kBytesGrace;
    return clock.now() >= end;
  };
  if (!pair->start(topo.get(), &err)) {
    std::fprintf(stderr, "ustack bench: %s\n", err.c_str());
    return kExitUsage;
  }
  while (!finished() && !g_interrupted.load()) pair->step();
  if (bulk) bulk->stop = true;
  if (rr) rr->stop = true;
  pair->stop();
  const double secs = std::chrono::duration<double>(clock.now() - start).count();
  int status = kExitOk;
  if (bulk) {
    const double gbps = static_cast<double>(sink.bytes) * 8 / secs / 1e9;
    if (o.json) {
      std::printf(
          "{\"mode\":\"bulk\",\"seconds\":%.3f,\"bytes\":%llu,\"gbps\":%.3f,\"conns\":%u,"
          "\"corrupt_segments\":%llu,\"cores\":%zu}\n",
          secs, static_cast<unsigned long long>(sink.bytes), gbps, o.conns,
          static_cast<unsigned long long>(sink.corrupt), o.cores.size());
    } else {
      std::printf(
          "bulk: %llu bytes in %.3f s = %.2f Gbps over %u connection(s), %zu core(s); "
          "every byte checked: %s\n",
          static_cast<unsigned long long>(sink.bytes), secs, gbps, o.conns, o.cores.size(),
          sink.corrupt == 0 ? "intact" : "CORRUPT");
    }
    if (sink.corrupt != 0 || bulk->errors != 0) status = kExitFailure;
  } else {
    const double rate = static_cast<double>(rr->done) / secs;
    const double p50 = percentile_us(rr->latencies, 0.50);
    const double p99 = percentile_us(rr->latencies, 0.99);
    const double p999 = percentile_us(rr->latencies, 0.999);
    const char* what = o.mode == "rr" ? "round trips" : "connections";
    if (o.json) {
      std::printf(
          "{\"mode\":\"%s\",\"seconds\":%.3f,\"count\":%llu,\"per_second\":%.0f,"
          "\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"errors\":%u}\n",
          o.mode.c_str(), secs, static_cast<unsigned long long>(rr->done), rate, p50, p99, p999,
          rr->errors);
    } else {
      std::printf(
          "%s: %llu %s in %.3f s = %.0f/s; latency p50 %.2f us, p99 %.2f us, p99.9 %.2f "
          "us; %zu core(s)\n",
          o.mode.c_str(), static_cast<unsigned long long>(rr->done), what, secs, rate, p50, p99,
          p999, o.cores.size());
    }
    if (rr->done == 0 || rr->errors != 0) status = kExitFailure;
  }
  if (bulk && sink.bytes == 0) status = kExitFailure;
  if (args.has("debug")) {
    if (rr)
      std::printf("connection lifetimes: p50 %.2f us p90 %.2f us p99 %.2f us max %.2f us\n",
                  percentile_us(rr->lifetimes, 0.5), percentile_us(rr->lifetimes, 0.9),
                  percentile_us(rr->lifetimes, 0.99), percentile_us(rr->lifetimes, 0.99999));
    if (rr)
      std::printf("polls %llu, with a connection open %llu, lifetimes %zu\n",
                  (unsigned long long)rr->polls, (unsigned long long)rr->polls_open,
                  rr->lifetimes.size());
    if (rr && rr->connect_errors > 0)
      std::printf("connect failed %llu times: %s\n",
                  static_cast<unsigned long long>(rr->connect_errors), rr->last_error.c_str());
    for (BenchHost* h : {&a, &b}) {
      std::printf("counters of %s (%llu loop iterations):\n", h == &a ? "a" : "b",
                  static_cast<unsigned long long>(h->worker->iterations()));
      h->worker->counters().for_each([](const std::string& n, std::uint64_t v) {
        if (v != 0) std::printf("  %s=%llu\n", n.c_str(), static_cast<unsigned long long>(v));
      });
    }
  }
  if (!pair->finish(&err)) {
    std::fprintf(stderr, "ustack bench: %s\n", err.c_str());
    status = kExitFailure;
  }
  return status;
}

}  // namespace ustack::app
