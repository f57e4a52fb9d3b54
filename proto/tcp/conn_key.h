// The identity of a TCP connection: both addresses and ports, for either
// IP family, with a seeded hash for the per-core connection table.
#pragma once

#include <cstdint>
#include <cstring>

#include "proto/ip_addr.h"

namespace ustack {

struct ConnKey {
  IpAddr local;
  IpAddr remote;
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;

  friend bool operator==(const ConnKey& a, const ConnKey& b) {
    return a.local_port == b.local_port && a.remote_port == b.remote_port && a.remote == b.remote &&
           a.local == b.local;
  }
};

// A fast seeded mix of the 4-tuple (the seed is random per core, so bucket
// positions cannot be chosen from outside without knowing it).
inline std::uint64_t conn_hash(const ConnKey& k, std::uint64_t seed) {
  std::uint64_t w[5];
  std::memcpy(&w[0], k.local.b.data(), 8);
  std::memcpy(&w[1], k.local.b.data() + 8, 8);
  std::memcpy(&w[2], k.remote.b.data(), 8);
  std::memcpy(&w[3], k.remote.b.data() + 8, 8);
  w[4] = (std::uint64_t{k.local_port} << 16) | k.remote_port |
         (std::uint64_t{static_cast<std::uint8_t>(k.local.family)} << 32);
  std::uint64_t h = seed;
  for (std::uint64_t x : w) {
    h ^= x;
    h *= 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
  }
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 32);
}

}  // namespace ustack
