// Toeplitz hash (Microsoft RSS; the hash NICs compute to pick a receive
// queue) in software, and the redirection table that maps a hash to a
// queue. Used to steer flows to their owner core where a driver cannot
// (memlink, af_packet fanout, multi-queue TAP), and to choose local ports
// of active opens so that replies hash back to the opening core.
//
// The hash of input bytes d[0..n) under a key K of at least n + 4 bytes is
// the XOR, over every set bit i of d (bit 0 = the MSB of d[0]), of the 32
// bits of K starting at bit i. Tables hold that XOR for every byte value at
// every input position: one lookup per input byte.
//
// Input for TCP or UDP over IPv4 or IPv6 (the order NICs use, Microsoft's
// NDIS_HASH_TCP_IPV4/IPV6): source address, destination address, source
// port, destination port, in network byte order, as the packet carries
// them; 12 bytes for IPv4, 36 for IPv6. Without the ports: 8 or 32 bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace ustack {

inline constexpr std::size_t kRssKeySize = 40;  // enough for IPv6 + ports (36 bytes)
using RssKey = std::array<std::uint8_t, kRssKeySize>;

// The key of Microsoft's RSS specification (verification suite), the
// default of most NICs and of DPDK's examples.
extern const RssKey kRssKeyMicrosoft;
// 0x6d5a repeated: the hash of a 4-tuple equals that of its reverse, so
// both directions of a flow land on the same queue (Woo and Park, 2012).
extern const RssKey kRssKeySymmetric;

class Toeplitz {
 public:
  static constexpr std::size_t kMaxInput = kRssKeySize - 4;

  explicit Toeplitz(const RssKey& key);
  // Bit-by-bit reference, for any input up to kMaxInput bytes.
  static std::uint32_t reference(const RssKey& key, std::span<const std::uint8_t> in);

  std::uint32_t hash(std::span<const std::uint8_t> in) const {
    std::uint32_t h = 0;
    for (std::size_t i = 0; i < in.size(); ++i) h ^= table_[i][in[i]];
    return h;
  }
  // The same for an input whose length is known when compiling (unrolled:
  // the per-frame path of a driver that steers by it).
  template <std::size_t N>
  std::uint32_t hash_fixed(const std::uint8_t* in) const {
    static_assert(N <= kMaxInput);
    return hash_unrolled(in, std::make_index_sequence<N>{});
  }
  // IPv4 addresses and ports as host-order integers (converted here).
  std::uint32_t hash_v4(std::uint32_t src, std::uint32_t dst, std::uint16_t sport,
                        std::uint16_t dport) const;
  std::uint32_t hash_v4(std::uint32_t src, std::uint32_t dst) const;
  // IPv6 addresses as their 16 bytes in network order, ports in host order.
  using V6Bytes = std::array<std::uint8_t, 16>;
  std::uint32_t hash_v6(const V6Bytes& src, const V6Bytes& dst, std::uint16_t sport,
                        std::uint16_t dport) const {
    return hash_v6(src, dst) ^ table_[32][sport >> 8] ^ table_[33][sport & 0xff] ^
           table_[34][dport >> 8] ^ table_[35][dport & 0xff];
  }
  std::uint32_t hash_v6(const V6Bytes& src, const V6Bytes& dst) const {
    std::uint32_t h = 0;
    for (std::size_t i = 0; i < 16; ++i) h ^= table_[i][src[i]] ^ table_[16 + i][dst[i]];
    return h;
  }

  const RssKey& key() const { return key_; }

 private:
  template <std::size_t... I>
  std::uint32_t hash_unrolled(const std::uint8_t* in, std::index_sequence<I...>) const {
    return (table_[I][in[I]] ^ ...);
  }

  RssKey key_;
  std::array<std::array<std::uint32_t, 256>, kMaxInput> table_;
};

// RSS redirection table: queue = table[hash % size]. Filled round robin over
// `queues` as NICs do by default.
class RssReta {
 public:
  static constexpr std::size_t kSize = 128;
  explicit RssReta(std::uint16_t queues = 1);
  std::uint16_t queue_of(std::uint32_t hash) const { return reta_[hash % kSize]; }
  std::uint16_t queues() const { return queues_; }

 private:
  std::array<std::uint16_t, kSize> reta_{};
  std::uint16_t queues_;
};

}  // namespace ustack
