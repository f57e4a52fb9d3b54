// The UDP side of an iperf3 test, server end (esnet/iperf iperf_udp.c,
// 3.x): the client opens each stream by sending a 4-byte datagram to the
// server's port from the stream's own socket; the server answers it with
// 4 bytes (UDP_CONNECT_REPLY, 0x39383736, or the legacy 987654321 to the
// legacy 123456789), written in the byte order the client used, since
// iperf3 sends these as native integers. Thereafter the stream is that
// (address, port): a receiving stream counts datagrams, loss and jitter
// (iperf3_udp_stats.h); a sending stream (-R, --bidir) sends datagrams of
// the test's length at the test's bandwidth, each with the header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/iperf3_proto.h"
#include "apps/iperf3_udp_stats.h"
#include "proto/stack.h"

namespace ustack::app::iperf3 {

// Datagrams one sending stream may send per poll (a burst after a stall).
inline constexpr int kUdpBurst = 256;

class UdpTest final : public UdpHandler {
 public:
  struct Stream {
    IpAddr peer;
    std::uint16_t peer_port = 0;
    bool sender = false;
    UdpReceiveStats rx;
    std::uint64_t sent_packets = 0, sent_bytes = 0;
    Instant start{}, end{};
    bool ended = false;
  };

  explicit UdpTest(Stack& stack) : stack_(stack) {}
  ~UdpTest() override { close(); }
  UdpTest(const UdpTest&) = delete;
  UdpTest& operator=(const UdpTest&) = delete;

  // Opens `port` for a test with parameters `p`, accepting its streams.
  // false and *error when the port cannot be opened.
  bool open(std::uint16_t port, const Params& p, std::string* error);
  void close();
  bool is_open() const { return socket_ != nullptr; }

  std::size_t wanted() const { return wanted_; }
  const std::vector<Stream>& streams() const { return streams_; }
  // TEST_RUNNING: counting and sending start.
  void start(Instant now);
  // Sends what the senders' bandwidth allows by `now`.
  void poll(Instant now);
  // TEST_END: counting and sending stop.
  void end(Instant now);

  void on_datagram(UdpSocket& s, UdpDatagram& d) override;

 private:
  void accept_stream(UdpSocket& s, const UdpDatagram& d, const unsigned char* msg, std::size_t len);
  void send_some(Stream& st, Instant now);

  Stack& stack_;
  UdpSocket* socket_ = nullptr;
  Params params_;
  std::size_t wanted_ = 0;
  bool running_ = false;
  Instant start_{};
  std::int64_t wall_start_us_ = 0;  // the wall clock at start_, for the headers
  std::uint64_t sent_total_ = 0;    // over all senders, against -n / -k
  std::vector<Stream> streams_;
  std::vector<unsigned char> block_;
};

}  // namespace ustack::app::iperf3
