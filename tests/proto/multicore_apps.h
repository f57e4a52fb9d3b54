// The applications of the multi-core tests: clients that send a pattern
// and check its echo, an echo server, a listener that records where each
// flow was accepted, and an opener that starts clients from a core's loop.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include "proto/multi_stacks.h"

namespace ustack::testing {

constexpr std::uint16_t kPort = 9000;
constexpr std::size_t kBytes = 2000;

inline std::byte pattern(std::size_t conn, std::size_t i) {
  return static_cast<std::byte>((conn * 131 + i * 7) & 0xff);
}

// Sends kBytes, checks the echo, closes.
struct Client : TcpHandler {
  std::size_t id = 0;
  std::uint16_t core = 0;
  TcpConn* conn = nullptr;
  std::size_t got = 0, bad = 0;
  bool closed = false;
  TcpCloseReason reason{};
  std::atomic<std::size_t>* closed_count = nullptr;  // threaded test: progress
  void on_connected(TcpConn& c) override {
    std::array<std::byte, kBytes> out;
    for (std::size_t i = 0; i < kBytes; ++i) out[i] = pattern(id, i);
    EXPECT_EQ(c.send(out), kBytes);
  }
  void on_readable(TcpConn& c) override {
    std::array<std::byte, 4096> in;
    const std::size_t n = c.read(in);
    for (std::size_t i = 0; i < n; ++i) bad += in[i] != pattern(id, got + i);
    got += n;
    if (got == kBytes) c.close();
  }
  void on_closed(TcpConn&, TcpCloseReason r) override {
    closed = true;
    reason = r;
    if (closed_count != nullptr) closed_count->fetch_add(1, std::memory_order_release);
  }
};

// Echoes, closes when the peer does; records where each flow was accepted.
struct Echo : TcpHandler {
  void on_readable(TcpConn& c) override {
    std::array<std::byte, 4096> in;
    const std::size_t n = c.read(in);
    c.send({in.data(), n});
  }
  void on_peer_closed(TcpConn& c) override { c.close(); }
};

struct EchoListener : TcpListenHandler {
  std::uint16_t core = 0;
  std::vector<ConnKey> keys;
  Echo echo;  // stateless: one for all
  TcpHandler* on_accept(TcpConn& c) override {
    keys.push_back(c.key());
    return &echo;
  }
};

// Opens its clients' connections to kMultiB:kPort from its core's loop
// (connect() runs on the stack's own thread).
struct Opener : StackApp {
  Opener(Stack& st, std::vector<Client*> mine, Ipv4Addr to = kMultiB)
      : stack(st), clients(std::move(mine)), peer(to) {}
  void poll(Instant) override {
    if (started) return;
    started = true;
    for (Client* c : clients) {
      std::string err;
      c->conn = stack.tcp().connect(IpAddr::v4(peer), kPort, *c, &err);
      if (c->conn == nullptr) {  // counted as a failure below
        c->closed = true;
        c->closed_count->fetch_add(1, std::memory_order_release);
      }
    }
  }
  Stack& stack;
  std::vector<Client*> clients;
  Ipv4Addr peer;
  bool started = false;
};

}  // namespace ustack::testing
