// af_packet: a port on a Linux network interface through PACKET_MMAP.
//
// Receive: a TPACKET_V3 ring of blocks per queue. Frames stay in their ring
// block; each is handed out as an mbuf attached to it (an external buffer),
// and a block goes back to the kernel when the last mbuf pointing into it is
// freed, on whichever core frees it. When more than half of a queue's blocks
// are held by mbufs still alive, frames are copied into pool mbufs instead,
// so an application that keeps data (a TCP receive queue) cannot stall the
// ring.
// Transmit: a TX ring (frames copied into it, one send() per burst to kick
// the kernel) with PACKET_QDISC_BYPASS. Our own frames are not received back
// (PACKET_IGNORE_OUTGOING).
// Queues: one socket per queue, joined in a PACKET_FANOUT_HASH group so the
// kernel spreads flows over them.
//
// Latency note: a TPACKET_V3 block reaches user space when it is full or
// when its retire timer fires (retire_timeout_ms, 1 ms at least), so a
// lone frame may wait up to that long. Throughput is what V3 is for; for
// latency choose ring_version 2 (TPACKET_V2: per-frame status, a frame is
// visible the moment the kernel has written it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/mbuf_pool.h"
#include "core/port.h"

namespace ustack {

struct AfPacketConfig {
  std::string iface;
  std::uint16_t queues = 1;
  // One pool per queue, owned by the worker that polls the queue: headers
  // for frames received in place, and buffers for copied ones.
  std::vector<MbufPool*> rx_pools;
  std::uint32_t block_size = 1u << 20;  // bytes per RX block (page multiple)
  std::uint32_t block_count = 16;       // RX blocks per queue
  std::uint32_t frame_size = 2048;      // TX slot size; bounds the MTU we can send
  std::uint32_t tx_frames = 1024;       // TX slots per queue
  std::uint32_t retire_timeout_ms = 1;  // see the latency note (V3 only)
  // 3: TPACKET_V3 blocks (throughput; a lone frame waits for the block
  // timer). 2: TPACKET_V2 frames, each visible as soon as it lands (latency:
  // request/response, the 20 KB echo), referenced in place the same way.
  int ring_version = 3;
  bool qdisc_bypass = true;
  // Transmit with one sendmmsg() per burst straight from the mbufs instead
  // of copying frames into the TX ring. On a veth the kernel spends less
  // per frame this way (BENCHMARKS.md, driver_bench --tx); the ring is the
  // default.
  bool tx_sendmmsg = false;
  // Receive frames for other MACs too (when the stack uses its own MAC).
  bool promiscuous = false;
  // See the frames this host sends too (a capture tool); a stack must not,
  // or it would receive its own transmissions.
  bool capture_outgoing = false;
};

// Opens the port, or returns nullptr with one clear sentence in *error (no
// permission, interface missing or down, MTU too large for the ring, ...).
std::unique_ptr<Port> open_af_packet(const AfPacketConfig& cfg, std::string* error);

}  // namespace ustack
