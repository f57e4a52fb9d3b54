#include "proto/flow_steer.h"

#include "proto/wire/bytes.h"

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
  // IPv6 belongs to core 0 even when the NIC hashed it (a NIC hashes IPv6
  // TCP and UDP too): its neighbor cache, DAD and connections live there.
  if ((m.ol_flags & ol::kRxRssHash) != 0 && type != 0x86dd) return reta_.queue_of(m.rss_hash);
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

}  // namespace ustack
