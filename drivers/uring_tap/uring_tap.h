// uring_tap: a port on a Linux TAP device, driven through io_uring.
//
// The TAP is created (or attached to, when it already exists) through
// /dev/net/tun with IFF_TAP | IFF_NO_PI, and IFF_MULTI_QUEUE with one file
// descriptor per queue when queues > 1 (the kernel spreads flows over them).
// Each queue has its own io_uring, used only by the worker that polls it.
//
// Receive, zero copy: reads go into the data rooms of mbufs from the
// queue's pool, and the kernel copies each frame straight from its socket
// buffer into the mbuf that rx_burst then hands out: the driver never
// copies or touches the bytes. Three ways (UringTapRx), chosen when the port
// opens and said in a log line:
//  - drain (the default), as a read() loop does it: while frames come,
//    rx_burst submits a batch of IORING_OP_READ_FIXED with RWF_NOWAIT (the
//    pool's memory is registered with the ring), each taking a queued frame
//    or failing at once with -EAGAIN; once a batch finds the TAP empty, one
//    read is left to wait, and batches start again when it brings a frame.
//    While frames flow nothing waits on the TAP, so the sending side of the
//    kernel wakes nobody per frame. The batch doubles while batches come
//    back full (up to 64) and shrinks to what the last one brought.
//  - multishot (Linux >= 6.7): the data rooms sit in a ring of provided
//    buffers (io_uring_register_buf_ring) and one IORING_OP_READ_MULTISHOT
//    stays armed on the TAP; each completion names the buffer it filled
//    (its buffer id indexes the queue's mbufs), and rx_burst puts fresh
//    mbufs in the ring without a system call. The read is armed again when
//    it ends (ring ran dry: -ENOBUFS, or an error). Its poll stays on the
//    TAP's wait queue, so every frame costs the sender a wake-up: slower
//    than drain on driver_bench (BENCHMARKS.md).
//  - linked: rx_depth READ_FIXED in flight, posted as a few chains of
//    hard-linked reads, so only one read per chain waits on the TAP. The
//    fallback where the kernel refuses the way asked for (RWF_NOWAIT on a
//    TAP, or multishot reads and rings of provided buffers).
// Transmit, zero copy: each frame is one write of the mbuf's own bytes
// (WRITE_FIXED when they lie in the registered region, WRITEV for chains
// and virtio-net headers); the mbuf is freed when its completion is reaped.
// rx_burst and tx_burst reap completions without blocking
// (io_uring_peek_batch_cqe) and make at most one io_uring_submit each (plus,
// rarely, one io_uring_enter to collect completions the kernel parked for
// us), never a system call per frame; with SQPOLL none while the kernel's
// polling thread is awake. wait_rx sleeps in io_uring_enter until a
// completion comes (a worker that would rather sleep than spin when idle).
//
// With vnet_hdr, every frame carries a struct virtio_net_hdr (read into the
// mbuf's headroom, so the frame itself still starts at the headroom): frames
// the local kernel sent with a checksum still to be filled in, or already
// validated, arrive with ol::kRxL4CksumGood, and TCP/UDP checksums of sent
// frames are left to the kernel (ol::kTxTcpCksum / kTxUdpCksum honoured).
//
// Counters: rx when a frame is handed out; tx when the kernel's write
// completion is reaped (tx_burst reaps right after submitting, and a write
// to a TAP completes inside that submit; with SQPOLL the kernel's thread
// writes, and the completion is reaped at the next rx_burst or tx_burst);
// tx_dropped counts frames refused by tx_burst and writes the kernel failed.
//
// Threads: a queue's reads complete through the thread that posted them,
// which is the thread that polls the queue (its worker).
//
// Needs Linux >= 5.19 (IORING_ASYNC_CANCEL_ANY, used when the port closes);
// multishot receive needs Linux >= 6.7.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/mac_addr.h"
#include "core/mbuf_pool.h"
#include "core/port.h"

namespace ustack {

enum class UringTapRx : std::uint8_t { kDrain, kMultishot, kLinked };

// "drain", "multishot", "linked"; false for anything else.
bool parse_uring_tap_rx(const std::string& text, UringTapRx* out);
const char* uring_tap_rx_name(UringTapRx rx);

struct UringTapConfig {
  std::string iface;  // TAP name (at most 15 characters); created if missing
  std::uint16_t queues = 1;
  // One pool per queue, owned by the worker that polls the queue: receive
  // buffers come from it, and its memory is registered with the queue's
  // ring. Its data room must hold an MTU-sized frame (mtu + 18). Pools must
  // outlive the port.
  std::vector<MbufPool*> rx_pools;
  // Receive buffers per queue with the kernel or waiting for rx_burst
  // (1..4096): reads in flight (linked), mbufs in the ring (multishot), the
  // most one batch reads (drain).
  std::uint32_t rx_depth = 128;
  std::uint32_t tx_depth = 256;  // writes in flight per queue (1..4096)
  // How queues receive (see above); kLinked where the kernel cannot.
  UringTapRx rx = UringTapRx::kDrain;
  // kLinked only: the reads are posted as this many chains (uring_tap.cc);
  // only a chain's head waits on the TAP. 0 posts every read on its own
  // (each frame then wakes all of them).
  std::uint32_t rx_chains = 2;
  // ustack's own MAC; by default a locally administered address that
  // differs from the TAP's kernel-side MAC (the kernel is a separate host).
  std::optional<MacAddr> mac;
  // Kernel side of the TAP, optional: "10.0.0.2/24" gives it that IPv4
  // address; empty leaves its addresses alone.
  std::string kernel_cidr;
  std::uint32_t mtu = 0;         // set the TAP's MTU when nonzero
  bool bring_up = true;          // set the kernel side up (frames flow only then)
  bool vnet_hdr = false;         // IFF_VNET_HDR with checksum offload (see above)
  bool register_buffers = true;  // fixed buffers; plain reads/writes if false
  bool sqpoll = false;           // IORING_SETUP_SQPOLL: a kernel thread submits
  std::uint32_t sqpoll_idle_ms = 200;
};

// Opens the port, or returns nullptr with one clear sentence in *error (no
// /dev/net/tun, no permission, io_uring disabled by the kernel, bad config).
std::unique_ptr<Port> open_uring_tap(const UringTapConfig& cfg, std::string* error);

}  // namespace ustack
