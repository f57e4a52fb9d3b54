// Ethernet: demultiplexing by ethertype on input, framing on output.
#pragma once

#include <cstdint>

#include "core/counters.h"
#include "core/mac_addr.h"
#include "core/mbuf.h"

namespace ustack {

class Stack;

class EthernetLayer {
 public:
  explicit EthernetLayer(Stack& stack);

  // A received frame; takes ownership.
  void input(Mbuf* m);
  // Prepends the Ethernet header (our MAC as source, the interface's VLAN
  // tag if it has one) to `m` and queues it for transmit. Takes ownership;
  // false (frame freed, counted) when no header room could be had.
  bool output(Mbuf* m, const MacAddr& dst, std::uint16_t ethertype);
  // Prepends a header whose destination is still to be filled in (by ARP).
  // Returns m, or another mbuf chained in front of it when m had no
  // headroom; nullptr (m freed) when the pool is empty.
  Mbuf* frame(Mbuf* m, const MacAddr& dst, std::uint16_t ethertype);
  // Queues a complete frame for transmit (takes ownership).
  void transmit(Mbuf* m);

  std::uint16_t header_len() const;

 private:
  Stack& stack_;
  Counter& rx_frames_;
  Counter& tx_frames_;
  Counter& drop_short_;
  Counter& drop_not_for_us_;
  Counter& drop_multicast_;
  Counter& drop_bad_src_;
  Counter& drop_vlan_;
  Counter& drop_ethertype_;
  Counter& drop_no_headroom_;
};

}  // namespace ustack
