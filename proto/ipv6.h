// IPv6 (RFC 8200) for a host: the interface's addresses and their DAD
// state, input validation and delivery through the extension header chain,
// source address selection, next-hop choice (on-link or the default
// router) and output through the neighbor cache.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/counters.h"
#include "core/instant.h"
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
  // RFC 4861 §10 host constants for router solicitations when
  // NetifConfig::slaac is on: MAX_RTR_SOLICITATIONS (0: none sent),
  // RTR_SOLICITATION_INTERVAL, MAX_RTR_SOLICITATION_DELAY.
  std::uint32_t router_solicitations = 3;
  Duration router_solicitation_interval = std::chrono::seconds(4);
  Duration max_router_solicitation_delay = std::chrono::seconds(1);
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
  bool router_alert = false;   // Hop-by-Hop carried a Router Alert (MLD, RFC 3810 §5)
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
  kTentative,   // DAD running (RFC 4862 §5.4): not used, packets to it dropped
  kPreferred,   // usable
  kDuplicate,   // DAD found another owner: never used
  kDeprecated,  // RFC 4862 §5.5.4: its preferred lifetime is over; it still
                // receives, and is a source only for what already uses it
};

inline constexpr Instant kForever = Instant::max();

struct Ipv6LocalAddr {
  Ipv6Addr addr;
  std::uint8_t prefix_len = 64;
  Ipv6AddrState state = Ipv6AddrState::kTentative;
  std::uint32_t dad_sent = 0;  // solicitations DAD has sent for it
  Instant dad_next{};          // when DAD next sends a probe or decides
  // Formed by stateless autoconfiguration (proto/slaac.h) from a router's
  // prefix: its lifetimes (RFC 4862 §5.5.3), and it does not make the
  // prefix on-link (RFC 5942 §4). Configured addresses live forever.
  bool autoconf = false;
  Instant preferred_until = kForever;
  Instant valid_until = kForever;
  // An address packets may be received on (not tentative or duplicate).
  bool assigned() const {
    return state == Ipv6AddrState::kPreferred || state == Ipv6AddrState::kDeprecated;
  }
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

  // Addresses: link-local first, then the configured ones, then those
  // stateless autoconfiguration formed. The room for all is reserved at
  // construction (kMaxAutoconfAddrs), so adding one never allocates.
  static constexpr std::size_t kMaxAutoconfAddrs = 4;
  std::vector<Ipv6LocalAddr>& addrs() { return addrs_; }
  const std::vector<Ipv6LocalAddr>& addrs() const { return addrs_; }
  Ipv6LocalAddr* find_local(const Ipv6Addr& a);
  // Adds an autoconfigured address (tentative; the caller starts DAD).
  // False when kMaxAutoconfAddrs are there already.
  bool add_autoconf(const Ipv6LocalAddr& a);
  // Removes an address (its valid lifetime ended).
  void remove(Ipv6Addr a);
  std::size_t autoconf_count() const;
  // An assigned (preferred or deprecated) address of ours.
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
  // The link's MTU for IPv6: the interface's, or what a router's MTU
  // option said within bounds (RFC 4861 §6.3.4, proto/router_discovery.h).
  std::uint32_t link_mtu() const { return link_mtu_; }
  void set_link_mtu(std::uint32_t mtu) { link_mtu_ = mtu; }
  // The hop limit of what we send: StackConfig::default_ttl, or a router's
  // Cur Hop Limit (RFC 4861 §6.3.4).
  std::uint8_t hop_limit() const { return hop_limit_; }
  void set_hop_limit(std::uint8_t h) { hop_limit_ = h; }

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
  // `walk_headers`: extension headers up to and with the Fragment header.
  void fragment(Mbuf* m, Ipv6Meta& meta, const wire::Ipv6FragmentInfo& f, std::size_t walk_headers);
  // A reassembled packet (data at the fragmentable part) whose part starts
  // with extension headers (meta.next_header names the first).
  void reassembled_chain(Mbuf* m, Ipv6Meta& meta, std::size_t headers);
  void refuse(Mbuf* m, const Ipv6Meta& meta, Counter& reason, bool param_problem, std::uint8_t code,
              std::uint32_t pointer, bool multicast_ok);
  void drop(Mbuf* m, Counter& reason);

  Stack& stack_;
  std::vector<Ipv6LocalAddr> addrs_;
  IpReassembler reasm_;
  PathMtuCache pmtu_;
  std::uint32_t link_mtu_;
  std::uint8_t hop_limit_;
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
