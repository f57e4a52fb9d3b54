// Frames for the RSS tests of memlink: Ethernet (optionally 802.1Q) + IPv4
// or IPv6 + the first bytes of TCP or UDP, written byte by byte here (not with
// proto/), and what a NIC would hash for them, computed from the tuple with
// core/toeplitz (itself checked against Microsoft's verification suite).
//
// Layout, as scapy would build it (`Ether()/Dot1Q(vlan=5)/IP(src=..,
// dst=.., proto=6, flags=MF, frag=..)/TCP(sport=.., dport=..)`, checksums
// left at zero since memlink does not check them): the frame's id sits in
// its last 4 bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>

#include "core/mbuf_pool.h"
#include "core/toeplitz.h"

namespace ustack::rss_test {

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kIcmp = 1;
constexpr std::uint8_t kIcmpv6 = 58;

struct Tuple {
  std::uint32_t src = 0, dst = 0;
  std::uint16_t sport = 0, dport = 0;
  std::uint8_t proto = kTcp;

  Tuple reversed() const { return {dst, src, dport, sport, proto}; }
};

struct FrameShape {
  bool vlan = false;
  bool fragment = false;       // MF set (a first fragment: offset 0)
  std::uint8_t ihl_words = 5;  // 6..15: options (zeros) before the ports
  std::uint16_t len = 96;
};

inline void put16(std::byte* p, std::uint16_t v) {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v & 0xff);
}
inline void put32(std::byte* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}

// A single-segment frame; nullptr when the pool is empty.
inline Mbuf* ipv4_frame(MbufPool& pool, const Tuple& t, std::uint32_t id,
                        const FrameShape& shape = {}) {
  Mbuf* m = pool.alloc();
  if (m == nullptr) return nullptr;
  std::byte* p = m->append(shape.len);
  std::memset(p, 0, shape.len);
  std::size_t l3 = 14;
  for (int i = 0; i < 6; ++i) p[i] = std::byte(0x02), p[6 + i] = std::byte(0x04);
  if (shape.vlan) {
    put16(p + 12, 0x8100);
    put16(p + 14, 5);  // VLAN id 5
    l3 += 4;
  }
  put16(p + l3 - 2, 0x0800);
  std::byte* ip = p + l3;
  ip[0] = std::byte(0x40 | shape.ihl_words);
  put16(ip + 2, static_cast<std::uint16_t>(shape.len - l3));
  put16(ip + 6, shape.fragment ? 0x2000 : 0x4000);  // MF, or DF
  ip[8] = std::byte(64);
  ip[9] = std::byte(t.proto);
  put32(ip + 12, t.src);
  put32(ip + 16, t.dst);
  std::byte* l4 = ip + shape.ihl_words * 4;
  if (t.proto != kIcmp) {
    put16(l4, t.sport);
    put16(l4 + 2, t.dport);
  }
  std::memcpy(p + shape.len - 4, &id, 4);
  return m;
}

// IPv6 (RFC 8200 §3) from `src` to `dst` (16 bytes each) carrying
// `next_header`: `ext` is a Hop-by-Hop Options header of 8 bytes (PadN) in
// front of it, `fragment` a Fragment header (offset 0, M set); the ports
// follow for TCP and UDP. As scapy builds `Ether()/IPv6(src=.., dst=..)/
// IPv6ExtHdrHopByHop()/TCP(sport=.., dport=..)`, checksums left at zero.
struct Ipv6Shape {
  bool ext = false;
  bool fragment = false;
  std::uint16_t len = 120;
};
inline Mbuf* ipv6_frame(MbufPool& pool, const std::uint8_t* src, const std::uint8_t* dst,
                        std::uint8_t next_header, std::uint16_t sport, std::uint16_t dport,
                        std::uint32_t id, const Ipv6Shape& shape = {}) {
  Mbuf* m = pool.alloc();
  if (m == nullptr) return nullptr;
  std::byte* p = m->append(shape.len);
  std::memset(p, 0, shape.len);
  for (int i = 0; i < 6; ++i) p[i] = std::byte(0x02), p[6 + i] = std::byte(0x04);
  put16(p + 12, 0x86dd);
  std::byte* ip = p + 14;
  ip[0] = std::byte(0x60);
  put16(ip + 4, static_cast<std::uint16_t>(shape.len - 54));
  ip[7] = std::byte(64);
  std::memcpy(ip + 8, src, 16);
  std::memcpy(ip + 24, dst, 16);
  std::byte* nh = ip + 6;
  std::byte* at = ip + 40;
  if (shape.ext) {  // Hop-by-Hop: next header, length 0, PadN of 4
    *nh = std::byte(0);
    nh = at;
    at[2] = std::byte(1);
    at[3] = std::byte(4);
    at += 8;
  }
  if (shape.fragment) {
    *nh = std::byte(44);
    nh = at;
    put16(at + 2, 1);  // offset 0, M
    put32(at + 4, id);
    at += 8;
  }
  *nh = std::byte(next_header);
  if (next_header == kTcp || next_header == kUdp) {
    put16(at, sport);
    put16(at + 2, dport);
  }
  std::memcpy(p + shape.len - 4, &id, 4);
  return m;
}

// A frame of `len` bytes with the given EtherType (ARP, IPv6, ...).
inline Mbuf* ether_frame(MbufPool& pool, std::uint16_t ether_type, std::uint32_t id,
                         std::uint16_t len = 60) {
  Mbuf* m = pool.alloc();
  if (m == nullptr) return nullptr;
  std::byte* p = m->append(len);
  std::memset(p, 0, len);
  std::memcpy(p + len - 4, &id, 4);
  put16(p + 12, ether_type);  // wins over the id in frames of 14 to 17 bytes
  return m;
}

inline std::uint32_t id_of(const Mbuf* m) {
  std::uint32_t id = 0;
  std::memcpy(&id, m->data() + m->data_len - 4, 4);
  return id;
}

inline std::uint16_t get16(const std::byte* p) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                                    std::to_integer<unsigned>(p[1]));
}
inline std::uint32_t get32(const std::byte* p) {
  return (std::uint32_t{get16(p)} << 16) | get16(p + 2);
}

// The tuple of a frame made by ipv4_frame() with the default shape.
inline Tuple tuple_of(const Mbuf* m) {
  const std::byte* ip = m->data() + 14;
  Tuple t;
  t.proto = std::to_integer<std::uint8_t>(ip[9]);
  t.src = get32(ip + 12);
  t.dst = get32(ip + 16);
  if (t.proto != kIcmp) {
    t.sport = get16(ip + 20);
    t.dport = get16(ip + 22);
  }
  return t;
}

// What a NIC hashes: the 4-tuple for TCP and UDP that are not fragments,
// the addresses otherwise.
inline std::uint32_t expected_hash(const Toeplitz& t, const Tuple& tu, const FrameShape& s = {}) {
  if (s.fragment || (tu.proto != kTcp && tu.proto != kUdp)) return t.hash_v4(tu.src, tu.dst);
  return t.hash_v4(tu.src, tu.dst, tu.sport, tu.dport);
}

inline Tuple random_tuple(std::mt19937& rng) {
  Tuple t;
  t.src = static_cast<std::uint32_t>(rng());
  t.dst = static_cast<std::uint32_t>(rng());
  t.sport = static_cast<std::uint16_t>(rng());
  t.dport = static_cast<std::uint16_t>(rng());
  const unsigned kind = rng() % 8;
  t.proto = kind < 5 ? kTcp : kind < 7 ? kUdp : kIcmp;
  return t;
}

}  // namespace ustack::rss_test
