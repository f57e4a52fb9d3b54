// ustack wsd: a WebSocket (RFC 6455) echo server on the stack. Each
// connection starts as HTTP (apps/http_parser, apps/ws_handshake); after
// 101 the frames go through apps/ws_frame, every complete message is echoed
// with its opcode, pings are answered, and a close is returned with the
// same code before the TCP connection is closed. One summary line per
// connection.
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apps/commands.h"
#include "apps/host.h"
#include "apps/http_parser.h"
#include "apps/multi_serve.h"
#include "apps/server_loop.h"
#include "apps/servers.h"
#include "apps/ws_frame.h"
#include "apps/ws_handshake.h"

namespace ustack::app {
namespace {

// Stop reading frames while this much echo data waits to be sent.
constexpr std::size_t kMaxBacklog = 1 << 20;
// Buffers larger than this are freed once used, not kept for the next
// message: an idle connection holds little memory.
constexpr std::size_t kKeepBuffer = 256 * 1024;
// The handshake request (line and fields) may not be longer than this.
constexpr std::size_t kMaxHandshake = 8 * 1024;

class Server;

struct Session : TcpHandler {
  enum class Phase {
    kHandshake,  // reading the HTTP upgrade request
    kOpen,       // exchanging frames
    kClosing,    // a close frame or refusal queued: FIN once it is sent
    kDone,       // FIN sent; what still arrives is dropped (lingering close)
  };

  Session(Server& s, Instant t, WsLimits limits)
      : server(s), start(t), http(HttpLimits{kMaxHandshake, 0}), ws(WsRole::kServer, limits) {}
  void on_connected(TcpConn& c) override { pump(c); }
  void on_readable(TcpConn& c) override { pump(c); }
  void on_writable(TcpConn& c) override { pump(c); }
  void on_peer_closed(TcpConn& c) override {
    peer_closed = true;
    pump(c);
  }
  void on_closed(TcpConn& c, TcpCloseReason reason) override;
  void pump(TcpConn& c);
  void handshake();
  void frames(std::string_view data);
  void handle(const WsMessage& m);
  // Queues a close frame with `code` (§7.1.7 when failing) and closes after it.
  void send_close(std::uint16_t code, std::string_view reason);

  Server& server;
  Instant start;
  TcpConn* conn = nullptr;  // valid until on_closed
  std::string peer;
  Phase phase = Phase::kHandshake;
  HttpParser http;
  WsParser ws;
  WsMessage msg;    // reused for every message
  std::string out;  // frames not yet taken by the send buffer
  std::size_t out_pos = 0;
  std::uint64_t messages = 0, payload = 0, received = 0, sent = 0;
  int refused = 0;                                 // the handshake's error status
  std::uint16_t close_code = ws_close::kAbnormal;  // 1006: no close frame seen or sent
  bool close_by_us = false;
  bool peer_closed = false;
};

class Server : public ServerListener {
 public:
  Server(ServerEnv& h, const WsdOptions& o, std::string name)
      : ServerListener(std::move(name)), host(h), limits{o.max_message}, debug(o.debug) {
    detail = " (WebSocket echo, messages up to " + std::to_string(o.max_message) + " bytes)";
  }
  TcpHandler* accept(TcpConn& c) override {
    // Sessions of closed connections hold no buffers; drop them in batches.
    reap_closed(sessions);
    sessions.push_back(std::make_unique<Session>(*this, host.now(), limits));
    Session& s = *sessions.back();
    s.peer = peer_string(c.key().remote, c.key().remote_port);
    s.conn = &c;
    c.set_nodelay(true);
    if (debug) std::printf("wsd> connection from %s\n", s.peer.c_str());
    return &s;
  }
  void close_all() override {
    for (auto& s : sessions) {
      if (s->conn == nullptr) continue;
      if (s->phase == Session::Phase::kOpen) {
        s->send_close(ws_close::kGoingAway, "server shutting down");  // §7.4.1
        s->pump(*s->conn);
      } else if (s->phase != Session::Phase::kDone) {
        s->phase = Session::Phase::kDone;
        s->conn->close();
      }
    }
  }

  void print_totals() const override {
    ServerListener::print_totals();
    std::fprintf(out(), "%s: %llu handshakes refused, %llu connections failed for bad frames\n",
                 name().c_str(), static_cast<unsigned long long>(refused),
                 static_cast<unsigned long long>(failed_frames));
  }

  ServerEnv& host;
  WsLimits limits;
  bool debug;
  std::vector<std::unique_ptr<Session>> sessions;
  std::uint64_t refused = 0, failed_frames = 0;
};

void Session::pump(TcpConn& c) {
  while ((phase == Phase::kHandshake || phase == Phase::kOpen) && c.readable() > 0 &&
         out.size() - out_pos < kMaxBacklog) {
    char tmp[65536];
    const std::size_t n = c.read(std::as_writable_bytes(std::span(tmp)));
    if (n == 0) break;
    received += n;
    if (phase == Phase::kHandshake) {
      http.feed(std::string_view(tmp, n));
      handshake();
    } else {
      frames(std::string_view(tmp, n));
    }
  }
  if (phase == Phase::kClosing || phase == Phase::kDone) {
    // §7.1.1: after the close frame nothing more is read; drop it.
    received += c.readable();
    if (c.readable() > 0) c.consume(c.readable());
  }
  while (out_pos < out.size()) {
    const std::uint32_t k =
        c.send(std::as_bytes(std::span(out.data() + out_pos, out.size() - out_pos)));
    if (k == 0) break;
    out_pos += k;
    sent += k;
  }
  if (out_pos < out.size()) {
    c.want_writable();
    return;
  }
  out.clear();
  out_pos = 0;
  if (out.capacity() > kKeepBuffer) std::string().swap(out);
  if (peer_closed && c.readable() == 0 && phase != Phase::kDone) {
    // The peer ended TCP without finishing the closing handshake (or after it).
    phase = Phase::kClosing;
  }
  if (phase == Phase::kClosing) {
    // §7.1.1: the server closes the TCP connection first once the close
    // frames are exchanged; it lingers to read what still comes.
    phase = Phase::kDone;
    ws.release();
    c.shutdown_write();
  }
}

void Session::handshake() {
  HttpRequest r;
  const HttpParse p = http.next(&r);
  if (p == HttpParse::kIncomplete) return;
  if (p == HttpParse::kError) {
    refused = http.error_status();
    if (server.debug)
      std::printf("wsd> %s: bad request: %s\n", peer.c_str(), http.error_reason().c_str());
    const std::string body =
        std::to_string(refused) + " " + http_reason(refused) + ": " + http.error_reason() + "\n";
    out += "HTTP/1.1 " + std::to_string(refused) + " " + http_reason(refused) +
           "\r\nServer: ustack\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    ++server.refused;
    phase = Phase::kClosing;
    return;
  }
  WsHandshake h = ws_server_handshake(r);
  out += h.response;
  if (h.status != 101) {
    refused = h.status;
    if (server.debug)
      std::printf("wsd> %s: handshake refused, %d: %s\n", peer.c_str(), h.status, h.reason.c_str());
    ++server.refused;
    phase = Phase::kClosing;
    return;
  }
  if (server.debug) std::printf("wsd> %s: open (%s)\n", peer.c_str(), r.target.c_str());
  phase = Phase::kOpen;
  // Frames sent right behind the request are the first of the stream.
  const std::string rest(http.unparsed());
  http = HttpParser(HttpLimits{0, 0});  // its buffers are not needed any more
  if (!rest.empty()) frames(rest);
}

void Session::frames(std::string_view data) {
  while (!data.empty() && phase == Phase::kOpen) {
    std::size_t used = 0;
    const WsParse p = ws.parse(data, &used, &msg);
    data.remove_prefix(used);
    if (p == WsParse::kIncomplete) break;
    if (p == WsParse::kError) {
      // §7.1.7: fail the connection with the code the violation calls for.
      if (server.debug)
        std::printf("wsd> %s: closing with %u: %s\n", peer.c_str(), ws.error_code(),
                    ws.error_reason().c_str());
      ++server.failed_frames;
      send_close(ws.error_code(), ws.error_reason());
      break;
    }
    handle(msg);
    if (msg.payload.capacity() > kKeepBuffer) std::string().swap(msg.payload);
  }
}

void Session::handle(const WsMessage& m) {
  switch (m.opcode) {
    case WsOpcode::kText:
    case WsOpcode::kBinary:
      ++messages;
      payload += m.payload.size();
      ws_append_frame(&out, m.opcode, m.payload);
      break;
    case WsOpcode::kPing:
      ws_append_frame(&out, WsOpcode::kPong, m.payload);  // §5.5.2: same payload
      break;
    case WsOpcode::kPong:
      break;  // §5.5.3: unsolicited pongs need no answer
    case WsOpcode::kClose:
      // §5.5.1: answer with a close frame, echoing the code received; a close
      // without a code gets one without a body.
      close_code = m.close_code;
      ws_append_frame(
          &out, WsOpcode::kClose,
          m.close_code == ws_close::kNoStatus ? std::string() : ws_close_payload(m.close_code));
      phase = Phase::kClosing;
      break;
    case WsOpcode::kContinuation:
      break;  // never handed out
  }
}

void Session::send_close(std::uint16_t code, std::string_view reason) {
  close_code = code;
  close_by_us = true;
  // A control frame's payload is at most 125 bytes (§5.5); reasons are ASCII.
  ws_append_frame(&out, WsOpcode::kClose, ws_close_payload(code, reason.substr(0, 123)));
  phase = Phase::kClosing;
}

void Session::on_closed(TcpConn&, TcpCloseReason reason) {
  conn = nullptr;
  std::string what;
  if (refused != 0) {
    what = "handshake refused with " + std::to_string(refused) + ", ";
  } else {
    what = std::to_string(messages) + " messages (" + std::to_string(payload) + " bytes), close " +
           std::to_string(close_code) +
           (close_code == ws_close::kAbnormal ? ""
            : close_by_us                     ? " by us"
                                              : " by peer") +
           ", ";
  }
  server.connection_line(peer, what, received, sent, server.host.now() - start, reason);
  // Buffers go now; the session itself at a later accept.
  ws.release();
  std::string().swap(out);
  std::string().swap(msg.payload);
  http = HttpParser(HttpLimits{0, 0});
  server.count_finished(reason);
}

}  // namespace

std::unique_ptr<ServerListener> make_wsd(ServerEnv& host, const WsdOptions& o, std::string name) {
  return std::make_unique<Server>(host, o, std::move(name));
}

int cmd_wsd(const Argv& argv) {
  std::vector<cli::OptionSpec> specs = host_options();
  specs.push_back({"port", {"-port", "--port"}, true, "PORT", "port to listen on (default 8080)"});
  specs.push_back({"max-message",
                   {"--max-message"},
                   true,
                   "BYTES",
                   "largest message accepted, reassembled (default 16777216; over: close 1009)"});
  specs.push_back({"count", {"--count"}, true, "N", "exit after N connections (default: Ctrl-C)"});
  specs.push_back({"help", {"-h", "--help"}, false, "", "this help"});
  cli::Args args;
  if (const int rc =
          cli::parse_command("wsd", "-i IFACE [-port PORT] [options]", specs, argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  HostOptions ho;
  WsdOptions opts;
  unsigned long long port = kWsdDefaultPort, count = 0, max_message = opts.max_message;
  if (!read_host_options(args, &ho, &err) || !args.get_uint("port", 1, 65535, &port, &err) ||
      !args.get_uint("count", 1, 1ull << 40, &count, &err) ||
      !args.get_uint("max-message", 1, kWsdMaxMessageLimit, &max_message, &err)) {
    std::fprintf(stderr, "ustack wsd: %s\n", err.c_str());
    return kExitUsage;
  }
  opts.max_message = max_message;
  opts.debug = ho.debug;
  if (ho.cores.size() > 1) {
    ServerConfig s;
    s.kind = s.name = "wsd";
    s.port = static_cast<std::uint16_t>(port);
    s.wsd = opts;
    return serve_one_on_cores("wsd", ho, s, count);
  }
  auto host = open_server_host("wsd", ho);
  if (!host) return kExitUsage;
  auto server = make_wsd(*host, opts);
  server->port = static_cast<std::uint16_t>(port);
  server->stop_after = count;
  return serve(*host, *server);
}

}  // namespace ustack::app
