// What ICMP (RFC 792, RFC 1122 §3.2.2) and ICMPv6 (RFC 4443) have alike:
// the types they hand the transports and ping (echo replies, errors about
// our datagrams), and IcmpCommon, the part of each layer that is the same:
// the error rate limit, the echo listener, the transports' error sinks and
// the counters both keep, named under the family's prefix.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "core/counters.h"
#include "core/instant.h"
#include "proto/ip_addr.h"
#include "proto/rate_limiter.h"

namespace ustack {

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

// Embedded in IcmpLayer and Icmpv6Layer (as a base): the members they
// share. Counters are "<prefix>.rx", "<prefix>.drop.malformed", ...
class IcmpCommon {
 public:
  void set_echo_listener(EchoListener* l) { echo_listener_ = l; }
  void set_error_sink(std::uint8_t protocol, IcmpErrorSink* sink) { sinks_[protocol] = sink; }

 protected:
  // Errors are rate-limited by `cfg` (RFC 1122 §3.2.2; RFC 4443 §2.4 (f)),
  // the jitter drawn from `seed`.
  IcmpCommon(const IcmpConfig& cfg, std::uint64_t seed, Instant now, CounterSet& counters,
             const std::string& prefix)
      : limiter_(cfg.errors_per_second, cfg.error_burst, seed, now),
        rx_(counters.get(prefix + ".rx")),
        rx_echo_request_(counters.get(prefix + ".rx.echo_request")),
        rx_echo_reply_(counters.get(prefix + ".rx.echo_reply")),
        rx_error_(counters.get(prefix + ".rx.error")),
        tx_echo_reply_(counters.get(prefix + ".tx.echo_reply")),
        tx_echo_request_(counters.get(prefix + ".tx.echo_request")),
        drop_malformed_(counters.get(prefix + ".drop.malformed")),
        drop_checksum_(counters.get(prefix + ".drop.bad_checksum")),
        drop_unhandled_type_(counters.get(prefix + ".drop.unhandled_type")),
        drop_not_ours_(counters.get(prefix + ".drop.error_not_ours")),
        drop_no_mbuf_(counters.get(prefix + ".drop.no_mbuf")),
        rate_limited_(counters.get(prefix + ".rate_limited")) {}
  ~IcmpCommon() = default;
  IcmpCommon(const IcmpCommon&) = delete;
  IcmpCommon& operator=(const IcmpCommon&) = delete;

  RandomizedTokenBucket limiter_;
  EchoListener* echo_listener_ = nullptr;
  std::array<IcmpErrorSink*, 256> sinks_{};

  Counter& rx_;
  Counter& rx_echo_request_;
  Counter& rx_echo_reply_;
  Counter& rx_error_;
  Counter& tx_echo_reply_;
  Counter& tx_echo_request_;
  Counter& drop_malformed_;
  Counter& drop_checksum_;
  Counter& drop_unhandled_type_;
  Counter& drop_not_ours_;
  Counter& drop_no_mbuf_;
  Counter& rate_limited_;
};

}  // namespace ustack
