// TCP tunables (one per stack; listeners and connections copy what they need).
#pragma once

#include <chrono>
#include <cstdint>

#include "core/instant.h"
#include "proto/tcp/congestion.h"

namespace ustack {

struct TcpConfig {
  std::uint32_t max_connections = 16384;  // per core, TIME_WAIT included
  std::uint32_t send_buffer = 1u << 20;   // bytes queued for sending per connection
  std::uint32_t recv_buffer = 1u << 20;   // receive window ceiling per connection
  // Retransmission timeout, RFC 6298: initial 1 s (§2.1), a floor (§2.4 says
  // 1 s; Linux and most stacks use 200 ms), a ceiling (§2.5), and when to
  // give up on data (RFC 9293 §3.8.3, R2 >= 100 s) or on a SYN.
  Duration rto_initial = std::chrono::seconds(1);
  Duration rto_min = std::chrono::milliseconds(200);
  Duration rto_max = std::chrono::seconds(60);
  Duration user_timeout = std::chrono::seconds(100);
  std::uint32_t syn_retries = 6;
  // TIME-WAIT lasts 2 * MSL (RFC 9293 §3.4.2; Linux waits 60 s).
  Duration msl = std::chrono::seconds(30);
  // Delayed ACK: at most this long, and at least every second full segment
  // (RFC 9293 §3.8.6.3; RFC 5681 §4.2). The first quickack_segments data
  // segments are acknowledged at once, as Linux does, to open the peer's
  // congestion window fast.
  Duration delayed_ack = std::chrono::milliseconds(40);
  std::uint32_t quickack_segments = 16;
  std::uint32_t initial_window_segments = 10;  // RFC 6928
  // Per connection and per listener, this unless set otherwise.
  CcAlgorithm congestion_control = CcAlgorithm::kCubic;
  bool nagle = true;
  bool timestamps = true;      // RFC 7323 §3
  bool window_scaling = true;  // RFC 7323 §2
  bool sack_permitted = true;  // RFC 2018, RFC 6675
  // Keepalive (RFC 9293 §3.8.4), off by default.
  bool keepalive = false;
  Duration keepalive_idle = std::chrono::seconds(7200);
  Duration keepalive_interval = std::chrono::seconds(75);
  std::uint32_t keepalive_probes = 9;
  // RFC 5961 §7: challenge ACKs per connection per second, on average (the
  // limit each second is drawn from [n/2, 3n/2]).
  std::uint32_t challenge_ack_limit = 10;
  std::uint32_t max_syn_backlog = 1024;  // half-open connections per listener
  // Past the backlog (or with the connection table full) answer SYNs with
  // SYN cookies (RFC 4987 §3.6) instead of dropping them.
  bool syn_cookies = true;
  // RFC 8985 §7 tail loss probe: with SACK, when no ACK comes for about two
  // round trips, send one segment to draw an ACK (and SACK) out of the
  // receiver instead of waiting for the RTO.
  bool tail_loss_probe = true;
  // RFC 3042: new segments on the first duplicate ACKs (tcp_output.cc).
  bool limited_transmit = true;
  // TIME-WAIT entries kept at most; beyond, a closing connection skips
  // TIME-WAIT (counted), as Linux does past tcp_max_tw_buckets.
  std::uint32_t max_time_wait = 8192;
  // Out-of-order data held per connection: at most recv_buffer bytes, this
  // many buffers (0: one per KiB of recv_buffer, at least 64; small
  // segments are coalesced, so this bounds memory, not data) and this many
  // separate intervals (holes).
  std::uint32_t max_ooo_segments = 0;
  std::uint32_t max_ooo_intervals = 64;
  std::uint16_t ephemeral_lo = 32768;  // RFC 6056 §2.1
  std::uint16_t ephemeral_hi = 60999;
};

}  // namespace ustack
