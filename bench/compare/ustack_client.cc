#include "bench/compare/ustack_client.h"

#include <chrono>
#include <span>
#include <vector>

namespace ustack::compare {
namespace {

using Clk = std::chrono::steady_clock;

double us_since(Clk::time_point t) {
  return std::chrono::duration<double, std::micro>(Clk::now() - t).count();
}

IpAddr server_addr() {
  return IpAddr::v4(Ipv4Addr::from_u32(0x0a000002));
}  // kServerAddr

// Sends `out` and reads as many bytes back into `in`.
struct Exchange final : TcpHandler {
  std::vector<std::byte> out, in;
  std::size_t sent = 0, got = 0;
  bool done = false, closed = false;
  void reset() {
    sent = got = 0;
    done = false;
  }
  void on_connected(TcpConn& c) override {
    c.set_nodelay(true);
    push(c);
  }
  void on_writable(TcpConn& c) override { push(c); }
  void push(TcpConn& c) {
    while (sent < out.size()) {
      const std::uint32_t k = c.send(std::span(out).subspan(sent));
      if (k == 0) return;
      sent += k;
    }
  }
  void on_readable(TcpConn& c) override {
    got += c.read(std::span(in).subspan(got));
    c.consume(c.readable());  // anything beyond what was sent
    done = got >= out.size();
  }
  void on_closed(TcpConn&, TcpCloseReason) override { closed = true; }
};

// Connect, 1-byte request, 1-byte response, close: one handler for all the
// connections, so that closing ones go on while the next is opened (as a
// socket's close() returns at once).
struct CrrClient final : TcpHandler {
  std::uint64_t answered = 0, failed = 0;
  std::vector<TcpConn*> open;  // not closed yet
  void on_connected(TcpConn& c) override {
    c.set_nodelay(true);
    const std::byte b{1};
    c.send(std::span<const std::byte>(&b, 1));
  }
  void on_readable(TcpConn& c) override {
    std::byte b[16];
    if (c.read(b) == 0) return;
    ++answered;
    c.close();
  }
  void on_closed(TcpConn& c, TcpCloseReason r) override {
    std::erase(open, &c);
    if (r != TcpCloseReason::kNormal) ++failed;
  }
};

// Resets every connection in `conns` that is still open (on_closed runs
// at once and takes it out): no handler may outlive the measurement while
// a connection still points to it.
void abort_all(UstackEnv& env, const std::vector<TcpConn*>& conns) {
  env.sync();
  for (TcpConn* c : std::vector<TcpConn*>(conns)) c->abort();
  env.poll_until([] { return false; }, 0.01);  // the RSTs go out
}

// Sends from a 64 KiB buffer (copied into the stack, as a socket's
// send() copies) on every connection whenever there is room.
struct BulkClient final : TcpHandler {
  std::vector<std::byte> buf = std::vector<std::byte>(65536, std::byte{'b'});
  std::vector<TcpConn*> conns;  // opened and not closed
  std::size_t up = 0, closed = 0;
  bool stop = false;
  void on_connected(TcpConn& c) override {
    ++up;
    fill(c);
  }
  void on_writable(TcpConn& c) override { fill(c); }
  void fill(TcpConn& c) {
    while (!stop && c.send(std::span<const std::byte>(buf)) == buf.size()) {
    }
  }
  void on_closed(TcpConn& c, TcpCloseReason) override {
    ++closed;
    std::erase(conns, &c);
  }
};

class UstackEndpoint final : public Endpoint {
 public:
  explicit UstackEndpoint(std::unique_ptr<UstackEnv> env) : env_(std::move(env)) {}

  bool bulk(int conns, const Budget& b, double* gbps, std::string* error) override {
    BulkClient client;
    env_->sync();
    bool ok = true;
    for (int i = 0; i < conns && ok; ++i) {
      TcpConn* c = env_->tcp().connect(server_addr(), kSinkPort, client, error);
      ok = c != nullptr;
      if (ok) client.conns.push_back(c);
    }
    const auto n = static_cast<std::size_t>(conns);
    const auto all_up = [&] { return client.up == n && client.closed == 0; };
    if (ok) {
      ok = env_->poll_until(all_up, 5);
      if (!ok) *error = "the bulk connections did not all open";
    }
    if (ok) {
      env_->poll_until([] { return false; }, b.warm_seconds);
      const std::uint64_t b0 = env_->sunk();
      const auto t0 = Clk::now();
      env_->poll_until([] { return false; }, b.seconds);
      const std::uint64_t b1 = env_->sunk();
      *gbps = static_cast<double>(b1 - b0) * 8 / (us_since(t0) / 1e6) / 1e9;
      ok = all_up() && b1 > b0;
      if (!ok) *error = "a bulk connection closed or the sink received nothing";
    }
    // Reset whatever is open: nothing queued reaches the sink later.
    client.stop = true;
    abort_all(*env_, client.conns);
    return ok;
  }

  bool rr(const Budget& b, std::vector<double>* rtt_us, double* per_s,
          std::string* error) override {
    Exchange x;
    x.out.assign(1, std::byte{1});
    x.in.resize(1);
    env_->sync();
    TcpConn* c = env_->tcp().connect(server_addr(), kEchoPort, x, error);
    if (c == nullptr) return false;
    bool ok = env_->poll_until([&] { return x.done || x.closed; }, 5) && !x.closed;
    const auto t0 = Clk::now();
    const auto end =
        t0 + std::chrono::duration_cast<Clk::duration>(std::chrono::duration<double>(b.seconds));
    std::size_t n = 0;
    while (ok && Clk::now() < end) {
      x.reset();
      const auto s0 = Clk::now();
      env_->sync();
      x.push(*c);
      ok = env_->poll_until([&] { return x.done || x.closed; }, 2) && !x.closed;
      if (ok) {
        rtt_us->push_back(us_since(s0));
        ++n;
      }
    }
    *per_s = static_cast<double>(n) / (us_since(t0) / 1e6);
    if (!ok) *error = "a round trip did not complete";
    finish(x, *c);
    return ok;
  }

  bool crr(const Budget& b, double* per_s, std::string* error) override {
    CrrClient client;
    const auto t0 = Clk::now();
    const auto end =
        t0 + std::chrono::duration_cast<Clk::duration>(std::chrono::duration<double>(b.seconds));
    std::uint64_t opened = 0;
    bool ok = true;
    while (ok && Clk::now() < end) {
      env_->sync();
      TcpConn* c = env_->tcp().connect(server_addr(), kEchoPort, client, error);
      if (c == nullptr) {
        ok = false;
        break;
      }
      client.open.push_back(c);
      ++opened;
      ok = env_->poll_until([&] { return client.answered == opened || client.failed > 0; }, 2) &&
           client.failed == 0;
      if (!ok) *error = "a connect/request/close did not complete";
    }
    *per_s = static_cast<double>(client.answered) / (us_since(t0) / 1e6);
    env_->poll_until([&] { return client.open.empty(); }, 2);
    abort_all(*env_, client.open);  // any that did not finish closing
    return ok;
  }

  bool echo(const Budget& b, std::vector<double>* us, std::string* error) override {
    for (int i = 0; i < b.echo_runs; ++i) {
      Exchange x;
      x.out.assign(kEchoBytes, std::byte{'x'});
      x.in.resize(kEchoBytes);
      env_->sync();
      const auto s0 = Clk::now();
      TcpConn* c = env_->tcp().connect(server_addr(), kEchoPort, x, error);
      if (c == nullptr) return false;
      const bool ok = env_->poll_until([&] { return x.done || x.closed; }, 5) && x.in == x.out;
      const double t = us_since(s0);
      finish(x, *c);
      if (!ok) {
        *error = "a 20 KB echo failed or came back different";
        return false;
      }
      us->push_back(t);
    }
    return true;
  }

 private:
  // Closes `c` (whose handler is `x`) and waits for it, resetting it if it
  // does not close within 2 s: x must not outlive it.
  void finish(Exchange& x, TcpConn& c) {
    if (x.closed) return;
    env_->sync();
    c.close();
    if (!env_->poll_until([&] { return x.closed; }, 2)) abort_all(*env_, {&c});
  }

  std::unique_ptr<UstackEnv> env_;
};

}  // namespace

std::unique_ptr<Endpoint> ustack_endpoint(std::unique_ptr<UstackEnv> env) {
  return std::make_unique<UstackEndpoint>(std::move(env));
}

}  // namespace ustack::compare
