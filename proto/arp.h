// ARP on the wire (RFC 826): answering requests for our addresses,
// learning through the cache's merge rule, asking, and announcing.
#pragma once

#include "core/counters.h"
#include "core/mbuf.h"
#include "proto/arp_cache.h"

namespace ustack {

class Stack;

class ArpLayer final : public ArpIo {
 public:
  explicit ArpLayer(Stack& stack);

  // An ARP packet (data at the ARP header); takes ownership.
  void input(Mbuf* m);
  // Gratuitous ARP for every address of the interface (RFC 5227 §3
  // announcement: a request with sender and target both our address).
  void announce();
  ArpCache& cache() { return cache_; }

  // ArpIo
  void arp_send_request(Ipv4Addr target) override;
  void arp_transmit(Mbuf* frame) override;

 private:
  bool send(std::uint16_t op, const MacAddr& eth_dst, const MacAddr& target_mac, Ipv4Addr sender_ip,
            Ipv4Addr target_ip);

  Stack& stack_;
  ArpCache cache_;
  Counter& rx_;
  Counter& drop_bad_;
  Counter& drop_bad_sender_;
  Counter& conflict_;
  Counter& tx_reply_;
  Counter& drop_no_mbuf_;
};

}  // namespace ustack
