// ustack against the Linux kernel, measured in one run: the seed's 20 KB
// echo (median of many), a 1-byte ping-pong (median round trip) and
// connections per second (connect, 1-byte request, close), each with
//   - two Linux stacks across a veth pair (offloads off: 1500-byte frames);
//   - ustack (af_packet, TPACKET_V2 ring) facing the same Linux server.
// Both run in network namespaces this program creates and removes. Root.
//
// usage: kernel_compare [--runs N] [--seconds S] [--ring 2|3]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "kernel/kernel_host.h"
#include "kernel/netns.h"

namespace ustack {
namespace {

using Clk = std::chrono::steady_clock;
constexpr int kPort = 7000;
constexpr std::size_t kEcho = 20000;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// A blocking kernel echo server in namespace B: one connection at a time,
// until `stop`.
void kernel_server(const testing::NetnsPair& pair, std::atomic<bool>& stop,
                   std::atomic<bool>& ready) {
  pair.run_in_b([&] {
    const int ls = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kPort);
    inet_pton(AF_INET, "10.0.0.2", &a.sin_addr);
    bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(ls, 128);
    timeval tv{0, 200000};
    setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ready = true;
    std::vector<char> buf(1 << 16);
    while (!stop) {
      const int c = accept(ls, nullptr, nullptr);
      if (c < 0) continue;
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      for (ssize_t n; (n = read(c, buf.data(), buf.size())) > 0;) {
        for (ssize_t w = 0; w < n;) {
          const ssize_t k = write(c, buf.data() + w, static_cast<std::size_t>(n - w));
          if (k <= 0) break;
          w += k;
        }
      }
      close(c);
    }
    close(ls);
  });
}

struct Figures {
  double echo_us = 0, rtt_us = 0, conns_per_s = 0;
};

// ---- kernel client (namespace A has 10.0.0.1 on its veth end)
int kconnect() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(kPort);
  inet_pton(AF_INET, "10.0.0.2", &a.sin_addr);
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(s);
    return -1;
  }
  return s;
}

bool kexchange(int s, const char* out, std::size_t n, char* in) {
  std::size_t w = 0, r = 0;
  while (r < n) {  // interleave, as the echo comes while sending
    if (w < n) {
      const ssize_t k = send(s, out + w, std::min<std::size_t>(n - w, 16384), MSG_DONTWAIT);
      if (k > 0) w += static_cast<std::size_t>(k);
    }
    const ssize_t k = recv(s, in + r, n - r, w < n ? MSG_DONTWAIT : 0);
    if (k == 0) return false;
    if (k > 0) r += static_cast<std::size_t>(k);
  }
  return true;
}

Figures measure_kernel(const testing::NetnsPair& pair, int runs, double seconds) {
  Figures f;
  pair.run_in_a([&] {
    std::vector<char> out(kEcho, 'x'), in(kEcho);
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
      const auto s0 = Clk::now();
      const int s = kconnect();
      if (s < 0 || !kexchange(s, out.data(), kEcho, in.data())) break;
      close(s);
      t.push_back(std::chrono::duration<double, std::micro>(Clk::now() - s0).count());
    }
    f.echo_us = median(t);
    t.clear();
    const int s = kconnect();
    char b = 1;
    for (int i = 0; i < runs * 20 && s >= 0; ++i) {
      const auto s0 = Clk::now();
      if (!kexchange(s, &b, 1, &b)) break;
      t.push_back(std::chrono::duration<double, std::micro>(Clk::now() - s0).count());
    }
    if (s >= 0) close(s);
    f.rtt_us = median(t);
    int n = 0;
    const auto end = Clk::now() + std::chrono::duration<double>(seconds);
    while (Clk::now() < end) {
      const int c = kconnect();
      if (c < 0) break;
      char x = 1;
      if (kexchange(c, &x, 1, &x)) ++n;
      close(c);
    }
    f.conns_per_s = n / seconds;
  });
  return f;
}

// ---- ustack client
struct Exchange : TcpHandler {
  std::vector<std::byte> out;
  std::size_t sent = 0, got = 0;
  bool connected = false, done = false, closed = false;
  bool close_when_done = true;
  void start(TcpConn& c) {
    c.set_nodelay(true);
    push(c);
  }
  void on_connected(TcpConn& c) override {
    connected = true;
    start(c);
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
    got += c.readable();
    c.consume(c.readable());
    if (got >= out.size() && !done) {
      done = true;
      if (close_when_done) c.close();
    }
  }
  void on_closed(TcpConn&, TcpCloseReason) override { closed = true; }
};

Figures measure_ustack(const testing::NetnsPair& pair, int ring, int runs, double seconds,
                       std::string* error) {
  Figures f;
  auto host = testing::KernelHost::open(pair, ring == 2 ? "af_packet_v2" : "af_packet", error);
  if (!host) return f;
  auto& tcp = host->stack().tcp();
  std::vector<double> t;
  std::string err;
  for (int i = 0; i < runs; ++i) {
    Exchange x;
    x.out.assign(kEcho, std::byte{'x'});
    host->sync();
    const auto s0 = Clk::now();
    if (tcp.connect(IpAddr::v4(testing::kKernelAddr), kPort, x, &err) == nullptr) break;
    if (!host->poll_until([&] { return x.closed; }, std::chrono::seconds(5))) break;
    t.push_back(std::chrono::duration<double, std::micro>(Clk::now() - s0).count());
  }
  f.echo_us = median(t);
  t.clear();
  {
    Exchange x;
    x.close_when_done = false;
    x.out.assign(1, std::byte{1});
    host->sync();
    TcpConn* c = tcp.connect(IpAddr::v4(testing::kKernelAddr), kPort, x, &err);
    if (c != nullptr && host->poll_until([&] { return x.done; }, std::chrono::seconds(5))) {
      for (int i = 0; i < runs * 20; ++i) {
        x.done = false;
        x.got = 0;
        x.sent = 0;
        const auto s0 = Clk::now();
        host->sync();
        x.push(*c);
        if (!host->poll_until([&] { return x.done; }, std::chrono::seconds(5))) break;
        t.push_back(std::chrono::duration<double, std::micro>(Clk::now() - s0).count());
      }
      c->close();
      host->poll_until([&] { return x.closed; }, std::chrono::seconds(2));
    }
  }
  f.rtt_us = median(t);
  int n = 0;
  const auto end = Clk::now() + std::chrono::duration<double>(seconds);
  while (Clk::now() < end) {
    Exchange x;
    x.out.assign(1, std::byte{1});
    host->sync();
    if (tcp.connect(IpAddr::v4(testing::kKernelAddr), kPort, x, &err) == nullptr) break;
    if (!host->poll_until([&] { return x.closed; }, std::chrono::seconds(5))) break;
    if (x.done) ++n;
  }
  f.conns_per_s = n / seconds;
  return f;
}

}  // namespace
}  // namespace ustack

int main(int argc, char** argv) {
  using ustack::Figures;
  int runs = 200, ring = 2;
  double seconds = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--runs") runs = std::atoi(argv[i + 1]);
    if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    if (a == "--ring") ring = std::atoi(argv[i + 1]);
  }
  std::string why;
  if (!ustack::testing::can_make_namespaces(&why)) {
    std::fprintf(stderr, "kernel_compare: %s\n", why.c_str());
    return 2;
  }
  // Kernel to kernel: a pair whose A side gets a kernel address.
  auto kk = ustack::testing::NetnsPair::create(ustack::testing::NetnsPair::Options{}, &why);
  auto uk = kk ? ustack::testing::NetnsPair::create(ustack::testing::NetnsPair::Options{}, &why)
               : nullptr;
  if (!kk || !uk) {
    std::fprintf(stderr, "kernel_compare: %s\n", why.c_str());
    return 2;
  }
  ustack::testing::sh("ip -n " + kk->ns_a() + " addr add 10.0.0.1/24 dev " + kk->if_a());
  std::atomic<bool> stop{false}, ready1{false}, ready2{false};
  std::thread s1([&] { ustack::kernel_server(*kk, stop, ready1); });
  std::thread s2([&] { ustack::kernel_server(*uk, stop, ready2); });
  while (!ready1 || !ready2) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const Figures k = ustack::measure_kernel(*kk, runs, seconds);
  const Figures u = ustack::measure_ustack(*uk, ring, runs, seconds, &why);
  stop = true;
  s1.join();
  s2.join();
  if (u.echo_us == 0) {
    std::fprintf(stderr, "kernel_compare: ustack side failed: %s\n", why.c_str());
    return 1;
  }
  std::printf("%-34s %14s %18s %10s\n", "", "Linux<->Linux", "ustack<->Linux", "ratio");
  std::printf("%-34s %11.1f us %15.1f us %9.2fx\n", "20 KB echo (median)", k.echo_us, u.echo_us,
              u.echo_us / k.echo_us);
  std::printf("%-34s %11.1f us %15.1f us %9.2fx\n", "1-byte ping-pong (median RTT)", k.rtt_us,
              u.rtt_us, u.rtt_us / k.rtt_us);
  std::printf("%-34s %12.0f/s %16.0f/s %9.2fx\n", "connections/s (connect, 1 B, close)",
              k.conns_per_s, u.conns_per_s, u.conns_per_s / k.conns_per_s);
  std::printf(
      "(veth, segmentation offloads off; ustack on af_packet TPACKET_V%d; ratio = "
      "ustack/Linux, lower is better for times)\n",
      ring);
  return 0;
}
