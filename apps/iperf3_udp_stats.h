// iperf3's UDP data datagrams and what a receiver computes from them (as
// esnet/iperf's iperf_udp.c does): each datagram starts with the sender's
// clock (seconds, microseconds: 32 bits each) and its number (1, 2, ...:
// 32 bits, or 64 with --udp-counters-64bit), all big-endian. The receiver
// counts a gap in the numbers as lost datagrams, takes one back for each
// that arrives late (out of order), and keeps the interarrival jitter of
// RFC 1889 §6.3.1 / A.8: J += (|D(i-1,i)| - J) / 16, D from the transit
// times (arrival minus the sender's clock: the clocks' offset cancels).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ustack::app::iperf3 {

inline constexpr std::size_t kUdpHeader32 = 12;
inline constexpr std::size_t kUdpHeader64 = 16;

struct UdpHeader {
  std::uint32_t sec = 0, usec = 0;
  std::uint64_t count = 0;
};

// Writes the header at `out` (12 or 16 bytes).
void encode_udp_header(unsigned char* out, const UdpHeader& h, bool counters_64bit);
// false when `len` is too short for the header.
bool decode_udp_header(const unsigned char* in, std::size_t len, bool counters_64bit,
                       UdpHeader* out);

class UdpReceiveStats {
 public:
  // A datagram of `bytes` with header `h` arrived at `arrival_us` (any
  // fixed epoch, microseconds).
  void on_datagram(const UdpHeader& h, std::size_t bytes, std::int64_t arrival_us);
  // A datagram too short to carry a header: bytes only.
  void on_short(std::size_t bytes) { bytes_ += bytes; }

  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t packets() const { return highest_; }  // the highest number seen
  std::uint64_t lost() const { return lost_; }
  std::uint64_t out_of_order() const { return out_of_order_; }
  double jitter_seconds() const { return jitter_us_ / 1e6; }

 private:
  std::uint64_t bytes_ = 0, highest_ = 0, lost_ = 0, out_of_order_ = 0, datagrams_ = 0;
  std::int64_t prev_transit_us_ = 0;
  double jitter_us_ = 0;
};

}  // namespace ustack::app::iperf3
