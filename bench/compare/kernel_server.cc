#include "bench/compare/kernel_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bench/compare/endpoint.h"
#include "kernel/netns.h"

namespace ustack::compare {

// epoll's user data: a listener is tagged by its low bit set, with its
// namespace and kind; a connection is a Conn*.
struct KernelServers::Conn {
  int fd = -1;
  bool sink = false;
  int index = 0;
  std::vector<char> pending;  // echo bytes the socket did not take yet
};

namespace {
constexpr std::uint64_t kListenTag = 1;
std::uint64_t listener_tag(int fd, bool sink, int index) {
  return (static_cast<std::uint64_t>(fd) << 32) | (static_cast<std::uint64_t>(index) << 2) |
         (sink ? 2u : 0u) | kListenTag;
}
char g_buf[1 << 16];  // the server thread's read buffer
}  // namespace

KernelServers::KernelServers() = default;

KernelServers::~KernelServers() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (auto& c : conns_)
    if (c) close(c->fd);
  for (int fd : listeners_) close(fd);
  if (epoll_ >= 0) close(epoll_);
}

int KernelServers::listen_in(const std::string& ns, std::string* error) {
  if (epoll_ < 0) epoll_ = epoll_create1(EPOLL_CLOEXEC);
  const int index = static_cast<int>(sunk_.size());
  sunk_.push_back(std::make_unique<std::atomic<std::uint64_t>>(0));
  bool ok = true;
  const bool entered = testing::NetnsPair::run_in(ns, [&] {
    for (const bool sink : {false, true}) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      const int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(sink ? kSinkPort : kEchoPort);
      a.sin_addr.s_addr = htonl(INADDR_ANY);
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
          listen(fd, 1024) != 0) {
        *error = "listening in " + ns + " failed: " + std::strerror(errno);
        ok = false;
        if (fd >= 0) close(fd);
        return;
      }
      listeners_.push_back(fd);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = listener_tag(fd, sink, index);
      epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    }
  });
  if (!entered) *error = "could not enter namespace " + ns;
  return entered && ok ? index : -1;
}

bool KernelServers::start(int cpu, std::string* error) {
  if (epoll_ < 0) {
    *error = "no namespace to serve";
    return false;
  }
  thread_ = std::thread([this] { serve(); });
  if (cpu >= 0 && !pin_thread(thread_.native_handle(), cpu, error)) return false;
  return true;
}

bool pin_thread(pthread_t t, int cpu, std::string* error) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (const int e = pthread_setaffinity_np(t, sizeof set, &set); e != 0) {
    *error = "cannot pin a thread to CPU " + std::to_string(cpu) + ": " + std::strerror(e);
    return false;
  }
  return true;
}

void KernelServers::serve() {
  epoll_event evs[64];
  while (!stop_.load(std::memory_order_relaxed)) {
    const int n = epoll_wait(epoll_, evs, 64, 50);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = evs[i].data.u64;
      if ((tag & kListenTag) != 0) {
        on_listener(static_cast<int>(tag >> 32), (tag & 2) != 0,
                    static_cast<int>((tag >> 2) & 0x3fffffff));
      } else {
        on_conn(static_cast<Conn*>(evs[i].data.ptr));
      }
    }
  }
}

void KernelServers::on_listener(int fd, bool sink, int index) {
  for (int k = 0; k < 64; ++k) {
    const int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return;
    const int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_unique<Conn>();
    conn->fd = c;
    conn->sink = sink;
    conn->index = index;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = conn.get();
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c, &ev);
    conns_.push_back(std::move(conn));
  }
}

void KernelServers::drop(Conn* c) {
  epoll_ctl(epoll_, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  auto it = std::find_if(conns_.begin(), conns_.end(), [&](auto& p) { return p.get() == c; });
  if (it != conns_.end()) {
    std::swap(*it, conns_.back());
    conns_.pop_back();
  }
}

void KernelServers::on_conn(Conn* c) {
  // An echo connection with bytes pending writes them first and reads
  // nothing more until they are out (the client's sends then block: flow
  // control, as a real echo server does).
  if (!c->pending.empty()) {
    const ssize_t k = send(c->fd, c->pending.data(), c->pending.size(), MSG_NOSIGNAL);
    if (k < 0 && errno != EAGAIN) return drop(c);
    if (k > 0) c->pending.erase(c->pending.begin(), c->pending.begin() + k);
    if (!c->pending.empty()) return;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, c->fd, &ev);
  }
  for (int k = 0; k < 16; ++k) {
    const ssize_t n = read(c->fd, g_buf, sizeof g_buf);
    if (n == 0 || (n < 0 && errno != EAGAIN)) return drop(c);
    if (n < 0) break;
    if (c->sink) {
      sunk_[c->index]->fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
      continue;
    }
    const ssize_t w = send(c->fd, g_buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN) return drop(c);
    const std::size_t done = w > 0 ? static_cast<std::size_t>(w) : 0;
    if (done < static_cast<std::size_t>(n)) {
      c->pending.assign(g_buf + done, g_buf + n);
      epoll_event ev{};
      ev.events = EPOLLOUT | EPOLLRDHUP;
      ev.data.ptr = c;
      epoll_ctl(epoll_, EPOLL_CTL_MOD, c->fd, &ev);
      return;
    }
  }
}

}  // namespace ustack::compare
