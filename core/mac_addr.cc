#include "core/mac_addr.h"

#include <charconv>
#include <cstdio>

namespace ustack {

std::string MacAddr::to_string() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                b[5]);
  return buf;
}

std::optional<MacAddr> MacAddr::parse(std::string_view s) {
  if (s.size() != 17) return std::nullopt;
  MacAddr m;
  for (int i = 0; i < 6; ++i) {
    const char* p = s.data() + i * 3;
    if (i < 5 && p[2] != ':') return std::nullopt;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p, p + 2, v, 16);
    if (ec != std::errc() || end != p + 2) return std::nullopt;
    m.b[i] = static_cast<std::uint8_t>(v);
  }
  return m;
}

MacAddr MacAddr::local_from(std::uint64_t seed) {
  MacAddr m;
  m.b[0] = 0x02;  // locally administered, unicast
  for (int i = 1; i < 6; ++i) m.b[i] = static_cast<std::uint8_t>(seed >> (8 * (5 - i)));
  return m;
}

}  // namespace ustack
