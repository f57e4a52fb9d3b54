// What every TCP server does once its options are read, whether one runs
// alone (tcpserver, httpd, wsd, iperf3) or several share one stack (serve):
// listen on its port, print the banner, run until it is done or Ctrl-C,
// stop accepting, close what is still open with FIN, drain for a bounded
// time, and print the totals.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "apps/host.h"

namespace ustack::app {

// A server's listener: accepts (while the run lasts), counts connections,
// and can close the open ones when interrupted.
class ServerListener : public TcpListenHandler {
 public:
  // `name` starts every line the server prints ("httpd").
  explicit ServerListener(std::string name) : name_(std::move(name)) {}

  // TcpListenHandler: refuses (RST) once stop_accepting() was called,
  // otherwise counts the connection accept() takes.
  TcpHandler* on_accept(TcpConn& c) final;
  void stop_accepting() { accepting_ = false; }

  // Called from each connection's on_closed.
  void count_finished(TcpCloseReason r) {
    ++finished;
    if (r != TcpCloseReason::kNormal) ++failed;
  }
  // The line for a finished connection (print_connection_summary), after
  // `line_prefix`; nothing when log_connections is off.
  void connection_line(const std::string& peer, const std::string& what, std::uint64_t received,
                       std::uint64_t sent, Duration took, TcpCloseReason reason) const;

  // Ctrl-C: close every open connection (FIN), so that the drain can end them.
  virtual void close_all() = 0;
  // Work on the stack's core once per loop iteration (none by default).
  virtual void poll(Instant /*now*/) {}
  // Whether this server has finished on its own: by default once
  // `stop_after` connections have finished (0: never).
  virtual bool done() const { return stop_after != 0 && finished >= stop_after; }
  // Connections not yet closed.
  virtual std::uint64_t open_connections() const { return accepted - finished; }
  // The totals after the run: "NAME: N connections, M failed".
  virtual void print_totals() const;
  // The exit status of a command that ran this server alone.
  virtual int exit_status() const { return failed == 0 ? kExitOk : kExitFailure; }
  // Where the server's own lines (banner, totals) go.
  virtual std::FILE* out() const { return stdout; }

  const std::string& name() const { return name_; }

  std::uint16_t port = 0;        // to listen on
  std::string detail;            // appended to "NAME: listening on ADDR port P"
  std::uint64_t stop_after = 0;  // see done()
  std::string line_prefix;       // before each connection line ("httpd: " in serve)
  bool log_connections = true;
  std::uint64_t accepted = 0, finished = 0, failed = 0;

 protected:
  // A new connection: its handler, or nullptr to refuse it.
  virtual TcpHandler* accept(TcpConn& c) = 0;

  // Drops the sessions whose connection has closed (conn == nullptr, set in
  // their on_closed before count_finished), in batches: once they are more
  // than half of `sessions`. Call from accept(), never from a session's own
  // callback, so a long-running server holds only about its open sessions.
  template <class Session>
  void reap_closed(std::vector<std::unique_ptr<Session>>& sessions) {
    if ((finished - reaped_) * 2 <= sessions.size()) return;
    std::erase_if(sessions, [](const auto& s) { return s->conn == nullptr; });
    reaped_ = finished;
  }

 private:
  std::string name_;
  bool accepting_ = true;
  std::uint64_t reaped_ = 0;  // `finished` when reap_closed last ran
};

// Installs the signal handlers and opens the host; on failure prints
// "ustack NAME: why" and returns nullptr (the caller exits with kExitUsage).
std::unique_ptr<AppHost> open_server_host(const char* name, const HostOptions& o);

// Listens every server on its port and prints each banner; false after
// printing "ustack CMD: why" when a port cannot be listened on.
bool listen_servers(AppHost& host, const char* cmd, std::span<ServerListener* const> servers);

// The servers of one stack, polled on its core once per loop iteration,
// followed by `extra` (the stats publisher of serve) when set.
class ServerPoller : public StackApp {
 public:
  ServerPoller(std::span<ServerListener* const> servers, StackApp* extra)
      : servers_(servers), extra_(extra) {}
  void poll(Instant now) override;

 private:
  std::span<ServerListener* const> servers_;
  StackApp* extra_;
};

// Runs the listening servers until one is done() or SIGINT/SIGTERM. Then
// every server stops accepting and closes its connections with FIN; the
// loop drains until none is open or `drain` has passed, and each server
// prints its totals. `extra` runs once per iteration throughout.
void run_servers(AppHost& host, std::span<ServerListener* const> servers, Duration drain,
                 StackApp* extra = nullptr);

// One server alone, as its own command runs it: listens, runs, drains for
// at most a second; returns kExitUsage when the port cannot be listened
// on, otherwise the server's exit_status().
int serve(AppHost& host, ServerListener& listener);

}  // namespace ustack::app
