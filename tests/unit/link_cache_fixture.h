// A link-layer address cache (ARP, IPv6 neighbors) under test: the cache on
// a virtual clock and its own timer wheel, an I/O double that records what
// it would send (`Io` with a `sent` vector of frames), and a pool that must
// be whole again at the end.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <utility>

#include "core/clock.h"
#include "core/counters.h"
#include "core/mac_addr.h"
#include "core/timer_wheel.h"
#include "unit/test_pool.h"

namespace ustack::testing {

template <typename Cache, typename Config, typename Io>
struct LinkCacheFixture {
  VirtualClock clock;
  TimerWheel wheel{clock.now()};
  CounterSet counters;
  Io io;
  std::unique_ptr<MbufPool> pool = make_pool(256);
  Config cfg;
  std::unique_ptr<Cache> cache;

  // `extra` follows the cache's (config, wheel, counters, io) arguments.
  template <typename... Extra>
  explicit LinkCacheFixture(Config c, Extra&&... extra) : cfg(c) {
    cache = std::make_unique<Cache>(cfg, wheel, counters, io, std::forward<Extra>(extra)...);
  }
  ~LinkCacheFixture() {
    cache.reset();
    for (Mbuf* m : io.sent) mbuf_free(m);
    EXPECT_EQ(pool->in_use(), 0u) << "no mbuf leaked";
  }
  Mbuf* frame(std::uint8_t tag) { return make_frame(*pool, 60, tag); }
  void advance(Duration d) {
    clock.advance(d);
    wheel.advance(clock.now());
  }
  // The destination MAC of the i-th frame sent.
  MacAddr dst_of(std::size_t i) const {
    MacAddr m;
    std::memcpy(m.b.data(), io.sent[i]->data(), 6);
    return m;
  }
  std::uint64_t count(const char* name) { return counters.get(name).value(); }
};

}  // namespace ustack::testing
