// What every TCP server command (tcpserver, httpd, wsd) does once its
// options are read: open the host, listen on a port, print the banner, run
// until enough connections have finished or Ctrl-C, close what is still
// open, and print the totals.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "apps/host.h"

namespace ustack::app {

// A command's listener: counts finished connections and can close the open
// ones when interrupted.
class ServerListener : public TcpListenHandler {
 public:
  // Called from each connection's on_closed.
  void count_finished(TcpCloseReason r) {
    ++finished;
    if (r != TcpCloseReason::kNormal) ++failed;
  }
  // Ctrl-C: close every open connection (FIN), so that drain can end them.
  virtual void close_all() = 0;

  std::uint64_t finished = 0, failed = 0;
};

// Installs the signal handlers and opens the host; on failure prints
// "ustack NAME: why" and returns nullptr (the caller exits with kExitUsage).
std::unique_ptr<AppHost> open_server_host(const char* name, const HostOptions& o);

struct ServeOptions {
  const char* name = "";    // "httpd": the prefix of every line
  std::uint16_t port = 0;   // to listen on
  std::uint64_t count = 0;  // stop after this many finished connections (0: Ctrl-C only)
  std::string detail;       // appended to "NAME: listening on ADDR port P"
};

// Listens with `listener` and runs; returns the exit status: kExitUsage
// when the port cannot be listened on, kExitFailure when a connection
// ended abnormally, kExitOk otherwise.
int serve(AppHost& host, ServerListener& listener, const ServeOptions& o);

}  // namespace ustack::app
