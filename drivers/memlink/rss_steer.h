// Receive side scaling for memlink: which receive queue a frame lands on,
// chosen as a NIC does it (Microsoft, "RSS Hashing Types" and "RSS Hashing
// Functions"; DPDK's ETH_RSS_IPV4 | NONFRAG_IPV4_TCP | NONFRAG_IPV4_UDP):
//
//   IPv4 + TCP or UDP, not a fragment  Toeplitz over (src addr, dst addr,
//                                      src port, dst port)    (NDIS_HASH_TCP_IPV4,
//                                                              NDIS_HASH_UDP_IPV4)
//   other IPv4, and every fragment      Toeplitz over (src addr, dst addr)
//   (ICMP, first fragment included)                           (NDIS_HASH_IPV4)
//   anything else (ARP, IPv6, ...), or  no hash, queue 0: the spec's "non-RSS
//   a frame whose headers cannot be     receive processing"
//   read (truncated, split over
//   segments, bad version or IHL)
//
// then queue = RssReta[hash % 128]. One 802.1Q tag is skipped. IPv6 is
// left to queue 0 because ustack speaks IPv4 only.
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
// Returns its length: 12 (addresses and ports), 8 (addresses) or 0 (no hash).
inline constexpr std::size_t kRssInputMax = 12;
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
    const std::uint32_t h = len == 12 ? toeplitz_.hash_fixed<12>(in) : toeplitz_.hash_fixed<8>(in);
    m.rss_hash = h;
    m.ol_flags |= ol::kRxRssHash;
    return reta_.queue_of(h);
  }

 private:
  Toeplitz toeplitz_;
  RssReta reta_;
};

}  // namespace ustack
