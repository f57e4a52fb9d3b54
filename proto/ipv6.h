// IPv6 (RFC 8200) for a host: the interface's addresses and their DAD
// state, input validation and delivery through the extension header chain,
// source address selection, next-hop choice (on-link or the default
// router) and output through the neighbor cache.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/counters.h"
#include "core/mac_addr.h"
#include "core/mbuf.h"
#include "core/random.h"
#include "proto/ip_addr.h"
#include "proto/ipv4.h"
#include "proto/ipv4_reassembly.h"
#include "proto/neighbor_cache.h"
#include "proto/path_mtu.h"
#include "proto/wire/ipv6_ext.h"

namespace ustack {

class Stack;

// Fragment reassembly for IPv6 (RFC 8200 §4.5): 60 s from the first
// fragment, payloads up to 65535 bytes, counters "ipv6.reasm.*".
inline ReassemblyConfig ipv6_reassembly_defaults() {
  ReassemblyConfig c;
  c.timeout = std::chrono::seconds(60);
  c.max_payload = 0xffff;
  c.counter_prefix = "ipv6.reasm";
  return c;
}

// Setup of IPv6 and neighbor discovery (StackConfig::ipv6).
struct Ipv6Config {
  NeighborConfig neighbors;
  // RFC 4862 §5.1 DupAddrDetectTransmits (default 1); 0 turns DAD off and
  // addresses are usable at once.
  std::uint32_t dad_transmits = 1;
  // Off on the cores but 0 of a multi-core host: they learn from the
  // copies of neighbor discovery core 0 hands them, and only core 0
  // answers (proto/flow_steer.h), as ArpConfig::reply_requests.
  bool answer_solicitations = true;
  ReassemblyConfig reassembly = ipv6_reassembly_defaults();
};

// What an upper-layer protocol learns about a packet it receives.
struct Ipv6Meta {
  Ipv6Addr src;
  Ipv6Addr dst;
  std::uint8_t next_header = 0;  // the upper-layer protocol
  std::uint8_t hop_limit = 0;
  std::uint8_t traffic_class = 0;
  bool dst_multicast = false;  // to a group we belong to
  bool to_tentative = false;   // to an address DAD has not cleared (only ND may see it)
  bool l2_multicast = false;   // arrived in a link-layer multicast frame
  // RFC 4443 §2.4 (e): no ICMPv6 error about a packet to a multicast
  // address or link-layer multicast, or from a source that is not one node
  // (the exceptions, Packet Too Big and option code 2, pass `multicast_ok`).
  bool may_send_icmp_error(bool multicast_ok = false) const;
};

class Ipv6Protocol {
 public:
  virtual ~Ipv6Protocol() = default;
  // A packet whose data starts at the upper-layer header; takes ownership.
  virtual void ipv6_input(Mbuf* m, const Ipv6Meta& meta) = 0;
};

struct Ipv6TxOptions {
  std::uint8_t hop_limit = 0;  // 0: the stack's default
  std::uint8_t traffic_class = 0;
};

enum class Ipv6AddrState : std::uint8_t {
  kTentative,  // DAD running (RFC 4862 §5.4): not used, packets to it dropped
  kPreferred,  // usable
  kDuplicate,  // DAD found another owner: never used
};

struct Ipv6LocalAddr {
  Ipv6Addr addr;
  std::uint8_t prefix_len = 64;
  Ipv6AddrState state = Ipv6AddrState::kTentative;
  std::uint32_t dad_sent = 0;  // solicitations DAD has sent for it
};

class Ipv6Layer {
 public:
  explicit Ipv6Layer(Stack& stack);

  // A packet with data at the IPv6 header; takes ownership.
  void input(Mbuf* m, bool l2_multicast);
  // Sends `m` (upper-layer header and data) from `src` to `dst`. Takes
  // ownership whatever the result.
  SendResult output(Mbuf* m, const Ipv6Addr& src, const Ipv6Addr& dst, std::uint8_t next_header,
                    const Ipv6TxOptions& opts = {});
  // The same to a known link-layer address (ND's probes and multicast),
  // bypassing the neighbor cache.
  SendResult output_to(Mbuf* m, const Ipv6Addr& src, const Ipv6Addr& dst, std::uint8_t next_header,
                       const Ipv6TxOptions& opts, const MacAddr& mac);

  void register_protocol(std::uint8_t next_header, Ipv6Protocol* handler) {
    protocols_[next_header] = handler;
  }

  // Addresses: link-local first, then the configured ones.
  std::vector<Ipv6LocalAddr>& addrs() { return addrs_; }
  const std::vector<Ipv6LocalAddr>& addrs() const { return addrs_; }
  Ipv6LocalAddr* find_local(const Ipv6Addr& a);
  // A preferred address of ours.
  bool is_local(const Ipv6Addr& a) const;
  // RFC 6724 §5, simplified to rules 1, 2 and 8: the address itself, then
  // one of the destination's scope (link-local for link-local and
  // link-scope multicast), then the longest prefix match among preferred
  // addresses. :: when nothing is usable.
  Ipv6Addr source_for(const Ipv6Addr& dst) const;
  // Ethernet multicast addresses of the groups we are in: all-nodes and the
  // solicited-node group of every address (RFC 4861 §7.2.1; RFC 4291 §2.8).
  bool accepts_group_mac(const MacAddr& mac) const;
  bool in_group(const Ipv6Addr& group) const;
  IpReassembler& reassembler() { return reasm_; }
  // Path MTU (RFC 8201): Packet Too Big lowers it toward a destination;
  // output fragments to it.
  PathMtuCache& path_mtu() { return pmtu_; }
  std::uint32_t mtu_toward(const Ipv6Addr& dst) const;

 private:
  bool next_hop(const Ipv6Addr& dst, Ipv6Addr* hop) const;
  // Source fragmentation (RFC 8200 §4.5) of `m` into packets that fit the
  // MTU, each sent like an unfragmented one.
  SendResult fragment_out(Mbuf* m, const Ipv6Addr& src, const Ipv6Addr& dst,
                          std::uint8_t next_header, const Ipv6TxOptions& opts, const MacAddr* mac,
                          const Ipv6Addr& hop);
  SendResult to_link(Mbuf* packet, const MacAddr* mac, const Ipv6Addr& hop);
  Mbuf* add_header(Mbuf* m, const Ipv6Addr& src, const Ipv6Addr& dst, std::uint8_t next_header,
                   const Ipv6TxOptions& opts);
  SendResult send(Mbuf* m, const Ipv6Addr& src, const Ipv6Addr& dst, std::uint8_t next_header,
                  const Ipv6TxOptions& opts, const MacAddr* mac, const Ipv6Addr& hop);
  // Hands `m` (data at the IPv6 header) from `upper_offset` on to the
  // protocol meta.next_header; `nh_field`: where the Next Header byte that
  // named it sits, for a Parameter Problem (-1: a reassembled packet,
  // whose header is gone).
  void deliver(Mbuf* m, Ipv6Meta& meta, std::size_t upper_offset, long nh_field);
  void fragment(Mbuf* m, Ipv6Meta& meta, const wire::Ipv6FragmentInfo& f);
  void refuse(Mbuf* m, const Ipv6Meta& meta, Counter& reason, bool param_problem, std::uint8_t code,
              std::uint32_t pointer, bool multicast_ok);
  void drop(Mbuf* m, Counter& reason);

  Stack& stack_;
  std::vector<Ipv6LocalAddr> addrs_;
  IpReassembler reasm_;
  PathMtuCache pmtu_;
  Rng rng_;  // fragment identifications
  std::array<Ipv6Protocol*, 256> protocols_{};

  Counter& rx_;
  Counter& tx_;
  Counter& tx_fragments_;
  Counter& rx_no_next_;
  Counter& drop_malformed_;
  Counter& drop_bad_source_;
  Counter& drop_land_;
  Counter& drop_not_for_us_;
  Counter& drop_multicast_;
  Counter& drop_tentative_;
  Counter& drop_bad_option_;
  Counter& drop_hbh_late_;
  Counter& drop_routing_;
  Counter& drop_too_many_headers_;
  Counter& drop_fragment_length_;
  Counter& drop_fragment_too_big_;
  Counter& drop_fragment_chain_;
  Counter& drop_unknown_protocol_;
  Counter& drop_no_route_;
  Counter& drop_too_big_;
  Counter& drop_no_mbuf_;
};

}  // namespace ustack
