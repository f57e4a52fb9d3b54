// Instructions per TCP data segment, counted by callgrind (run it through
// bench/callgrind_segments.sh; without valgrind it just runs).
//
// Two stacks over memlink on a VirtualClock (10 us per step, so the run is
// deterministic), one connection, A sending MSS-sized pool mbufs with
// send(Mbuf*) and B's application taking and freeing them. After a
// warm-up (slow start and quick ACKs over), two measured phases, each
// until N data segments went by:
//  recv: instrumentation on only around B's worker iterations: receiving
//        the data segments (Ethernet, IPv4, TCP input, delivery), B's
//        application taking and freeing them, and the ACKs B sends.
//  send: instrumentation on only around A's worker iterations: A's input
//        of those ACKs (freeing acknowledged data), its application
//        refilling the send buffer (on_writable), and sending the segments.
// Each phase ends in a callgrind dump ("recv", then "send"); the program
// prints the segment counts the script divides by.
//
// A's application refills when a third of the send buffer is free, in one
// burst: the send phase should span many refills, N well above
// window / 3 / MSS (the default 1 MiB window: 241 segments; at 64 MiB use
// N = 100000).
//
// usage: tcp_segment_cost [--segments N] [--offload] [--window BYTES]
//                         [--idle CONNS]
//   --offload: checksum offload NIC in front of memlink (no software
//              checksums), see bench/two_stacks_bench.h.
//   --idle:    first open CONNS idle connections (both connection tables
//              hold them): the per-segment counts must not change.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "bench/callgrind.h"
#include "bench/tcp_bench_apps.h"
#include "bench/two_stacks_bench.h"
#include "core/clock.h"

namespace ustack {
namespace {

constexpr std::uint16_t kPort = 5000;
constexpr Duration kStep = std::chrono::microseconds(10);

int run(std::uint64_t n, bool offload, std::uint32_t window, std::uint32_t idle) {
  VirtualClock clock;
  bench::BenchLinkOptions o;
  o.offload = offload;
  o.tcp.send_buffer = o.tcp.recv_buffer = window;
  const std::uint32_t segs = window / 1448 + 1;
  o.pool_a = std::max<std::uint32_t>(16384, 4 * segs + 16384);
  o.ring_size = std::bit_ceil(std::max<std::uint32_t>(4096, 2 * segs));
  o.tcp.max_connections = std::max(o.tcp.max_connections, idle + 16);
  bench::IdleHandler idle_client;
  bench::IdleHandler idle_server;
  bench::Acceptor idle_acceptor(&idle_server);
  bench::Sink sink;
  bench::Acceptor acceptor(&sink);
  std::string err;
  std::unique_ptr<bench::BenchStacks> s = bench::BenchStacks::create(o, clock, &err);
  if (!s) {
    std::fprintf(stderr, "tcp_segment_cost: %s\n", err.c_str());
    return 1;
  }
  bench::BulkSender sender(/*zero_copy=*/true, *s->a.pool);
  if (s->b.tcp().listen(kPort, acceptor, &err) == nullptr) {
    std::fprintf(stderr, "tcp_segment_cost: %s\n", err.c_str());
    return 1;
  }
  s->advance_per_step(clock, kStep);
  if (idle > 0 && !bench::open_idle(*s, idle, idle_client, idle_acceptor, &err)) {
    std::fprintf(stderr, "tcp_segment_cost: %s\n", err.c_str());
    return 1;
  }
  if (bench::open_bulk(*s, kPort, sender, sink, window, window / 2, &err) == 0) {
    std::fprintf(stderr, "tcp_segment_cost: %s\n", err.c_str());
    return 1;
  }
  const std::uint32_t mss = sender.conn->mss();
  // Warm-up: slow start, quick ACKs, pools and caches in their steady state.
  for (std::uint64_t i = 0; i < 1'000'000 && sink.bytes < (n + 20000) * mss; ++i) s->step();

  // (a) B's receive path.
  const std::uint64_t bytes0 = sink.bytes;
  const std::uint64_t b_rx0 = s->b.counter("tcp.rx");
  const std::uint64_t b_tx0 = s->b.counter("tcp.tx");
  std::uint64_t steps_recv = 0;
  while (s->b.counter("tcp.rx") - b_rx0 < n && steps_recv < 10'000'000) {
    s->a.worker->run_once();
    CALLGRIND_START_INSTRUMENTATION;
    s->b.worker->run_once();
    CALLGRIND_STOP_INSTRUMENTATION;
    clock.advance(kStep);
    ++steps_recv;
  }
  CALLGRIND_DUMP_STATS_AT("recv");
  const std::uint64_t recv_segments = s->b.counter("tcp.rx") - b_rx0;
  const std::uint64_t recv_bytes = sink.bytes - bytes0;
  const std::uint64_t recv_acks = s->b.counter("tcp.tx") - b_tx0;

  // (b) A's send path.
  const std::uint64_t a_tx0 = s->a.counter("tcp.tx");
  const std::uint64_t a_rx0 = s->a.counter("tcp.rx");
  const std::uint64_t rtx0 = s->a.counter("tcp.tx.retransmits");
  std::uint64_t steps_send = 0;
  while (s->a.counter("tcp.tx") - a_tx0 < n && steps_send < 10'000'000) {
    CALLGRIND_START_INSTRUMENTATION;
    s->a.worker->run_once();
    CALLGRIND_STOP_INSTRUMENTATION;
    s->b.worker->run_once();
    clock.advance(kStep);
    ++steps_send;
  }
  CALLGRIND_DUMP_STATS_AT("send");
  const std::uint64_t send_segments = s->a.counter("tcp.tx") - a_tx0;
  const std::uint64_t send_acks_in = s->a.counter("tcp.rx") - a_rx0;
  const std::uint64_t retransmits = s->a.counter("tcp.tx.retransmits") - rtx0;

  std::printf("mss=%u window=%u offload=%d connections=%u\n", mss, window, offload ? 1 : 0,
              s->a.tcp().connections());
  std::printf(
      "recv_segments=%llu recv_bytes=%llu recv_acks_sent=%llu recv_steps=%llu\n",
      static_cast<unsigned long long>(recv_segments), static_cast<unsigned long long>(recv_bytes),
      static_cast<unsigned long long>(recv_acks), static_cast<unsigned long long>(steps_recv));
  std::printf(
      "send_segments=%llu send_acks_received=%llu send_steps=%llu retransmits=%llu\n",
      static_cast<unsigned long long>(send_segments), static_cast<unsigned long long>(send_acks_in),
      static_cast<unsigned long long>(steps_send), static_cast<unsigned long long>(retransmits));
  if (recv_bytes != recv_segments * mss || retransmits != 0) {
    std::fprintf(stderr, "tcp_segment_cost: not a clean steady state\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace ustack

int main(int argc, char** argv) {
  std::uint64_t n = 10000;
  bool offload = false;
  std::uint32_t window = 1u << 20;
  std::uint32_t idle = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--segments") == 0 && i + 1 < argc) {
      n = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--offload") == 0) {
      offload = true;
    } else if (std::strcmp(argv[i], "--window") == 0 && i + 1 < argc) {
      window = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (std::strcmp(argv[i], "--idle") == 0 && i + 1 < argc) {
      idle = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: %s [--segments N] [--offload] [--window BYTES] [--idle CONNS]\n",
                   argv[0]);
      return 2;
    }
  }
  return ustack::run(n, offload, window, idle);
}
