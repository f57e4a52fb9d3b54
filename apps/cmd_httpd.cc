// ustack httpd: an HTTP/1.1 server on the stack. Built-in endpoints (GET /,
// GET /stats, POST /echo), static files from --root, keep-alive and
// pipelining, one summary line per connection.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
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

namespace ustack::app {
namespace {

// Stop reading requests while this much response data waits to be sent.
constexpr std::size_t kMaxBacklog = 1 << 20;

const char kIndexPage[] =
    "<!DOCTYPE html>\n"
    "<html><head><title>ustack</title></head>\n"
    "<body><h1>ustack</h1><p>Served by ustack, a user-space TCP/IP stack.</p>\n"
    "<p><a href=\"/stats\">/stats</a>: the stack's counters. POST /echo returns the body.</p>\n"
    "</body></html>\n";

class Server;

struct Session : TcpHandler {
  Session(Server& s, Instant t) : server(s), start(t) {}
  void on_connected(TcpConn& c) override { pump(c); }
  void on_readable(TcpConn& c) override { pump(c); }
  void on_writable(TcpConn& c) override { pump(c); }
  void on_peer_closed(TcpConn& c) override {
    peer_closed = true;
    pump(c);
  }
  void on_closed(TcpConn& c, TcpCloseReason r) override;
  void pump(TcpConn& c);
  void process();
  void handle(const HttpRequest& r);
  void serve_file(const HttpRequest& r, std::string_view path, bool head);
  // Queues a response; the connection closes after it when the request
  // asked so, when there is no request (malformed input) or when `last`.
  void respond(const HttpRequest* r, int status, std::string_view type, std::string_view body,
               bool head_only, std::string_view extra = "", bool last = false);
  void error(const HttpRequest* r, int status, std::string_view why, std::string_view extra = "");

  Server& server;
  Instant start;
  TcpConn* conn = nullptr;  // valid until on_closed
  std::string peer;
  HttpParser parser;
  std::string out;  // responses not yet taken by the send buffer
  std::size_t out_pos = 0;
  std::uint64_t requests = 0, received = 0, sent = 0;
  bool peer_closed = false;
  bool close_after = false;  // close once `out` is sent
  bool closing = false;
};

class Server : public ServerListener {
 public:
  Server(ServerEnv& h, const HttpdOptions& o, std::string name)
      : ServerListener(std::move(name)), host(h), root(o.root), debug(o.debug) {
    if (!root.empty()) detail = ", files from " + root;
  }
  TcpHandler* accept(TcpConn& c) override {
    reap_closed(sessions);
    sessions.push_back(std::make_unique<Session>(*this, host.now()));
    Session& s = *sessions.back();
    s.peer = peer_string(c.key().remote, c.key().remote_port);
    s.conn = &c;
    c.set_nodelay(true);
    if (debug) std::printf("httpd> connection from %s\n", s.peer.c_str());
    return &s;
  }
  void close_all() override;
  ServerEnv& host;
  std::string root;  // empty: no static files
  bool debug;
  std::vector<std::unique_ptr<Session>> sessions;
};

void Server::close_all() {
  for (auto& s : sessions)
    if (s->conn != nullptr && !s->closing) {
      s->closing = true;
      s->conn->close();
    }
}

std::string http_date() {
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

const char* content_type(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  const std::size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  const std::string_view ext = path.substr(dot + 1);
  struct Type {
    const char* ext;
    const char* type;
  };
  static const Type kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"txt", "text/plain; charset=utf-8"},
      {"css", "text/css"},
      {"js", "text/javascript"},
      {"json", "application/json"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"svg", "image/svg+xml"},
      {"pdf", "application/pdf"},
  };
  for (const Type& t : kTypes)
    if (http_iequals(ext, t.ext)) return t.type;
  return "application/octet-stream";
}

// Decodes %XX escapes; false on a malformed escape or a NUL byte.
bool percent_decode(std::string_view in, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      auto hex = [](char h) {
        return h >= '0' && h <= '9'   ? h - '0'
               : h >= 'a' && h <= 'f' ? h - 'a' + 10
               : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                      : -1;
      };
      if (i + 2 >= in.size()) return false;
      const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    out->push_back(c);
  }
  return true;
}

void Session::pump(TcpConn& c) {
  if (closing) {
    received += c.readable();
    if (c.readable() > 0) c.consume(c.readable());
    return;
  }
  while (!close_after && c.readable() > 0 && out.size() - out_pos < kMaxBacklog) {
    char tmp[65536];
    const std::size_t n = c.read(std::as_writable_bytes(std::span(tmp)));
    if (n == 0) break;
    received += n;
    parser.feed(std::string_view(tmp, n));
    process();
  }
  if (close_after && c.readable() > 0) {
    received += c.readable();
    c.consume(c.readable());
  }
  // Send what fits; the rest waits for on_writable.
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
  if (close_after || (peer_closed && c.readable() == 0)) {
    // Lingering close: FIN now, and what still arrives (the rest of a
    // refused request) is read and dropped rather than answered with RST.
    closing = true;
    c.shutdown_write();
  }
}

void Session::process() {
  while (!close_after) {
    HttpRequest r;
    const HttpParse p = parser.next(&r);
    if (p == HttpParse::kIncomplete) {
      if (parser.take_continue_expected()) out += "HTTP/1.1 100 Continue\r\n\r\n";
      return;
    }
    if (p == HttpParse::kError) {
      if (server.debug)
        std::printf("httpd> %s: bad request: %s\n", peer.c_str(), parser.error_reason().c_str());
      error(nullptr, parser.error_status(), parser.error_reason());
      close_after = true;
      return;
    }
    ++requests;
    handle(r);
    if (!r.keep_alive) close_after = true;
  }
}

void Session::respond(const HttpRequest* r, int status, std::string_view type,
                      std::string_view body, bool head_only, std::string_view extra, bool last) {
  const bool keep = r != nullptr && r->keep_alive && !last;
  if (!keep) close_after = true;
  out += "HTTP/1.1 " + std::to_string(status) + " " + http_reason(status) + "\r\n";
  out += "Server: ustack\r\nDate: " + http_date() + "\r\n";
  if (!type.empty()) out += "Content-Type: " + std::string(type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep) {
    out += "Connection: close\r\n";
  } else if (r->version_minor == 0) {
    out += "Connection: keep-alive\r\n";
  }
  out += extra;
  out += "\r\n";
  if (!head_only) out += body;
  if (server.debug && r != nullptr)
    std::printf("httpd> %s: %s %s -> %d (%zu bytes)\n", peer.c_str(), r->method.c_str(),
                r->target.c_str(), status, body.size());
}

void Session::error(const HttpRequest* r, int status, std::string_view why,
                    std::string_view extra) {
  std::string body = std::to_string(status) + " " + http_reason(status);
  if (!why.empty()) body += ": " + std::string(why);
  body += "\n";
  // 403, 404 and 405 keep the connection; malformed requests close it.
  const bool last = status != 403 && status != 404 && status != 405;
  respond(r, status, "text/plain; charset=utf-8", body, r != nullptr && r->method == "HEAD", extra,
          last);
}

void Session::handle(const HttpRequest& r) {
  std::string_view path = r.target;
  // absolute-form (RFC 9112 §3.2.2): drop the scheme and authority.
  if (path.size() > 7 && http_iequals(path.substr(0, 7), "http://")) {
    const std::size_t slash = path.find('/', 7);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  if (path.empty() || path.front() != '/') return error(&r, 400, "bad request target");
  path = path.substr(0, path.find_first_of("?#"));
  const bool get = r.method == "GET", head = r.method == "HEAD";
  if (path == "/echo") {
    if (r.method != "POST") return error(&r, 405, "use POST", "Allow: POST\r\n");
    const std::string* ct = r.header("content-type");
    return respond(&r, 200, ct != nullptr ? *ct : "application/octet-stream", r.body, false);
  }
  if (path == "/stats") {
    if (!get && !head) return error(&r, 405, "use GET", "Allow: GET, HEAD\r\n");
    std::string body;
    server.host.for_each_counter([&](const std::string& name, std::uint64_t v) {
      if (v != 0) body += name + " " + std::to_string(v) + "\n";
    });
    return respond(&r, 200, "text/plain; charset=utf-8", body, head);
  }
  if (path == "/" && (server.root.empty() || (!get && !head))) {
    if (!get && !head) return error(&r, 405, "use GET", "Allow: GET, HEAD\r\n");
    return respond(&r, 200, "text/html; charset=utf-8", kIndexPage, head);
  }
  if (server.root.empty()) return error(&r, 404, "no such resource");
  if (!get && !head) return error(&r, 405, "use GET", "Allow: GET, HEAD\r\n");
  serve_file(r, path, head);
}

void Session::serve_file(const HttpRequest& r, std::string_view path, bool head) {
  std::string decoded;
  if (!percent_decode(path, &decoded)) return error(&r, 400, "bad percent escape in path");
  if (decoded.find("..") != std::string::npos || decoded.find('\\') != std::string::npos)
    return error(&r, 403, "path with '..' refused");
  std::string file = server.root + decoded;
  if (file.back() == '/') file += "index.html";
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == EACCES) return error(&r, 403, "permission denied");
    if (decoded == "/") return respond(&r, 200, "text/html; charset=utf-8", kIndexPage, head);
    return error(&r, 404, "no such file");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return error(&r, 404, "not a file");
  }
  std::string body;
  body.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < body.size()) {
    const ssize_t k = ::read(fd, body.data() + got, body.size() - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += static_cast<std::size_t>(k);
  }
  ::close(fd);
  if (got != body.size()) return error(&r, 500, "read error");
  // HEAD: the same headers GET would send, without the body.
  respond(&r, 200, content_type(file), body, head);
}

void Session::on_closed(TcpConn&, TcpCloseReason reason) {
  conn = nullptr;
  server.connection_line(peer, std::to_string(requests) + " requests, ", received, sent,
                         server.host.now() - start, reason);
  // RFC 9112 §9.6: a client may close at any time; one that resets between
  // requests (wrk does, at its end) has not failed anything. A reset in the
  // middle of a request or of a response has.
  const bool between = reason == TcpCloseReason::kReset && requests > 0 && !parser.mid_request() &&
                       out_pos >= out.size();
  server.count_finished(between ? TcpCloseReason::kNormal : reason);
}

}  // namespace

bool check_httpd_root(std::string* root, const std::string& what, std::string* error) {
  struct stat st {};
  if (root->empty() || ::stat(root->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = what + " '" + *root + "' is not a directory";
    return false;
  }
  while (root->size() > 1 && root->back() == '/') root->pop_back();
  return true;
}

std::unique_ptr<ServerListener> make_httpd(ServerEnv& host, const HttpdOptions& o,
                                           std::string name) {
  return std::make_unique<Server>(host, o, std::move(name));
}

int cmd_httpd(const Argv& argv) {
  std::vector<cli::OptionSpec> specs = host_options();
  specs.push_back({"port", {"-port", "--port"}, true, "PORT", "port to listen on (default 8080)"});
  specs.push_back({"root", {"--root"}, true, "DIR", "serve static files from DIR (GET, HEAD)"});
  specs.push_back({"count", {"--count"}, true, "N", "exit after N connections (default: Ctrl-C)"});
  specs.push_back({"help", {"-h", "--help"}, false, "", "this help"});
  cli::Args args;
  if (const int rc = cli::parse_command("httpd", "-i IFACE [-port PORT] [--root DIR] [options]",
                                        specs, argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  HostOptions ho;
  unsigned long long port = kHttpdDefaultPort, count = 0;
  HttpdOptions opts;
  opts.root = args.get("root");
  if (!read_host_options(args, &ho, &err) || !args.get_uint("port", 1, 65535, &port, &err) ||
      !args.get_uint("count", 1, 1ull << 40, &count, &err) ||
      (args.has("root") && !check_httpd_root(&opts.root, "--root", &err))) {
    std::fprintf(stderr, "ustack httpd: %s\n", err.c_str());
    return kExitUsage;
  }
  opts.debug = ho.debug;
  if (ho.cores.size() > 1) {
    ServerConfig s;
    s.kind = s.name = "httpd";
    s.port = static_cast<std::uint16_t>(port);
    s.httpd = opts;
    return serve_one_on_cores("httpd", ho, s, count);
  }
  auto host = open_server_host("httpd", ho);
  if (!host) return kExitUsage;
  auto server = make_httpd(*host, opts);
  server->port = static_cast<std::uint16_t>(port);
  server->stop_after = count;
  return serve(*host, *server);
}

}  // namespace ustack::app
