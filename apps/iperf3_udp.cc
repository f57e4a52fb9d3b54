#include "apps/iperf3_udp.h"

#include <time.h>

#include <cstring>

namespace ustack::app::iperf3 {
namespace {

// The connect messages as iperf3 writes them: native 32-bit integers.
constexpr std::uint32_t kConnectMsg = 0x36373839;    // "9876" in little-endian memory
constexpr std::uint32_t kConnectReply = 0x39383736;  // UDP_CONNECT_REPLY
constexpr std::uint32_t kLegacyMsg = 123456789;      // before iperf 3.11
constexpr std::uint32_t kLegacyReply = 987654321;

std::uint32_t load_le(const unsigned char* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}
std::uint32_t swap32(std::uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}
void store_le(unsigned char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

std::int64_t wall_clock_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

std::int64_t us_of(Instant t) {
  return ns_of(t) / 1000;
}

}  // namespace

bool UdpTest::open(std::uint16_t port, const Params& p, std::string* error) {
  close();
  socket_ = stack_.udp().open(*this, port, error);
  if (socket_ == nullptr) return false;
  params_ = p;
  wanted_ = std::size_t{p.parallel} * (p.bidirectional ? 2 : 1);
  running_ = false;
  sent_total_ = 0;
  streams_.clear();
  block_.assign(p.len, 0);
  // Any pattern does; iperf3 sends random bytes.
  std::uint32_t x = 0x2545f491u;
  for (auto& b : block_) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b = static_cast<unsigned char>(x);
  }
  return true;
}

void UdpTest::close() {
  if (socket_ != nullptr) socket_->close();
  socket_ = nullptr;
  running_ = false;
}

void UdpTest::accept_stream(UdpSocket& s, const UdpDatagram& d, const unsigned char* msg,
                            std::size_t len) {
  // The reply in the client's byte order (little-endian when the message
  // is not recognized: iperf3 before 3.11 read any 4 bytes as the reply).
  std::uint32_t reply = kConnectReply;
  bool swap = false;
  if (len == 4) {
    const std::uint32_t v = load_le(msg);
    if (v == kLegacyMsg || swap32(v) == kLegacyMsg) reply = kLegacyReply;
    swap = swap32(v) == kConnectMsg || swap32(v) == kLegacyMsg;
  }
  unsigned char out[4];
  store_le(out, swap ? swap32(reply) : reply);
  for (const Stream& st : streams_)
    if (st.peer == d.src && st.peer_port == d.src_port) {
      // A repeated connect message (the reply was lost): answer again.
      s.send_to(d.src, d.src_port, std::as_bytes(std::span(out)));
      return;
    }
  if (streams_.size() >= wanted_) return;
  Stream st;
  st.peer = d.src;
  st.peer_port = d.src_port;
  // As for TCP (iperf_run_server()): with --bidir the first `parallel`
  // streams are the server's receivers, the rest its senders.
  st.sender = params_.reverse || (params_.bidirectional && streams_.size() >= params_.parallel);
  streams_.push_back(st);
  s.send_to(d.src, d.src_port, std::as_bytes(std::span(out)));
}

void UdpTest::on_datagram(UdpSocket& s, UdpDatagram& d) {
  unsigned char hdr[kUdpHeader64];
  const std::size_t len = d.payload->pkt_len;
  const std::size_t n = mbuf_read(d.payload, 0, std::as_writable_bytes(std::span(hdr)));
  mbuf_free(d.payload);
  Stream* st = nullptr;
  for (Stream& x : streams_)
    if (x.peer == d.src && x.peer_port == d.src_port) st = &x;
  if (!running_) {
    if (streams_.size() < wanted_ || st != nullptr) accept_stream(s, d, hdr, n);
    return;
  }
  if (st == nullptr || st->sender || st->ended) return;
  UdpHeader h;
  if (decode_udp_header(hdr, n, params_.udp_counters_64bit, &h)) {
    st->rx.on_datagram(h, len, us_of(stack_.now()));
  } else {
    st->rx.on_short(len);
  }
}

void UdpTest::start(Instant now) {
  running_ = true;
  start_ = now;
  wall_start_us_ = wall_clock_us();
  for (Stream& st : streams_) st.start = now;
}

void UdpTest::send_some(Stream& st, Instant now) {
  const std::uint64_t limit = params_.byte_limit();
  // iperf3's -b is per stream, in bits per second (1 Mbit/s by default for UDP).
  const double allowed = std::chrono::duration<double>(now - st.start).count() *
                         static_cast<double>(params_.bandwidth) / 8;
  const bool c64 = params_.udp_counters_64bit;
  for (int i = 0; i < kUdpBurst; ++i) {
    if (static_cast<double>(st.sent_bytes) >= allowed) return;
    if (limit != 0 && sent_total_ >= limit) return;
    const std::int64_t wall = wall_start_us_ + (us_of(now) - us_of(start_));
    UdpHeader h;
    h.sec = static_cast<std::uint32_t>(wall / 1000000);
    h.usec = static_cast<std::uint32_t>(wall % 1000000);
    h.count = st.sent_packets + 1;
    if (block_.size() >= (c64 ? kUdpHeader64 : kUdpHeader32))
      encode_udp_header(block_.data(), h, c64);
    if (socket_->send_to(st.peer, st.peer_port, std::as_bytes(std::span(block_))) !=
        SendResult::kOk)
      return;  // the pool is dry: the next poll tries again
    ++st.sent_packets;
    st.sent_bytes += block_.size();
    sent_total_ += block_.size();
  }
}

void UdpTest::poll(Instant now) {
  if (!running_ || socket_ == nullptr) return;
  for (Stream& st : streams_)
    if (st.sender && !st.ended) send_some(st, now);
}

void UdpTest::end(Instant now) {
  for (Stream& st : streams_) {
    st.end = now;
    st.ended = true;
  }
  running_ = false;
}

}  // namespace ustack::app::iperf3
