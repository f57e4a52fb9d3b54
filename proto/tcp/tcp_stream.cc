#include "proto/tcp/tcp_stream.h"

namespace ustack {

void TcpStream::write(std::span<const std::byte> bytes) {
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  flush();
}

void TcpStream::close() {
  close_wanted_ = true;
  flush();
}

void TcpStream::flush() {
  if (conn_ == nullptr) return;
  while (pending_off_ < pending_.size()) {
    const std::uint32_t n = conn_->send(std::span(pending_).subspan(pending_off_));
    if (n == 0) break;  // send() asked for on_writable
    pending_off_ += n;
  }
  if (pending_off_ == pending_.size()) {
    pending_.clear();
    pending_off_ = 0;
    if (close_wanted_) {
      close_wanted_ = false;
      conn_->close();
    }
  }
}

void TcpStream::on_connected(TcpConn& c) {
  conn_ = &c;
  on_open();
  flush();
}

void TcpStream::on_readable(TcpConn& c) {
  conn_ = &c;
  std::byte buf[16384];
  for (std::size_t n; (n = c.read(buf)) > 0;) on_data({buf, n});
}

void TcpStream::on_writable(TcpConn& c) {
  conn_ = &c;
  flush();
}

void TcpStream::on_peer_closed(TcpConn& c) {
  conn_ = &c;
  on_end();
}

void TcpStream::on_closed(TcpConn&, TcpCloseReason reason) {
  conn_ = nullptr;
  on_close(reason);
}

}  // namespace ustack
