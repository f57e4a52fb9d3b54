// iperf3's UDP datagram header and the receiver's loss, reordering and
// RFC 1889 jitter.
#include "apps/iperf3_udp_stats.h"

#include <gtest/gtest.h>

namespace ustack::app::iperf3 {
namespace {

TEST(Iperf3UdpStats, HeaderBothWidths) {
  unsigned char b[16];
  UdpHeader h{1700000000u, 123456u, 0x0102030405ull}, g;
  encode_udp_header(b, h, true);
  ASSERT_TRUE(decode_udp_header(b, 16, true, &g));
  EXPECT_EQ(g.sec, h.sec);
  EXPECT_EQ(g.usec, h.usec);
  EXPECT_EQ(g.count, h.count);
  EXPECT_EQ(b[8], 0x00);
  EXPECT_EQ(b[11], 0x01);
  EXPECT_EQ(b[15], 0x05);
  encode_udp_header(b, h, false);
  ASSERT_TRUE(decode_udp_header(b, 12, false, &g));
  EXPECT_EQ(g.count, 0x02030405u);  // 32 bits on the wire
  EXPECT_FALSE(decode_udp_header(b, 11, false, &g));
  EXPECT_FALSE(decode_udp_header(b, 15, true, &g));
}

TEST(Iperf3UdpStats, GapsAreLossUntilTheLateOnesArrive) {
  UdpReceiveStats s;
  auto got = [&](std::uint64_t n) { s.on_datagram({0, 0, n}, 100, 0); };
  for (std::uint64_t n : {1, 2, 3, 6, 7, 5, 10}) got(n);
  // 4 and 5 missing after 6 (2 lost), 5 late (1 lost), 8 and 9 missing (3 lost).
  EXPECT_EQ(s.lost(), 3u);
  EXPECT_EQ(s.out_of_order(), 1u);
  EXPECT_EQ(s.packets(), 10u);
  EXPECT_EQ(s.bytes(), 700u);
}

TEST(Iperf3UdpStats, JitterFollowsRfc1889) {
  UdpReceiveStats s;
  // Sent every 1000 us; arrivals with transit 0, 0, 320, 0 us (plus an offset).
  const std::int64_t offset = 5'000'000;
  s.on_datagram({0, 0, 1}, 10, offset + 0);
  s.on_datagram({0, 1000, 2}, 10, offset + 1000);
  EXPECT_DOUBLE_EQ(s.jitter_seconds(), 0);
  s.on_datagram({0, 2000, 3}, 10, offset + 2320);
  EXPECT_DOUBLE_EQ(s.jitter_seconds(), 320.0 / 16 / 1e6);
  s.on_datagram({0, 3000, 4}, 10, offset + 3000);
  const double j = 20 + (320 - 20) / 16.0;
  EXPECT_DOUBLE_EQ(s.jitter_seconds(), j / 1e6);
  // Whole seconds in the header count too.
  s.on_datagram({1, 0, 5}, 10, offset + 1'000'000);
  EXPECT_DOUBLE_EQ(s.jitter_seconds(), (j + (0 - j) / 16) / 1e6);
}

}  // namespace
}  // namespace ustack::app::iperf3
