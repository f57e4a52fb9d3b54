// Frames waiting for a neighbor's link-layer address (ARP, RFC 1122
// §2.3.2.2; IPv6 neighbor discovery, RFC 4861 §7.2.2), in arrival order,
// linked through Mbuf::udata64 so that waiting costs no allocation. Both
// caches bound the queue by count and by bytes.
#pragma once

#include <cstdint>

#include "core/mac_addr.h"
#include "core/mbuf.h"
#include "proto/wire/ethernet.h"

namespace ustack {

struct PendingFrames {
  Mbuf* head = nullptr;
  Mbuf* tail = nullptr;
  std::uint32_t count = 0;
  std::uint32_t bytes = 0;

  // Appends `frame` unless that would pass either bound; false (frame not
  // taken) when full.
  bool push(Mbuf* frame, std::uint32_t max_count, std::uint32_t max_bytes) {
    if (count >= max_count || bytes + frame->pkt_len > max_bytes) return false;
    frame->udata64 = 0;
    if (tail != nullptr) {
      tail->udata64 = reinterpret_cast<std::uint64_t>(frame);
    } else {
      head = frame;
    }
    tail = frame;
    ++count;
    bytes += frame->pkt_len;
    return true;
  }

  // Empties the queue, handing each frame in order to `fn` (which takes
  // ownership).
  template <typename Fn>
  void drain(Fn&& fn) {
    Mbuf* m = head;
    *this = PendingFrames{};
    while (m != nullptr) {
      Mbuf* next = reinterpret_cast<Mbuf*>(m->udata64);
      m->udata64 = 0;
      fn(m);
      m = next;
    }
  }
  // Empties the queue into `send` with each frame's destination set to `mac`.
  template <typename Send>
  void send_all(const MacAddr& mac, Send&& send) {
    drain([&](Mbuf* m) {
      wire::store_mac(m->data(), mac);
      send(m);
    });
  }
  // Empties the queue, freeing every frame.
  void free_all() {
    drain([](Mbuf* m) { mbuf_free(m); });
  }
};

}  // namespace ustack
