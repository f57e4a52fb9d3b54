// Helpers shared by the wire tests: byte arrays (as pasted from scapy) to
// spans and vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ustack::wire::testing {

template <std::size_t N>
std::span<const std::byte> bytes_of(const std::uint8_t (&a)[N]) {
  return std::as_bytes(std::span<const std::uint8_t, N>(a));
}

// A mutable copy, for the mutable views and for corrupting a byte.
template <std::size_t N>
std::vector<std::byte> copy_of(const std::uint8_t (&a)[N]) {
  const auto s = bytes_of(a);
  return {s.begin(), s.end()};
}

inline std::vector<std::byte> to_vec(std::span<const std::byte> s) {
  return {s.begin(), s.end()};
}

inline std::string_view as_text(std::span<const std::byte> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

}  // namespace ustack::wire::testing
