// Big-endian loads and stores for header views.
//
// Network byte order is big-endian (RFC 791 Appendix B). Fields are read and
// written through memcpy plus a byte swap, never by casting a pointer to a
// packed struct: the bytes may sit at any alignment inside a frame, and the
// memcpy compiles to one (unaligned) load or store.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ustack::wire {

inline std::uint16_t to_be16(std::uint16_t v) {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap16(v);
  return v;
}
inline std::uint32_t to_be32(std::uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap32(v);
  return v;
}
inline std::uint64_t to_be64(std::uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
  return v;
}

inline std::uint8_t load_u8(const std::byte* p) {
  return std::to_integer<std::uint8_t>(*p);
}
inline void store_u8(std::byte* p, std::uint8_t v) {
  *p = std::byte{v};
}

inline std::uint16_t load_be16(const std::byte* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return to_be16(v);
}
inline std::uint32_t load_be32(const std::byte* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return to_be32(v);
}
inline std::uint64_t load_be64(const std::byte* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return to_be64(v);
}

inline void store_be16(std::byte* p, std::uint16_t v) {
  v = to_be16(v);
  std::memcpy(p, &v, sizeof v);
}
inline void store_be32(std::byte* p, std::uint32_t v) {
  v = to_be32(v);
  std::memcpy(p, &v, sizeof v);
}
inline void store_be64(std::byte* p, std::uint64_t v) {
  v = to_be64(v);
  std::memcpy(p, &v, sizeof v);
}

}  // namespace ustack::wire
