// Small TCP applications for the benchmarks: an acceptor, a bulk sender
// (zero copy or copying), a sink, a ping-pong pair, an idle handler.
// Each keeps to what a real application does per event and counts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bench/two_stacks_bench.h"
#include "core/mbuf.h"
#include "core/mbuf_pool.h"
#include "proto/tcp/tcp.h"

namespace ustack::bench {

// Hands every accepted connection to `handler` (switchable between runs).
class Acceptor final : public TcpListenHandler {
 public:
  explicit Acceptor(TcpHandler* h, bool set_nodelay = false) : handler(h), nodelay(set_nodelay) {}
  TcpHandler* on_accept(TcpConn& c) override {
    ++accepted;
    last = &c;
    if (nodelay) c.set_nodelay(true);
    return handler;
  }
  TcpHandler* handler;
  bool nodelay;
  std::uint64_t accepted = 0;
  TcpConn* last = nullptr;
};

// Does nothing; counts.
class IdleHandler final : public TcpHandler {
 public:
  void on_connected(TcpConn&) override { ++connected; }
  void on_closed(TcpConn&, TcpCloseReason) override { ++closed; }
  std::uint64_t connected = 0;
  std::uint64_t closed = 0;
};

// Sends without end. Zero copy: one pool mbuf per MSS handed over with
// send(Mbuf*) (the bytes are whatever the buffer holds: producing them is
// the application's business). Copying: send(span) from a 64 KiB buffer.
// Refills whenever the stack says there is room (on_writable).
class BulkSender final : public TcpHandler {
 public:
  BulkSender(bool zero_copy, MbufPool& pool)
      : zero_copy_(zero_copy), pool_(pool), buf_(zero_copy ? 0 : 65536) {}
  void on_connected(TcpConn& c) override {
    conn = &c;
    fill(c);
  }
  void on_writable(TcpConn& c) override { fill(c); }
  void on_closed(TcpConn&, TcpCloseReason) override {
    conn = nullptr;
    closed = true;
  }
  void fill(TcpConn& c) {
    if (zero_copy_) {
      const std::uint32_t seg = c.mss();
      while (c.send_space() >= seg) {
        Mbuf* m = pool_.alloc();
        if (m == nullptr) {
          ++pool_empty;
          break;
        }
        m->append(static_cast<std::uint16_t>(seg));
        if (!c.send(m)) {
          mbuf_free(m);
          return;  // send() asked for on_writable
        }
      }
      c.want_writable();
    } else {
      while (c.send(std::span<const std::byte>(buf_)) == buf_.size()) {
      }
    }
  }
  TcpConn* conn = nullptr;
  bool closed = false;
  std::uint64_t pool_empty = 0;

 private:
  bool zero_copy_;
  MbufPool& pool_;
  std::vector<std::byte> buf_;
};

// Takes whatever arrives (the received mbufs themselves) and frees it.
class Sink final : public TcpHandler {
 public:
  void on_readable(TcpConn& c) override {
    while (Mbuf* m = c.take()) {
      bytes += m->pkt_len;
      mbuf_free(m);
    }
  }
  void on_closed(TcpConn&, TcpCloseReason) override { closed = true; }
  std::uint64_t bytes = 0;
  bool closed = false;
};

// The client of a 1-byte ping-pong: a request on connect and after every
// reply, until stopped.
class PingClient final : public TcpHandler {
 public:
  void on_connected(TcpConn& c) override {
    conn = &c;
    c.set_nodelay(true);
    ping(c);
  }
  void on_readable(TcpConn& c) override {
    std::byte b[64];
    while (c.read(b) > 0) {
    }
    ++round_trips;
    if (running) ping(c);
  }
  void on_closed(TcpConn&, TcpCloseReason) override {
    conn = nullptr;
    closed = true;
  }
  TcpConn* conn = nullptr;
  bool running = true;
  bool closed = false;
  std::uint64_t round_trips = 0;

 private:
  static void ping(TcpConn& c) {
    const std::byte one{0x42};
    c.send(std::span<const std::byte>(&one, 1));
  }
};

// Answers every request with as many bytes.
class PongServer final : public TcpHandler {
 public:
  void on_readable(TcpConn& c) override {
    std::byte b[64];
    for (std::size_t n; (n = c.read(b)) > 0;) c.send(std::span<const std::byte>(b, n));
  }
  void on_closed(TcpConn&, TcpCloseReason) override { ++closed; }
  std::uint64_t closed = 0;
};

// Opens A's bulk connection (`sender`) to B's listener on `port`, whose
// handler is `sink`, steps until `warm_in_flight` bytes are in flight, and
// then for four windows' worth of segments more (at least 2000 steps), so
// that the flight has stopped growing: the steady state.
//
// B must advertise no more than its receive buffer. While this benchmark
// was written, about half of all new connections did not: RCV.ADV
// (rcv_adv_) was not reset per connection, and send_segment set it in the
// SYN only when it was not already "ahead" of RCV.NXT in sequence space,
// which a stale value is half the time; such a connection advertised
// 65535 << wscale whatever its buffer and never sent a window update. So
// that every run measures the same, intended behaviour, a connection that
// advertises more than its buffer is aborted and opened again. Returns the
// attempts made (1: the first was sane), 0 with *error on failure.
inline int open_bulk(BenchStacks& s, std::uint16_t port, BulkSender& sender, Sink& sink,
                     std::uint32_t recv_buffer, std::uint32_t warm_in_flight, std::string* error) {
  for (int attempt = 1; attempt <= 20; ++attempt) {
    s.sync();
    if (s.a.tcp().connect(IpAddr::v4(kAddrB), port, sender, error) == nullptr) return 0;
    if (!s.run_until(
            [&] {
              return sender.conn != nullptr && sender.conn->bytes_in_flight() >= warm_in_flight;
            },
            10'000'000)) {
      *error = "the window never filled";
      return 0;
    }
    if (sender.conn->send_window() <= recv_buffer) {
      // B takes at most a burst (32 segments) per step.
      const std::uint64_t settle = std::max<std::uint64_t>(2000, 4 * (recv_buffer / 1448) / 32);
      for (std::uint64_t i = 0; i < settle; ++i) s.step();
      return attempt;
    }
    s.sync();
    sender.conn->abort();
    if (!s.run_until([&] { return sink.closed; }, 1'000'000)) {
      *error = "the aborted connection did not close";
      return 0;
    }
    for (int i = 0; i < 100; ++i) s.step();  // the last frames of it
    sink.closed = false;
    sender.closed = false;
  }
  *error = "20 connections in a row advertised more than their buffer";
  return 0;
}

// Opens `n` idle connections from A to B and waits until all are
// established on both sides: B listens on ports 5001, 5002, ... (50,000
// connections each, from A's local ports 10000..59999), in batches below
// the listeners' SYN backlog. The hosts' TcpConfig::max_connections must
// leave room. false with *error on failure.
inline bool open_idle(BenchStacks& s, std::uint32_t n, IdleHandler& client, Acceptor& acceptor,
                      std::string* error) {
  constexpr std::uint16_t kPortBase = 5001;
  constexpr std::uint32_t kPerPort = 50000;
  constexpr std::uint32_t kBatch = 1000;
  for (std::uint32_t p = 0; p * kPerPort < n; ++p) {
    if (s.b.tcp().listen(static_cast<std::uint16_t>(kPortBase + p), acceptor, error) == nullptr)
      return false;
  }
  const std::uint64_t connected0 = client.connected;
  const std::uint64_t accepted0 = acceptor.accepted;
  const std::uint32_t a0 = s.a.tcp().connections();
  const std::uint32_t b0 = s.b.tcp().connections();
  for (std::uint32_t i = 0; i < n;) {
    s.sync();
    const std::uint32_t end = std::min(n, i + kBatch);
    for (; i < end; ++i) {
      const auto rport = static_cast<std::uint16_t>(kPortBase + i / kPerPort);
      const auto lport = static_cast<std::uint16_t>(10000 + i % kPerPort);
      if (s.a.tcp().connect(IpAddr::v4(kAddrB), rport, client, error, lport) == nullptr)
        return false;
    }
    if (!s.run_until(
            [&] {
              return client.connected - connected0 == end && acceptor.accepted - accepted0 == end;
            },
            100000)) {
      *error = "idle connections did not open";
      return false;
    }
  }
  for (int i = 0; i < 100; ++i) s.step();  // the last ACKs land
  if (s.a.tcp().connections() - a0 != n || s.b.tcp().connections() - b0 != n) {
    *error = "idle connection count is off";
    return false;
  }
  return true;
}

}  // namespace ustack::bench
