// Receive side scaling for memlink: which receive queue a frame lands on,
// chosen as a NIC does it (Microsoft, "RSS Hashing Types" and "RSS Hashing
// Functions"; DPDK's ETH_RSS_IPV4 | NONFRAG_IPV4_TCP | NONFRAG_IPV4_UDP |
// IPV6 | NONFRAG_IPV6_TCP | NONFRAG_IPV6_UDP):
//
//   IPv4 + TCP or UDP, not a fragment  Toeplitz over (src addr, dst addr,
//                                      src port, dst port)    (NDIS_HASH_TCP_IPV4,
//                                                              NDIS_HASH_UDP_IPV4)
//   other IPv4, and every fragment      Toeplitz over (src addr, dst addr)
//   (ICMP, first fragment included)                           (NDIS_HASH_IPV4)
//   IPv6 + TCP or UDP after Hop-by-Hop, the same over the 16-byte addresses
//   Destination Options and Routing    (NDIS_HASH_TCP_IPV6, NDIS_HASH_UDP_IPV6:
//   headers (at most 8)                "skip over any IPv6 extension headers")
//   other IPv6 (ICMPv6, fragments, a   Toeplitz over (src addr, dst addr)
//   longer chain)                      (NDIS_HASH_IPV6)
//   anything else (ARP, ...), or a     no hash, queue 0: the spec's "non-RSS
//   frame whose headers cannot be      receive processing"
//   read (truncated, split over
//   segments, bad version or IHL)
//
// then queue = RssReta[hash % 128]. One 802.1Q tag is skipped.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/mbuf.h"
#include "core/port.h"
#include "core/toeplitz.h"

namespace ustack {

// RSS of one receiving end. Off: a frame sent on queue q arrives on queue q.
struct RssSteerConfig {
  bool enabled = false;
  RssKey key = kRssKeyMicrosoft;  // or kRssKeySymmetric

  // What the receiving port reports in PortCapabilities::rss.
  RssKind kind() const;
};

// What a NIC would hash for frame `m`, read from its first segment and
// never past pkt_len: the Toeplitz input in wire order, written to `out`.
// Returns its length: 12 or 36 (IPv4 or IPv6 addresses and ports), 8 or 32
// (addresses) or 0 (no hash).
inline constexpr std::size_t kRssInputMax = 36;
std::size_t rss_input_of(const Mbuf& m, std::uint8_t (&out)[kRssInputMax]);

class RssSteer {
 public:
  RssSteer(const RssKey& key, std::uint16_t queues);

  // The receive queue for `m`. Sets m->rss_hash and ol::kRxRssHash when a
  // hash was computed (as DPDK PMDs report it) and clears the flag when not,
  // so a reused mbuf never carries a stale hash.
  std::uint16_t steer(Mbuf& m) const {
    std::uint8_t in[kRssInputMax];
    const std::size_t len = rss_input_of(m, in);
    if (len == 0) {
      m.ol_flags &= ~ol::kRxRssHash;
      return 0;
    }
    std::uint32_t h = 0;
    switch (len) {
      case 12:
        h = toeplitz_.hash_fixed<12>(in);
        break;
      case 8:
        h = toeplitz_.hash_fixed<8>(in);
        break;
      case 36:
        h = toeplitz_.hash_fixed<36>(in);
        break;
      default:
        h = toeplitz_.hash_fixed<32>(in);
        break;
    }
    m.rss_hash = h;
    m.ol_flags |= ol::kRxRssHash;
    return reta_.queue_of(h);
  }

 private:
  Toeplitz toeplitz_;
  RssReta reta_;
};

}  // namespace ustack
