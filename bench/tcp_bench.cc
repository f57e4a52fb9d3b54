// TCP between two stacks over memlink on ONE core: both hosts' workers run
// alternately in this thread on the TSC clock (bench/two_stacks_bench.h).
// Every time and rate below is CPU time of that single thread, so it is the
// cost of BOTH ends (sender and receiver stacks, both applications, the
// memlink hand-over) per unit of work.
//
//  BM_TcpBulk/window/zero_copy/offload: one connection, A sends without end
//    (zero copy: send(Mbuf*) of pool mbufs, one MSS each; or send(span),
//    copying), B takes the mbufs and frees them. Gbps of goodput (bytes
//    handed to B's application) and ns_per_seg (CPU ns per 1448-byte data
//    segment), at a 64 KiB and a 64 MiB window (send and receive buffer),
//    measured in the steady state (window full, flight no longer growing).
//    offload=1 puts a NIC with checksum offload in front of memlink
//    (OffloadPort): no software checksum on either path. Also reported:
//    b_tx_per_seg (segments B sends, i.e. ACKs, per data segment),
//    peer_wnd_KiB (B's advertised window as A sees it), inflight_KiB,
//    retransmits (0 in a clean run), connects (see open_bulk()).
//  BM_TcpRequestResponse/offload: 1-byte ping-pong, nodelay; an iteration
//    is one round trip (2 segments, one step).
//  BM_TcpConnectRequestClose/concurrency: connect, 1-byte request and
//    response, the client closes first (TIME-WAIT shortened to 10 ms).
//    crr_per_s and ns_per_crr are the figures; with concurrency > 1 an
//    iteration may complete several, so the Time column is not per CRR.
//  BM_TcpManyConnections/conns/bulk: `conns` idle established connections
//    in both tables, then ping-pong (bulk=0) or bulk at a 64 KiB window
//    (bulk=1) on one more; ns per segment must not depend on `conns`.
//  BM_ConnTableLookup/entries/hit: ConnTable::find of present (hit=1) or
//    absent keys, in random order, in a table of `entries` connections.
//    Successive lookups are independent, so their cache misses overlap.
//
// Run: build/bench/tcp_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <algorithm>
#include <bit>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/tcp_bench_apps.h"
#include "bench/two_stacks_bench.h"
#include "core/clock.h"
#include "core/random.h"
#include "proto/tcp/conn_table.h"

namespace ustack {
namespace {

using bench::Acceptor;
using bench::BenchLinkOptions;
using bench::BenchStacks;
using bench::BulkSender;
using bench::IdleHandler;
using bench::kAddrB;
using bench::PingClient;
using bench::PongServer;
using bench::Sink;

constexpr std::uint16_t kPort = 5000;

void set_per_segment(benchmark::State& state, double segments) {
  // A rate over CPU time, inverted: CPU ns per segment.
  state.counters["ns_per_seg"] =
      benchmark::Counter(segments / 1e9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// ---------------------------------------------------------------- bulk

void BM_TcpBulk(benchmark::State& state) {
  const auto window = static_cast<std::uint32_t>(state.range(0));
  const bool zero_copy = state.range(1) != 0;
  const bool offload = state.range(2) != 0;
  TscClock clock;
  BenchLinkOptions o;
  o.tcp.send_buffer = o.tcp.recv_buffer = window;
  // A's pool holds the send buffer (one mbuf per MSS zero copy, per 2 KiB
  // copying) and, per segment in flight, a header mbuf and up to two
  // clones; all of the window can be in flight, in memlink's ring.
  const std::uint32_t segs = window / 1448 + 1;
  o.pool_a = std::max<std::uint32_t>(16384, 4 * segs + 16384);
  o.pool_b = 16384;
  o.ring_size = std::bit_ceil(std::max<std::uint32_t>(4096, 2 * segs));
  o.offload = offload;

  Sink sink;
  Acceptor acceptor(&sink);
  std::string err;
  std::unique_ptr<BenchStacks> s = BenchStacks::create(o, clock, &err);
  if (!s) {
    state.SkipWithError(err.c_str());
    return;
  }
  BulkSender sender(zero_copy, *s->a.pool);
  if (s->b.tcp().listen(kPort, acceptor, &err) == nullptr) {
    state.SkipWithError(err.c_str());
    return;
  }
  // Warm up into the steady state: the congestion window open, the
  // flight no longer growing.
  const int connects = bench::open_bulk(*s, kPort, sender, sink, window, window / 2, &err);
  if (connects == 0) {
    state.SkipWithError(err.c_str());
    return;
  }

  const std::uint32_t mss = sender.conn->mss();
  const std::uint64_t bytes0 = sink.bytes;
  const std::uint64_t b_tx0 = s->b.counter("tcp.tx");
  const std::uint64_t rtx0 = s->a.counter("tcp.tx.retransmits");
  std::uint64_t steps = 0;
  for (auto _ : state) {
    s->step();
    ++steps;
  }
  const std::uint64_t bytes = sink.bytes - bytes0;
  if (bytes == 0) {
    state.SkipWithError("nothing delivered");
    return;
  }
  const double segments = static_cast<double>(bytes) / mss;
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["Gbps"] =
      benchmark::Counter(static_cast<double>(bytes) * 8 / 1e9, benchmark::Counter::kIsRate);
  set_per_segment(state, segments);
  state.counters["seg_per_step"] = segments / static_cast<double>(steps);
  state.counters["b_tx_per_seg"] = static_cast<double>(s->b.counter("tcp.tx") - b_tx0) / segments;
  state.counters["retransmits"] = static_cast<double>(s->a.counter("tcp.tx.retransmits") - rtx0);
  state.counters["inflight_KiB"] = sender.conn ? sender.conn->bytes_in_flight() / 1024.0 : 0;
  state.counters["connects"] = connects;
  state.counters["peer_wnd_KiB"] = sender.conn ? sender.conn->send_window() / 1024.0 : 0;
}
BENCHMARK(BM_TcpBulk)
    ->ArgNames({"window", "zero_copy", "offload"})
    ->Args({64 << 10, 1, 0})
    ->Args({64 << 20, 1, 0})
    ->Args({64 << 10, 0, 0})
    ->Args({64 << 20, 0, 0})
    ->Args({64 << 10, 1, 1})
    ->Args({64 << 20, 1, 1})
    // Between the two: where the flight outgrows the caches.
    ->Args({1 << 20, 1, 1})
    ->Args({8 << 20, 1, 1});

// ---------------------------------------------------------------- request/response

// Runs steps until `count` moves past its value at the call; false after
// `max_steps` without progress.
template <typename Count>
bool step_until_next(BenchStacks& s, const Count& count, int max_steps = 10000) {
  const auto target = count + 1;
  for (int i = 0; i < max_steps; ++i) {
    s.step();
    if (count >= target) return true;
  }
  return false;
}

void BM_TcpRequestResponse(benchmark::State& state) {
  const bool offload = state.range(0) != 0;
  TscClock clock;
  BenchLinkOptions o;
  o.offload = offload;
  PongServer server;
  Acceptor acceptor(&server, /*nodelay=*/true);
  PingClient client;
  std::string err;
  std::unique_ptr<BenchStacks> s = BenchStacks::create(o, clock, &err);
  if (!s || s->b.tcp().listen(kPort, acceptor, &err) == nullptr) {
    state.SkipWithError(err.c_str());
    return;
  }
  s->sync();
  if (s->a.tcp().connect(IpAddr::v4(kAddrB), kPort, client, &err) == nullptr) {
    state.SkipWithError(err.c_str());
    return;
  }
  // Past the quick-ACK phase and into the steady state.
  s->run_until([&] { return client.round_trips >= 1000; }, 100000);
  const std::uint64_t rt0 = client.round_trips;
  const std::uint64_t a_tx0 = s->a.counter("tcp.tx");
  const std::uint64_t b_tx0 = s->b.counter("tcp.tx");
  std::uint64_t steps = 0;
  for (auto _ : state) {
    const std::uint64_t target = client.round_trips + 1;
    for (int i = 0; i < 10000 && client.round_trips < target; ++i) {
      s->step();
      ++steps;
    }
    if (client.round_trips < target) {
      state.SkipWithError("ping-pong stalled");
      return;
    }
  }
  const auto rts = static_cast<double>(client.round_trips - rt0);
  const auto segments =
      static_cast<double>(s->a.counter("tcp.tx") - a_tx0 + s->b.counter("tcp.tx") - b_tx0);
  state.counters["rt_per_s"] = benchmark::Counter(rts, benchmark::Counter::kIsRate);
  state.counters["ns_per_rt"] =
      benchmark::Counter(rts / 1e9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  set_per_segment(state, segments);
  state.counters["seg_per_rt"] = segments / rts;
  state.counters["steps_per_rt"] = static_cast<double>(steps) / rts;
}
BENCHMARK(BM_TcpRequestResponse)->ArgName("offload")->Arg(0)->Arg(1);

// ---------------------------------------------------------------- connect/request/close

class CrrClient final : public TcpHandler {
 public:
  void on_connected(TcpConn& c) override {
    c.set_nodelay(true);
    const std::byte req{0x52};
    c.send(std::span<const std::byte>(&req, 1));
  }
  void on_readable(TcpConn& c) override {
    std::byte b[64];
    while (c.read(b) > 0) {
    }
    c.close();
  }
  void on_closed(TcpConn&, TcpCloseReason r) override {
    --in_progress;
    if (r == TcpCloseReason::kNormal) {
      ++done;
    } else {
      ++failed;
    }
  }
  std::uint64_t in_progress = 0;
  std::uint64_t done = 0;
  std::uint64_t failed = 0;
};

class CrrServer final : public TcpHandler {
 public:
  void on_readable(TcpConn& c) override {
    std::byte b[64];
    for (std::size_t n; (n = c.read(b)) > 0;) c.send(std::span<const std::byte>(b, n));
  }
  void on_peer_closed(TcpConn& c) override { c.close(); }
};

void BM_TcpConnectRequestClose(benchmark::State& state) {
  const auto concurrency = static_cast<std::uint64_t>(state.range(0));
  TscClock clock;
  BenchLinkOptions o;
  // The client closes first and keeps TIME-WAIT for 2 MSL: 10 ms here, so
  // a run reaches the steady state of entering and expiring it.
  o.tcp.msl = std::chrono::milliseconds(5);
  CrrServer server;
  Acceptor acceptor(&server, /*nodelay=*/true);
  CrrClient client;
  std::string err;
  std::unique_ptr<BenchStacks> s = BenchStacks::create(o, clock, &err);
  if (!s || s->b.tcp().listen(kPort, acceptor, &err) == nullptr) {
    state.SkipWithError(err.c_str());
    return;
  }
  auto top_up = [&]() -> bool {
    if (client.in_progress >= concurrency) return true;
    s->sync();
    while (client.in_progress < concurrency) {
      if (s->a.tcp().connect(IpAddr::v4(kAddrB), kPort, client, &err) == nullptr) return false;
      ++client.in_progress;
    }
    return true;
  };
  auto run_to = [&](std::uint64_t target) -> bool {
    std::uint64_t idle = 0;
    while (client.done < target) {
      const std::uint64_t before = client.done;
      if (!top_up()) return false;
      s->step();
      idle = client.done == before ? idle + 1 : 0;
      if (idle > 100000) {
        err = "connect/request/close stalled";
        return false;
      }
    }
    return true;
  };
  if (!run_to(20000)) {  // warm-up: TIME-WAIT filled to its steady level
    state.SkipWithError(err.c_str());
    return;
  }
  const std::uint64_t done0 = client.done;
  for (auto _ : state) {
    if (!run_to(client.done + 1)) {
      state.SkipWithError(err.c_str());
      return;
    }
  }
  const auto n = static_cast<double>(client.done - done0);
  state.counters["crr_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["ns_per_crr"] =
      benchmark::Counter(n / 1e9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["failed"] = static_cast<double>(client.failed);
  state.counters["time_wait"] = static_cast<double>(s->a.tcp().count_in_state(TcpState::kTimeWait));
}
BENCHMARK(BM_TcpConnectRequestClose)->ArgName("concurrency")->Arg(1)->Arg(16);

// ---------------------------------------------------------------- many connections

constexpr std::uint16_t kActivePort = 6000;  // the measured connection's listener

// Two stacks holding `n` idle established connections, kept for the whole
// process (opening 100,000 takes a while).
struct ManyWorld {
  TscClock clock;
  IdleHandler idle_client;
  IdleHandler idle_server;
  Acceptor idle_acceptor{&idle_server};
  Acceptor active_acceptor{nullptr, /*nodelay=*/true};
  std::unique_ptr<BenchStacks> s;
  std::string error;
};

std::unique_ptr<ManyWorld> make_many_world(std::uint32_t n) {
  auto w = std::make_unique<ManyWorld>();
  BenchLinkOptions o;
  o.tcp.max_connections = n + 4096;
  o.tcp.send_buffer = o.tcp.recv_buffer = 64 << 10;  // the measured bulk's window
  o.ring_size = 8192;
  w->s = BenchStacks::create(o, w->clock, &w->error);
  if (!w->s) return w;
  BenchStacks& s = *w->s;
  if (s.b.tcp().listen(kActivePort, w->active_acceptor, &w->error) == nullptr) return w;
  bench::open_idle(s, n, w->idle_client, w->idle_acceptor, &w->error);
  return w;
}

ManyWorld& many_world(std::uint32_t n) {
  static std::map<std::uint32_t, std::unique_ptr<ManyWorld>> worlds;
  auto& w = worlds[n];
  if (!w) w = make_many_world(n);
  return *w;
}

void BM_TcpManyConnections(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const bool bulk = state.range(1) != 0;
  ManyWorld& w = many_world(n);
  if (!w.error.empty()) {
    state.SkipWithError(w.error.c_str());
    return;
  }
  BenchStacks& s = *w.s;
  std::string err;
  PingClient ping;
  PongServer pong;
  BulkSender sender(/*zero_copy=*/true, *s.a.pool);
  Sink sink;
  w.active_acceptor.handler = bulk ? static_cast<TcpHandler*>(&sink) : &pong;
  TcpConn* c = nullptr;
  if (bulk) {
    if (bench::open_bulk(s, kActivePort, sender, sink, 64 << 10, 32 << 10, &err) == 0) {
      state.SkipWithError(err.c_str());
      return;
    }
    c = sender.conn;
  } else {
    s.sync();
    c = s.a.tcp().connect(IpAddr::v4(kAddrB), kActivePort, ping, &err);
    if (c == nullptr) {
      state.SkipWithError(err.c_str());
      return;
    }
  }
  // Warm-up: past quick-ACKs and slow start.
  s.run_until([&] { return ping.round_trips >= 1000 || sink.bytes >= (16u << 20); }, 1'000'000);
  const std::uint64_t a_tx0 = s.a.counter("tcp.tx");
  const std::uint64_t b_tx0 = s.b.counter("tcp.tx");
  const std::uint64_t bytes0 = sink.bytes;
  const std::uint64_t rt0 = ping.round_trips;
  for (auto _ : state) {
    if (bulk) {
      s.step();
    } else if (!step_until_next(s, ping.round_trips)) {
      state.SkipWithError("ping-pong stalled");
      break;
    }
  }
  const double mss = c->mss();
  // Bulk: data segments delivered; ping-pong: every segment either way.
  const double segments =
      bulk ? static_cast<double>(sink.bytes - bytes0) / mss
           : static_cast<double>(s.a.counter("tcp.tx") - a_tx0 + s.b.counter("tcp.tx") - b_tx0);
  if (segments > 0) set_per_segment(state, segments);
  if (!bulk) {
    const auto rts = static_cast<double>(ping.round_trips - rt0);
    state.counters["ns_per_rt"] =
        benchmark::Counter(rts / 1e9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  } else {
    state.counters["Gbps"] = benchmark::Counter(static_cast<double>(sink.bytes - bytes0) * 8 / 1e9,
                                                benchmark::Counter::kIsRate);
  }
  state.counters["conns"] = static_cast<double>(s.a.tcp().connections());
  // Gone again, so the next run finds only the idle ones.
  ping.running = false;
  s.sync();
  c->abort();
  s.run_until([&] { return pong.closed > 0 || sink.closed; }, 100000);
  for (int i = 0; i < 10; ++i) s.step();
  w.active_acceptor.handler = nullptr;
}
BENCHMARK(BM_TcpManyConnections)
    ->ArgNames({"conns", "bulk"})
    ->Args({10, 0})
    ->Args({100000, 0})
    ->Args({10, 1})
    ->Args({100000, 1});

// ---------------------------------------------------------------- connection table

// ConnTable keeps TcpConn pointers and reads their keys, and only a
// TcpLayer makes TcpConns: host A's layer opens `n` connections to random
// off-link addresses (their SYNs find no route and are dropped), and the
// benchmark's own table holds the same connections.
struct LookupWorld {
  TscClock clock;
  IdleHandler handler;
  std::unique_ptr<BenchStacks> s;
  std::unique_ptr<ConnTable> table;
  std::vector<ConnKey> hits;    // present, in random order
  std::vector<ConnKey> misses;  // absent
  std::string error;
};

std::unique_ptr<LookupWorld> make_lookup_world(std::uint32_t n) {
  auto w = std::make_unique<LookupWorld>();
  BenchLinkOptions o;
  o.tcp.max_connections = n;
  o.pool_a = o.pool_b = 1024;
  w->s = BenchStacks::create(o, w->clock, &w->error);
  if (!w->s) return w;
  w->table = std::make_unique<ConnTable>(n, 0x5eed);
  Rng rng(n);
  w->s->sync();
  w->hits.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    const Ipv4Addr remote =
        Ipv4Addr::from_u32(0x0b000000u | static_cast<std::uint32_t>(rng.next() >> 40));
    const auto port = static_cast<std::uint16_t>(1 + rng.below(65535));
    TcpConn* c = w->s->a.tcp().connect(IpAddr::v4(remote), port, w->handler, &w->error);
    if (c == nullptr) return w;
    if (!w->table->insert(c->key(), c)) {
      w->error = "ConnTable refused a connection";
      return w;
    }
    w->hits.push_back(c->key());
  }
  for (std::uint32_t i = n; i > 1; --i) std::swap(w->hits[i - 1], w->hits[rng.below(i)]);
  w->misses = w->hits;
  for (ConnKey& k : w->misses) k.remote.b[12] = 12;  // 12.x.y.z: never opened
  return w;
}

LookupWorld& lookup_world(std::uint32_t n) {
  static std::map<std::uint32_t, std::unique_ptr<LookupWorld>> worlds;
  auto& w = worlds[n];
  if (!w) w = make_lookup_world(n);
  return *w;
}

void BM_ConnTableLookup(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const bool hit = state.range(1) != 0;
  LookupWorld& w = lookup_world(n);
  if (!w.error.empty()) {
    state.SkipWithError(w.error.c_str());
    return;
  }
  const std::vector<ConnKey>& keys = hit ? w.hits : w.misses;
  std::size_t i = 0;
  std::uint64_t found = 0;
  for (auto _ : state) {
    TcpConn* c = w.table->find(keys[i]);
    benchmark::DoNotOptimize(c);
    found += c != nullptr;
    if (++i == keys.size()) i = 0;
  }
  if (found != (hit ? static_cast<std::uint64_t>(state.iterations()) : 0))
    state.SkipWithError("wrong lookup result");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ConnTableLookup)
    ->ArgNames({"entries", "hit"})
    ->Args({1000, 1})
    ->Args({1000000, 1})
    ->Args({1000, 0})
    ->Args({1000000, 0});

}  // namespace
}  // namespace ustack
