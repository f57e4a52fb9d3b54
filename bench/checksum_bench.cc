// Checksum throughput and header parse-and-validate cost.
//
//   checksum_bench --benchmark_min_time=0.2
//
// BM_Checksum/N reports bytes_per_second for the contiguous Internet
// checksum over N bytes (64: a minimum frame, 1500: an Ethernet MTU, 9000: a
// jumbo frame); BM_ChecksumMbuf the same over a chain of odd-length
// segments. BM_ParseIpv4Tcp is the per-frame cost of what the receive path
// does before it looks at a connection: parse and validate the IPv4 header,
// verify its checksum, parse the TCP header and walk its options.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/mbuf_pool.h"
#include "core/random.h"
#include "proto/wire/checksum.h"
#include "proto/wire/ipv4.h"
#include "proto/wire/tcp.h"

namespace ustack::wire {
namespace {

std::vector<std::byte> random_bytes(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = std::byte(static_cast<std::uint8_t>(rng.next()));
  return v;
}

void BM_Checksum(benchmark::State& state) {
  const auto len = static_cast<std::size_t>(state.range(0));
  // One byte more so the odd-aligned variant reads the same length.
  const auto buf = random_bytes(len + 1, 1);
  const std::span<const std::byte> data(buf.data() + state.range(1), len);
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    benchmark::DoNotOptimize(internet_checksum(data));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(len));
}
// Args: length, start offset (1 = odd alignment).
BENCHMARK(BM_Checksum)
    ->ArgNames({"len", "misalign"})
    ->Args({64, 0})
    ->Args({1500, 0})
    ->Args({9000, 0})
    ->Args({1500, 1});

void BM_ChecksumMbuf(benchmark::State& state) {
  MbufPoolConfig cfg;
  cfg.name = "bench";
  cfg.capacity = 64;
  cfg.data_room = 2048;
  cfg.try_huge_pages = false;
  std::string err;
  auto pool = MbufPool::create(cfg, &err);
  if (!pool) {
    state.SkipWithError(err.c_str());
    return;
  }
  // 9000 bytes as segments of 1499 and a remainder: every segment after the
  // first starts at an odd offset of the packet.
  const auto data = random_bytes(9000, 2);
  MbufPtr head;
  for (std::size_t off = 0; off < data.size();) {
    const std::size_t n = std::min<std::size_t>(1499, data.size() - off);
    Mbuf* m = pool->alloc();
    std::copy_n(data.data() + off, n, m->append(static_cast<std::uint16_t>(n)));
    if (head) {
      head->chain(m);
    } else {
      head.reset(m);
    }
    off += n;
  }
  for (auto _ : state) benchmark::DoNotOptimize(checksum_mbuf(head.get(), 0, data.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 9000);
}
BENCHMARK(BM_ChecksumMbuf);

// IP(src="192.0.2.1", dst="198.51.100.2")/TCP(sport=80, dport=40000, seq=5000,
//   ack=1001, flags="A", window=501, options=[("NOP", None), ("NOP", None),
//   ("Timestamp", (1, 2)), ("NOP", None), ("NOP", None), ("SAck", (100, 200, 300, 400))])
//   /Raw(b"data")   (the same bytes as kIpTcpSack in tests/wire/tcp_test.cc)
// clang-format off
constexpr std::uint8_t kIpTcpSack[] = {
    0x45, 0x00, 0x00, 0x4c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x8e, 0x74,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x00, 0x50, 0x9c, 0x40,
    0x00, 0x00, 0x13, 0x88, 0x00, 0x00, 0x03, 0xe9, 0xd0, 0x10, 0x01, 0xf5,
    0xa1, 0xb6, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x02, 0x01, 0x01, 0x05, 0x12, 0x00, 0x00, 0x00, 0x64,
    0x00, 0x00, 0x00, 0xc8, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x00, 0x01, 0x90,
    0x64, 0x61, 0x74, 0x61,
};
// clang-format on

// Header validation only (checksums left to the offload flags).
void BM_ParseIpv4Tcp(benchmark::State& state) {
  const auto frame = std::as_bytes(std::span(kIpTcpSack));
  std::uint64_t sink = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    const auto ip = Ipv4View::parse(frame);
    if (!ip) continue;
    const auto tcp = TcpView::parse(ip->payload());
    if (!tcp) continue;
    const TcpOptions opts = tcp->options();
    sink += tcp->seq_number() + opts.sack_count + (opts.timestamps ? opts.timestamps->tsval : 0);
  }
  benchmark::DoNotOptimize(sink);
}
BENCHMARK(BM_ParseIpv4Tcp);

// The same plus both checksums in software (no offload).
void BM_ParseIpv4TcpWithChecksums(benchmark::State& state) {
  const auto frame = std::as_bytes(std::span(kIpTcpSack));
  std::uint64_t sink = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    const auto ip = Ipv4View::parse(frame);
    if (!ip || !ip->header_checksum_ok()) continue;
    const auto tcp = TcpView::parse(ip->payload());
    if (!tcp || !tcp->checksum_ok(ip->src(), ip->dst())) continue;
    const TcpOptions opts = tcp->options();
    sink += tcp->seq_number() + opts.sack_count;
  }
  benchmark::DoNotOptimize(sink);
}
BENCHMARK(BM_ParseIpv4TcpWithChecksums);

}  // namespace
}  // namespace ustack::wire
