#include "core/toeplitz.h"

namespace ustack {

const RssKey kRssKeyMicrosoft = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

const RssKey kRssKeySymmetric = [] {
  RssKey k{};
  for (std::size_t i = 0; i < k.size(); i += 2) {
    k[i] = 0x6d;
    k[i + 1] = 0x5a;
  }
  return k;
}();

namespace {

// The 32 key bits starting at bit `bit` (bit 0 = MSB of key[0]).
std::uint32_t window(const RssKey& key, std::size_t bit) {
  std::uint32_t w = 0;
  for (std::size_t j = 0; j < 32; ++j) {
    const std::size_t b = bit + j;
    const std::uint32_t v = (key[b / 8] >> (7 - b % 8)) & 1u;
    w = (w << 1) | v;
  }
  return w;
}

}  // namespace

Toeplitz::Toeplitz(const RssKey& key) : key_(key) {
  for (std::size_t pos = 0; pos < kMaxInput; ++pos) {
    std::array<std::uint32_t, 8> bits{};
    for (std::size_t b = 0; b < 8; ++b) bits[b] = window(key, pos * 8 + b);
    for (std::size_t v = 0; v < 256; ++v) {
      std::uint32_t h = 0;
      for (std::size_t b = 0; b < 8; ++b)
        if ((v >> (7 - b)) & 1u) h ^= bits[b];
      table_[pos][v] = h;
    }
  }
}

std::uint32_t Toeplitz::reference(const RssKey& key, std::span<const std::uint8_t> in) {
  std::uint32_t h = 0;
  for (std::size_t i = 0; i < in.size() && i < kMaxInput; ++i)
    for (std::size_t b = 0; b < 8; ++b)
      if ((in[i] >> (7 - b)) & 1u) h ^= window(key, i * 8 + b);
  return h;
}

std::uint32_t Toeplitz::hash_v4(std::uint32_t src, std::uint32_t dst, std::uint16_t sport,
                                std::uint16_t dport) const {
  const std::uint8_t in[12] = {
      static_cast<std::uint8_t>(src >> 24),  static_cast<std::uint8_t>(src >> 16),
      static_cast<std::uint8_t>(src >> 8),   static_cast<std::uint8_t>(src),
      static_cast<std::uint8_t>(dst >> 24),  static_cast<std::uint8_t>(dst >> 16),
      static_cast<std::uint8_t>(dst >> 8),   static_cast<std::uint8_t>(dst),
      static_cast<std::uint8_t>(sport >> 8), static_cast<std::uint8_t>(sport),
      static_cast<std::uint8_t>(dport >> 8), static_cast<std::uint8_t>(dport),
  };
  return hash(in);
}

std::uint32_t Toeplitz::hash_v4(std::uint32_t src, std::uint32_t dst) const {
  const std::uint8_t in[8] = {
      static_cast<std::uint8_t>(src >> 24), static_cast<std::uint8_t>(src >> 16),
      static_cast<std::uint8_t>(src >> 8),  static_cast<std::uint8_t>(src),
      static_cast<std::uint8_t>(dst >> 24), static_cast<std::uint8_t>(dst >> 16),
      static_cast<std::uint8_t>(dst >> 8),  static_cast<std::uint8_t>(dst),
  };
  return hash(in);
}

RssReta::RssReta(std::uint16_t queues) : queues_(queues == 0 ? 1 : queues) {
  for (std::size_t i = 0; i < kSize; ++i) reta_[i] = static_cast<std::uint16_t>(i % queues_);
}

}  // namespace ustack
