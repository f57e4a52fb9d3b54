// Which core owns a flow, as a NIC's RSS decides it: the Toeplitz hash of
// the 4-tuple (TCP, UDP) or of the addresses (other IPv4), through the
// redirection table to a queue, and queue i is core i's. A stack that
// receives a frame its core does not own hands it to the owner through a
// ring (Stack::on_rx): where the driver cannot steer by this hash (memlink
// without RSS, af_packet fanout, multi-queue TAP) the flow still meets its
// connection on one core. Active opens choose a local port whose reply
// hashes back to the opening core (TcpLayer::connect).
#pragma once

#include <cstdint>

#include "core/mbuf.h"
#include "core/toeplitz.h"
#include "proto/ip_addr.h"

namespace ustack {

class FlowSteer {
 public:
  // `hash` must outlive this object (one table per process is enough).
  FlowSteer(const Toeplitz& hash, std::uint16_t cores, std::uint16_t self)
      : hash_(&hash), reta_(cores), self_(self) {}

  std::uint16_t self() const { return self_; }
  std::uint16_t cores() const { return reta_.queues(); }

  // The owner of a received frame: the driver's hash when it gave one
  // (ol::kRxRssHash), else the frame's own. Frames that are not IPv4 (ARP)
  // belong to core 0, as a NIC puts them on queue 0; so does IPv6, whatever
  // the NIC hashed.
  std::uint16_t owner_of_frame(const Mbuf& m) const;
  // The owner of a flow as received: `src` is the peer.
  std::uint16_t owner_v4(Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport,
                         std::uint16_t dport) const {
    return reta_.queue_of(hash_->hash_v4(src.to_u32(), dst.to_u32(), sport, dport));
  }

 private:
  const Toeplitz* hash_;
  RssReta reta_;
  std::uint16_t self_;
};

}  // namespace ustack
