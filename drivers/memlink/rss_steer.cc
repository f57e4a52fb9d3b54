#include "drivers/memlink/rss_steer.h"

#include <algorithm>
#include <cstring>

namespace ustack {
namespace {

constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint16_t kEtherTypeVlan = 0x8100;  // 802.1Q
constexpr std::size_t kEtherLen = 14;
constexpr std::size_t kVlanLen = 4;
constexpr std::size_t kIpv4MinLen = 20;
constexpr std::size_t kIpv4AddrsOffset = 12;  // source, then destination
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint16_t kFragMask = 0x3fff;  // MF flag and fragment offset
constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr std::size_t kIpv6HeaderLen = 40;
constexpr std::size_t kIpv6AddrsOffset = 8;
constexpr std::size_t kIpv6MaxExtHeaders = 8;  // as the stack's walk (RFC 8504 §5.3)

std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

// IPv6 at `ip`, `avail` bytes of it in the segment.
std::size_t ipv6_input_of(const std::uint8_t* ip, std::size_t avail,
                          std::uint8_t (&out)[kRssInputMax]) {
  if (avail < kIpv6HeaderLen || (ip[0] >> 4) != 6) return 0;
  std::memcpy(out, ip + kIpv6AddrsOffset, 32);
  std::uint8_t nh = ip[6];
  std::size_t off = kIpv6HeaderLen;
  // Hop-by-Hop (0), Routing (43) and Destination Options (60) are skipped;
  // a Fragment header (44) makes it a fragment: addresses only.
  for (std::size_t i = 0; i < kIpv6MaxExtHeaders && (nh == 0 || nh == 43 || nh == 60); ++i) {
    if (avail < off + 2) return 32;
    nh = ip[off];
    off += (std::size_t{ip[off + 1]} + 1) * 8;
  }
  if (nh != kProtoTcp && nh != kProtoUdp) return 32;
  if (avail < off + 4) return 32;
  std::memcpy(out + 32, ip + off, 4);
  return 36;
}

}  // namespace

RssKind RssSteerConfig::kind() const {
  if (!enabled) return RssKind::kNone;
  return key == kRssKeySymmetric ? RssKind::kSymmetricToeplitz : RssKind::kToeplitz;
}

std::size_t rss_input_of(const Mbuf& m, std::uint8_t (&out)[kRssInputMax]) {
  // The headers are parsed from the first segment: every driver of ustack
  // puts them there, and a frame split earlier is treated like one the NIC
  // cannot interpret (no hash, queue 0), never read across segments or
  // past pkt_len.
  const std::size_t avail = std::min<std::size_t>(m.data_len, m.pkt_len);
  const auto* p = reinterpret_cast<const std::uint8_t*>(m.data());
  std::size_t l3 = kEtherLen;
  if (avail < l3) return 0;
  std::uint16_t type = be16(p + 12);
  if (type == kEtherTypeVlan) {
    l3 += kVlanLen;
    if (avail < l3) return 0;
    type = be16(p + 16);
  }
  if (type == kEtherTypeIpv6) return ipv6_input_of(p + l3, avail - l3, out);
  if (type != kEtherTypeIpv4 || avail < l3 + kIpv4MinLen) return 0;
  const std::uint8_t* ip = p + l3;
  if ((ip[0] >> 4) != 4) return 0;
  // "The NIC must identify and skip over any IP options that are present"
  // (NDIS_HASH_TCP_IPV4): the transport header starts after IHL words.
  const std::size_t ihl = std::size_t{ip[0] & 0x0fu} * 4;
  if (ihl < kIpv4MinLen || avail < l3 + ihl) return 0;
  std::memcpy(out, ip + kIpv4AddrsOffset, 8);
  // "For fragmented IP datagrams, NDIS_HASH_IPV4 must be used. This
  // includes the first fragment which contains both IP and TCP header":
  // otherwise the fragments of one datagram would scatter over queues.
  const bool fragment = (be16(ip + 6) & kFragMask) != 0;
  const std::uint8_t proto = ip[9];
  if (fragment || (proto != kProtoTcp && proto != kProtoUdp)) return 8;
  if (avail < l3 + ihl + 4) return 0;  // ports cut off: cannot interpret it
  std::memcpy(out + 8, ip + ihl, 4);
  return 12;
}

RssSteer::RssSteer(const RssKey& key, std::uint16_t queues) : toeplitz_(key), reta_(queues) {}

}  // namespace ustack
