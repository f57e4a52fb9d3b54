#include "proto/wire/checksum.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace ustack::wire {
namespace {

// a + b with the carry out of bit 63 added back in (end-around carry), so a
// 64-bit accumulator stays a one's-complement sum of its four 16-bit lanes.
// The result cannot carry again: after an overflow it is at most 2^64 - 2.
inline std::uint64_t add_carry(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  const bool carry = __builtin_add_overflow(a, b, &r);
  return r + carry;
}

inline std::uint64_t load64(const std::byte* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Sum of `n` bytes as native-order 16-bit words (little-endian on x86: the
// byte-swapped sum, which RFC 1071 §2 (B) allows; the caller swaps back).
std::uint64_t sum_native(const std::byte* p, std::size_t n) {
  // Four independent accumulators so the add-with-carry chains overlap.
  std::uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (; n >= 32; p += 32, n -= 32) {
    a0 = add_carry(a0, load64(p));
    a1 = add_carry(a1, load64(p + 8));
    a2 = add_carry(a2, load64(p + 16));
    a3 = add_carry(a3, load64(p + 24));
  }
  std::uint64_t sum = add_carry(add_carry(a0, a1), add_carry(a2, a3));
  for (; n >= 8; p += 8, n -= 8) sum = add_carry(sum, load64(p));
  if (n > 0) {
    // The tail, zero-padded to 8 bytes. Bytes keep their positions inside
    // the word, so an odd last byte lands in the high-order (first) byte of
    // a big-endian 16-bit word, padded with zero as RFC 1071 §1 says.
    std::uint64_t tail = 0;
    std::memcpy(&tail, p, n);
    sum = add_carry(sum, tail);
  }
  return sum;
}

}  // namespace

std::uint32_t checksum_partial(std::span<const std::byte> data, std::uint32_t sum) {
  std::uint16_t s = checksum_fold(sum_native(data.data(), data.size()));
  if constexpr (std::endian::native == std::endian::little) s = __builtin_bswap16(s);
  return checksum_add(sum, s);
}

std::uint32_t checksum_mbuf(const Mbuf* m, std::size_t offset, std::size_t len, std::uint32_t sum) {
  std::size_t done = 0;  // bytes summed so far: the offset of the next piece
  for (; m != nullptr && done < len; m = m->next) {
    if (offset >= m->data_len) {
      offset -= m->data_len;
      continue;
    }
    const std::size_t n = std::min<std::size_t>(m->data_len - offset, len - done);
    const std::uint32_t piece = checksum_partial({m->data() + offset, n});
    sum = checksum_add_at(sum, piece, done);
    done += n;
    offset = 0;
  }
  return sum;
}

}  // namespace ustack::wire
