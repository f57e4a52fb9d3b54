// The seeded fault model of one memlink direction.
//
// All random decisions for a receive queue come from one generator seeded
// from (seed, direction, queue), and are taken on the receiving side in
// arrival order, so the same seed and the same traffic give the same faults:
// a failing run can be replayed.
#pragma once

#include <cstdint>

#include "core/instant.h"

namespace ustack {

struct FaultConfig {
  double loss = 0;  // each frame lost independently with this probability
  // Bursty loss, a Gilbert-Elliott chain: from the good state enter the bad
  // state with burst_enter; leave it with burst_exit; in the bad state each
  // frame is lost with burst_loss.
  double burst_enter = 0;
  double burst_exit = 0.3;
  double burst_loss = 1.0;
  double reorder = 0;               // a frame is held back with this probability...
  std::uint32_t reorder_depth = 3;  // ...behind 1..depth later frames,
  Duration reorder_max_hold = std::chrono::milliseconds(1);  // or at most this long;
  // at most this many frames are held at once (a frame that would exceed it
  // goes through in order). Deep reordering (depth of a few windows) needs a
  // few thousand.
  std::uint32_t reorder_max_held = 64;
  double duplicate = 0;                  // a frame is delivered twice
  double corrupt = 0;                    // one random bit of the frame is flipped
  Duration delay{0};                     // one-way propagation delay
  std::uint64_t rate_bps = 0;            // serialization rate; 0 = unlimited
  std::uint32_t queue_bytes = 1u << 20;  // buffer in front of a rate-limited link (tail drop)
  std::uint64_t seed = 1;

  bool any_random() const {
    return loss > 0 || burst_enter > 0 || reorder > 0 || duplicate > 0 || corrupt > 0;
  }
};

// What happened on one direction. Written by that direction's producer and
// consumer threads (each field by one of them), readable anywhere.
struct LinkStatsSnapshot {
  std::uint64_t sent = 0;       // frames accepted by tx_burst
  std::uint64_t delivered = 0;  // frames handed out by rx_burst (duplicates included)
  std::uint64_t lost = 0;       // random and burst loss
  std::uint64_t duplicated = 0;
  std::uint64_t corrupted = 0;
  std::uint64_t reordered = 0;      // frames held back
  std::uint64_t mtu_dropped = 0;    // longer than the link MTU
  std::uint64_t queue_dropped = 0;  // ring full or rate-limit buffer full
};

}  // namespace ustack
