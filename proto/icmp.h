// ICMP (RFC 792, RFC 1122 §3.2.2): echo replies turned around in the
// received mbuf, an echo API for ping, destination-unreachable errors with a
// randomized rate limit, and errors delivered to the protocol they concern.
#pragma once

#include <cstdint>
#include <span>

#include "core/counters.h"
#include "core/mbuf.h"
#include "proto/ipv4.h"
#include "proto/rate_limiter.h"

namespace ustack {

class Stack;

struct IcmpConfig {
  // ICMP errors sent per second and burst (Linux: icmp_msgs_per_sec 1000,
  // icmp_msgs_burst 50). 0 per second: unlimited.
  std::uint32_t errors_per_second = 1000;
  std::uint32_t error_burst = 50;
  // RFC 1122 §3.2.2.6 lets a host ignore echo requests to a broadcast
  // address; Linux does by default (icmp_echo_ignore_broadcasts).
  bool echo_broadcasts = false;
};

struct EchoReply {
  IpAddr from;  // either family: ICMP and ICMPv6 report to the same listener
  std::uint16_t id = 0;
  std::uint16_t seq = 0;
  std::uint8_t ttl = 0;
  std::uint32_t bytes = 0;  // ICMP message length (header + data), as ping prints
  Duration rtt{0};          // from the send time carried in the data; 0 if absent
  bool rtt_valid = false;
};

class EchoListener {
 public:
  virtual ~EchoListener() = default;
  virtual void on_echo_reply(const EchoReply& reply) = 0;
};

// An ICMP error about a datagram we sent, as the transport sees it.
struct IcmpError {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  // Either family: ICMP (IPv4) and ICMPv6 errors both reach the transports
  // here; `type` and `code` are of the family's own ICMP.
  IpAddr reporter;  // who sent the error
  IpAddr src;       // the quoted datagram's addresses and protocol
  IpAddr dst;
  std::uint8_t protocol = 0;
  std::uint16_t src_port = 0;  // first 4 bytes of the quoted transport header
  std::uint16_t dst_port = 0;
  std::uint16_t next_hop_mtu = 0;  // fragmentation needed (RFC 1191), Packet Too Big (RFC 8201)

  // An error of `type` and `code` from `reporter` about the datagram
  // (src, dst, protocol) whose transport header starts `quoted` (at least
  // the 4 bytes of the ports).
  static IcmpError about(std::uint8_t type, std::uint8_t code, const IpAddr& reporter,
                         const IpAddr& src, const IpAddr& dst, std::uint8_t protocol,
                         std::span<const std::byte> quoted) {
    IcmpError e;
    e.type = type;
    e.code = code;
    e.reporter = reporter;
    e.src = src;
    e.dst = dst;
    e.protocol = protocol;
    e.src_port = static_cast<std::uint16_t>((std::to_integer<unsigned>(quoted[0]) << 8) |
                                            std::to_integer<unsigned>(quoted[1]));
    e.dst_port = static_cast<std::uint16_t>((std::to_integer<unsigned>(quoted[2]) << 8) |
                                            std::to_integer<unsigned>(quoted[3]));
    return e;
  }
};

// A transport that wants to hear about errors concerning its datagrams.
class IcmpErrorSink {
 public:
  virtual ~IcmpErrorSink() = default;
  virtual void icmp_error(const IcmpError& error) = 0;
};

class IcmpLayer final : public Ipv4Protocol {
 public:
  explicit IcmpLayer(Stack& stack);

  void ipv4_input(Mbuf* m, const Ipv4Meta& meta) override;

  // Sends echo request (id, seq) to dst with `data_len` bytes of data (the
  // first 8 carry the send time, for the round trip). 56 is ping's default.
  SendResult send_echo_request(Ipv4Addr dst, std::uint16_t id, std::uint16_t seq,
                               std::uint32_t data_len = 56, std::uint8_t ttl = 0);
  void set_echo_listener(EchoListener* l) { echo_listener_ = l; }
  void set_error_sink(std::uint8_t protocol, IcmpErrorSink* sink) { sinks_[protocol] = sink; }

  // Destination unreachable about the datagram `offending` (data at its
  // transport header, described by `meta`); obeys RFC 1122 §3.2.2's "MUST
  // NOT send" list and the rate limit. Does not take ownership.
  void send_dest_unreachable(std::uint8_t code, const Ipv4Meta& meta, const Mbuf* offending);

 private:
  void echo_request(Mbuf* m, const Ipv4Meta& meta);
  void echo_reply(Mbuf* m, const Ipv4Meta& meta);
  void error(Mbuf* m, const Ipv4Meta& meta);

  Stack& stack_;
  RandomizedTokenBucket limiter_;
  EchoListener* echo_listener_ = nullptr;
  std::array<IcmpErrorSink*, 256> sinks_{};

  Counter& rx_;
  Counter& rx_echo_request_;
  Counter& rx_echo_reply_;
  Counter& rx_error_;
  Counter& tx_echo_reply_;
  Counter& tx_echo_request_;
  Counter& tx_unreachable_;
  Counter& drop_malformed_;
  Counter& drop_checksum_;
  Counter& drop_broadcast_echo_;
  Counter& drop_unhandled_type_;
  Counter& drop_not_ours_;
  Counter& drop_no_mbuf_;
  Counter& rate_limited_;
};

}  // namespace ustack
