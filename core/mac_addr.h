// A 48-bit Ethernet MAC address as a value type.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ustack {

struct MacAddr {
  std::array<std::uint8_t, 6> b{};

  static constexpr MacAddr broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  bool is_broadcast() const { return *this == broadcast(); }
  bool is_multicast() const { return (b[0] & 1) != 0; }
  bool is_zero() const { return *this == MacAddr{}; }
  // "aa:bb:cc:dd:ee:ff"
  std::string to_string() const;
  static std::optional<MacAddr> parse(std::string_view s);
  // A locally administered unicast address derived from `seed` (for tests
  // and for interfaces that need a made-up address).
  static MacAddr local_from(std::uint64_t seed);

  friend bool operator==(const MacAddr&, const MacAddr&) = default;
};

}  // namespace ustack
