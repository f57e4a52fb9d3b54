#include "apps/iperf3_udp_stats.h"

#include <cstdlib>

namespace ustack::app::iperf3 {
namespace {

void put32(unsigned char* p, std::uint32_t v) {
  p[0] = static_cast<unsigned char>(v >> 24);
  p[1] = static_cast<unsigned char>(v >> 16);
  p[2] = static_cast<unsigned char>(v >> 8);
  p[3] = static_cast<unsigned char>(v);
}
std::uint32_t get32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

}  // namespace

void encode_udp_header(unsigned char* out, const UdpHeader& h, bool counters_64bit) {
  put32(out, h.sec);
  put32(out + 4, h.usec);
  if (counters_64bit) {
    put32(out + 8, static_cast<std::uint32_t>(h.count >> 32));
    put32(out + 12, static_cast<std::uint32_t>(h.count));
  } else {
    put32(out + 8, static_cast<std::uint32_t>(h.count));
  }
}

bool decode_udp_header(const unsigned char* in, std::size_t len, bool counters_64bit,
                       UdpHeader* out) {
  if (len < (counters_64bit ? kUdpHeader64 : kUdpHeader32)) return false;
  out->sec = get32(in);
  out->usec = get32(in + 4);
  out->count =
      counters_64bit ? (std::uint64_t{get32(in + 8)} << 32) | get32(in + 12) : get32(in + 8);
  return true;
}

void UdpReceiveStats::on_datagram(const UdpHeader& h, std::size_t bytes, std::int64_t arrival_us) {
  bytes_ += bytes;
  if (h.count > highest_) {
    // Forward: a gap counts as lost until its datagrams arrive late.
    lost_ += h.count - 1 - highest_;
    highest_ = h.count;
  } else {
    ++out_of_order_;
    if (lost_ > 0) --lost_;
  }
  const std::int64_t sent_us = std::int64_t{h.sec} * 1000000 + h.usec;
  const std::int64_t transit = arrival_us - sent_us;
  if (datagrams_++ == 0) prev_transit_us_ = transit;
  const double d = static_cast<double>(std::llabs(transit - prev_transit_us_));
  prev_transit_us_ = transit;
  jitter_us_ += (d - jitter_us_) / 16.0;
}

}  // namespace ustack::app::iperf3
