// ustack iperf3: a server the stock iperf3 client (3.x) tests against
// unchanged. TCP tests: forward, reverse (-R), bidirectional (--bidir),
// parallel streams (-P), time (-t), bytes (-n) or blocks (-k), omit (-O).
// UDP tests (-u, apps/iperf3_udp.h): the same directions, loss and jitter.
// One test at a time, as iperf3 -s: a client arriving during a test is
// told ACCESS_DENIED. One summary per test (text or --json).
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/host.h"
#include "apps/iperf3_proto.h"
#include "apps/iperf3_udp.h"
#include "apps/server_loop.h"
#include "apps/servers.h"

namespace ustack::app {
namespace {

namespace ip3 = iperf3;

// How long each setup step and the result exchange may take before the
// test is dropped (iperf3 itself would wait forever on a silent client).
constexpr Duration kStepTimeout = std::chrono::seconds(10);
// A timed test that runs this far past omit + time without TEST_END is
// dropped (iperf3's server_timer_proc allows 5 s; a little more here).
constexpr Duration kRunSlack = std::chrono::seconds(10);
// A turned-away connection gets this long to read ACCESS_DENIED and close.
constexpr Duration kDenyLinger = std::chrono::seconds(5);
// Bytes queued for sending over all streams of a test (bounds the mbufs
// held: 16 MiB of 2 KB segments is 8192 of the pool's 32768).
constexpr std::uint64_t kSendBudget = 16u << 20;
// The pattern every sent block references (zero copy: clones of it).
constexpr std::uint32_t kTemplateBytes = 64 * 1024;

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

class Server;

// Every TCP connection on the port: the control connection, a data stream,
// one that has yet to show its cookie, or one turned away.
struct Conn : TcpHandler {
  enum class Role { kControl, kCandidate, kStream, kDenied };
  Conn(Server& s, Role r, TcpConn& c, Instant now);
  void on_connected(TcpConn& c) override;
  void on_readable(TcpConn& c) override;
  void on_writable(TcpConn& c) override;
  void on_peer_closed(TcpConn& c) override;
  void on_closed(TcpConn& c, TcpCloseReason r) override;

  Server& server;
  Role role;
  TcpConn* conn;  // nullptr once closed
  std::string peer;
  const char* congestion;  // the connection's congestion control, by name
  Instant since;
  std::string in;  // control bytes not yet handled, or the cookie so far
  bool dead = false;
  bool in_test = false;  // a stream of the current test (not reaped)
  // As a data stream:
  bool sender = false;
  std::uint64_t bytes = 0;    // received or queued for sending while running
  std::uint64_t omitted = 0;  // of which during the omit period
  std::uint64_t retrans_at_start = 0, retransmits = 0;
  Instant start{}, end{};
  bool ended = false;
};

enum class Phase { kIdle, kCookie, kParams, kCreateStreams, kRunning, kResults, kDisplay };

struct Direction {
  std::uint32_t streams = 0;
  std::uint64_t bytes = 0;
  double secs = 0;
  std::uint64_t peer_bytes = 0;
  bool peer_known = false;
  std::uint64_t retransmits = 0;
  // UDP: datagrams (received: the highest number seen; sent: the count),
  // lost and the largest stream jitter, of ours or, as the sender, the
  // client's (peer_*).
  bool udp = false;
  std::uint64_t packets = 0, lost = 0, peer_lost = 0, peer_packets = 0;
  double jitter_ms = 0, peer_jitter_ms = 0;
  double loss_percent(std::uint64_t l, std::uint64_t p) const {
    return p > 0 ? 100.0 * static_cast<double>(l) / static_cast<double>(p) : 0;
  }
  double gbps() const { return secs > 0 ? static_cast<double>(bytes) * 8 / secs / 1e9 : 0; }
};

class Server : public ServerListener {
 public:
  Server(ServerEnv& h, const Iperf3Options& o, MbufPtr pattern, std::string name)
      : ServerListener(std::move(name)),
        host_(h),
        json_(o.json),
        one_off_(o.one_off),
        pattern_owner_(std::move(pattern)),
        pattern_(pattern_owner_.get()),
        udp_(h.stack()) {}

  TcpHandler* accept(TcpConn& c) override;
  void poll(Instant now) override;
  // Ctrl-C: tell the client (SERVER_TERMINATE) and end the test.
  void close_all() override { interrupt(); }
  bool done() const override { return stop_; }
  std::uint64_t open_connections() const override { return open_conns(); }
  void print_totals() const override {
    std::fprintf(out(), "%s: %llu tests, %llu failed, %llu refused\n", name().c_str(),
                 static_cast<unsigned long long>(tests_), static_cast<unsigned long long>(failed_),
                 static_cast<unsigned long long>(refused_));
  }
  int exit_status() const override { return !one_off_ || last_ok_ ? kExitOk : kExitFailure; }
  // With --json stdout carries only the test objects.
  std::FILE* out() const override { return json_ ? stderr : stdout; }

  void readable(Conn& c);
  void pump(Conn& s);
  void peer_closed(Conn& c);
  void closed(Conn& c, TcpCloseReason r);
  void interrupt();

  std::size_t open_conns() const {
    std::size_t n = 0;
    for (const auto& c : conns_) n += c->conn != nullptr;
    return n;
  }

 private:
  void control_input(Conn& c);
  void candidate_input(Conn& c);
  bool take_json(Conn& c, std::string* json);
  bool send_bytes(const std::string& b);
  bool send_state(ip3::State s) { return send_bytes(std::string(1, static_cast<char>(s))); }
  // SERVER_ERROR with iperf3's error number and an errno (iperf_server_api.c).
  void send_error(ip3::Error e, int err);
  void deny(Conn& c);
  void start_test();
  void end_streams();
  void finish(bool ok, const std::string& why);
  void report(bool ok, const std::string& why, const Direction& rx, const Direction& tx);
  std::string summary_text(const Direction& rx, const Direction& tx) const;
  void set_phase(Phase p) {
    phase_ = p;
    phase_since_ = host_.now();
  }

  ServerEnv& host_;
  bool json_, one_off_;
  MbufPtr pattern_owner_;
  Mbuf* pattern_;
  std::vector<std::unique_ptr<Conn>> conns_;
  Phase phase_ = Phase::kIdle;
  Instant phase_since_{};
  Conn* ctrl_ = nullptr;
  std::string client_;
  std::string cookie_;
  ip3::Params params_;
  std::vector<Conn*> streams_;
  std::vector<ip3::StreamResult> peer_results_;
  bool peer_results_ok_ = false;
  Instant run_start_{};
  bool omitting_ = false;
  std::uint64_t sent_total_ = 0;
  std::uint32_t senders_ = 0;  // streams of the test that send
  bool reap_ = false;          // a connection closed since the last poll()
  rusage ru_start_{};
  Instant cpu_start_{};
  double cpu_[3] = {0, 0, 0};
  std::uint64_t serial_ = 0, tests_ = 0, failed_ = 0, refused_ = 0;
  bool last_ok_ = false;
  bool stop_ = false;
  ip3::UdpTest udp_;  // the UDP streams of a -u test
  bool udp_test() const { return params_.protocol == ip3::Protocol::kUdp; }
  std::vector<ip3::StreamResult> udp_results() const;
};

Conn::Conn(Server& s, Role r, TcpConn& c, Instant now)
    : server(s),
      role(r),
      conn(&c),
      peer(peer_string(c.key().remote, c.key().remote_port)),
      congestion(to_string(c.congestion_control())),
      since(now) {}

void Conn::on_connected(TcpConn& c) {
  if (role == Role::kDenied) {
    // iperf_accept(): a busy server answers ACCESS_DENIED without reading.
    // FIN after it, and the cookie (if it comes) is read and dropped, so
    // no RST can overtake the answer.
    const char b = static_cast<char>(ip3::kAccessDenied);
    c.send(std::as_bytes(std::span(&b, 1)));
    c.shutdown_write();
  }
}
void Conn::on_readable(TcpConn&) {
  server.readable(*this);
}
void Conn::on_writable(TcpConn&) {
  if (role == Role::kStream && sender) server.pump(*this);
}
void Conn::on_peer_closed(TcpConn&) {
  server.peer_closed(*this);
}
void Conn::on_closed(TcpConn&, TcpCloseReason r) {
  conn = nullptr;
  dead = true;
  server.closed(*this, r);
}

TcpHandler* Server::accept(TcpConn& c) {
  Conn::Role role = Conn::Role::kDenied;
  if (phase_ == Phase::kIdle)
    role = Conn::Role::kControl;
  else if (phase_ == Phase::kCreateStreams)
    role = Conn::Role::kCandidate;
  conns_.push_back(std::make_unique<Conn>(*this, role, c, host_.now()));
  Conn* n = conns_.back().get();
  if (role == Conn::Role::kControl) {
    ctrl_ = n;
    client_ = n->peer;
    params_ = ip3::Params();
    streams_.clear();
    peer_results_.clear();
    peer_results_ok_ = false;
    sent_total_ = 0;
    set_phase(Phase::kCookie);
  } else if (role == Conn::Role::kDenied) {
    std::fprintf(stderr, "iperf3: %s turned away: busy with test %llu\n", n->peer.c_str(),
                 static_cast<unsigned long long>(serial_));
  }
  return n;
}

void Server::readable(Conn& c) {
  if (c.conn == nullptr) return;
  switch (c.role) {
    case Conn::Role::kControl:
      if (&c == ctrl_) {
        control_input(c);
      } else {
        c.conn->consume(c.conn->readable());
      }
      return;
    case Conn::Role::kCandidate:
      candidate_input(c);
      return;
    case Conn::Role::kStream: {
      const std::uint32_t n = c.conn->readable();
      c.conn->consume(n);  // zero copy: the segments are dropped unread
      if (phase_ == Phase::kRunning && c.in_test && !c.ended) {
        c.bytes += n;
        if (omitting_) c.omitted += n;
      }
      return;
    }
    case Conn::Role::kDenied:
      c.conn->consume(c.conn->readable());
      return;
  }
}

bool Server::send_bytes(const std::string& b) {
  if (ctrl_ == nullptr || ctrl_->conn == nullptr) return false;
  return ctrl_->conn->send(std::as_bytes(std::span(b.data(), b.size()))) == b.size();
}

void Server::send_error(ip3::Error e, int err) {
  std::string b(1, static_cast<char>(ip3::kServerError));
  for (const std::int32_t v : {static_cast<std::int32_t>(e), static_cast<std::int32_t>(err)}) {
    const auto u = static_cast<std::uint32_t>(v);
    b.push_back(static_cast<char>(u >> 24));
    b.push_back(static_cast<char>(u >> 16));
    b.push_back(static_cast<char>(u >> 8));
    b.push_back(static_cast<char>(u));
  }
  send_bytes(b);
}

bool Server::take_json(Conn& c, std::string* json) {
  if (c.in.size() < 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(c.in.data());
  const std::uint32_t n =
      (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
  if (n > ip3::kMaxJson) {
    *json = "";
    c.in.clear();
    return true;  // the caller's parse fails on the empty text
  }
  if (c.in.size() < 4 + std::size_t{n}) return false;
  *json = c.in.substr(4, n);
  c.in.erase(0, 4 + std::size_t{n});
  return true;
}

void Server::control_input(Conn& c) {
  char buf[4096];
  while (c.conn != nullptr && c.conn->readable() > 0) {
    if (c.in.size() > ip3::kMaxJson + 8) {
      finish(false, "control message longer than " + std::to_string(ip3::kMaxJson) + " bytes");
      return;
    }
    const std::size_t n = c.conn->read(std::as_writable_bytes(std::span(buf)));
    c.in.append(buf, n);
  }
  while (ctrl_ == &c) {
    switch (phase_) {
      case Phase::kIdle:
        return;
      case Phase::kCookie: {
        if (c.in.size() < ip3::kCookieSize) return;
        cookie_ = c.in.substr(0, ip3::kCookieSize);
        c.in.erase(0, ip3::kCookieSize);
        bool ok = cookie_.back() == '\0';
        for (std::size_t i = 0; ok && i + 1 < cookie_.size(); ++i)
          ok = cookie_[i] > ' ' && cookie_[i] < 0x7f;
        if (!ok) {
          std::fprintf(stderr, "iperf3: %s: not an iperf3 client (bad cookie)\n", c.peer.c_str());
          finish(false, "bad cookie");
          return;
        }
        ++serial_;  // a test from here on
        send_state(ip3::kParamExchange);
        set_phase(Phase::kParams);
        continue;
      }
      case Phase::kParams: {
        std::string json, err;
        if (!take_json(c, &json)) return;
        if (!ip3::parse_params(json, &params_, &err)) {
          send_error(ip3::kErrRecvParams, EINVAL);
          finish(false, "bad parameters: " + err);
          return;
        }
        if (params_.protocol == ip3::Protocol::kSctp) {
          // The client prints "unable to start stream listener: Protocol not
          // supported", what iperf3 -s sends when its listener cannot be set up.
          std::fprintf(stderr,
                       "ustack iperf3: refusing an SCTP test from %s: TCP and UDP are supported\n",
                       client_.c_str());
          send_error(ip3::kErrStreamListen, EPROTONOSUPPORT);
          ++refused_;
          finish(false, "refused: SCTP is not supported");
          return;
        }
        if (udp_test() && !udp_.open(port, params_, &err)) {
          // iperf_udp_listen() failing: IESTREAMLISTEN with the errno.
          send_error(ip3::kErrStreamListen, EADDRINUSE);
          ++refused_;
          finish(false, "refused: " + err);
          return;
        }
        if (params_.has_auth) {
          send_error(ip3::kErrAuth, 0);
          ++refused_;
          finish(false, "refused: authentication is not supported");
          return;
        }
        send_state(ip3::kCreateStreams);
        set_phase(Phase::kCreateStreams);
        continue;
      }
      case Phase::kResults: {
        std::string json, err;
        if (!take_json(c, &json)) return;
        peer_results_ok_ = ip3::parse_peer_results(json, &peer_results_, &err);
        if (!peer_results_ok_)
          std::fprintf(stderr, "iperf3: test %llu: the client's results are unreadable: %s\n",
                       static_cast<unsigned long long>(serial_), err.c_str());
        // Our results after theirs (iperf_exchange_results(), server side).
        ip3::Results r;
        r.cpu_total = cpu_[0];
        r.cpu_user = cpu_[1];
        r.cpu_system = cpu_[2];
        const bool sends = params_.reverse || params_.bidirectional;
        r.sender_has_retransmits = sends ? (udp_test() ? 0 : 1) : -1;
        if (!streams_.empty()) r.congestion = streams_[0]->congestion;
        Direction rx, tx;
        for (std::size_t i = 0; i < streams_.size(); ++i) {
          const Conn& s = *streams_[i];
          ip3::StreamResult sr;
          sr.id = ip3::stream_id(i);
          sr.bytes = s.bytes - s.omitted;
          sr.retransmits = s.sender ? static_cast<std::int64_t>(s.retransmits) : -1;
          sr.seconds = seconds(s.end - s.start);
          r.streams.push_back(sr);
        }
        if (udp_test()) r.streams = udp_results();
        if (params_.get_server_output) {
          // The text the client prints for --get-server-output.
          for (Conn* s : streams_) {
            Direction& d = s->sender ? tx : rx;
            ++d.streams;
            d.bytes += s->bytes - s->omitted;
            d.secs = std::max(d.secs, seconds(s->end - s->start));
          }
          r.server_output_text = summary_text(rx, tx);
        }
        send_bytes(ip3::frame_json(ip3::results_json(r)));
        send_state(ip3::kDisplayResults);
        set_phase(Phase::kDisplay);
        continue;
      }
      case Phase::kCreateStreams:
      case Phase::kRunning:
      case Phase::kDisplay: {
        if (c.in.empty()) return;
        const auto s = static_cast<std::int8_t>(c.in[0]);
        c.in.erase(0, 1);
        if (s == ip3::kTestStart) continue;  // accepted and ignored, as iperf3 does
        if (s == ip3::kTestEnd && phase_ == Phase::kRunning) {
          end_streams();
          send_state(ip3::kExchangeResults);
          set_phase(Phase::kResults);
          continue;
        }
        if (s == ip3::kIperfDone && phase_ == Phase::kDisplay) {
          finish(true, "");
          return;
        }
        if (s == ip3::kClientTerminate) {
          finish(false, "the client has terminated");
          return;
        }
        send_error(ip3::kErrMessage, 0);
        finish(false, "unexpected control message " + std::to_string(s));
        return;
      }
    }
  }
}

void Server::deny(Conn& c) {
  // iperf_tcp_accept(): a data connection with the wrong cookie, or one
  // that comes when no streams are wanted, gets ACCESS_DENIED.
  c.role = Conn::Role::kDenied;
  c.since = host_.now();
  if (c.conn == nullptr) return;
  c.conn->consume(c.conn->readable());
  const char b = static_cast<char>(ip3::kAccessDenied);
  c.conn->send(std::as_bytes(std::span(&b, 1)));
  c.conn->shutdown_write();
}

void Server::candidate_input(Conn& c) {
  char buf[ip3::kCookieSize];
  const std::size_t want = ip3::kCookieSize - c.in.size();
  const std::size_t n = c.conn->read(std::as_writable_bytes(std::span(buf, want)));
  c.in.append(buf, n);
  if (c.in.size() < ip3::kCookieSize) return;
  // A UDP test's streams are UDP: no TCP data connection is wanted.
  const std::uint32_t wanted = udp_test() ? 0 : params_.parallel * (params_.bidirectional ? 2 : 1);
  if (phase_ != Phase::kCreateStreams || c.in != cookie_ || streams_.size() >= wanted) {
    std::fprintf(stderr, "iperf3: %s: data connection with a wrong cookie refused\n",
                 c.peer.c_str());
    deny(c);
    return;
  }
  // iperf_run_server(): with --bidir the first `parallel` streams are the
  // server's receivers, the rest its senders; -R makes every one a sender.
  c.role = Conn::Role::kStream;
  c.in_test = true;
  c.in.clear();
  c.sender = params_.reverse || (params_.bidirectional && streams_.size() >= params_.parallel);
  streams_.push_back(&c);
  if (streams_.size() == wanted) start_test();
}

void Server::start_test() {
  send_state(ip3::kTestStart);
  send_state(ip3::kTestRunning);
  set_phase(Phase::kRunning);
  run_start_ = host_.now();
  omitting_ = params_.omit > 0;
  getrusage(RUSAGE_SELF, &ru_start_);
  cpu_start_ = run_start_;
  senders_ = 0;
  for (Conn* s : streams_) {
    senders_ += s->sender;
    s->start = run_start_;
    if (s->conn != nullptr) {
      s->retrans_at_start = s->conn->retransmits();
      s->conn->set_nodelay(true);
    }
  }
  for (Conn* s : streams_)
    if (s->sender) pump(*s);
  if (udp_test()) udp_.start(run_start_);
}

void Server::pump(Conn& s) {
  if (phase_ != Phase::kRunning || s.conn == nullptr || s.ended || !s.in_test) return;
  TcpConn& c = *s.conn;
  const std::uint32_t buffer = host_.stack().tcp().config().send_buffer;
  const std::uint64_t cap =
      std::clamp<std::uint64_t>(kSendBudget / std::max(senders_, 1u), kTemplateBytes, buffer);
  const std::uint64_t limit = params_.byte_limit();
  while (true) {
    const std::uint32_t space = c.send_space();
    const std::uint64_t queued = buffer - space;
    std::uint64_t room = std::min<std::uint64_t>(space, queued < cap ? cap - queued : 0);
    if (limit != 0) room = std::min(room, limit > sent_total_ ? limit - sent_total_ : 0);
    if (limit != 0 && sent_total_ >= limit) return;  // -n / -k reached: nothing more
    // Whole MSS multiples at a time (or what the limit leaves), never dribbles.
    if (room < std::min<std::uint64_t>(c.mss(), limit != 0 ? limit - sent_total_ : c.mss())) {
      c.want_writable();
      return;
    }
    const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(room, kTemplateBytes));
    // Zero copy: indirect mbufs referencing the pattern's bytes.
    Mbuf* m = mbuf_clone_range(pattern_, 0, n, host_.stack().pool());
    if (m == nullptr) {
      c.want_writable();  // the pool is dry: poll() tries again
      return;
    }
    if (!c.send(m)) {
      mbuf_free(m);
      return;
    }
    s.bytes += n;
    if (omitting_) s.omitted += n;
    sent_total_ += n;
  }
}

void Server::end_streams() {
  const Instant now = host_.now();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double wall = std::max(seconds(now - cpu_start_), 1e-9);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  cpu_[1] = (tv(ru.ru_utime) - tv(ru_start_.ru_utime)) / wall * 100;
  cpu_[2] = (tv(ru.ru_stime) - tv(ru_start_.ru_stime)) / wall * 100;
  cpu_[0] = cpu_[1] + cpu_[2];
  if (udp_test()) udp_.end(now);
  for (Conn* s : streams_) {
    s->end = now;
    s->ended = true;
    if (s->conn == nullptr) continue;
    if (s->sender) s->retransmits = s->conn->retransmits() - s->retrans_at_start;
    // iperf3 closes its stream sockets at TEST_END; what is still queued
    // goes out before our FIN, and data arriving afterwards is reset.
    s->conn->consume(s->conn->readable());
    s->conn->close();
  }
}

std::string Server::summary_text(const Direction& rx, const Direction& tx) const {
  std::string out;
  char line[256];
  const auto plural = [](std::uint32_t n) { return n == 1 ? "stream" : "streams"; };
  if (rx.streams > 0) {
    std::snprintf(line, sizeof line,
                  "test %llu from %s: received %llu bytes on %u %s in %.3f s: %.3f Gbps",
                  static_cast<unsigned long long>(serial_), client_.c_str(),
                  static_cast<unsigned long long>(rx.bytes), rx.streams, plural(rx.streams),
                  rx.secs, rx.gbps());
    out += line;
    if (rx.udp) {
      std::snprintf(line, sizeof line, ", %llu datagrams, %llu lost (%.2f%%), jitter %.3f ms",
                    static_cast<unsigned long long>(rx.packets),
                    static_cast<unsigned long long>(rx.lost), rx.loss_percent(rx.lost, rx.packets),
                    rx.jitter_ms);
      out += line;
    }
    if (rx.peer_known) out += " (client sent " + std::to_string(rx.peer_bytes) + ")";
    out += "\n";
  }
  if (tx.streams > 0) {
    std::snprintf(line, sizeof line,
                  "test %llu from %s: sent %llu bytes on %u %s in %.3f s: %.3f Gbps, %llu %s",
                  static_cast<unsigned long long>(serial_), client_.c_str(),
                  static_cast<unsigned long long>(tx.bytes), tx.streams, plural(tx.streams),
                  tx.secs, tx.gbps(),
                  static_cast<unsigned long long>(tx.udp ? tx.packets : tx.retransmits),
                  tx.udp ? "datagrams" : "retransmits");
    out += line;
    if (tx.peer_known && tx.udp) {
      std::snprintf(line, sizeof line,
                    " (client received %llu bytes, %llu lost (%.2f%%), jitter %.3f ms)",
                    static_cast<unsigned long long>(tx.peer_bytes),
                    static_cast<unsigned long long>(tx.peer_lost),
                    tx.loss_percent(tx.peer_lost, tx.peer_packets), tx.peer_jitter_ms);
      out += line;
    } else if (tx.peer_known) {
      out += " (client received " + std::to_string(tx.peer_bytes) + ")";
    }
    out += "\n";
  }
  return out;
}

void Server::report(bool ok, const std::string& why, const Direction& rx, const Direction& tx) {
  const char* mode = params_.bidirectional ? "bidir" : params_.reverse ? "reverse" : "forward";
  if (!json_) {
    if (ok) {
      std::printf("%s", summary_text(rx, tx).c_str());
    } else {
      std::printf("test %llu from %s: failed: %s\n", static_cast<unsigned long long>(serial_),
                  client_.c_str(), why.c_str());
    }
    std::fflush(stdout);
    return;
  }
  std::string s = "{\"test\":" + std::to_string(serial_) + ",\"client\":" + json_quote(client_) +
                  ",\"ok\":" + (ok ? "true" : "false") + ",\"error\":" + json_quote(why) +
                  ",\"client_version\":" + json_quote(params_.client_version) + ",\"mode\":\"" +
                  mode + "\",\"protocol\":\"" + (udp_test() ? "udp" : "tcp") +
                  "\",\"parallel\":" + std::to_string(params_.parallel) +
                  ",\"len\":" + std::to_string(params_.len) +
                  ",\"time\":" + std::to_string(static_cast<long long>(params_.time)) +
                  ",\"omit\":" + std::to_string(static_cast<long long>(params_.omit)) +
                  ",\"bytes_limit\":" + std::to_string(params_.byte_limit());
  auto dir = [&](const char* name, const Direction& d, bool sent) {
    char num[160];
    std::snprintf(num, sizeof num, "\"seconds\":%.6f,\"gbps\":%.6f", d.secs, d.gbps());
    s += std::string(",\"") + name + "\":{\"streams\":" + std::to_string(d.streams) +
         ",\"bytes\":" + std::to_string(d.bytes) + "," + num;
    if (sent && !d.udp) s += ",\"retransmits\":" + std::to_string(d.retransmits);
    if (d.udp) {
      const bool ours = !sent;  // a receiver's figures are ours, a sender's the client's
      const std::uint64_t lost = ours ? d.lost : d.peer_lost;
      const std::uint64_t total = ours ? d.packets : d.peer_packets;
      std::snprintf(num, sizeof num,
                    ",\"datagrams\":%llu,\"lost\":%llu,\"lost_percent\":%.4f,\"jitter_ms\":%.4f",
                    static_cast<unsigned long long>(d.packets),
                    static_cast<unsigned long long>(lost), d.loss_percent(lost, total),
                    ours ? d.jitter_ms : d.peer_jitter_ms);
      if (ours || d.peer_known) s += num;
    }
    if (d.peer_known)
      s += std::string(",\"client_") + (sent ? "received" : "sent") +
           "\":" + std::to_string(d.peer_bytes);
    s += "}";
  };
  dir("received", rx, false);
  dir("sent", tx, true);
  s += "}\n";
  std::fputs(s.c_str(), stdout);
  std::fflush(stdout);
}

void Server::finish(bool ok, const std::string& why) {
  if (phase_ == Phase::kIdle) return;
  const bool started = phase_ >= Phase::kRunning;
  // A connection that never showed a cookie (a probe, a scan) is no test.
  const bool quiet = phase_ == Phase::kCookie;
  set_phase(Phase::kIdle);
  Direction rx, tx;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    Conn* s = streams_[i];
    if (!s->ended) s->end = host_.now();
    Direction& d = s->sender ? tx : rx;
    ++d.streams;
    d.bytes += s->bytes - s->omitted;
    d.secs = std::max(d.secs, started ? seconds(s->end - s->start) : 0.0);
    d.retransmits += s->retransmits;
    if (peer_results_ok_) {
      for (const ip3::StreamResult& pr : peer_results_) {
        if (pr.id != ip3::stream_id(i)) continue;
        d.peer_bytes += pr.bytes;
        d.peer_known = true;
      }
    }
    s->in_test = false;
    // A test that did not end normally leaves nothing worth delivering.
    if (!ok && s->conn != nullptr) s->conn->abort();
  }
  streams_.clear();
  if (udp_test()) {
    const std::vector<ip3::StreamResult> ours = udp_results();
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const ip3::StreamResult& r = ours[i];
      Direction& d = udp_.streams()[i].sender ? tx : rx;
      d.udp = true;
      ++d.streams;
      d.bytes += r.bytes;
      d.packets += r.packets;
      d.lost += r.errors;
      d.jitter_ms = std::max(d.jitter_ms, r.jitter * 1000);
      d.secs = std::max(d.secs, started ? r.seconds : 0.0);
      for (const ip3::StreamResult& pr : peer_results_) {
        if (!peer_results_ok_ || pr.id != r.id) continue;
        d.peer_bytes += pr.bytes;
        d.peer_packets += pr.packets;
        d.peer_lost += pr.errors;
        d.peer_jitter_ms = std::max(d.peer_jitter_ms, pr.jitter * 1000);
        d.peer_known = true;
      }
    }
    udp_.close();
  }
  // Connections still showing a cookie belong to no test now.
  for (auto& c : conns_)
    if (c->role == Conn::Role::kCandidate && c->conn != nullptr) deny(*c);
  if (Conn* c = ctrl_; c != nullptr) {
    ctrl_ = nullptr;
    if (c->conn != nullptr) {
      c->conn->consume(c->conn->readable());
      c->conn->close();
    }
  }
  if (quiet) return;
  if (why.rfind("refused", 0) != 0) {
    ++tests_;
    if (!ok) ++failed_;
  }
  last_ok_ = ok;
  report(ok, why, rx, tx);
  if (one_off_) stop_ = true;
}

std::vector<ip3::StreamResult> Server::udp_results() const {
  std::vector<ip3::StreamResult> out;
  for (std::size_t i = 0; i < udp_.streams().size(); ++i) {
    const ip3::UdpTest::Stream& st = udp_.streams()[i];
    ip3::StreamResult r;
    r.id = ip3::stream_id(i);
    r.bytes = st.sender ? st.sent_bytes : st.rx.bytes();
    r.packets = st.sender ? st.sent_packets : st.rx.packets();
    r.errors = st.sender ? 0 : st.rx.lost();
    r.jitter = st.sender ? 0 : st.rx.jitter_seconds();
    r.seconds = seconds(st.end - st.start);
    out.push_back(r);
  }
  return out;
}

void Server::interrupt() {
  if (phase_ == Phase::kIdle) return;
  send_state(ip3::kServerTerminate);
  finish(false, "interrupted (the client was sent SERVER_TERMINATE)");
}

void Server::peer_closed(Conn& c) {
  if (c.conn == nullptr) return;
  readable(c);
  if (c.conn == nullptr) return;
  if (&c == ctrl_) {
    finish(false, "the client closed the control connection");
  } else if (c.role == Conn::Role::kDenied || c.role == Conn::Role::kCandidate ||
             (c.role == Conn::Role::kControl && &c != ctrl_)) {
    c.conn->close();
  }
}

void Server::closed(Conn& c, TcpCloseReason r) {
  reap_ = true;
  if (&c == ctrl_) finish(false, std::string("control connection closed: ") + to_string(r));
}

void Server::poll(Instant now) {
  switch (phase_) {
    case Phase::kCreateStreams:
      // A UDP test starts once each of its streams sent its connect datagram.
      if (udp_test() && udp_.streams().size() == udp_.wanted()) {
        start_test();
        break;
      }
      [[fallthrough]];
    case Phase::kCookie:
    case Phase::kParams:
    case Phase::kResults:
    case Phase::kDisplay:
      if (now - phase_since_ > kStepTimeout) finish(false, "timed out waiting for the client");
      break;
    case Phase::kRunning: {
      const Duration omit =
          std::chrono::duration_cast<Duration>(std::chrono::duration<double>(params_.omit));
      if (omitting_ && now - run_start_ >= omit) {
        omitting_ = false;  // server_omit_timer_proc(): the counts restart
        for (Conn* s : streams_) s->start = now;
      }
      if (params_.time > 0 &&
          now - run_start_ > omit +
                                 std::chrono::duration_cast<Duration>(
                                     std::chrono::duration<double>(params_.time)) +
                                 kRunSlack) {
        finish(false, "no TEST_END from the client after the test's time");
        break;
      }
      for (Conn* s : streams_)
        if (s->sender) pump(*s);
      udp_.poll(now);
      break;
    }
    case Phase::kIdle:
      break;
  }
  // Turned-away connections that linger; closed connections are freed here
  // (never inside their own callbacks), and only when one has closed.
  if (phase_ != Phase::kRunning || reap_) {
    for (auto& c : conns_)
      if (c->role == Conn::Role::kDenied && c->conn != nullptr && now - c->since > kDenyLinger)
        c->conn->abort();
  }
  if (reap_) {
    reap_ = false;
    std::erase_if(conns_, [&](const std::unique_ptr<Conn>& c) {
      return c->dead && !c->in_test && c.get() != ctrl_;
    });
  }
}

}  // namespace

std::unique_ptr<ServerListener> make_iperf3(ServerEnv& host, const Iperf3Options& o,
                                            std::string* error, std::string name) {
  Mbuf* pattern = mbuf_alloc_chain(host.stack().pool(), kTemplateBytes);
  if (pattern == nullptr) {
    *error = "no mbufs for the send pattern";
    return nullptr;
  }
  // iperf3 sends random bytes; any pattern does (the receiver discards them).
  std::uint32_t x = 0x9e3779b9u;
  for (Mbuf* seg = pattern; seg != nullptr; seg = seg->next)
    for (std::byte& b : seg->span()) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      b = std::byte(static_cast<std::uint8_t>(x));
    }
  return std::make_unique<Server>(host, o, MbufPtr(pattern), std::move(name));
}

int cmd_iperf3(const Argv& argv) {
  std::vector<cli::OptionSpec> specs = host_options();
  specs.push_back({"port", {"-p", "-port", "--port"}, true, "PORT", "port to listen on (5201)"});
  specs.push_back({"one-off", {"-1", "--one-off"}, false, "", "exit after one test"});
  specs.push_back({"json", {"--json"}, false, "", "one JSON object per test on stdout"});
  specs.push_back({"help", {"-h", "--help"}, false, "", "this help"});
  cli::Args args;
  if (const int rc = cli::parse_command("iperf3", "-i IFACE [-p PORT] [-1] [--json] [options]",
                                        specs, argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  HostOptions ho;
  unsigned long long port = ip3::kDefaultPort;
  if (!read_host_options(args, &ho, &err) || !args.get_uint("port", 1, 65535, &port, &err)) {
    std::fprintf(stderr, "ustack iperf3: %s\n", err.c_str());
    return kExitUsage;
  }
  auto host = open_server_host("iperf3", ho);
  if (!host) return kExitUsage;
  auto server = make_iperf3(*host, {args.has("json"), args.has("one-off")}, &err);
  if (!server) {
    std::fprintf(stderr, "ustack iperf3: %s\n", err.c_str());
    return kExitFailure;
  }
  server->port = static_cast<std::uint16_t>(port);
  return serve(*host, *server);
}

}  // namespace ustack::app
