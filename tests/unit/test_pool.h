// Helpers shared by tests that need an mbuf pool.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/mbuf_pool.h"

namespace ustack::testing {

inline std::unique_ptr<MbufPool> make_pool(std::uint32_t capacity = 1024,
                                           std::uint16_t data_room = 2048,
                                           const std::string& name = "test") {
  MbufPoolConfig cfg;
  cfg.name = name;
  cfg.capacity = capacity;
  cfg.data_room = data_room;
  cfg.try_huge_pages = false;
  std::string err;
  auto pool = MbufPool::create(cfg, &err);
  EXPECT_NE(pool, nullptr) << err;
  return pool;
}

// A single-segment mbuf holding `len` bytes of the pattern (i * mul + add).
inline Mbuf* make_frame(MbufPool& pool, std::uint16_t len, std::uint8_t add = 0) {
  Mbuf* m = pool.alloc();
  if (m == nullptr) return nullptr;
  std::byte* p = m->append(len);
  for (std::uint16_t i = 0; i < len; ++i) p[i] = std::byte(static_cast<std::uint8_t>(i * 7 + add));
  return m;
}

}  // namespace ustack::testing
