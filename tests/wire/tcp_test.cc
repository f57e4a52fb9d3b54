// TcpView / TcpOptions / TcpRepr against segments built with scapy 2.5.
// Each array is bytes(<the scapy 2.5 expression in the comment above it>),
// evaluated after `from scapy.all import *`.
#include "proto/wire/tcp.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "core/random.h"
#include "proto/wire/checksum.h"
#include "proto/wire/ipv4.h"
#include "wire_test_util.h"

namespace ustack::wire {
namespace {

using testing::as_text;
using testing::bytes_of;
using testing::copy_of;
using testing::to_vec;

// clang-format off
// IP(src="192.0.2.1", dst="198.51.100.2")/TCP(sport=40000, dport=80, seq=1000, flags="S", window=64240, options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (12345, 0)), ("NOP", None), ("WScale", 7)])
constexpr std::uint8_t kIpTcpSyn[] = {
    0x45, 0x00, 0x00, 0x3c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x8e, 0x84,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x9c, 0x40, 0x00, 0x50,
    0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
    0x90, 0x26, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x00, 0x00, 0x30, 0x39, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};
// IP(src="192.0.2.1", dst="198.51.100.2")/TCP(sport=80, dport=40000, seq=5000, ack=1001, flags="A", window=501, options=[("NOP", None), ("NOP", None), ("Timestamp", (1, 2)), ("NOP", None), ("NOP", None), ("SAck", (100, 200, 300, 400))])/Raw(b"data")
constexpr std::uint8_t kIpTcpSack[] = {
    0x45, 0x00, 0x00, 0x4c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x8e, 0x74,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x00, 0x50, 0x9c, 0x40,
    0x00, 0x00, 0x13, 0x88, 0x00, 0x00, 0x03, 0xe9, 0xd0, 0x10, 0x01, 0xf5,
    0xa1, 0xb6, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x02, 0x01, 0x01, 0x05, 0x12, 0x00, 0x00, 0x00, 0x64,
    0x00, 0x00, 0x00, 0xc8, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x00, 0x01, 0x90,
    0x64, 0x61, 0x74, 0x61,
};
// IP(src="192.0.2.1", dst="198.51.100.2")/TCP(sport=80, dport=40000, seq=0xfffffff0, ack=0x80000000, flags="PA", window=65535, urgptr=0)/Raw(b"hello world")
constexpr std::uint8_t kIpTcpData[] = {
    0x45, 0x00, 0x00, 0x33, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x8e, 0x8d,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x00, 0x50, 0x9c, 0x40,
    0xff, 0xff, 0xff, 0xf0, 0x80, 0x00, 0x00, 0x00, 0x50, 0x18, 0xff, 0xff,
    0x15, 0x3a, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x77, 0x6f,
    0x72, 0x6c, 0x64,
};
// IP(src="192.0.2.1", dst="198.51.100.2")/TCP(sport=80, dport=40000, seq=9, ack=10, flags="FAEC", window=100)
constexpr std::uint8_t kIpTcpFinEce[] = {
    0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x8e, 0x98,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x00, 0x50, 0x9c, 0x40,
    0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x0a, 0x50, 0xd1, 0x00, 0x64,
    0x25, 0xd5, 0x00, 0x00,
};
// TCP(sport=1, dport=2, flags="S", options=[("WScale", 15)])
constexpr std::uint8_t kTcpWscaleTooBig[] = {
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x60, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x03, 0x0f, 0x00,
};
// TCP(sport=1, dport=2, flags="S", dataofs=7)/Raw(b"\xfe\x04\x12\x34\x02\x04\x05\xb4")
constexpr std::uint8_t kTcpUnknownOption[] = {
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x70, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x04, 0x12, 0x34,
    0x02, 0x04, 0x05, 0xb4,
};
// TCP(sport=1, dport=2, flags="S", dataofs=6)/Raw(b"\x02\x03\x05\x00")
constexpr std::uint8_t kTcpMssWrongLen[] = {
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x60, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x05, 0x00,
};
// TCP(sport=1, dport=2, flags="S", dataofs=7)/Raw(b"\x02\x04\x05\xb4\x00\x00\xff\xff")
constexpr std::uint8_t kTcpEolThenGarbage[] = {
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x70, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
    0x00, 0x00, 0xff, 0xff,
};
// bytes(TCP(sport=1, dport=2))[:19]
constexpr std::uint8_t kTcpTruncated[] = {
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x50, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00,
};
// TCP(sport=1, dport=2, dataofs=4)/Raw(b"abcd")
constexpr std::uint8_t kTcpDataOffset4[] = {
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x40, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63, 0x64,
};
// TCP(sport=1, dport=2, dataofs=15)/Raw(b"abcd")
constexpr std::uint8_t kTcpDataOffsetPastSegment[] = {
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xf0, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63, 0x64,
};
// TCP(sport=1, dport=2, dataofs=6)/Raw(b"\x02\x00\x05\xb4")
constexpr std::uint8_t kTcpOptionLen0[] = {
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x60, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x05, 0xb4,
};
// TCP(sport=1, dport=2, dataofs=6)/Raw(b"\x08\x01\x00\x00")
constexpr std::uint8_t kTcpOptionLen1[] = {
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x60, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x01, 0x00, 0x00,
};
// TCP(sport=1, dport=2, dataofs=6)/Raw(b"\x08\x0a\x00\x00")
constexpr std::uint8_t kTcpOptionOverrun[] = {
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x60, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x0a, 0x00, 0x00,
};
// TCP(sport=1, dport=2, dataofs=6)/Raw(b"\x01\x01\x01\x02")
constexpr std::uint8_t kTcpOptionNoLenByte[] = {
    0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x60, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01, 0x02,
};
// clang-format on

const Ipv4Addr kSrc{{192, 0, 2, 1}};
const Ipv4Addr kDst{{198, 51, 100, 2}};

// The TCP segment inside one of the IPv4 vectors.
std::span<const std::byte> segment_of(std::span<const std::byte> datagram) {
  const auto ip = Ipv4View::parse(datagram);
  EXPECT_TRUE(ip);
  return ip ? ip->payload() : std::span<const std::byte>();
}

TEST(Tcp, ParsesSynWithOptions) {
  const auto tcp = TcpView::parse(segment_of(bytes_of(kIpTcpSyn)));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->src_port(), 40000);
  EXPECT_EQ(tcp->dst_port(), 80);
  EXPECT_EQ(tcp->seq_number(), 1000u);
  EXPECT_EQ(tcp->ack_number(), 0u);
  EXPECT_EQ(tcp->data_offset(), 10);
  EXPECT_EQ(tcp->header_len(), 40u);
  EXPECT_EQ(tcp->flags(), kTcpSyn);
  EXPECT_TRUE(tcp->syn());
  EXPECT_FALSE(tcp->ack());
  EXPECT_EQ(tcp->window(), 64240);
  EXPECT_EQ(tcp->urgent_pointer(), 0);
  EXPECT_TRUE(tcp->payload().empty());
  EXPECT_EQ(tcp->segment_len(), 1u) << "SYN counts one";
  EXPECT_TRUE(tcp->checksum_ok(kSrc, kDst));

  const TcpOptions opts = tcp->options();
  EXPECT_EQ(opts.mss, 1460);
  EXPECT_TRUE(opts.sack_permitted);
  EXPECT_EQ(opts.timestamps, (TcpTimestamps{12345, 0}));
  EXPECT_EQ(opts.window_scale, 7);
  EXPECT_EQ(opts.sack_count, 0);

  std::vector<std::uint8_t> kinds;
  for (const RawOption o : tcp->raw_options()) kinds.push_back(o.kind);
  EXPECT_EQ(kinds, (std::vector<std::uint8_t>{kTcpOptMss, kTcpOptSackPermitted, kTcpOptTimestamps,
                                              kTcpOptWindowScale}));
}

TEST(Tcp, ParsesSackBlocksAndData) {
  const auto tcp = TcpView::parse(segment_of(bytes_of(kIpTcpSack)));
  ASSERT_TRUE(tcp);
  EXPECT_TRUE(tcp->ack());
  EXPECT_EQ(tcp->ack_number(), 1001u);
  EXPECT_EQ(tcp->header_len(), 52u);
  EXPECT_EQ(as_text(tcp->payload()), "data");
  EXPECT_EQ(tcp->segment_len(), 4u);
  EXPECT_TRUE(tcp->checksum_ok(kSrc, kDst));
  const TcpOptions opts = tcp->options();
  EXPECT_FALSE(opts.mss);
  EXPECT_FALSE(opts.sack_permitted);
  EXPECT_EQ(opts.timestamps, (TcpTimestamps{1, 2}));
  ASSERT_EQ(opts.sack().size(), 2u);
  EXPECT_EQ(opts.sack()[0], (TcpSackBlock{100, 200}));
  EXPECT_EQ(opts.sack()[1], (TcpSackBlock{300, 400}));
}

TEST(Tcp, ParsesPlainDataSegment) {
  const auto tcp = TcpView::parse(segment_of(bytes_of(kIpTcpData)));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->seq_number(), 0xfffffff0u);
  EXPECT_EQ(tcp->ack_number(), 0x80000000u);
  EXPECT_EQ(tcp->flags(), kTcpPsh | kTcpAck);
  EXPECT_TRUE(tcp->psh());
  EXPECT_EQ(tcp->window(), 65535);
  EXPECT_EQ(tcp->header_len(), 20u);
  EXPECT_TRUE(tcp->options_bytes().empty());
  EXPECT_EQ(tcp->options(), TcpOptions{});
  EXPECT_EQ(as_text(tcp->payload()), "hello world");
  EXPECT_TRUE(tcp->checksum_ok(kSrc, kDst));
}

TEST(Tcp, ReadsEveryFlag) {
  const auto tcp = TcpView::parse(segment_of(bytes_of(kIpTcpFinEce)));
  ASSERT_TRUE(tcp);
  EXPECT_TRUE(tcp->fin());
  EXPECT_TRUE(tcp->ack());
  EXPECT_TRUE(tcp->ece());
  EXPECT_TRUE(tcp->cwr());
  EXPECT_FALSE(tcp->syn());
  EXPECT_FALSE(tcp->rst());
  EXPECT_FALSE(tcp->psh());
  EXPECT_FALSE(tcp->urg());
  EXPECT_EQ(tcp->segment_len(), 1u) << "FIN counts one";
}

TEST(Tcp, ClampsWindowScaleToFourteen) {
  const auto tcp = TcpView::parse(bytes_of(kTcpWscaleTooBig));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->options().window_scale, 14);
}

TEST(Tcp, SkipsUnknownOptions) {
  const auto tcp = TcpView::parse(bytes_of(kTcpUnknownOption));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->options().mss, 1460);
  auto it = tcp->raw_options().begin();
  ASSERT_NE(it, tcp->raw_options().end());
  EXPECT_EQ((*it).kind, 254);
  EXPECT_EQ((*it).data.size(), 2u);
}

TEST(Tcp, IgnoresKnownOptionWithWrongLength) {
  const auto tcp = TcpView::parse(bytes_of(kTcpMssWrongLen));
  ASSERT_TRUE(tcp);
  EXPECT_FALSE(tcp->options().mss);
}

TEST(Tcp, StopsAtEndOfOptionList) {
  const auto tcp = TcpView::parse(bytes_of(kTcpEolThenGarbage));
  ASSERT_TRUE(tcp) << "bytes after EOL are padding, not options";
  EXPECT_EQ(tcp->options().mss, 1460);
}

TEST(Tcp, RefusesTruncatedHeader) {
  EXPECT_FALSE(TcpView::parse(bytes_of(kTcpTruncated)));
  const auto seg = segment_of(bytes_of(kIpTcpSyn));
  for (std::size_t n = 0; n < 40; ++n) EXPECT_FALSE(TcpView::parse(seg.first(n))) << n;
  EXPECT_TRUE(TcpView::parse(seg.first(40)));
}

TEST(Tcp, RefusesDataOffsetBelowFive) {
  EXPECT_FALSE(TcpView::parse(bytes_of(kTcpDataOffset4)));
}

TEST(Tcp, RefusesDataOffsetPastSegment) {
  EXPECT_FALSE(TcpView::parse(bytes_of(kTcpDataOffsetPastSegment)));
}

TEST(Tcp, RefusesMalformedOptions) {
  EXPECT_FALSE(TcpView::parse(bytes_of(kTcpOptionLen0)));
  EXPECT_FALSE(TcpView::parse(bytes_of(kTcpOptionLen1)));
  EXPECT_FALSE(TcpView::parse(bytes_of(kTcpOptionOverrun)));
  EXPECT_FALSE(TcpView::parse(bytes_of(kTcpOptionNoLenByte)));
  // The option parser on its own refuses the same lists.
  for (const auto seg : {bytes_of(kTcpOptionLen0), bytes_of(kTcpOptionLen1),
                         bytes_of(kTcpOptionOverrun), bytes_of(kTcpOptionNoLenByte)})
    EXPECT_FALSE(TcpOptions::parse(seg.subspan(20, 4)));
}

TEST(Tcp, ReprRoundTripsSyn) {
  const auto seg = segment_of(bytes_of(kIpTcpSyn));
  const auto tcp = TcpView::parse(seg);
  ASSERT_TRUE(tcp);
  const TcpRepr repr = TcpRepr::parse(*tcp);
  EXPECT_EQ(repr.header_len(), 40u);
  std::vector<std::byte> out(40, std::byte{0xcc});
  ASSERT_TRUE(repr.emit(out, kSrc, kDst));
  EXPECT_EQ(out, to_vec(seg)) << "same option layout and checksum as scapy";
}

TEST(Tcp, ReprRoundTripsSackSegmentWithData) {
  const auto seg = segment_of(bytes_of(kIpTcpSack));
  const auto tcp = TcpView::parse(seg);
  ASSERT_TRUE(tcp);
  const TcpRepr repr = TcpRepr::parse(*tcp);
  auto out = to_vec(seg);
  std::fill(out.begin(), out.begin() + 52, std::byte{0});
  ASSERT_TRUE(repr.emit(out, kSrc, kDst));
  EXPECT_EQ(out, to_vec(seg));
  EXPECT_FALSE(repr.emit(std::span(out).first(51), kSrc, kDst));
}

TEST(Tcp, ReprWithoutChecksumLeavesFieldZero) {
  TcpRepr repr;
  repr.flags = kTcpRst;
  std::array<std::byte, 20> out{};
  out.fill(std::byte{0xff});
  ASSERT_TRUE(repr.emit(out, kSrc, kDst, /*compute_checksum=*/false));
  const auto tcp = TcpView::parse(std::span<const std::byte>(out));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->checksum(), 0);
  EXPECT_TRUE(tcp->rst());
}

TEST(Tcp, OptionsEmitDropsSackBlocksThatDoNotFit) {
  TcpOptions o;
  o.sack_count = 4;
  for (std::uint32_t i = 0; i < 4; ++i) o.sack_blocks[i] = {i * 100, i * 100 + 50};
  EXPECT_EQ(o.encoded_len(), 36u) << "4 blocks fit without timestamps";
  o.timestamps = TcpTimestamps{7, 8};
  EXPECT_EQ(o.encoded_len(), 40u) << "12 + 4 + 3 * 8";
  std::array<std::byte, 40> out{};
  ASSERT_EQ(o.emit(out), 40u);
  const auto back = TcpOptions::parse(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->timestamps, o.timestamps);
  ASSERT_EQ(back->sack().size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(back->sack()[i], o.sack_blocks[i]);
  EXPECT_EQ(o.emit(std::span(out).first(39)), 0u);
}

TEST(Tcp, OptionsRoundTripEveryCombination) {
  for (int bits = 0; bits < 32; ++bits) {
    TcpOptions o;
    if (bits & 1) o.mss = 1400;
    if (bits & 2) o.window_scale = 9;
    if (bits & 4) o.sack_permitted = true;
    if (bits & 8) o.timestamps = TcpTimestamps{0xdeadbeef, 0x01020304};
    if (bits & 16) {
      o.sack_count = 1;
      o.sack_blocks[0] = {5, 10};
    }
    std::array<std::byte, 40> out{};
    const std::size_t n = o.emit(out);
    EXPECT_EQ(n, o.encoded_len());
    EXPECT_EQ(n % 4, 0u);
    const auto back = TcpOptions::parse(std::span(out).first(n));
    ASSERT_TRUE(back) << bits;
    EXPECT_EQ(*back, o) << bits;
  }
}

TEST(Tcp, MutableViewSetsFieldsAndChecksum) {
  auto pkt = copy_of(kIpTcpData);
  const auto ip = Ipv4MutView::parse(pkt);
  ASSERT_TRUE(ip);
  const auto tcp = TcpMutView::parse(ip->payload());
  ASSERT_TRUE(tcp);
  tcp->set_src_port(1);
  tcp->set_dst_port(2);
  tcp->set_seq_number(3);
  tcp->set_ack_number(4);
  tcp->set_flags(kTcpAck | kTcpFin);
  tcp->set_window(5);
  tcp->set_urgent_pointer(6);
  tcp->fill_checksum(kSrc, kDst);
  const TcpView ro = *tcp;
  EXPECT_EQ(ro.src_port(), 1);
  EXPECT_EQ(ro.dst_port(), 2);
  EXPECT_EQ(ro.seq_number(), 3u);
  EXPECT_EQ(ro.ack_number(), 4u);
  EXPECT_TRUE(ro.fin());
  EXPECT_EQ(ro.window(), 5);
  EXPECT_EQ(ro.urgent_pointer(), 6);
  EXPECT_EQ(as_text(ro.payload()), "hello world");
  EXPECT_TRUE(ro.checksum_ok(kSrc, kDst));
}

// Rewriting a sequence number and a port (as a NAT or a SYN-cookie path
// would) with RFC 1624 updates keeps the checksum right.
TEST(Tcp, IncrementalChecksumMatchesRecompute) {
  Rng rng(42);
  auto pkt = copy_of(kIpTcpSack);
  const auto tcp = TcpMutView::parse(Ipv4MutView::parse(pkt)->payload());
  ASSERT_TRUE(tcp);
  for (int i = 0; i < 1000; ++i) {
    const std::uint32_t new_seq = static_cast<std::uint32_t>(rng.next());
    const std::uint16_t new_port = static_cast<std::uint16_t>(rng.next());
    std::uint16_t c = checksum_update32(tcp->checksum(), tcp->seq_number(), new_seq);
    c = checksum_update16(c, tcp->dst_port(), new_port);
    tcp->set_seq_number(new_seq);
    tcp->set_dst_port(new_port);
    tcp->set_checksum(c);
    ASSERT_TRUE(TcpView(*tcp).checksum_ok(kSrc, kDst)) << i;
    tcp->fill_checksum(kSrc, kDst);
    ASSERT_EQ(tcp->checksum(), c) << i;
  }
}

}  // namespace
}  // namespace ustack::wire
