// ICMPv6 (RFC 4443): echo replies turned around in the received mbuf, echo
// requests for ping, errors (Parameter Problem, Destination Unreachable)
// under RFC 4443 §2.4's rules and rate limit, Neighbor Discovery messages
// handed to the ND layer, errors about our packets to the transport.
#pragma once

#include <array>
#include <cstdint>

#include "core/counters.h"
#include "core/mbuf.h"
#include "proto/icmp.h"
#include "proto/ipv6.h"
#include "proto/rate_limiter.h"

namespace ustack {

class Stack;

class Icmpv6Layer final : public Ipv6Protocol, public IcmpCommon {
 public:
  explicit Icmpv6Layer(Stack& stack);

  void ipv6_input(Mbuf* m, const Ipv6Meta& meta) override;

  // Echo request (id, seq) to dst with `data_len` bytes of data (the first
  // 8 carry the send time). The reply goes to the echo listener.
  SendResult send_echo_request(const Ipv6Addr& dst, std::uint16_t id, std::uint16_t seq,
                               std::uint32_t data_len = 56, std::uint8_t hop_limit = 0);

  // Parameter Problem about `packet` (data at its IPv6 header) with `code`
  // and `pointer` (RFC 4443 §3.4). Does not take ownership.
  void send_param_problem(std::uint8_t code, std::uint32_t pointer, const Ipv6Meta& meta,
                          const Mbuf* packet, bool multicast_ok);
  // Destination Unreachable about the packet described by `meta` whose
  // upper-layer header and data are `upper` (a transport's "no one
  // listens"). Does not take ownership.
  void send_dest_unreachable(std::uint8_t code, const Ipv6Meta& meta, const Mbuf* upper);

 private:
  void echo_request(Mbuf* m, const Ipv6Meta& meta);
  void echo_reply(Mbuf* m, const Ipv6Meta& meta);
  void error(Mbuf* m, const Ipv6Meta& meta);
  // Sends an error quoting `header` (40 bytes, or nullptr when `body`
  // starts with the IPv6 header) and `body`, cut to the minimum MTU.
  void send_error(std::uint8_t type, std::uint8_t code, std::uint32_t word, const Ipv6Meta& meta,
                  const std::byte* header, const Mbuf* body, bool multicast_ok);

  Stack& stack_;
  Counter& tx_error_;
  Counter& drop_tentative_;
  Counter& pmtu_updates_;
};

}  // namespace ustack
