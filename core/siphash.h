// SipHash-2-4 (Aumasson and Bernstein): a keyed hash for values an attacker
// must not predict or steer: TCP initial sequence numbers (RFC 6528),
// connection-table and fragment-table buckets, SYN cookies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ustack {

struct SipKey {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
};

// A key from the system's random source (getrandom).
SipKey sip_random_key();

inline std::uint64_t siphash24(const SipKey& key, const void* data, std::size_t len) {
  auto rotl = [](std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); };
  std::uint64_t v0 = 0x736f6d6570736575ull ^ key.k0;
  std::uint64_t v1 = 0x646f72616e646f6dull ^ key.k1;
  std::uint64_t v2 = 0x6c7967656e657261ull ^ key.k0;
  std::uint64_t v3 = 0x7465646279746573ull ^ key.k1;
  auto round = [&] {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  };
  const auto* p = static_cast<const unsigned char*>(data);
  const std::size_t blocks = len / 8;
  for (std::size_t i = 0; i < blocks; ++i) {
    std::uint64_t m = 0;
    std::memcpy(&m, p + i * 8, 8);  // little-endian hosts, as the reference
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  std::uint64_t b = static_cast<std::uint64_t>(len) << 56;
  const std::size_t left = len & 7;
  for (std::size_t i = 0; i < left; ++i) b |= std::uint64_t{p[blocks * 8 + i]} << (8 * i);
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace ustack
