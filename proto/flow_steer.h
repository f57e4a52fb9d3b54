// Which core owns a flow, as a NIC's RSS decides it: the Toeplitz hash of
// the 4-tuple (TCP, UDP, over IPv4 or IPv6) or of the addresses (other
// IPv4), through the redirection table to a queue, and queue i is core i's.
//
// What belongs to core 0 whatever a NIC hashed, and why:
//  - every frame that is not IP (ARP: core 0 answers and copies it to the
//    others, Stack::share_neighbor_frames);
//  - IPv6 that is not TCP or UDP: ICMPv6 (neighbor discovery, whose
//    messages core 0 answers and copies to the others like ARP; echo;
//    errors that quote no TCP or UDP packet), and fragments, which core 0
//    reassembles (RFC 8200 §4.5: a
//    non-first fragment has no ports to hash, so all of a datagram's
//    fragments must meet in one place, and the NIC spreads them over the
//    address hash);
//  - IPv6 whose extension header chain the walk of proto/wire/ipv6_ext
//    refuses, so its counters and ICMPv6 errors are core 0's.
// ICMP and ICMPv6 errors that quote a TCP or UDP packet belong to the core
// that owns the quoted flow (its connection learns of the error there:
// Packet Too Big, Fragmentation Needed, port unreachable), whatever a NIC
// hashed.
// TCP and UDP over IPv6 are hashed over (source, destination, source port,
// destination port) after any extension headers, as NDIS_HASH_TCP_IPV6 and
// NDIS_HASH_UDP_IPV6 ask ("the NIC must identify and skip over any IPv6
// extension headers"). A stack that
// receives a frame its core does not own hands it to the owner through a
// ring (Stack::on_rx): where the driver cannot steer by this hash (memlink
// without RSS, af_packet fanout, multi-queue TAP) the flow still meets its
// connection on one core. Active opens choose a local port whose reply
// hashes back to the opening core (TcpLayer::connect).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

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
  // (ol::kRxRssHash) for IPv4 and for TCP/UDP over IPv6, else the frame's
  // own; core 0 for what the list above gives it.
  std::uint16_t owner_of_frame(const Mbuf& m) const;
  // The owner of a flow as received: `src` is the peer.
  std::uint16_t owner_v4(Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport,
                         std::uint16_t dport) const {
    return reta_.queue_of(hash_->hash_v4(src.to_u32(), dst.to_u32(), sport, dport));
  }
  std::uint16_t owner_v6(const Ipv6Addr& src, const Ipv6Addr& dst, std::uint16_t sport,
                         std::uint16_t dport) const {
    return reta_.queue_of(hash_->hash_v6(src.b, dst.b, sport, dport));
  }
  // Either family (src and dst of one family).
  std::uint16_t owner(const IpAddr& src, const IpAddr& dst, std::uint16_t sport,
                      std::uint16_t dport) const {
    return src.is_v6() ? owner_v6(src.as_v6(), dst.as_v6(), sport, dport)
                       : owner_v4(src.as_v4(), dst.as_v4(), sport, dport);
  }

 private:
  std::uint16_t owner_of_ipv6(const Mbuf& m, std::size_t off) const;
  std::optional<std::uint16_t> owner_of_icmp_error_v4(std::span<const std::byte> icmp) const;
  std::optional<std::uint16_t> owner_of_icmp_error_v6(std::span<const std::byte> icmp) const;

  const Toeplitz* hash_;
  RssReta reta_;
  std::uint16_t self_;
};

}  // namespace ustack
