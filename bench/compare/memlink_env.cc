#include "bench/compare/memlink_env.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <span>

#include "bench/compare/ustack_client.h"
#include "bench/two_stacks_bench.h"

namespace ustack::compare {
namespace {

// Stack B's servers: echo everything back (reading no more than the send
// buffer takes), or take and free what arrives, counting.
struct Servers final : TcpListenHandler {
  struct Echo final : TcpHandler {
    void on_readable(TcpConn& c) override { pump(c); }
    void on_writable(TcpConn& c) override { pump(c); }
    void on_peer_closed(TcpConn& c) override { c.close(); }
    static void pump(TcpConn& c) {
      std::byte buf[16384];
      while (c.readable() > 0 && c.send_space() > 0) {
        const std::size_t n =
            c.read(std::span(buf, std::min<std::size_t>(sizeof buf, c.send_space())));
        c.send(std::span<const std::byte>(buf, n));
      }
      if (c.readable() > 0) c.want_writable();
    }
  } echo;
  struct Sink final : TcpHandler {
    void on_readable(TcpConn& c) override {
      std::uint64_t n = bytes.load(std::memory_order_relaxed);
      while (Mbuf* m = c.take()) {
        n += m->pkt_len;
        mbuf_free(m);
      }
      bytes.store(n, std::memory_order_relaxed);  // its one writer; the client reads
    }
    void on_peer_closed(TcpConn& c) override { c.close(); }
    std::atomic<std::uint64_t> bytes{0};
  } sink;
  TcpHandler* on_accept(TcpConn& c) override {
    c.set_nodelay(true);
    return c.key().local_port == kSinkPort ? static_cast<TcpHandler*>(&sink) : &echo;
  }
};

// Threaded: stack B runs its own worker loop on a thread of its own, and
// only stack A is polled by the caller (`ustack bench`'s arrangement, a
// core each); otherwise the caller steps both.
class MemlinkEnv final : public UstackEnv {
 public:
  explicit MemlinkEnv(bool threaded) : threaded_(threaded) {}
  ~MemlinkEnv() override {
    if (!started_) return;
    stacks_->b.worker->stop();
    stacks_->b.pool->bind_to_current_thread();  // what is left is freed here
  }
  bool open(std::string* error) {
    bench::BenchLinkOptions o;
    o.tcp.max_connections = 65536;  // connections/s leaves many in TIME-WAIT
    o.tcp.max_time_wait = 16384;
    o.pool_a = o.pool_b = 32768;
    stacks_ = bench::BenchStacks::create(o, clock_, error);
    if (!stacks_ || stacks_->b.tcp().listen(kEchoPort, servers_, error) == nullptr ||
        stacks_->b.tcp().listen(kSinkPort, servers_, error) == nullptr)
      return false;
    started_ = threaded_ && stacks_->b.worker->start(nullptr, error);
    return started_ || !threaded_;
  }
  TcpLayer& tcp() override { return stacks_->a.tcp(); }
  void sync() override {
    if (threaded_) {
      stacks_->a.stack->set_now(clock_.now());
    } else {
      stacks_->sync();
    }
  }
  bool poll_until(const std::function<bool()>& done, double seconds) override {
    const auto end = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(seconds));
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      for (int i = 0; i < 16 && !done(); ++i) {
        if (threaded_) {
          stacks_->a.worker->run_once();
        } else {
          stacks_->step();
        }
      }
    }
    return true;
  }
  std::uint64_t sunk() override { return servers_.sink.bytes.load(std::memory_order_relaxed); }

 private:
  bool threaded_;
  bool started_ = false;
  TscClock clock_;
  Servers servers_;
  std::unique_ptr<bench::BenchStacks> stacks_;  // after servers_: goes first
};

}  // namespace

std::unique_ptr<Endpoint> memlink_endpoint(bool threaded, std::string* error) {
  auto env = std::make_unique<MemlinkEnv>(threaded);
  if (!env->open(error)) return nullptr;
  return ustack_endpoint(std::move(env));
}

}  // namespace ustack::compare
