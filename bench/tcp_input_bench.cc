// TCP input on its fast path, one host's side only: host B's worker
// iteration taking a burst of 32 frames from memlink (Ethernet, IPv4, the
// connection lookup, TCP input) and what it sends in answer.
//
// Two stacks over memlink with a checksum-offloading NIC on both ends
// (bench/two_stacks_bench.h: the software checksums are checksum_bench's
// figures), one connection from A to B. Host A's stack then steps aside and
// the benchmark plays A: it captures one data segment A sent (never
// delivered) and replays it as frames it writes itself.
//
//  BM_TcpInputData: in-order 1448-byte data segments (the captured one,
//    sequence numbers advanced), taken by B's application (take() and
//    free, zero copy) and acknowledged by B (delayed ACK: one per two).
//  BM_TcpInputPureAck: pure ACKs each acknowledging one more 1448-byte
//    segment B sent: B's application queued 32 segments, B sent them all
//    (its window is open wide by then), the benchmark drained them and
//    answers each with an ACK; B frees the acknowledged data and, with its
//    send queue empty, sends nothing (out_per_ack counts what it did send).
//
// Timed (manual time): handing the burst to memlink and B's one worker
// iteration. Not timed: making the frames, and draining what B sent.
// Run: build/bench/tcp_input_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/tcp_bench_apps.h"
#include "bench/two_stacks_bench.h"
#include "core/clock.h"

namespace ustack {
namespace {

using bench::Acceptor;
using bench::BenchLinkOptions;
using bench::BenchStacks;
using bench::kAddrB;
using bench::Sink;

constexpr std::uint16_t kPort = 5000;
constexpr std::uint16_t kBurst = 32;
constexpr std::uint32_t kMss = 1448;

std::uint32_t get32(const std::byte* p) {
  return (std::to_integer<std::uint32_t>(p[0]) << 24) |
         (std::to_integer<std::uint32_t>(p[1]) << 16) |
         (std::to_integer<std::uint32_t>(p[2]) << 8) | std::to_integer<std::uint32_t>(p[3]);
}
void put32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::byte(static_cast<std::uint8_t>(v >> (24 - 8 * i)));
}

// Offsets in an Ethernet + IPv4 + TCP frame.
struct Layout {
  std::size_t ip = 14, tcp = 0, payload = 0, len = 0;
  explicit Layout(const std::vector<std::byte>& f) {
    tcp = ip + 4 * (std::to_integer<std::size_t>(f[ip]) & 0xf);
    payload = tcp + 4 * (std::to_integer<std::size_t>(f[tcp + 12]) >> 4);
    len = f.size();
  }
};

// The connection, A's stack set aside, and one data segment A sent that
// B has not seen (its sequence number is B's RCV.NXT).
struct World {
  TscClock clock;
  Sink sink;
  Acceptor acceptor{&sink, true};
  std::unique_ptr<BenchStacks> s;
  std::vector<std::byte> data;  // the captured frame
  std::string error;
  Mbuf* tx[kBurst];
  Mbuf* rx[64];

  bool open() {
    BenchLinkOptions o;
    o.offload = true;
    s = BenchStacks::create(o, clock, &error);
    if (!s || s->b.tcp().listen(kPort, acceptor, &error) == nullptr) return false;
    bench::IdleHandler client;
    s->sync();
    TcpConn* c = s->a.tcp().connect(IpAddr::v4(kAddrB), kPort, client, &error);
    if (c == nullptr || !s->run_until([&] { return client.connected == 1; })) return false;
    for (int i = 0; i < 100; ++i) s->step();  // the handshake's last ACK lands
    std::vector<std::byte> payload(kMss, std::byte{0x5a});
    s->sync();
    c->send(std::span<const std::byte>(payload));
    s->a.worker->run_once();  // transmits it
    Mbuf* m = nullptr;
    if (s->link->b().rx_burst(0, &m, 1) != 1) {
      error = "A sent no data segment";
      return false;
    }
    for (const Mbuf* seg = m; seg != nullptr; seg = seg->next)  // header, then payload
      data.insert(data.end(), seg->data(), seg->data() + seg->data_len);
    mbuf_free(m);
    if (Layout(data).len - Layout(data).payload != kMss) {
      error = "the captured frame is not one full segment";
      return false;
    }
    return true;
  }
  // Frames from the template, `count` of them, the i-th patched by fn.
  template <typename F>
  bool make(const std::vector<std::byte>& tmpl, std::uint16_t count, F&& fn) {
    if (!s->a.pool->alloc_bulk(tx, count)) return false;
    const auto len = static_cast<std::uint16_t>(tmpl.size());
    for (std::uint16_t i = 0; i < count; ++i) {
      std::byte* p = tx[i]->append(len);
      std::memcpy(p, tmpl.data(), len);
      fn(p, i);
    }
    return true;
  }
  // Times handing the frames to B and B's worker iteration.
  double deliver(std::uint16_t count) {
    const auto t0 = std::chrono::steady_clock::now();
    s->link->a().tx_burst(0, tx, count);
    s->b.worker->run_once();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  // Frees what B sent; returns how many frames, calling fn on each first.
  template <typename F>
  std::uint32_t drain(F&& fn) {
    std::uint32_t total = 0;
    for (std::uint16_t n; (n = s->link->a().rx_burst(0, rx, 64)) > 0;) {
      for (std::uint16_t i = 0; i < n; ++i) fn(*rx[i]);
      mbuf_free_bulk(rx, n);
      total += n;
    }
    return total;
  }
};

void BM_TcpInputData(benchmark::State& state) {
  World w;
  if (!w.open()) {
    state.SkipWithError(w.error.c_str());
    return;
  }
  const Layout l(w.data);
  std::uint32_t seq = get32(w.data.data() + l.tcp + 4);
  std::uint64_t segments = 0, acks = 0;
  for (auto _ : state) {
    if (!w.make(w.data, kBurst,
                [&](std::byte* p, std::uint16_t i) { put32(p + l.tcp + 4, seq + i * kMss); })) {
      state.SkipWithError("pool empty");
      break;
    }
    seq += kBurst * kMss;
    state.SetIterationTime(w.deliver(kBurst));
    segments += kBurst;
    acks += w.drain([](const Mbuf&) {});
  }
  if (w.sink.bytes != segments * kMss) state.SkipWithError("not every segment was taken in order");
  state.SetItemsProcessed(static_cast<std::int64_t>(segments));
  state.counters["acks_per_seg"] = static_cast<double>(acks) / static_cast<double>(segments);
}
BENCHMARK(BM_TcpInputData)->UseManualTime();

void BM_TcpInputPureAck(benchmark::State& state) {
  World w;
  if (!w.open()) {
    state.SkipWithError(w.error.c_str());
    return;
  }
  // A pure ACK from the captured segment: no payload, flags ACK only.
  const Layout l(w.data);
  std::vector<std::byte> ack(w.data.begin(),
                             w.data.begin() + static_cast<std::ptrdiff_t>(l.payload));
  const auto ip_len = static_cast<std::uint16_t>(l.payload - l.ip);
  ack[l.ip + 2] = std::byte(static_cast<std::uint8_t>(ip_len >> 8));
  ack[l.ip + 3] = std::byte(static_cast<std::uint8_t>(ip_len));
  ack[l.tcp + 13] = std::byte{0x10};
  TcpConn* b = w.acceptor.last;
  const std::vector<std::byte> payload(kBurst * kMss, std::byte{0x33});
  std::vector<std::uint32_t> ends;  // where B's unacknowledged segments end
  const Layout dl(w.data);          // B's segments have A's layout (same options)
  // One round: B queues and sends 32 segments, the benchmark drains them
  // and ACKs each one (and whatever else B sends meanwhile, until B has
  // nothing in flight). Returns the time of the ACKs' delivery and B's
  // iterations; *clean when B sent the 32 at once and nothing in answer to
  // the ACKs (the steady state measured).
  std::uint64_t acked = 0, extra_out = 0;
  const auto collect = [&](const Mbuf& m) {
    const std::byte* p = m.data();
    const std::uint32_t len = (std::to_integer<std::uint32_t>(p[dl.ip + 2]) << 8 |
                               std::to_integer<std::uint32_t>(p[dl.ip + 3])) -
                              static_cast<std::uint32_t>(dl.payload - dl.ip);
    if (len > 0) ends.push_back(get32(p + dl.tcp + 4) + len);
  };
  const auto round = [&](bool* clean) -> double {
    w.s->b.stack->set_now(w.clock.now());
    b->send(std::span<const std::byte>(payload));
    w.s->b.worker->run_once();
    ends.clear();
    w.drain(collect);
    *clean = ends.size() == kBurst;
    double t = 0;
    for (std::size_t done = 0; done < ends.size();) {
      const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(kBurst, ends.size() - done));
      if (!w.make(ack, n,
                  [&](std::byte* p, std::uint16_t i) { put32(p + l.tcp + 8, ends[done + i]); }))
        return -1;
      t += w.deliver(n);
      acked += n;
      done += n;
      const std::uint32_t out = w.drain(collect);
      extra_out += out;
      if (out > 0) *clean = false;
    }
    return ends.empty() ? -1 : t;
  };
  // Warm up until B's window takes a whole burst at once.
  bool all = false;
  for (int i = 0; i < 200 && !all; ++i)
    if (round(&all) < 0) break;
  if (!all) {
    state.SkipWithError("B never sent a whole burst at once");
    return;
  }
  acked = extra_out = 0;
  std::uint64_t partial = 0;
  for (auto _ : state) {
    const double t = round(&all);
    if (t < 0) {
      state.SkipWithError("B sent nothing");
      break;
    }
    partial += !all;  // not the steady state: should stay 0
    state.SetIterationTime(t);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(acked));
  state.counters["out_per_ack"] = static_cast<double>(extra_out) / static_cast<double>(acked);
  state.counters["partial_bursts"] = static_cast<double>(partial);
}
BENCHMARK(BM_TcpInputPureAck)->UseManualTime();

}  // namespace
}  // namespace ustack
