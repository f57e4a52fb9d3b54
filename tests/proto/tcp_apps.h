// Small TCP applications for tests: an echo server, and a client that
// sends a buffer and collects what comes back.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "proto/tcp/tcp.h"

namespace ustack::testing {

// Echoes everything it reads; closes when the peer does.
class EchoServer : public TcpListenHandler, public TcpHandler {
 public:
  TcpHandler* on_accept(TcpConn&) override {
    ++accepted;
    return this;
  }
  void on_readable(TcpConn& c) override { pump(c); }
  void on_writable(TcpConn& c) override { pump(c); }
  void on_peer_closed(TcpConn& c) override {
    c.user = this;  // marks this connection's peer as done
    pump(c);
  }
  void on_closed(TcpConn&, TcpCloseReason r) override {
    ++closed;
    last_reason = r;
  }
  int accepted = 0;
  int closed = 0;
  TcpCloseReason last_reason = TcpCloseReason::kNormal;
  std::uint64_t echoed = 0;

 private:
  void pump(TcpConn& c) {
    // Move received segments straight into the send queue: zero copy.
    while (c.readable() > 0) {
      Mbuf* m = c.take(c.send_space());
      if (m == nullptr) {
        c.want_writable();  // the next segment does not fit yet
        break;
      }
      const std::uint32_t n = m->pkt_len;
      const bool queued = c.send(m);  // fits: take() stayed within send_space()
      EXPECT_TRUE(queued);
      if (!queued) mbuf_free(m);
      echoed += n;
    }
    if (c.user != nullptr && c.readable() == 0) c.close();
  }
};

// Sends `data`, reads everything back, closes after the echo is complete.
class EchoClient : public TcpHandler {
 public:
  explicit EchoClient(std::vector<std::byte> data) : data_(std::move(data)) {}
  void on_connected(TcpConn& c) override {
    connected = true;
    push(c);
  }
  void on_writable(TcpConn& c) override { push(c); }
  void on_readable(TcpConn& c) override {
    std::byte buf[16384];
    for (std::size_t n; (n = c.read(buf)) > 0;) got.insert(got.end(), buf, buf + n);
    if (got.size() >= data_.size() && !closing_) {
      closing_ = true;
      c.close();
    }
  }
  void on_closed(TcpConn&, TcpCloseReason r) override {
    closed = true;
    reason = r;
  }
  const std::vector<std::byte>& data() const { return data_; }
  bool connected = false;
  bool closed = false;
  TcpCloseReason reason = TcpCloseReason::kNormal;
  std::vector<std::byte> got;

 private:
  void push(TcpConn& c) {
    while (sent_ < data_.size()) {
      const std::uint32_t n = c.send(std::span(data_).subspan(sent_));
      if (n == 0) break;
      sent_ += n;
    }
  }
  std::vector<std::byte> data_;
  std::size_t sent_ = 0;
  bool closing_ = false;
};

inline std::vector<std::byte> random_bytes(std::size_t n, std::uint64_t seed) {
  std::vector<std::byte> v(n);
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = std::byte(static_cast<std::uint8_t>(x));
  }
  return v;
}

}  // namespace ustack::testing
