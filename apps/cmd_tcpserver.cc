// ustack tcpserver: echo (the seed's behaviour, default), discard or source
// on a port, many connections at once, one summary line per connection.
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "apps/commands.h"
#include "apps/host.h"
#include "apps/multi_serve.h"
#include "apps/server_loop.h"
#include "apps/servers.h"

namespace ustack::app {
namespace {

using Mode = TcpServerMode;

class Server;

struct Session : TcpHandler {
  Session(Server& s, Instant t) : server(s), start(t) {}
  void on_connected(TcpConn& c) override;
  void on_readable(TcpConn& c) override { pump(c); }
  void on_writable(TcpConn& c) override { pump(c); }
  void on_peer_closed(TcpConn& c) override {
    peer_closed = true;
    pump(c);
  }
  void on_closed(TcpConn& c, TcpCloseReason r) override;
  void pump(TcpConn& c);

  Server& server;
  Instant start;
  TcpConn* conn = nullptr;  // valid until on_closed
  std::string peer;
  std::uint64_t received = 0, sent = 0;
  bool peer_closed = false;
  bool closing = false;
};

class Server : public ServerListener {
 public:
  Server(ServerEnv& h, const TcpServerOptions& o, std::string name)
      : ServerListener(std::move(name)),
        host(h),
        mode(o.mode),
        source_bytes(o.source_bytes),
        debug(o.debug) {
    detail = std::string(" (") + to_string(mode) + ")";
  }
  TcpHandler* accept(TcpConn& c) override {
    reap_closed(sessions);
    sessions.push_back(std::make_unique<Session>(*this, host.now()));
    Session& s = *sessions.back();
    s.peer = peer_string(c.key().remote, c.key().remote_port);
    s.conn = &c;
    if (debug) std::printf("Server> Connection from %s\n", s.peer.c_str());
    return &s;
  }
  void close_all() override {
    for (auto& s : sessions)
      if (s->conn != nullptr) s->conn->close();
  }
  ServerEnv& host;
  Mode mode;
  std::uint64_t source_bytes;
  bool debug;
  std::vector<std::unique_ptr<Session>> sessions;
};

void Session::on_connected(TcpConn& c) {
  pump(c);
}

void Session::pump(TcpConn& c) {
  if (server.mode == Mode::kEcho) {
    // Received segments go straight back out: zero copy.
    while (c.readable() > 0) {
      const std::uint32_t before = c.readable();
      Mbuf* m = c.take(c.send_space());
      if (m == nullptr) {
        c.want_writable();
        break;
      }
      const std::uint32_t n = m->pkt_len;
      if (server.debug) std::printf("Server> Read %u bytes\n", n);
      received += before - c.readable();
      if (!c.send(m)) {
        mbuf_free(m);
        break;
      }
      sent += n;
    }
  } else {
    const std::uint32_t n = c.readable();
    received += n;
    c.consume(n);
  }
  if (server.mode == Mode::kSource) {
    static const std::vector<std::byte> block(65536, std::byte{0x5a});
    while (sent < server.source_bytes) {
      const std::uint32_t k = c.send(std::span(block).first(
          std::min<std::uint64_t>(block.size(), server.source_bytes - sent)));
      if (k == 0) break;
      sent += k;
    }
    if (sent >= server.source_bytes && !closing) {
      closing = true;
      c.close();
      return;
    }
  }
  if (peer_closed && c.readable() == 0 && !closing) {
    closing = true;
    if (server.debug)
      std::printf("Server> Write %llu bytes\n", static_cast<unsigned long long>(sent));
    c.close();
  }
}

void Session::on_closed(TcpConn&, TcpCloseReason r) {
  conn = nullptr;
  server.connection_line(peer, "", received, sent, server.host.now() - start, r);
  server.count_finished(r);
}

}  // namespace

bool parse_tcpserver_mode(std::string_view s, TcpServerMode* mode, const std::string& what,
                          std::string* error) {
  for (const Mode m : {Mode::kEcho, Mode::kDiscard, Mode::kSource}) {
    if (s == to_string(m)) {
      *mode = m;
      return true;
    }
  }
  *error = what + " is echo, discard or source, not '" + std::string(s) + "'";
  return false;
}

const char* to_string(TcpServerMode m) {
  switch (m) {
    case Mode::kEcho:
      return "echo";
    case Mode::kDiscard:
      return "discard";
    case Mode::kSource:
      return "source";
  }
  return "?";
}

std::unique_ptr<ServerListener> make_tcpserver(ServerEnv& host, const TcpServerOptions& o,
                                               std::string name) {
  return std::make_unique<Server>(host, o, std::move(name));
}

int cmd_tcpserver(const Argv& argv) {
  std::vector<cli::OptionSpec> specs = host_options();
  specs.push_back({"port", {"-port", "--port"}, true, "PORT", "port to listen on"});
  specs.push_back({"mode", {"--mode"}, true, "MODE", "echo (default), discard, source"});
  specs.push_back({"bytes", {"--bytes"}, true, "N", "bytes each connection gets in source mode"});
  specs.push_back({"count", {"--count"}, true, "N", "exit after N connections (default: Ctrl-C)"});
  specs.push_back({"help", {"-h", "--help"}, false, "", "this help"});
  cli::Args args;
  if (const int rc =
          cli::parse_command("tcpserver", "-i IFACE -port PORT [options]", specs, argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  HostOptions ho;
  TcpServerOptions opts;
  unsigned long long port = 0, count = 0, bytes = opts.source_bytes;
  if (!read_host_options(args, &ho, &err) || !args.get_uint("port", 1, 65535, &port, &err) ||
      !args.get_uint("count", 1, 1ull << 40, &count, &err) ||
      !args.get_uint("bytes", 0, kTcpServerMaxBytes, &bytes, &err)) {
    std::fprintf(stderr, "ustack tcpserver: %s\n", err.c_str());
    return kExitUsage;
  }
  if (port == 0) {
    std::fprintf(stderr, "ustack tcpserver: give the port with -port PORT\n");
    return kExitUsage;
  }
  if (!parse_tcpserver_mode(args.get("mode", "echo"), &opts.mode, "--mode", &err)) {
    std::fprintf(stderr, "ustack tcpserver: %s\n", err.c_str());
    return kExitUsage;
  }
  opts.source_bytes = bytes;
  opts.debug = ho.debug;
  if (ho.cores.size() > 1) {
    ServerConfig s;
    s.kind = s.name = "tcpserver";
    s.port = static_cast<std::uint16_t>(port);
    s.tcpserver = opts;
    return serve_one_on_cores("tcpserver", ho, s, count);
  }
  auto host = open_server_host("tcpserver", ho);
  if (!host) return kExitUsage;
  auto server = make_tcpserver(*host, opts);
  server->port = static_cast<std::uint16_t>(port);
  server->stop_after = count;
  return serve(*host, *server);
}

}  // namespace ustack::app
