// Two ustack hosts over memlink (bench/two_stacks_bench.h: ARP pinned both
// ways) for ICMP echo measurements (icmp_bench, icmp_echo_cost): host B
// answers; the caller plays host A's driver, writing echo requests onto
// link end A, running B's worker (s->b.worker) and taking the replies back.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/two_stacks_bench.h"  // kAddrA, kAddrB
#include "proto/wire/ethernet.h"
#include "proto/wire/icmp.h"
#include "proto/wire/ipv4.h"

namespace ustack::bench {

// An echo request from A to B with `data_len` bytes of data, checksums
// filled: what `ping -s data_len` sends.
inline std::vector<std::byte> echo_request_frame(const MacAddr& src, const MacAddr& dst,
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

// The hosts after one real ping through both stacks, and the request frame: send() writes `burst`
// copies on end A, B's worker answers, collect() frees the replies.
struct IcmpWorld {
  std::unique_ptr<BenchStacks> s;
  std::vector<std::byte> request;
  Mbuf* tx[64];
  Mbuf* rx[64];

  bool open(const Clock& clock, std::uint16_t data_len, std::string* err) {
    s = BenchStacks::create(BenchLinkOptions{}, clock, err);
    if (!s) return false;
    s->sync();
    s->a.stack->icmp().send_echo_request(kAddrB, 1, 1);
    s->run_until([&] { return s->a.counter("icmp.rx.echo_reply") == 1; }, 10);
    if (s->a.counter("icmp.rx.echo_reply") != 1) {
      *err = "warm-up ping unanswered";
      return false;
    }
    request = echo_request_frame(s->link->a().mac(), s->link->b().mac(), data_len);
    return true;
  }
  // Requests written on end A; false when A's pool is empty.
  bool send(std::uint16_t burst, std::uint64_t* sent) {
    if (!s->a.pool->alloc_bulk(tx, burst)) return false;
    const auto len = static_cast<std::uint16_t>(request.size());
    for (std::uint16_t i = 0; i < burst; ++i) std::memcpy(tx[i]->append(len), request.data(), len);
    *sent += s->link->a().tx_burst(0, tx, burst);
    return true;
  }
  // Replies taken from end A and freed; how many.
  std::uint64_t collect() {
    std::uint64_t total = 0;
    for (std::uint16_t n; (n = s->link->a().rx_burst(0, rx, 64)) > 0;) {
      total += n;
      mbuf_free_bulk(rx, n);
    }
    return total;
  }
  // B's echo replies so far (the warm-up's excluded).
  std::uint64_t answered() { return s->b.counter("icmp.tx.echo_reply") - 1; }
};

}  // namespace ustack::bench
