// ICMP echo turnaround on one core: host B's whole receive-to-transmit path
// (Ethernet, IPv4 with header checksum, ICMP with checksum, the reply made
// in place in the received mbuf, ARP lookup, transmit batch) over memlink.
//
// Two stacks are built as in tests/proto/two_stacks.h and one ping settles
// ARP; then host A's stack steps aside and the benchmark plays A's driver
// itself. Each iteration: allocate a burst of echo requests from A's pool,
// copy a prebuilt frame into each, transmit them on link end A, run B's
// worker once (receive burst, stack, timers, flush), receive the replies on
// end A and free them. The Mpps figure counts replies received by A, so it
// includes allocation, the template copy, both memlink crossings, B's
// worker iteration (one TSC read) and the frees; it excludes A's stack.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/mbuf_pool.h"
#include "core/worker.h"
#include "drivers/memlink/memlink.h"
#include "proto/stack.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/icmp.h"
#include "proto/wire/ipv4.h"

namespace ustack {
namespace {

constexpr Ipv4Addr kAddrA = Ipv4Addr::from_u32(0x0a000001);  // 10.0.0.1
constexpr Ipv4Addr kAddrB = Ipv4Addr::from_u32(0x0a000002);  // 10.0.0.2

struct Host {
  std::unique_ptr<MbufPool> pool;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<Stack> stack;
};

bool make_host(Host& h, const char* name, Port& port, Ipv4Addr addr, const Clock& clock,
               std::string* err) {
  MbufPoolConfig pc;
  pc.name = name;
  pc.capacity = 8192;
  h.pool = MbufPool::create(pc, err);
  if (!h.pool) return false;
  WorkerConfig wc;
  wc.name = name;
  h.worker = std::make_unique<Worker>(wc, clock);
  TxBatch& tx = h.worker->add_queue(port, 0);
  h.worker->add_pool(*h.pool);
  StackConfig sc;
  sc.netif.mac = port.mac();
  sc.netif.addrs = {Ipv4Cidr{addr, 24}};
  sc.seed = addr.to_u32();
  h.stack = std::make_unique<Stack>(sc, *h.pool, h.worker->timers(), h.worker->counters(), tx,
                                    clock.now());
  h.worker->set_handler(*h.stack);
  return true;
}

// An echo request from A to B with `data_len` bytes of data, checksums
// filled: what `ping -s data_len` sends.
std::vector<std::byte> echo_request_frame(const MacAddr& src, const MacAddr& dst,
                                          std::uint16_t data_len) {
  const std::uint16_t icmp_len = static_cast<std::uint16_t>(8 + data_len);
  std::vector<std::byte> f(14 + 20 + icmp_len);
  wire::EthernetRepr{dst, src, wire::kEtherTypeIpv4, std::nullopt}.emit(f);
  wire::Ipv4Repr ip;
  ip.src = kAddrA;
  ip.dst = kAddrB;
  ip.protocol = wire::kIpProtoIcmp;
  ip.payload_len = icmp_len;
  ip.emit(std::span(f).subspan(14, 20));
  const std::span<std::byte> icmp = std::span(f).subspan(34);
  for (std::size_t i = 8; i < icmp.size(); ++i) icmp[i] = std::byte(static_cast<std::uint8_t>(i));
  wire::IcmpRepr::echo(wire::kIcmpEchoRequest, 0x4242, 1).emit(icmp);
  return f;
}

void BM_IcmpEchoTurnaround(benchmark::State& state) {
  const auto burst = static_cast<std::uint16_t>(state.range(0));
  const auto data_len = static_cast<std::uint16_t>(state.range(1));
  TscClock clock;
  std::string err;
  auto link = Memlink::create(MemlinkConfig{}, clock, &err);
  Host a, b;
  if (!link || !make_host(a, "a", link->a(), kAddrA, clock, &err) ||
      !make_host(b, "b", link->b(), kAddrB, clock, &err)) {
    state.SkipWithError(err.c_str());
    return;
  }
  // One ping through both stacks: B learns A's address from A's ARP request.
  a.stack->set_now(clock.now());
  a.stack->icmp().send_echo_request(kAddrB, 1, 1);
  for (int i = 0; i < 10; ++i) {
    a.worker->run_once();
    b.worker->run_once();
  }
  if (a.worker->counters().value("icmp.rx.echo_reply") != 1) {
    state.SkipWithError("warm-up ping unanswered");
    return;
  }
  // Pinned, so that a run past reachable_time (30 s) sends no ARP probe
  // into the measured frames.
  b.stack->arp().cache().add_static(kAddrA, link->a().mac());

  const std::vector<std::byte> tmpl =
      echo_request_frame(link->a().mac(), link->b().mac(), data_len);
  const auto len = static_cast<std::uint16_t>(tmpl.size());
  Port& end_a = link->a();
  Mbuf* tx[64];
  Mbuf* rx[64];
  std::uint64_t sent = 0;
  std::uint64_t replies = 0;
  for (auto _ : state) {
    if (!a.pool->alloc_bulk(tx, burst)) {
      state.SkipWithError("pool empty");
      break;
    }
    for (std::uint16_t i = 0; i < burst; ++i) std::memcpy(tx[i]->append(len), tmpl.data(), len);
    sent += end_a.tx_burst(0, tx, burst);
    b.worker->run_once();
    const std::uint16_t n = end_a.rx_burst(0, rx, 64);
    replies += n;
    mbuf_free_bulk(rx, n);
  }
  for (std::uint16_t n; (n = end_a.rx_burst(0, rx, 64)) > 0;) {
    replies += n;
    mbuf_free_bulk(rx, n);
  }
  const std::uint64_t answered = b.worker->counters().value("icmp.tx.echo_reply") - 1;
  if (replies != sent || answered != sent) state.SkipWithError("not every request was answered");
  state.SetItemsProcessed(static_cast<std::int64_t>(replies));
  state.SetBytesProcessed(static_cast<std::int64_t>(replies) * len);
  state.counters["Mpps"] =
      benchmark::Counter(static_cast<double>(replies) / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_IcmpEchoTurnaround)->Args({32, 56})->Args({32, 1472})->Args({1, 56});

}  // namespace
}  // namespace ustack
