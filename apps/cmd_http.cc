// ustack http: an HTTP/1.1 client. Each URL (all on one server) is fetched
// in turn over one persistent connection (RFC 9112 §9.3), a new one only
// when the server ends it; GET by default, POST (or --method) with --data
// or --data-file, optionally sent chunked. Prints each response's status
// line, its header fields with --headers, and its body.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "apps/commands.h"
#include "apps/host.h"
#include "apps/host_lookup.h"
#include "apps/http_response.h"
#include "apps/url.h"
#include "proto/tcp/tcp_stream.h"

namespace ustack::app {
namespace {

constexpr std::size_t kChunk = 16384;  // --chunked: bytes per chunk

struct Fetch {
  std::vector<std::string> requests;  // serialized, in order
  std::vector<bool> head;             // the request is HEAD
  bool show_headers = false;
  std::size_t answered = 0;
  std::size_t connections = 0;
  std::uint64_t body_bytes = 0;
  std::string error;  // set: failed for good
};

void print_response(const Fetch& f, const HttpResponse& r) {
  std::printf("HTTP/1.%d %d %s\n", r.version_minor, r.status, r.reason.c_str());
  if (f.show_headers) {
    for (const auto& [k, v] : r.headers) std::printf("%s: %s\n", k.c_str(), v.c_str());
    std::printf("\n");
  }
  std::fwrite(r.body.data(), 1, r.body.size(), stdout);
  std::fflush(stdout);
}

// One connection: sends a request, reads its response, and the next.
class Conn : public TcpStream {
 public:
  explicit Conn(Fetch& f) : f_(f) {}

  void on_open() override { send_next(); }
  void on_data(std::span<const std::byte> b) override {
    if (finished) return;
    parser_.feed({reinterpret_cast<const char*>(b.data()), b.size()});
    drain(parser_.next(&resp_));
  }
  void on_end() override {
    if (finished) return;
    drain(parser_.end_of_input(&resp_));
    if (!finished) {
      // The server closed with a request unanswered and nothing of its
      // response: the next connection asks again, unless nothing was
      // answered on this one either (then it would loop).
      if (answered_here_ == 0) {
        f_.error = "the server closed the connection without answering";
      }
      finish();
    }
  }
  void on_close(TcpCloseReason reason) override {
    closed = true;
    if (!finished) {
      f_.error = std::string("the connection ended: ") + to_string(reason);
      finished = true;
    }
  }

  bool finished = false;  // this connection carries no more requests
  bool closed = false;

 private:
  void send_next() {
    const std::string& req = f_.requests[f_.answered];
    parser_.set_head_request(f_.head[f_.answered]);
    write({reinterpret_cast<const std::byte*>(req.data()), req.size()});
  }
  void drain(HttpResponseParse r) {
    while (r == HttpResponseParse::kResponse) {
      print_response(f_, resp_);
      f_.body_bytes += resp_.body.size();
      ++f_.answered;
      ++answered_here_;
      if (f_.answered == f_.requests.size() || !resp_.keep_alive) return finish();
      send_next();
      r = parser_.next(&resp_);
    }
    if (r == HttpResponseParse::kError) {
      f_.error = "bad response: " + parser_.error();
      finish();
    }
  }
  void finish() {
    finished = true;
    close();
  }

  Fetch& f_;
  HttpResponseParser parser_;
  HttpResponse resp_;
  std::size_t answered_here_ = 0;
};

bool read_file(const std::string& path, std::string* out, std::string* error) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot read --data-file " + path;
    return false;
  }
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
    out->append(buf, static_cast<std::size_t>(n));
  close(fd);
  return true;
}

std::string build_request(const std::string& method, const Url& u, const std::string& body,
                          bool has_body, bool chunked) {
  std::string r = method + " " + u.target + " HTTP/1.1\r\nHost: " + u.authority() +
                  "\r\nUser-Agent: ustack\r\nAccept: */*\r\n";
  if (!has_body) return r + "\r\n";
  if (!chunked) return r + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  // RFC 9112 §7.1: hex size CRLF data CRLF ..., then 0 CRLF CRLF.
  r += "Transfer-Encoding: chunked\r\n\r\n";
  char size[32];
  for (std::size_t off = 0; off < body.size(); off += kChunk) {
    const std::size_t n = std::min(kChunk, body.size() - off);
    std::snprintf(size, sizeof size, "%zx\r\n", n);
    r += size;
    r.append(body, off, n);
    r += "\r\n";
  }
  return r + "0\r\n\r\n";
}

}  // namespace

int cmd_http(const Argv& argv) {
  std::vector<cli::OptionSpec> specs = host_options();
  for (auto& s : dns_option_specs()) specs.push_back(std::move(s));
  specs.push_back({"method", {"-X", "--method"}, true, "METHOD", "GET (default; POST with data)"});
  specs.push_back({"data", {"-d", "--data"}, true, "TEXT", "request body"});
  specs.push_back({"data_file", {"--data-file"}, true, "FILE", "request body from a file"});
  specs.push_back({"chunked", {"--chunked"}, false, "", "send the body chunked"});
  specs.push_back({"headers", {"--headers"}, false, "", "print the response header fields"});
  specs.push_back({"timeout", {"--timeout"}, true, "SECONDS", "give up after (default 30)"});
  specs.push_back({"help", {"-h", "--help"}, false, "", "this help"});
  cli::Args args;
  if (const int rc =
          cli::parse_command("http", "-i IFACE URL [URL...] [options]", specs, argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  HostOptions ho;
  double timeout = 30;
  DnsChoice dns;
  if (!read_host_options(args, &ho, &err) || !read_dns_option(args, &dns, &err) ||
      !args.get_double("timeout", 0.1, 86400, &timeout, &err)) {
    std::fprintf(stderr, "ustack http: %s\n", err.c_str());
    return kExitUsage;
  }
  if (args.positional().empty()) {
    std::fprintf(stderr, "ustack http: give the URL to fetch (http://HOST[:PORT]/PATH)\n");
    return kExitUsage;
  }
  std::string body;
  const bool has_body = args.has("data") || args.has("data_file");
  if (args.has("data")) body = args.get("data");
  if (args.has("data_file") && !read_file(args.get("data_file"), &body, &err)) {
    std::fprintf(stderr, "ustack http: %s\n", err.c_str());
    return kExitUsage;
  }
  const std::string method = args.get("method", has_body ? "POST" : "GET");
  Fetch fetch;
  fetch.show_headers = args.has("headers");
  Url first;
  for (const std::string& text : args.positional()) {
    Url u;
    if (!parse_url(text, "http", &u, &err)) {
      std::fprintf(stderr, "ustack http: %s\n", err.c_str());
      return kExitUsage;
    }
    if (fetch.requests.empty()) {
      first = u;
    } else if (u.host != first.host || u.port != first.port) {
      std::fprintf(stderr, "ustack http: every URL must name the same server (%s:%u)\n",
                   first.host.c_str(), first.port);
      return kExitUsage;
    }
    fetch.requests.push_back(build_request(method, u, body, has_body, args.has("chunked")));
    fetch.head.push_back(method == "HEAD");
  }
  if (!host_arg_usable(first.host, dns)) {
    std::fprintf(stderr, "ustack http: '%s' is not an IP address; give --dns ADDR for names\n",
                 first.host.c_str());
    return kExitUsage;
  }
  IpAddr server;
  int status = 0;
  auto host = open_client_host("http", ho, first.host, dns, &server, &status);
  if (!host) return status;
  const Instant start = host->now();
  const Instant deadline =
      start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(timeout));
  std::vector<std::unique_ptr<Conn>> conns;
  // A connection per round; a new one only when the server ended the last
  // with requests left. Bounded: each round answers at least one request.
  while (fetch.answered < fetch.requests.size() && fetch.error.empty()) {
    conns.push_back(std::make_unique<Conn>(fetch));
    Conn& c = *conns.back();
    ++fetch.connections;
    host->sync();
    if (host->stack().tcp().connect(server, first.port, c, &err) == nullptr) {
      fetch.error = err;
      break;
    }
    const bool ended = host->run_until([&] { return c.finished; }, deadline - host->now());
    if (!ended) {
      fetch.error = g_interrupted.load() ? "interrupted" : "timed out";
      if (c.connection() != nullptr) c.connection()->abort();
    }
  }
  // Let the last FINs go (bounded).
  host->run_until([&] { return conns.empty() || conns.back()->closed; },
                  std::chrono::milliseconds(500));
  const double ms = std::chrono::duration<double, std::milli>(host->now() - start).count();
  if (!fetch.error.empty()) {
    std::fprintf(stderr, "ustack http: %s:%u: %s\n", first.host.c_str(), first.port,
                 fetch.error.c_str());
    return kExitFailure;
  }
  std::fprintf(stderr, "ustack http: %zu responses, %llu body bytes, %zu connection%s, %.1f ms\n",
               fetch.answered, static_cast<unsigned long long>(fetch.body_bytes), fetch.connections,
               fetch.connections == 1 ? "" : "s", ms);
  return kExitOk;
}

}  // namespace ustack::app
