// IPv4 (RFC 791, RFC 1122 §3.2.1): input validation and delivery, fragment
// reassembly, routing (on-link or through the gateway), output with
// fragmentation, and the table of transport protocols above.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/counters.h"
#include "core/mbuf.h"
#include "proto/ip_addr.h"
#include "proto/ipv4_reassembly.h"

namespace ustack {

class Stack;

// What a transport protocol learns about a datagram it receives.
struct Ipv4Meta {
  Ipv4Addr src;
  Ipv4Addr dst;
  std::uint8_t protocol = 0;
  std::uint8_t ttl = 0;
  std::uint8_t tos = 0;
  bool l2_broadcast = false;  // arrived in a link-layer broadcast frame
  bool ip_broadcast = false;  // to the limited or a subnet-directed broadcast
  bool reassembled = false;   // arrived in fragments
  // RFC 1122 §3.2.2: ICMP errors are never sent about datagrams to a
  // broadcast or multicast address, or from a source that is not one host.
  bool may_send_icmp_error() const;
};

// A transport protocol registered with IPv4. input() takes ownership of a
// datagram whose data starts at the transport header.
class Ipv4Protocol {
 public:
  virtual ~Ipv4Protocol() = default;
  virtual void ipv4_input(Mbuf* m, const Ipv4Meta& meta) = 0;
};

struct Ipv4TxOptions {
  std::uint8_t ttl = 0;  // 0: the stack's default
  std::uint8_t tos = 0;
  bool dont_fragment = false;
};

enum class SendResult : std::uint8_t {
  kOk,         // queued for transmit (or waiting for ARP)
  kNoRoute,    // no interface address covers it and there is no gateway
  kTooBig,     // over 65535 bytes, or over the MTU with DF set
  kNoBuffers,  // the mbuf pool ran dry
};
const char* to_string(SendResult r);

class Ipv4Layer {
 public:
  explicit Ipv4Layer(Stack& stack);

  // A datagram with data at the IPv4 header; takes ownership.
  void input(Mbuf* m, bool l2_broadcast);
  // Sends `m` (transport header and data) from `src` to `dst`. Takes
  // ownership whatever the result.
  SendResult output(Mbuf* m, Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol,
                    const Ipv4TxOptions& opts = {});

  void register_protocol(std::uint8_t protocol, Ipv4Protocol* handler) {
    protocols_[protocol] = handler;
  }
  // One of the interface's addresses.
  bool is_local(Ipv4Addr a) const;
  // The limited broadcast or a subnet-directed broadcast of ours.
  bool is_broadcast(Ipv4Addr a) const;
  // The source address for talking to `dst` (RFC 1122 §3.3.4.3): the address
  // whose subnet holds dst, else the first address.
  Ipv4Addr source_for(Ipv4Addr dst) const;
  Ipv4Reassembler& reassembler() { return reasm_; }

 private:
  bool next_hop(Ipv4Addr dst, Ipv4Addr* hop, bool* broadcast) const;
  Mbuf* add_header(Mbuf* m, Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol,
                   const Ipv4TxOptions& opts, std::uint16_t ident, bool more_fragments,
                   std::uint16_t frag_units);
  SendResult to_link(Mbuf* packet, Ipv4Addr hop, bool broadcast);
  SendResult fragment(Mbuf* m, Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol,
                      const Ipv4TxOptions& opts, Ipv4Addr hop, bool broadcast);
  void drop(Mbuf* m, Counter& reason);

  struct LocalAddr {
    std::uint32_t addr, mask, net, bcast;
    bool has_bcast;
  };

  Stack& stack_;
  std::vector<LocalAddr> local_;
  Ipv4Reassembler reasm_;
  std::array<Ipv4Protocol*, 256> protocols_{};
  std::uint16_t next_ident_;

  Counter& rx_;
  Counter& tx_;
  Counter& tx_fragments_;
  Counter& drop_malformed_;
  Counter& drop_checksum_;
  Counter& drop_bad_source_;
  Counter& drop_land_;
  Counter& drop_not_for_us_;
  Counter& drop_multicast_;
  Counter& drop_source_route_;
  Counter& drop_unknown_protocol_;
  Counter& drop_no_route_;
  Counter& drop_too_big_;
  Counter& drop_no_mbuf_;
};

}  // namespace ustack
