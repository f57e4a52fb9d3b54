#include "proto/flow_steer.h"

#include <algorithm>

#include "proto/wire/bytes.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/ipv6_ext.h"

namespace ustack {

std::uint16_t FlowSteer::owner_of_frame(const Mbuf& m) const {
  const std::byte* p = m.data();
  std::size_t len = m.data_len;
  if (len < 14) return 0;
  std::size_t off = 12;
  std::uint16_t type = wire::load_be16(p + off);
  if (type == 0x8100 && len >= 18) {  // 802.1Q
    off += 4;
    type = wire::load_be16(p + off);
  }
  off += 2;
  if (type == 0x86dd) return owner_of_ipv6(m, off);
  if (type == 0x0800 && len >= off + 20) {
    // An ICMP error belongs with the flow it quotes, whatever the NIC hashed.
    const std::byte* ip = p + off;
    const std::size_t ihl = std::size_t{wire::load_u8(ip) & 0x0fu} * 4;
    if ((wire::load_u8(ip) >> 4) == 4 && ihl >= 20 && len >= off + ihl &&
        wire::load_u8(ip + 9) == 1 && (wire::load_be16(ip + 6) & 0x3fffu) == 0) {
      const std::optional<std::uint16_t> o =
          owner_of_icmp_error_v4(std::span<const std::byte>(ip + ihl, len - off - ihl));
      if (o) return *o;
    }
  }
  if ((m.ol_flags & ol::kRxRssHash) != 0) return reta_.queue_of(m.rss_hash);
  // What a NIC hashes (Microsoft RSS: TCP/UDP over IPv4 with the ports,
  // other IPv4 and fragments with the addresses only). Only the first
  // segment is read; a frame too short for the fields goes to core 0,
  // whose stack counts it as malformed.
  if (type != 0x0800 || len < off + 20) return 0;
  const std::byte* ip = p + off;
  const std::size_t ihl = std::size_t{wire::load_u8(ip) & 0x0fu} * 4;
  if ((wire::load_u8(ip) >> 4) != 4 || ihl < 20 || len < off + ihl) return 0;
  const std::uint32_t src = wire::load_be32(ip + 12);
  const std::uint32_t dst = wire::load_be32(ip + 16);
  const std::uint8_t proto = wire::load_u8(ip + 9);
  const bool fragment = (wire::load_be16(ip + 6) & 0x3fffu) != 0;  // MF or offset
  if (!fragment && (proto == 6 || proto == 17) && len >= off + ihl + 4) {
    const std::uint16_t sport = wire::load_be16(ip + ihl);
    const std::uint16_t dport = wire::load_be16(ip + ihl + 2);
    return reta_.queue_of(hash_->hash_v4(src, dst, sport, dport));
  }
  return reta_.queue_of(hash_->hash_v4(src, dst));
}

std::uint16_t FlowSteer::owner_of_ipv6(const Mbuf& m, std::size_t off) const {
  // The list in flow_steer.h. Only the first segment is read; a frame too
  // short for what is needed goes to core 0, whose stack counts it.
  const std::size_t len = m.data_len;
  if (len < off + wire::Ipv6View::kHeaderLen) return 0;
  const auto packet = std::span<const std::byte>(m.data() + off, len - off);
  std::uint8_t upper = wire::load_u8(&packet[wire::Ipv6View::kNextHeaderOffset]);
  std::size_t upper_offset = wire::Ipv6View::kHeaderLen;
  if (wire::ipv6_is_extension(upper)) {
    // Rare: walked with the stack's own bounds (RFC 8504 §5.3).
    const wire::Ipv6Walk w =
        wire::walk_ipv6_headers(packet.first(std::min(packet.size(), wire::kMaxHeaderChain)));
    if (w.status != wire::Ipv6WalkStatus::kUpper) return 0;
    upper = w.upper;
    upper_offset = w.upper_offset;
  }
  if (upper == 58) {
    const std::optional<std::uint16_t> o = owner_of_icmp_error_v6(packet.subspan(upper_offset));
    return o ? *o : 0;
  }
  if (upper != 6 && upper != 17) return 0;
  if ((m.ol_flags & ol::kRxRssHash) != 0) return reta_.queue_of(m.rss_hash);
  if (packet.size() < upper_offset + 4) return 0;
  const Ipv6Addr src = Ipv6Addr::from_bytes(&packet[8]);
  const Ipv6Addr dst = Ipv6Addr::from_bytes(&packet[24]);
  return owner_v6(src, dst, wire::load_be16(&packet[upper_offset]),
                  wire::load_be16(&packet[upper_offset + 2]));
}

// ICMP errors quote the packet that caused them, which we sent: its source
// is ours and its destination the peer's (RFC 792; RFC 1122 §3.2.2 asks
// the error to be handed to the transport by the quoted ports). The flow
// as received swaps them. Only TCP and UDP quotes with both ports (at
// least 8 bytes past the quoted header, as RFC 792 and RFC 4443 §2.4 c
// give) are steered; anything else stays where it was going.
std::optional<std::uint16_t> FlowSteer::owner_of_icmp_error_v4(
    std::span<const std::byte> icmp) const {
  if (icmp.size() < 8 + 20) return std::nullopt;
  const std::uint8_t t = wire::load_u8(&icmp[0]);
  if (t != 3 && t != 4 && t != 11 && t != 12) return std::nullopt;
  const std::byte* q = &icmp[8];
  const std::size_t ihl = std::size_t{wire::load_u8(q) & 0x0fu} * 4;
  const std::uint8_t proto = wire::load_u8(q + 9);
  if ((wire::load_u8(q) >> 4) != 4 || ihl < 20 || icmp.size() < 8 + ihl + 4 ||
      (proto != 6 && proto != 17) || (wire::load_be16(q + 6) & 0x1fffu) != 0)
    return std::nullopt;
  return owner_v4(Ipv4Addr::from_u32(wire::load_be32(q + 16)),
                  Ipv4Addr::from_u32(wire::load_be32(q + 12)), wire::load_be16(q + ihl + 2),
                  wire::load_be16(q + ihl));
}

std::optional<std::uint16_t> FlowSteer::owner_of_icmp_error_v6(
    std::span<const std::byte> icmp) const {
  // Types 1-4: destination unreachable, packet too big, time exceeded,
  // parameter problem (RFC 4443 §3).
  if (icmp.size() < 8 + wire::Ipv6View::kHeaderLen) return std::nullopt;
  const std::uint8_t t = wire::load_u8(&icmp[0]);
  if (t < 1 || t > 4) return std::nullopt;
  const auto q = icmp.subspan(8);
  const wire::Ipv6Walk w =
      wire::walk_ipv6_headers(q.first(std::min(q.size(), wire::kMaxHeaderChain)));
  if (w.status != wire::Ipv6WalkStatus::kUpper || (w.upper != 6 && w.upper != 17) ||
      q.size() < w.upper_offset + 4)
    return std::nullopt;
  return owner_v6(Ipv6Addr::from_bytes(&q[24]), Ipv6Addr::from_bytes(&q[8]),
                  wire::load_be16(&q[w.upper_offset + 2]), wire::load_be16(&q[w.upper_offset]));
}

}  // namespace ustack
