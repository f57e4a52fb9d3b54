#include "bench/compare/kernel_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "kernel/netns.h"

namespace ustack::compare {
namespace {

using Clk = std::chrono::steady_clock;

double us_since(Clk::time_point t) {
  return std::chrono::duration<double, std::micro>(Clk::now() - t).count();
}
Clk::time_point after(double seconds) {
  return Clk::now() +
         std::chrono::duration_cast<Clk::duration>(std::chrono::duration<double>(seconds));
}

class KernelEndpoint final : public Endpoint {
 public:
  KernelEndpoint(std::string ns, std::string server, std::function<std::uint64_t()> sunk)
      : ns_(std::move(ns)), server_(std::move(server)), sunk_(std::move(sunk)) {}

  bool bulk(int conns, const Budget& b, double* gbps, std::string* error) override {
    return in_ns(error, [&] { return bulk_here(conns, b, gbps, error); });
  }
  bool rr(const Budget& b, std::vector<double>* rtt_us, double* per_s,
          std::string* error) override {
    return in_ns(error, [&] {
      const int s = open(kEchoPort, error);
      if (s < 0) return false;
      const auto t0 = Clk::now();
      const auto end = after(b.seconds);
      std::size_t n = 0;
      char x = 1;
      bool ok = true;
      while (Clk::now() < end) {
        const auto s0 = Clk::now();
        if (!exchange(s, &x, 1, &x)) {
          *error = "a round trip failed";
          ok = false;
          break;
        }
        rtt_us->push_back(us_since(s0));
        ++n;
      }
      *per_s = static_cast<double>(n) / (us_since(t0) / 1e6);
      close(s);
      return ok;
    });
  }
  bool crr(const Budget& b, double* per_s, std::string* error) override {
    return in_ns(error, [&] {
      const auto t0 = Clk::now();
      const auto end = after(b.seconds);
      std::size_t n = 0;
      while (Clk::now() < end) {
        const int s = open(kEchoPort, error);
        if (s < 0) return false;
        char x = 1;
        const bool ok = exchange(s, &x, 1, &x);
        close(s);
        if (!ok) {
          *error = "a request/response failed";
          return false;
        }
        ++n;
      }
      *per_s = static_cast<double>(n) / (us_since(t0) / 1e6);
      return true;
    });
  }
  bool echo(const Budget& b, std::vector<double>* us, std::string* error) override {
    return in_ns(error, [&] {
      std::vector<char> out(kEchoBytes, 'x'), in(kEchoBytes);
      for (int i = 0; i < b.echo_runs; ++i) {
        const auto s0 = Clk::now();
        const int s = open(kEchoPort, error);
        if (s < 0) return false;
        const bool ok = exchange(s, out.data(), kEchoBytes, in.data());
        close(s);
        if (!ok || in != out) {
          *error = "a 20 KB echo failed or came back different";
          return false;
        }
        us->push_back(us_since(s0));
      }
      return true;
    });
  }

 private:
  bool in_ns(std::string* error, const std::function<bool()>& fn) {
    bool ok = false;
    if (!testing::NetnsPair::run_in(ns_, [&] { ok = fn(); })) {
      *error = "could not enter namespace " + ns_;
      return false;
    }
    return ok;
  }

  // A blocking connected socket, TCP_NODELAY, reads bounded by 2 s.
  int open(std::uint16_t port, std::string* error) const {
    const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{2, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, server_.c_str(), &a.sin_addr);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      *error = "connect to " + server_ + " failed: " + std::strerror(errno);
      close(s);
      return -1;
    }
    return s;
  }

  // Sends `n` bytes and reads `n` back, interleaved (the echo comes back
  // while sending); false if the peer closes, fails or takes over 5 s.
  static bool exchange(int s, const char* out, std::size_t n, char* in) {
    std::size_t w = 0, r = 0;
    const auto end = after(5);
    while (r < n) {
      if (Clk::now() > end) return false;
      if (w < n) {
        const ssize_t k =
            send(s, out + w, std::min<std::size_t>(n - w, 16384), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0) w += static_cast<std::size_t>(k);
      }
      const ssize_t k = recv(s, in + r, n - r, w < n ? MSG_DONTWAIT : 0);
      if (k == 0 || (k < 0 && errno != EAGAIN)) return false;
      if (k > 0) r += static_cast<std::size_t>(k);
    }
    return true;
  }

  bool bulk_here(int conns, const Budget& b, double* gbps, std::string* error) {
    std::vector<pollfd> fds;
    const auto close_all = [&] {
      // An abortive close (RST): nothing left queued reaches the sink later.
      const linger lg{1, 0};
      for (pollfd& p : fds) {
        setsockopt(p.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(p.fd);
      }
    };
    for (int i = 0; i < conns; ++i) {
      const int s = open(kSinkPort, error);
      if (s < 0) {
        close_all();
        return false;
      }
      fds.push_back({s, POLLOUT, 0});
    }
    static const std::vector<char> buf(1 << 16, 'b');
    const auto send_until = [&](Clk::time_point end) {
      while (Clk::now() < end) {
        for (pollfd& p : fds)
          while (send(p.fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
          }
        poll(fds.data(), fds.size(), 5);
      }
    };
    send_until(after(b.warm_seconds));
    const std::uint64_t b0 = sunk_();
    const auto t0 = Clk::now();
    send_until(after(b.seconds));
    const std::uint64_t b1 = sunk_();
    const double secs = us_since(t0) / 1e6;
    close_all();
    *gbps = static_cast<double>(b1 - b0) * 8 / secs / 1e9;
    if (b1 == b0) *error = "the sink received nothing";
    return b1 > b0;
  }

  std::string ns_, server_;
  std::function<std::uint64_t()> sunk_;
};

}  // namespace

std::unique_ptr<Endpoint> kernel_endpoint(const std::string& ns, const std::string& server,
                                          std::function<std::uint64_t()> sunk) {
  return std::make_unique<KernelEndpoint>(ns, server, std::move(sunk));
}

}  // namespace ustack::compare
