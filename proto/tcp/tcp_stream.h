// TcpStream: a buffered, copying convenience on top of TcpConn for
// applications that would rather see bytes than mbufs and never want to
// hear "the send buffer is full". Subclass it and override what you need;
// write() always takes everything (what does not fit in the connection's
// send buffer waits here and goes out as ACKs make room). Not zero copy:
// servers that care use TcpConn directly.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "proto/tcp/tcp.h"

namespace ustack {

class TcpStream : public TcpHandler {
 public:
  // Bytes that arrived, in order, in as many calls as it takes.
  virtual void on_data(std::span<const std::byte> /*bytes*/) {}
  virtual void on_open() {}
  virtual void on_end() {}  // the peer will send no more
  virtual void on_close(TcpCloseReason /*reason*/) {}

  // Queues bytes for sending; never refuses.
  void write(std::span<const std::byte> bytes);
  // Closes once everything written has been handed to TCP.
  void close();
  std::size_t pending() const { return pending_.size() - pending_off_; }
  TcpConn* connection() const { return conn_; }

  // TcpHandler (final: the stream handles these).
  void on_connected(TcpConn& c) final;
  void on_readable(TcpConn& c) final;
  void on_writable(TcpConn& c) final;
  void on_peer_closed(TcpConn& c) final;
  void on_closed(TcpConn& c, TcpCloseReason reason) final;

 private:
  void flush();
  TcpConn* conn_ = nullptr;
  std::vector<std::byte> pending_;
  std::size_t pending_off_ = 0;
  bool close_wanted_ = false;
};

}  // namespace ustack
