// Path MTU for IPv6 (RFC 8201): what Packet Too Big messages said about
// destinations, in a small fixed table (no allocation after construction),
// each estimate aging out after `max_age` so a larger MTU is found again
// (§4: "no less than 5 minutes", 10 recommended). Estimates never go below
// the IPv6 minimum of 1280 (§4) nor above the link's MTU.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "core/instant.h"
#include "proto/ip_addr.h"

namespace ustack {

class PathMtuCache {
 public:
  static constexpr std::size_t kEntries = 64;
  static constexpr std::uint32_t kMinMtu = 1280;

  explicit PathMtuCache(Duration max_age = std::chrono::minutes(10)) : max_age_(max_age) {}

  // The MTU to use toward `dst` on a link of `link_mtu`.
  std::uint32_t mtu(const Ipv6Addr& dst, std::uint32_t link_mtu, Instant now) const {
    for (const Entry& e : entries_)
      if (e.mtu != 0 && e.dst == dst && now < e.expires) return std::min(e.mtu, link_mtu);
    return link_mtu;
  }

  // A Packet Too Big reported `mtu` toward `dst`. True when the estimate
  // went down (a larger report never raises it, §4).
  bool update(const Ipv6Addr& dst, std::uint32_t mtu, Instant now) {
    mtu = std::max(mtu, kMinMtu);
    Entry* slot = nullptr;
    for (Entry& e : entries_) {
      if (e.mtu != 0 && e.dst == dst && now < e.expires) {
        if (mtu >= e.mtu) return false;
        slot = &e;
        break;
      }
    }
    if (slot == nullptr) {
      // A free or expired entry, else the next in turn.
      for (Entry& e : entries_)
        if (e.mtu == 0 || now >= e.expires) {
          slot = &e;
          break;
        }
      if (slot == nullptr) slot = &entries_[next_++ % kEntries];
    }
    *slot = {dst, mtu, now + max_age_};
    return true;
  }

 private:
  struct Entry {
    Ipv6Addr dst;
    std::uint32_t mtu = 0;  // 0: free
    Instant expires{};
  };
  std::array<Entry, kEntries> entries_{};
  std::size_t next_ = 0;
  Duration max_age_;
};

}  // namespace ustack
