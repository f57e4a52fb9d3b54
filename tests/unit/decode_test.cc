// ustack dump's one-line decoder (apps/decode.h) on IPv6: extension header
// chains, ICMPv6 (echo, neighbor discovery, errors, MLD), TCP and UDP in the
// same form as over IPv4, and what is malformed. The packets are scapy's:
// tests/wire/ipv6_vectors.h and tests/unit/decode_vectors.h.
#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <string>

#include "apps/decode.h"
#include "core/mbuf_pool.h"
#include "unit/decode_vectors.h"
#include "wire/ipv6_vectors.h"

namespace ustack::app {
namespace {

namespace v6 = wire::v6vectors;
namespace dv = decode_vectors;

class Decode : public ::testing::Test {
 protected:
  void SetUp() override {
    MbufPoolConfig cfg;
    cfg.capacity = 16;
    cfg.try_huge_pages = false;
    std::string err;
    pool_ = MbufPool::create(cfg, &err);
    ASSERT_NE(pool_, nullptr) << err;
  }

  // The packet behind an Ethernet header of `ethertype`, decoded.
  std::string line(std::span<const std::uint8_t> packet, std::uint16_t ethertype = 0x86dd) {
    Mbuf* m = pool_->alloc();
    EXPECT_NE(m, nullptr);
    std::byte* p = m->append(static_cast<std::uint16_t>(14 + packet.size()));
    const std::uint8_t eth[14] = {2,
                                  0,
                                  0,
                                  0,
                                  0,
                                  0xa,
                                  2,
                                  0,
                                  0,
                                  0,
                                  0,
                                  0xb,
                                  static_cast<std::uint8_t>(ethertype >> 8),
                                  static_cast<std::uint8_t>(ethertype & 0xff)};
    std::memcpy(p, eth, 14);
    std::memcpy(p + 14, packet.data(), packet.size());
    const std::string s = decode_frame(*m, &facts_);
    mbuf_free(m);
    return s;
  }

  std::unique_ptr<MbufPool> pool_;
  FrameFacts facts_;
};

TEST_F(Decode, EchoRequestAndReply) {
  EXPECT_EQ(line(v6::kEchoRequest),
            "IP6 fd00::1 > fd00::2: ICMP6, echo request, id 4660, seq 7, length 16");
  EXPECT_EQ(facts_.kind, FrameFacts::Kind::kIcmp6);
  EXPECT_TRUE(facts_.has_ip);
  EXPECT_EQ(facts_.src, *IpAddr::parse("fd00::1"));
  EXPECT_EQ(facts_.dst, *IpAddr::parse("fd00::2"));
  EXPECT_EQ(line(v6::kEchoReply),
            "IP6 fd00::2 > fd00::1: ICMP6, echo reply, id 4660, seq 7, length 16");
}

TEST_F(Decode, NeighborDiscovery) {
  EXPECT_EQ(line(v6::kNeighborSolicit),
            "IP6 fd00::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has fd00::2, "
            "length 32");
  EXPECT_EQ(line(v6::kDadSolicit),
            "IP6 :: > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has fd00::2, length 24");
  EXPECT_EQ(line(v6::kNeighborAdvert),
            "IP6 fd00::2 > fd00::1: ICMP6, neighbor advertisement, tgt is fd00::2, "
            "Flags [solicited, override], length 32");
  EXPECT_EQ(line(dv::kRouterSolicit),
            "IP6 fe80::1 > ff02::2: ICMP6, router solicitation, length 8");
  EXPECT_EQ(facts_.kind, FrameFacts::Kind::kIcmp6);
}

TEST_F(Decode, Icmpv6Errors) {
  EXPECT_EQ(line(v6::kPacketTooBig),
            "IP6 fd00::9 > fd00::2: ICMP6, packet too big, mtu 1280, length 68");
  EXPECT_EQ(line(v6::kPortUnreachable),
            "IP6 fd00::1 > fd00::2: ICMP6, destination unreachable, port unreachable, length 57");
  EXPECT_EQ(line(dv::kTimeExceeded),
            "IP6 fd00::9 > fd00::1: ICMP6, time exceeded reassembly, length 56");
  EXPECT_EQ(line(dv::kParamProblem),
            "IP6 fd00::2 > fd00::1: ICMP6, parameter problem, code 1, pointer 40, length 56");
}

TEST_F(Decode, MulticastListenerReportBehindHopByHop) {
  EXPECT_EQ(line(dv::kMldv2Report),
            "IP6 fe80::1 > ff02::16: [HBH] ICMP6, multicast listener report v2, length 8");
}

TEST_F(Decode, TcpOverIpv6ReadsAsOverIpv4) {
  const std::string v4 = line(dv::kTcpDataV4, 0x0800);
  EXPECT_EQ(v4,
            "IP 10.0.0.2.8888 > 10.0.0.1.40000: Flags [P.], seq 100:110, ack 2000, win 512, "
            "length 10");
  const std::string v6line = line(dv::kTcpData);
  EXPECT_EQ(v6line,
            "IP6 fd00::2.8888 > fd00::1.40000: Flags [P.], seq 100:110, ack 2000, win 512, "
            "length 10");
  EXPECT_EQ(facts_.kind, FrameFacts::Kind::kTcp);
  EXPECT_EQ(facts_.sport, 8888);
  EXPECT_EQ(facts_.dport, 40000);
  EXPECT_EQ(line(dv::kTcpSynAck),
            "IP6 fd00::2.8888 > fd00::1.40000: Flags [S.], seq 1, ack 1001, win 65535, "
            "options [mss 1440,sackOK,wscale 7], length 0");
  EXPECT_EQ(facts_.tcp_flags, 0x12);
  EXPECT_EQ(line(v6::kTcpSynV6),
            "IP6 fd00::1.40000 > fd00::2.80: Flags [S], seq 1000, win 8192, "
            "options [mss 1440], length 0");
}

TEST_F(Decode, Udp) {
  EXPECT_EQ(line(v6::kUdp), "IP6 fd00::1.5000 > fd00::2.7: UDP, length 5");
  EXPECT_EQ(facts_.kind, FrameFacts::Kind::kUdp);
  EXPECT_EQ(facts_.sport, 5000);
  EXPECT_EQ(facts_.dport, 7);
  // Link padding after the payload length is not the packet's.
  EXPECT_EQ(line(v6::kUdpPadded), "IP6 fd00::1.5000 > fd00::2.7: UDP, length 2");
  EXPECT_EQ(line(dv::kUdpBadLength), "IP6 fd00::1.5000 > fd00::2.7: UDP, malformed length 4");
}

TEST_F(Decode, ExtensionHeadersAreNamed) {
  EXPECT_EQ(line(v6::kHbhPadN), "IP6 fd00::1.5000 > fd00::2.7: [HBH] UDP, length 0");
  EXPECT_EQ(line(v6::kChain),
            "IP6 fd00::1 > fd00::2: [HBH DSTOPT srcrt DSTOPT] ICMP6, echo request, id 0, seq 0, "
            "length 8");
  EXPECT_EQ(line(v6::kAtomicFragment), "IP6 fd00::1.5000 > fd00::2.7: [frag] UDP, length 0");
  EXPECT_EQ(line(v6::kNoNext), "IP6 fd00::1 > fd00::2: [DSTOPT] no next header, length 16");
}

TEST_F(Decode, FragmentsAndRefusedChains) {
  EXPECT_EQ(line(v6::kFragment),
            "IP6 fd00::1 > fd00::2: [frag] frag id 43981 offset 8+, next-header 17, length 8");
  EXPECT_EQ(facts_.kind, FrameFacts::Kind::kIpOther);
  EXPECT_EQ(line(v6::kRouting0Active),
            "IP6 fd00::1 > fd00::2: [srcrt] routing type 0, segments left 1, length 32");
  EXPECT_EQ(line(v6::kHbhDiscard),
            "IP6 fd00::1 > fd00::2: [HBH] unknown option the receiver must discard, length 16");
  EXPECT_EQ(line(v6::kHbhLate),
            "IP6 fd00::1 > fd00::2: [DSTOPT HBH] malformed chain, hop-by-hop options not first, "
            "length 24");
  EXPECT_EQ(line(v6::kNineHeaders),
            "IP6 fd00::1 > fd00::2: [HBH DSTOPT DSTOPT DSTOPT DSTOPT DSTOPT DSTOPT DSTOPT] more "
            "than 8 extension headers, length 80");
}

TEST_F(Decode, MalformedIsSaidPlainly) {
  // Not version 6.
  std::uint8_t bad[40] = {0x40};
  EXPECT_EQ(line(bad), "IP6, malformed header, length 54");
  EXPECT_FALSE(facts_.has_ip);
  // Shorter than the fixed header.
  EXPECT_EQ(line(std::span(v6::kUdp).first(30)), "IP6, malformed header, length 44");
  // A payload length past what was captured.
  EXPECT_EQ(line(std::span(v6::kUdp).first(50)),
            "IP6 fd00::1 > fd00::2: truncated, payload length 13, 10 bytes captured");
  // An extension header whose length runs past the payload: the packet
  // says 16 bytes of Hop-by-Hop options, and its payload length allows 8.
  std::uint8_t cut[48];
  std::memcpy(cut, v6::kHbhPadN, 48);
  cut[5] = 8;
  cut[41] = 1;
  EXPECT_EQ(line(cut), "IP6 fd00::1 > fd00::2: [HBH] extension header truncated, length 8");
  // An ICMPv6 message shorter than its 8-byte header; an NS without target.
  std::uint8_t icmp[44];
  std::memcpy(icmp, v6::kEchoRequest, 44);
  icmp[5] = 4;
  EXPECT_EQ(line(icmp), "IP6 fd00::1 > fd00::2: ICMP6, truncated");
  std::uint8_t ns[56];
  std::memcpy(ns, v6::kNeighborSolicit, 56);
  ns[5] = 16;
  EXPECT_EQ(line(ns), "IP6 fd00::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, truncated");
  // A TCP header cut short.
  std::uint8_t tcp[52];
  std::memcpy(tcp, dv::kTcpData, 52);
  tcp[5] = 12;
  EXPECT_EQ(line(tcp), "IP6 fd00::2 > fd00::1: TCP, malformed header");
}

}  // namespace
}  // namespace ustack::app
