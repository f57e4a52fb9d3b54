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
  if (upper != 6 && upper != 17) return 0;
  if ((m.ol_flags & ol::kRxRssHash) != 0) return reta_.queue_of(m.rss_hash);
  if (packet.size() < upper_offset + 4) return 0;
  const Ipv6Addr src = Ipv6Addr::from_bytes(&packet[8]);
  const Ipv6Addr dst = Ipv6Addr::from_bytes(&packet[24]);
  return owner_v6(src, dst, wire::load_be16(&packet[upper_offset]),
                  wire::load_be16(&packet[upper_offset + 2]));
}

}  // namespace ustack
