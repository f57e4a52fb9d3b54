// The Internet checksum (RFC 1071) and the helpers around it.
//
// Vocabulary used below:
//  - a *partial sum* is the 16-bit one's-complement sum of some bytes read
//    as big-endian 16-bit words, not complemented, folded into 0..0xffff
//    and held in a uint32_t. Partial sums of pieces add up (checksum_add)
//    as long as every piece starts at an even offset of the whole; a piece
//    that starts at an odd offset is byte-swapped first (RFC 1071 §2 (B),
//    byte order independence) -- checksum_add_at() does that.
//  - a *checksum* is the complement of the folded partial sum, the value in
//    a header field (checksum_finish()).
//
// To verify, sum the covered bytes with the checksum field as received: a
// correct message gives checksum 0. To fill in, zero the field, sum, and
// store the checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/mbuf.h"
#include "proto/ip_addr.h"

namespace ustack::wire {

// Folds a wide one's-complement accumulator to 16 bits (end-around carries).
// Two folds per halving: one fold of a 64-bit value can leave 33 bits, and
// a 16-bit fold of that can leave 0x10000 (found by the UDP sweep at 819
// bytes; checksum_test has the values).
constexpr std::uint16_t checksum_fold(std::uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);  // <= 0x1'ffff'fffe
  sum = (sum & 0xffffffffu) + (sum >> 32);  // <= 0xffff'ffff
  sum = (sum & 0xffffu) + (sum >> 16);      // <= 0x1'fffe
  sum = (sum & 0xffffu) + (sum >> 16);      // <= 0xffff
  return static_cast<std::uint16_t>(sum);
}

// One's-complement sum of two partial sums.
constexpr std::uint32_t checksum_add(std::uint32_t a, std::uint32_t b) {
  return checksum_fold(std::uint64_t{a} + b);
}

// Adds `piece`, the partial sum of bytes that start `offset` bytes into the
// summed region: at an odd offset its bytes sit in the other half of every
// word, which for a one's-complement sum is a byte swap (RFC 1071 §2 (B)).
constexpr std::uint32_t checksum_add_at(std::uint32_t sum, std::uint32_t piece,
                                        std::size_t offset) {
  piece = checksum_fold(piece);
  if (offset & 1) piece = static_cast<std::uint16_t>((piece >> 8) | (piece << 8));
  return checksum_add(sum, piece);
}

// The checksum field value for a partial sum.
constexpr std::uint16_t checksum_finish(std::uint32_t sum) {
  return static_cast<std::uint16_t>(~checksum_fold(sum));
}

// Partial sum of `data` added to `sum`; `data` is taken to start at an even
// offset. Any length, any alignment. Reads 8 bytes per step (four steps per
// loop) into 64-bit accumulators with end-around carry.
std::uint32_t checksum_partial(std::span<const std::byte> data, std::uint32_t sum = 0);

// checksum_finish(checksum_partial(data)): the checksum of a contiguous run,
// e.g. the IPv4 header checksum (RFC 791 §3.1) or an ICMP message (RFC 792).
inline std::uint16_t internet_checksum(std::span<const std::byte> data) {
  return checksum_finish(checksum_partial(data));
}

// Partial sum of `len` bytes of the chain `m` starting `offset` bytes into
// it, added to `sum`. Segments may have any length, odd included. Bytes past
// the end of the chain are not there to sum: the caller has checked that
// offset + len <= m->pkt_len.
std::uint32_t checksum_mbuf(const Mbuf* m, std::size_t offset, std::size_t len,
                            std::uint32_t sum = 0);

// Partial sum of the IPv4 pseudo-header that TCP (RFC 9293 §3.1, "Checksum")
// and UDP (RFC 768) put in front of their checksum: source, destination,
// zero, protocol, and the TCP/UDP length (header plus data).
constexpr std::uint32_t ipv4_pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol,
                                               std::uint16_t l4_len) {
  const std::uint32_t s = src.to_u32();
  const std::uint32_t d = dst.to_u32();
  return checksum_fold(std::uint64_t{s >> 16} + (s & 0xffff) + (d >> 16) + (d & 0xffff) + protocol +
                       l4_len);
}

// The TCP/UDP checksum over a contiguous segment (header with its checksum
// field as it is, plus data). 0 when verifying a correct segment.
inline std::uint16_t ipv4_l4_checksum(Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol,
                                      std::span<const std::byte> segment) {
  return checksum_finish(checksum_partial(
      segment,
      ipv4_pseudo_header_sum(src, dst, protocol, static_cast<std::uint16_t>(segment.size()))));
}

// Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1) that TCP, UDP and
// ICMPv6 (RFC 4443 §2.3) sum in front of their message: source,
// destination, the 32-bit upper-layer length, three zero bytes and the
// next header value.
inline std::uint32_t ipv6_pseudo_header_sum(const Ipv6Addr& src, const Ipv6Addr& dst,
                                            std::uint8_t next_header, std::uint32_t l4_len) {
  std::uint64_t sum = std::uint64_t{l4_len >> 16} + (l4_len & 0xffff) + next_header;
  for (int i = 0; i < 16; i += 2) {
    sum += (std::uint32_t{src.b[i]} << 8) | src.b[i + 1];
    sum += (std::uint32_t{dst.b[i]} << 8) | dst.b[i + 1];
  }
  return checksum_fold(sum);
}

// The pseudo-header of either family: the transports keep one code path for
// both (addresses as IpAddr; an IPv4 length never passes 16 bits).
inline std::uint32_t ip_pseudo_header_sum(const IpAddr& src, const IpAddr& dst,
                                          std::uint8_t protocol, std::uint32_t l4_len) {
  if (src.is_v6()) return ipv6_pseudo_header_sum(src.as_v6(), dst.as_v6(), protocol, l4_len);
  return ipv4_pseudo_header_sum(src.as_v4(), dst.as_v4(), protocol,
                                static_cast<std::uint16_t>(l4_len));
}

// What goes in the TCP/UDP field when the driver computes an IPv6 checksum:
// the pseudo-header partial sum (RFC 8200 §8.1), not complemented, as
// DPDK's rte_ipv6_phdr_cksum gives it and a virtio-net header expects.
inline std::uint16_t ipv6_pseudo_header_for_offload(const Ipv6Addr& src, const Ipv6Addr& dst,
                                                    std::uint8_t next_header,
                                                    std::uint32_t l4_len) {
  return static_cast<std::uint16_t>(ipv6_pseudo_header_sum(src, dst, next_header, l4_len));
}

// Either family, and the offload flag that names it (ol::kTxIpv4/kTxIpv6).
inline std::uint16_t ip_pseudo_header_for_offload(const IpAddr& src, const IpAddr& dst,
                                                  std::uint8_t protocol, std::uint32_t l4_len) {
  return static_cast<std::uint16_t>(ip_pseudo_header_sum(src, dst, protocol, l4_len));
}
inline std::uint32_t tx_family_flag(const IpAddr& a) {
  return a.is_v6() ? ol::kTxIpv6 : ol::kTxIpv4;
}

// The ICMPv6 / TCP / UDP checksum of a contiguous IPv6 upper-layer message
// (checksum field as it is): 0 when verifying a correct one.
inline std::uint16_t ipv6_l4_checksum(const Ipv6Addr& src, const Ipv6Addr& dst,
                                      std::uint8_t next_header,
                                      std::span<const std::byte> message) {
  return checksum_finish(checksum_partial(
      message,
      ipv6_pseudo_header_sum(src, dst, next_header, static_cast<std::uint32_t>(message.size()))));
}

// What goes in the TCP/UDP checksum field when the driver computes the
// checksum (ol::kTxTcpCksum / kTxUdpCksum): the pseudo-header partial sum,
// not complemented, which the hardware continues over the segment (the
// convention of DPDK's rte_ipv4_phdr_cksum). With TSO (ol::kTxTcpSeg) the
// length is left out, because the hardware adds each segment's own length.
constexpr std::uint16_t ipv4_pseudo_header_for_offload(Ipv4Addr src, Ipv4Addr dst,
                                                       std::uint8_t protocol, std::uint16_t l4_len,
                                                       bool tso) {
  return static_cast<std::uint16_t>(ipv4_pseudo_header_sum(src, dst, protocol, tso ? 0 : l4_len));
}

// Incremental update (RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m')) of a
// checksum `hc` when a 16-bit field changes from `old_v` to `new_v`.
// Eqn. 3 rather than RFC 1141's eqn. 2, which yields 0xffff (-0) where a
// full recomputation yields 0 (RFC 1624 §4). The result equals a full
// recomputation whenever the covered data is not all zero: only all-zero
// data has checksum 0xffff (RFC 1624 §3), and every IPv4, TCP, UDP and ICMP
// header has a nonzero word.
constexpr std::uint16_t checksum_update16(std::uint16_t hc, std::uint16_t old_v,
                                          std::uint16_t new_v) {
  const std::uint32_t sum =
      std::uint32_t{static_cast<std::uint16_t>(~hc)} + static_cast<std::uint16_t>(~old_v) + new_v;
  return static_cast<std::uint16_t>(~checksum_fold(sum));
}

// The same for a 32-bit field (an IPv4 address, a sequence number): two
// 16-bit changes, done in one sum.
constexpr std::uint16_t checksum_update32(std::uint16_t hc, std::uint32_t old_v,
                                          std::uint32_t new_v) {
  const std::uint64_t sum = std::uint64_t{static_cast<std::uint16_t>(~hc)} +
                            static_cast<std::uint16_t>(~(old_v >> 16)) +
                            static_cast<std::uint16_t>(~old_v) + (new_v >> 16) + (new_v & 0xffff);
  return static_cast<std::uint16_t>(~checksum_fold(sum));
}

// ---- Receive offload flags (set by drivers in Mbuf::ol_flags).

enum class RxChecksum : std::uint8_t {
  kUnknown,  // the driver did not check: verify in software
  kGood,     // the driver verified it: skip the software check
  kBad,      // the driver found it wrong: drop
};

// Both flags set is not a state this stack defines (DPDK uses it for "not
// present/not checked" on some NICs), so it falls back to checking in
// software rather than trusting either flag.
inline RxChecksum rx_checksum_state(std::uint32_t flags, std::uint32_t good, std::uint32_t bad) {
  const bool g = (flags & good) != 0;
  const bool b = (flags & bad) != 0;
  if (g == b) return RxChecksum::kUnknown;
  return g ? RxChecksum::kGood : RxChecksum::kBad;
}
inline RxChecksum rx_ip_checksum(const Mbuf& m) {
  return rx_checksum_state(m.ol_flags, ol::kRxIpCksumGood, ol::kRxIpCksumBad);
}
inline RxChecksum rx_l4_checksum(const Mbuf& m) {
  return rx_checksum_state(m.ol_flags, ol::kRxL4CksumGood, ol::kRxL4CksumBad);
}
// True when the stack has to compute the checksum to know (no verdict from
// the driver). Check the *_known_bad() helpers first: a bad verdict drops.
inline bool ip_checksum_needs_verify(const Mbuf& m) {
  return rx_ip_checksum(m) == RxChecksum::kUnknown;
}
inline bool l4_checksum_needs_verify(const Mbuf& m) {
  return rx_l4_checksum(m) == RxChecksum::kUnknown;
}
inline bool ip_checksum_known_bad(const Mbuf& m) {
  return rx_ip_checksum(m) == RxChecksum::kBad;
}
inline bool l4_checksum_known_bad(const Mbuf& m) {
  return rx_l4_checksum(m) == RxChecksum::kBad;
}

// ---- Transmit offload flags (requests to the driver).

// True when the driver fills the IPv4 header checksum, so software leaves
// the field 0.
inline bool tx_ip_checksum_offloaded(const Mbuf& m) {
  return (m.ol_flags & ol::kTxIpCksum) != 0;
}
// True when the driver fills the TCP or UDP checksum, so software writes
// ipv4_pseudo_header_for_offload() into the field instead of the checksum.
inline bool tx_l4_checksum_offloaded(const Mbuf& m) {
  return (m.ol_flags & (ol::kTxTcpCksum | ol::kTxUdpCksum | ol::kTxTcpSeg)) != 0;
}

// Completes here a TCP or UDP checksum that was left to the driver (the
// field holds the pseudo-header sum, ol::kTxTcpCksum or kTxUdpCksum set),
// for a packet that is fragmented after all: a driver sums one frame, and
// only the first fragment holds the header. `m` starts with the TCP or UDP
// header, in its first segment. Clears the requests.
inline void tx_l4_checksum_in_software(Mbuf* m) {
  const bool tcp = (m->ol_flags & ol::kTxTcpCksum) != 0;
  const std::size_t field = tcp ? 16 : 6;
  std::uint16_t c = checksum_finish(checksum_mbuf(m, 0, m->pkt_len));
  if (c == 0 && !tcp) c = 0xffff;  // RFC 768, RFC 8200 §8.1: zero means none
  const std::byte bytes[2] = {std::byte(c >> 8), std::byte(c & 0xff)};
  m->data()[field] = bytes[0];
  m->data()[field + 1] = bytes[1];
  m->ol_flags &= ~(ol::kTxTcpCksum | ol::kTxUdpCksum | ol::kTxIpv4 | ol::kTxIpv6);
}

}  // namespace ustack::wire
