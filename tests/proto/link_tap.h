// For stack tests that play a peer by hand: FrameTap records every frame a
// host receives before its stack sees it, and send_from_a() puts an IPv6
// packet on the link as host A's driver would.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <vector>

#include "proto/two_stacks.h"
#include "proto/wire/bytes.h"
#include "proto/wire/ethernet.h"

namespace ustack::testing {

// Installed with worker->set_handler(tap) in place of the host's stack.
struct FrameTap : PacketHandler {
  explicit FrameTap(Stack& s) : inner(s) {}
  void on_rx(Worker& w, std::size_t q, Mbuf** pkts, std::uint16_t n, Instant now) override {
    for (std::uint16_t i = 0; i < n; ++i) {
      std::vector<std::byte> f(pkts[i]->pkt_len);
      mbuf_read(pkts[i], 0, f);
      frames.push_back(std::move(f));
      times.push_back(now);
    }
    inner.on_rx(w, q, pkts, n, now);
  }
  void on_poll(Worker& w, Instant now) override { inner.on_poll(w, now); }
  Stack& inner;
  std::vector<std::vector<std::byte>> frames;
  std::vector<Instant> times;
};

// `packet` (from its IPv6 header) in a frame from A's MAC to `dst_mac`,
// then a few steps so B has processed it.
inline void send_from_a(TwoStacks& t, std::span<const std::byte> packet, const MacAddr& dst_mac) {
  Mbuf* m = t.a.pool->alloc();
  ASSERT_NE(m, nullptr);
  std::byte* p = m->append(static_cast<std::uint16_t>(14 + packet.size()));
  wire::store_mac(p, dst_mac);
  wire::store_mac(p + 6, t.link->a().mac());
  wire::store_be16(p + 12, wire::kEtherTypeIpv6);
  std::memcpy(p + 14, packet.data(), packet.size());
  ASSERT_EQ(t.link->a().tx_burst(0, &m, 1), 1u);
  for (int i = 0; i < 4; ++i) t.step();
}

}  // namespace ustack::testing
