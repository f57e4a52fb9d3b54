// ICMP (RFC 792, RFC 1122 §3.2.2): echo replies turned around in the
// received mbuf, an echo API for ping, destination-unreachable errors with a
// randomized rate limit, and errors delivered to the protocol they concern.
#pragma once

#include <cstdint>

#include "core/counters.h"
#include "core/mbuf.h"
#include "proto/icmp_common.h"
#include "proto/ipv4.h"

namespace ustack {

class Stack;

class IcmpLayer final : public Ipv4Protocol, public IcmpCommon {
 public:
  explicit IcmpLayer(Stack& stack);

  void ipv4_input(Mbuf* m, const Ipv4Meta& meta) override;

  // Sends echo request (id, seq) to dst with `data_len` bytes of data (the
  // first 8 carry the send time, for the round trip). 56 is ping's default.
  SendResult send_echo_request(Ipv4Addr dst, std::uint16_t id, std::uint16_t seq,
                               std::uint32_t data_len = 56, std::uint8_t ttl = 0);

  // Destination unreachable about the datagram `offending` (data at its
  // transport header, described by `meta`); obeys RFC 1122 §3.2.2's "MUST
  // NOT send" list and the rate limit. Does not take ownership.
  void send_dest_unreachable(std::uint8_t code, const Ipv4Meta& meta, const Mbuf* offending);

 private:
  void echo_request(Mbuf* m, const Ipv4Meta& meta);
  void echo_reply(Mbuf* m, const Ipv4Meta& meta);
  void error(Mbuf* m, const Ipv4Meta& meta);

  Stack& stack_;
  Counter& tx_unreachable_;
  Counter& drop_broadcast_echo_;
};

}  // namespace ustack
