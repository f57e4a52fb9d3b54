// The run of TCP servers (see server_loop.h).
#include "apps/server_loop.h"

#include <cstdio>

namespace ustack::app {

TcpHandler* ServerListener::on_accept(TcpConn& c) {
  if (!accepting_) return nullptr;
  TcpHandler* h = accept(c);
  if (h != nullptr) ++accepted;
  return h;
}

void ServerListener::connection_line(const std::string& peer, const std::string& what,
                                     std::uint64_t received, std::uint64_t sent, Duration took,
                                     TcpCloseReason reason) const {
  if (log_connections)
    print_connection_summary(line_prefix + peer, what, received, sent, took, reason);
}

void ServerListener::print_totals() const {
  std::fprintf(out(), "%s: %llu connections, %llu failed\n", name_.c_str(),
               static_cast<unsigned long long>(finished), static_cast<unsigned long long>(failed));
}

std::unique_ptr<AppHost> open_server_host(const char* name, const HostOptions& o) {
  install_signal_handlers();
  std::string err;
  auto host = AppHost::open(o, &err);
  if (!host) std::fprintf(stderr, "ustack %s: %s\n", name, err.c_str());
  return host;
}

bool listen_servers(AppHost& host, const char* cmd, std::span<ServerListener* const> servers) {
  for (ServerListener* s : servers) {
    std::string err;
    if (host.stack().tcp().listen(s->port, *s, &err) == nullptr) {
      std::fprintf(stderr, "ustack %s: %s\n", cmd, err.c_str());
      return false;
    }
  }
  for (ServerListener* s : servers) {
    std::fprintf(s->out(), "%s: listening on %s port %u%s\n", s->name().c_str(),
                 host.address().addr.to_string().c_str(), static_cast<unsigned>(s->port),
                 s->detail.c_str());
    std::fflush(s->out());
  }
  return true;
}

void ServerPoller::poll(Instant now) {
  for (ServerListener* s : servers_) s->poll(now);
  if (extra_ != nullptr) extra_->poll(now);
}

void run_servers(AppHost& host, std::span<ServerListener* const> servers, Duration drain,
                 StackApp* extra) {
  ServerPoller poller(servers, extra);
  host.stack().set_app(&poller);
  const auto any_done = [&] {
    for (ServerListener* s : servers)
      if (s->done()) return true;
    return false;
  };
  host.run_until(any_done, std::chrono::hours(24 * 365));
  // Interrupted (or done): no new connections; what is open gets a FIN
  // (and each server's own goodbye) and a bounded time to finish.
  for (ServerListener* s : servers) {
    s->stop_accepting();
    if (g_interrupted.load()) {
      std::fprintf(s->out(), "%s: interrupted, closing open connections\n", s->name().c_str());
      std::fflush(s->out());
    }
    s->close_all();
  }
  const auto open = [&] {
    std::uint64_t n = 0;
    for (ServerListener* s : servers) n += s->open_connections();
    return n;
  };
  const Instant end = host.now() + drain;
  while (open() > 0 && host.now() < end) host.drain(std::chrono::milliseconds(10));
  host.stack().set_app(nullptr);
  for (ServerListener* s : servers) {
    s->print_totals();
    std::fflush(s->out());
  }
}

int serve(AppHost& host, ServerListener& listener) {
  ServerListener* const one[] = {&listener};
  if (!listen_servers(host, listener.name().c_str(), one)) return kExitUsage;
  run_servers(host, one, std::chrono::seconds(1));
  return listener.exit_status();
}

}  // namespace ustack::app
