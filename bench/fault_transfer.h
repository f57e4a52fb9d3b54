// One bulk transfer over one TCP connection between two ustack stacks joined
// by a memlink with faults, on a virtual clock, every byte checked with
// SHA-256: the unit of the fault matrix (bench/fault_matrix.cc).
//
// Time: the stacks run on a VirtualClock. While frames move, each iteration
// of both hosts costs `busy_step` of virtual time; when neither host
// received anything, the clock jumps to the next event (a frame due on the
// link, a held frame's deadline, the next timer tick), so waiting for a
// retransmission timeout costs nothing. Goodput is payload bits over the
// virtual time from connect() to the last byte received: the figure of the
// path (rate, delay, faults) and of the TCP, not of this machine's CPU.
// The wall time is reported too (how fast the simulation ran).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "drivers/memlink/memlink.h"
#include "proto/tcp/tcp_config.h"

namespace ustack::bench {

struct TransferSpec {
  std::uint64_t bytes = 1ull << 30;
  std::uint32_t mtu = 1500;  // IP MTU of both interfaces and the link
  FaultConfig a_to_b;        // data direction
  FaultConfig b_to_a;        // ACK direction
  TcpConfig tcp;             // both hosts
  std::uint64_t data_seed = 1;
  std::uint32_t pool_size = 32768;  // mbufs per host (2 KiB each; jumbo frames are chains)
  std::uint32_t ring_size = 16384;  // memlink frames in flight per direction
  Duration busy_step = std::chrono::microseconds(5);
  // A transfer fails when the receiver gets no new byte for this long
  // (virtual time, or wall time), or when it runs longer than max_wall.
  // The virtual bound is above the stack's own give-up (user timeout 100 s,
  // RTO ceiling 60 s): a connection that is retransmitting with backoff is
  // left to recover or to time out by itself.
  Duration stall_virtual = std::chrono::seconds(180);
  double stall_wall_seconds = 120;
  double max_wall_seconds = 3600;
};

struct TransferResult {
  bool completed = false;  // every byte received and both sides closed normally
  bool sha_ok = false;     // receiver's SHA-256 equals the sender's over `bytes`
  std::string error;       // why it did not complete (empty when it did)
  std::uint64_t sent = 0, received = 0;
  double virtual_seconds = 0;  // connect() to the last byte received
  double wall_seconds = 0;
  // Sender (host a) counters.
  std::uint64_t retransmits = 0;       // tcp.tx.retransmits: every segment sent again
  std::uint64_t fast_retransmits = 0;  // tcp.fast_retransmits
  std::uint64_t sack_recoveries = 0;   // tcp.sack.recoveries
  std::uint64_t sack_retransmits = 0;  // tcp.sack.retransmits
  std::uint64_t timeouts = 0;          // tcp.timeouts (connections given up)
  std::uint64_t rto_events = 0;        // retransmission timeouts seen (cwnd -> 1 MSS)
  std::uint64_t rx_dsack = 0;          // tcp.sack.rx_dsack
  std::uint64_t undone = 0;            // tcp.sack.spurious_undone
  double max_srtt_ms = 0;              // the sender's largest smoothed RTT (path RTT: 1 ms)
  // Receiver (host b) counters.
  std::uint64_t tx_dsack = 0;      // tcp.sack.tx_dsack
  std::uint64_t bad_checksum = 0;  // tcp.drop.bad_checksum, both hosts
  LinkStatsSnapshot data_link;     // a -> b
  LinkStatsSnapshot ack_link;      // b -> a

  double goodput_gbps() const {
    return virtual_seconds > 0 ? static_cast<double>(received) * 8 / virtual_seconds / 1e9 : 0;
  }
  double wall_gbps() const {
    return wall_seconds > 0 ? static_cast<double>(received) * 8 / wall_seconds / 1e9 : 0;
  }
};

TransferResult run_transfer(const TransferSpec& spec);

}  // namespace ustack::bench
