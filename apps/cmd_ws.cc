// ustack ws: a WebSocket client (RFC 6455). Opens the handshake, sends
// messages (text or binary, optionally in fragments of a given size), each
// frame masked with a fresh random key (§5.3), checks that each comes back
// (an echo server), answers pings, optionally pings first, and ends with
// the close handshake (§7.1.2: the server closes TCP first).
#include <cstdio>
#include <memory>

#include "apps/commands.h"
#include "apps/host.h"
#include "apps/host_lookup.h"
#include "apps/secure_random.h"
#include "apps/ws_client_handshake.h"
#include "apps/ws_frame.h"
#include "proto/tcp/tcp_stream.h"

namespace ustack::app {
namespace {

constexpr std::string_view kPingPayload = "ustack ping";

struct WsPlan {
  std::string payload;
  WsOpcode op = WsOpcode::kText;
  std::uint64_t count = 1;
  std::size_t fragment = 0;  // 0: one frame per message
  bool ping = false;
  std::uint16_t close_code = ws_close::kNormal;
  std::uint64_t max_message = 16 << 20;
};

class WsClient : public TcpStream {
 public:
  WsClient(const WsPlan& plan, WsClientRequest req)
      : plan_(plan), req_(std::move(req)), parser_(WsRole::kClient, {plan.max_message}) {
    http_.set_upgrade_expected(true);
  }

  void on_open() override { write_text(req_.request); }
  void on_data(std::span<const std::byte> b) override {
    if (done) return;
    std::string_view in(reinterpret_cast<const char*>(b.data()), b.size());
    if (!open_) {
      http_.feed(in);
      HttpResponse r;
      const HttpResponseParse p = http_.next(&r);
      if (p == HttpResponseParse::kIncomplete) return;
      std::string err;
      if (p == HttpResponseParse::kError) return fail_tcp("bad handshake answer: " + http_.error());
      if (!ws_check_response(r, req_.key, &err)) return fail_tcp(err);
      open_ = true;
      std::printf("connected: %s\n", r.header("sec-websocket-accept")->c_str());
      std::fflush(stdout);
      const std::string rest(http_.unparsed());
      if (plan_.ping) {
        send_frame(WsOpcode::kPing, kPingPayload, true);
      } else {
        send_next();
      }
      frames(rest);
      return;
    }
    frames(in);
  }
  void on_end() override {
    if (!done) {
      error = "the server closed the TCP connection without a close frame (1006)";
      done = true;
    }
    close();
  }
  void on_close(TcpCloseReason reason) override {
    closed = true;
    if (!done) {
      error = std::string("the connection ended: ") + to_string(reason);
      done = true;
    }
  }

  bool done = false;    // nothing more to do but let TCP close
  bool closed = false;  // TCP closed
  std::string error;
  std::uint64_t sent = 0, echoed = 0, echoed_bytes = 0;
  std::uint16_t close_code = ws_close::kAbnormal;
  bool closed_by_server = false;
  bool pong = false;

 private:
  void write_text(std::string_view s) {
    write({reinterpret_cast<const std::byte*>(s.data()), s.size()});
  }
  void send_frame(WsOpcode op, std::string_view payload, bool fin) {
    std::uint8_t mask[4];
    secure_random(mask, sizeof mask);  // §5.3: a fresh unpredictable key per frame
    std::string f;
    ws_append_frame(&f, op, payload, fin, mask);
    write_text(f);
  }
  void send_next() {
    if (sent == plan_.count) {
      close_sent_ = true;
      send_frame(WsOpcode::kClose, ws_close_payload(plan_.close_code), true);
      return;
    }
    ++sent;
    const std::string_view p = plan_.payload;
    const std::size_t step = plan_.fragment == 0 ? p.size() : plan_.fragment;
    // §5.4: the first frame carries the opcode, the rest are continuations.
    std::size_t off = 0;
    do {
      const std::size_t n = std::min(step, p.size() - off);
      send_frame(off == 0 ? plan_.op : WsOpcode::kContinuation, p.substr(off, n),
                 off + n == p.size());
      off += n;
    } while (off < p.size());
  }
  void fail_tcp(std::string why) {
    error = std::move(why);
    done = true;
    close();
  }
  // §7.1.7: fail the WebSocket connection: a close frame with the code,
  // then TCP closes.
  void fail_ws(std::uint16_t code, std::string why) {
    send_frame(WsOpcode::kClose, ws_close_payload(code), true);
    close_code = code;
    fail_tcp(std::move(why));
  }
  void frames(std::string_view in) {
    while (!in.empty() && !done) {
      std::size_t used = 0;
      WsMessage m;
      const WsParse r = parser_.parse(in, &used, &m);
      in.remove_prefix(used);
      if (r == WsParse::kIncomplete) return;
      if (r == WsParse::kError)
        return fail_ws(parser_.error_code(),
                       "bad frame from the server: " + parser_.error_reason());
      on_message(m);
    }
  }
  void on_message(const WsMessage& m) {
    switch (m.opcode) {
      case WsOpcode::kPing:
        return send_frame(WsOpcode::kPong, m.payload, true);  // §5.5.3
      case WsOpcode::kPong:
        if (plan_.ping && !pong && m.payload == kPingPayload) {
          pong = true;
          std::printf("< pong (%zu bytes)\n", m.payload.size());
          send_next();
        }
        return;  // an unsolicited pong needs no answer (§5.5.3)
      case WsOpcode::kClose:
        close_code = m.close_code;
        if (!close_sent_) {
          // §5.5.1: the server began the close; echo its code.
          closed_by_server = true;
          send_frame(WsOpcode::kClose,
                     m.close_code == ws_close::kNoStatus ? "" : ws_close_payload(m.close_code),
                     true);
        }
        done = true;
        if (closed_by_server && m.close_code != ws_close::kNormal)
          error = "the server closed with " + std::to_string(m.close_code) +
                  (m.payload.empty() ? "" : " (" + m.payload + ")");
        return;
      default:
        break;
    }
    const bool same = m.opcode == plan_.op && m.payload == plan_.payload;
    if (!same)
      return fail_ws(ws_close::kNormal,
                     "message " + std::to_string(sent) + " came back different (" +
                         std::to_string(m.payload.size()) + " bytes, " + to_string(m.opcode) + ")");
    ++echoed;
    echoed_bytes += m.payload.size();
    if (m.opcode == WsOpcode::kText && m.payload.size() <= 200) {
      std::printf("< text: %s\n", m.payload.c_str());
    } else {
      std::printf("< %s: %zu bytes\n", to_string(m.opcode), m.payload.size());
    }
    std::fflush(stdout);
    send_next();
  }

  const WsPlan& plan_;
  WsClientRequest req_;
  HttpResponseParser http_;
  WsParser parser_;
  bool open_ = false;
  bool close_sent_ = false;
};

}  // namespace

int cmd_ws(const Argv& argv) {
  std::vector<cli::OptionSpec> specs = host_options();
  for (auto& s : dns_option_specs()) specs.push_back(std::move(s));
  specs.push_back({"text", {"--text"}, true, "TEXT", "a text message to send (default: hello)"});
  specs.push_back(
      {"binary", {"--binary"}, true, "BYTES", "send a binary message of BYTES instead"});
  specs.push_back({"count", {"-c", "--count"}, true, "N", "send the message N times (default 1)"});
  specs.push_back({"fragment",
                   {"--fragment"},
                   true,
                   "BYTES",
                   "split each message into frames of at most BYTES"});
  specs.push_back({"ping", {"--ping"}, false, "", "ping first and wait for the pong"});
  specs.push_back({"close_code", {"--close-code"}, true, "CODE", "close with CODE (default 1000)"});
  specs.push_back({"max_message",
                   {"--max-message"},
                   true,
                   "BYTES",
                   "largest message accepted from the server (default 16 MiB)"});
  specs.push_back({"timeout", {"--timeout"}, true, "SECONDS", "give up after (default 30)"});
  specs.push_back({"help", {"-h", "--help"}, false, "", "this help"});
  cli::Args args;
  if (const int rc =
          cli::parse_command("ws", "-i IFACE ws://HOST[:PORT]/PATH [options]", specs, argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  HostOptions ho;
  WsPlan plan;
  unsigned long long binary = 0, count = 1, fragment = 0, close_code = 1000, max_message = 16 << 20;
  double timeout = 30;
  DnsChoice dns;
  if (!read_host_options(args, &ho, &err) || !read_dns_option(args, &dns, &err) ||
      !args.get_uint("binary", 0, 1ull << 30, &binary, &err) ||
      !args.get_uint("count", 0, 1000000, &count, &err) ||
      !args.get_uint("fragment", 1, 1ull << 30, &fragment, &err) ||
      !args.get_uint("close_code", 1000, 4999, &close_code, &err) ||
      !args.get_uint("max_message", 1, 1ull << 31, &max_message, &err) ||
      !args.get_double("timeout", 0.1, 86400, &timeout, &err)) {
    std::fprintf(stderr, "ustack ws: %s\n", err.c_str());
    return kExitUsage;
  }
  if (!ws_close_code_valid(static_cast<std::uint16_t>(close_code))) {
    std::fprintf(stderr, "ustack ws: --close-code %llu may not be sent (RFC 6455 7.4)\n",
                 close_code);
    return kExitUsage;
  }
  Url url;
  if (args.positional().size() != 1 || !parse_url(args.positional()[0], "ws", &url, &err)) {
    std::fprintf(
        stderr, "ustack ws: %s\n",
        args.positional().size() == 1 ? err.c_str() : "give one URL (ws://HOST[:PORT]/PATH)");
    return kExitUsage;
  }
  if (!host_arg_usable(url.host, dns)) {
    std::fprintf(stderr, "ustack ws: '%s' is not an IP address; give --dns ADDR for names\n",
                 url.host.c_str());
    return kExitUsage;
  }
  plan.count = count;
  plan.fragment = fragment;
  plan.ping = args.has("ping");
  plan.close_code = static_cast<std::uint16_t>(close_code);
  plan.max_message = max_message;
  if (args.has("binary")) {
    plan.op = WsOpcode::kBinary;
    plan.payload.resize(binary);
    for (std::size_t i = 0; i < binary; ++i) plan.payload[i] = static_cast<char>(i * 7 + 3);
  } else {
    plan.payload = args.get("text", "hello");
    Utf8Validator v;
    if (!v.feed(plan.payload) || !v.complete()) {
      std::fprintf(stderr, "ustack ws: --text is not UTF-8 (RFC 6455 5.6)\n");
      return kExitUsage;
    }
  }
  IpAddr server;
  int status = 0;
  auto host = open_client_host("ws", ho, url.host, dns, &server, &status);
  if (!host) return status;
  WsClient client(plan, ws_client_request(url));
  host->sync();
  const Instant start = host->now();
  if (host->stack().tcp().connect(server, url.port, client, &err) == nullptr) {
    std::fprintf(stderr, "ustack ws: %s\n", err.c_str());
    return kExitFailure;
  }
  const Duration limit =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(timeout));
  // §7.1.1: after the close handshake the server closes TCP first; wait
  // for that, bounded.
  if (!host->run_until([&] { return client.done; }, limit)) {
    client.error = g_interrupted.load() ? "interrupted" : "timed out";
    if (client.connection() != nullptr) client.connection()->abort();
  } else if (!host->run_until([&] { return client.closed; }, std::chrono::seconds(2)) &&
             client.connection() != nullptr) {
    client.connection()->abort();
  }
  const double ms = std::chrono::duration<double, std::milli>(host->now() - start).count();
  if (client.error.empty() && client.echoed != plan.count)
    client.error = "the server closed (" + std::to_string(client.close_code) + ") after " +
                   std::to_string(client.echoed) + " of " + std::to_string(plan.count) +
                   " messages came back";
  if (!client.error.empty()) {
    std::fprintf(stderr, "ustack ws: %s: %s\n", url.authority().c_str(), client.error.c_str());
    return kExitFailure;
  }
  std::printf("ws: %llu messages sent, %llu echoed (%llu bytes)%s, close %u by %s, %.1f ms\n",
              static_cast<unsigned long long>(client.sent),
              static_cast<unsigned long long>(client.echoed),
              static_cast<unsigned long long>(client.echoed_bytes), client.pong ? ", pong" : "",
              client.close_code, client.closed_by_server ? "the server" : "us", ms);
  return kExitOk;
}

}  // namespace ustack::app
