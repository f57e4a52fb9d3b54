#include "bench/fault_transfer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/clock.h"
#include "core/mbuf_pool.h"
#include "core/worker.h"
#include "proto/stack.h"

namespace ustack::bench {
namespace {

constexpr Ipv4Addr kAddrA = Ipv4Addr::from_u32(0x0a000001);  // 10.0.0.1, sender
constexpr Ipv4Addr kAddrB = Ipv4Addr::from_u32(0x0a000002);  // 10.0.0.2, receiver
constexpr std::uint16_t kPort = 5001;

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* p, std::size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  std::array<unsigned char, 32> final() {
    std::array<unsigned char, 32> d{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, d.data(), &len);
    return d;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Sends `limit` bytes of a seeded pseudo-random stream (no period: a
// segment delivered at the wrong offset changes the digest), hashing what
// the connection accepted; closes when all is queued.
class Sender final : public TcpHandler {
 public:
  Sender(std::uint64_t limit, std::uint64_t seed)
      : limit_(limit), state_(seed * 0x9e3779b97f4a7c15ull | 1), block_(1 << 16) {
    fill();
  }
  void on_connected(TcpConn& c) override {
    conn_ = &c;
    push(c);
  }
  void on_writable(TcpConn& c) override { push(c); }
  void on_closed(TcpConn&, TcpCloseReason r) override {
    conn_ = nullptr;
    closed = true;
    reason = r;
  }
  // Called after each iteration: a retransmission timeout shows as the
  // congestion window collapsing to one segment (RFC 5681 §3.1, eq. 4)
  // from above it. The stack has no counter of RTO firings (tcp.timeouts
  // counts connections given up); back-to-back timeouts count once.
  void sample() {
    if (conn_ == nullptr) return;
    const std::uint32_t cwnd = conn_->cwnd();
    if (cwnd == conn_->mss() && last_cwnd_ > cwnd) ++rto_events;
    // A retransmission with cwnd at one segment (a timeout's, or the next
    // of its backoff): remembered for a report if the connection gives up.
    if (conn_->retransmits() != last_retransmits_ && cwnd == conn_->mss()) last_state = state();
    last_retransmits_ = conn_->retransmits();
    last_cwnd_ = cwnd;
    max_srtt = std::max(max_srtt, conn_->srtt());
  }
  std::array<unsigned char, 32> digest() { return sha_.final(); }
  // The connection's state, for a stall report.
  std::string state() const {
    if (conn_ == nullptr) return "sender: no connection";
    const TcpConn& c = *conn_;
    return "sender: state " + std::string(to_string(c.state())) + " cwnd " +
           std::to_string(c.cwnd()) + " ssthresh " + std::to_string(c.ssthresh()) + " flight " +
           std::to_string(c.bytes_in_flight()) + " snd_wnd " + std::to_string(c.send_window()) +
           " srtt_us " + std::to_string(c.srtt().count() / 1000) + " rto_us " +
           std::to_string(c.rto().count() / 1000) + " mss " + std::to_string(c.mss()) +
           " retransmits " + std::to_string(c.retransmits());
  }

  std::uint64_t sent = 0;
  std::uint64_t rto_events = 0;
  Duration max_srtt{0};
  std::string last_state;  // state() at the last retransmission with cwnd at one segment
  bool closed = false;
  TcpCloseReason reason = TcpCloseReason::kNormal;

 private:
  void fill() {
    for (std::size_t i = 0; i < block_.size(); i += 8) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      std::memcpy(block_.data() + i, &state_, 8);
    }
    off_ = 0;
  }
  void push(TcpConn& c) {
    while (sent < limit_) {
      if (off_ == block_.size()) fill();
      const std::size_t n = std::min<std::uint64_t>(block_.size() - off_, limit_ - sent);
      const std::uint32_t k = c.send(std::span(block_).subspan(off_, n));
      if (k == 0) return;
      sha_.update(block_.data() + off_, k);
      off_ += k;
      sent += k;
    }
    if (!closing_) {
      closing_ = true;
      c.close();
    }
  }

  std::uint64_t limit_;
  std::uint64_t state_;
  std::vector<std::byte> block_;
  std::size_t off_ = 0;
  bool closing_ = false;
  TcpConn* conn_ = nullptr;
  std::uint32_t last_cwnd_ = 0;
  std::uint64_t last_retransmits_ = 0;
  Sha256 sha_;
};

// Hashes everything it receives; closes when the sender has.
class Receiver final : public TcpListenHandler, public TcpHandler {
 public:
  TcpHandler* on_accept(TcpConn&) override { return this; }
  void on_readable(TcpConn& c) override {
    while (Mbuf* m = c.take()) {
      for (const Mbuf* s = m; s != nullptr; s = s->next) {
        sha_.update(s->data(), s->data_len);
        received += s->data_len;
      }
      mbuf_free(m);
    }
  }
  void on_peer_closed(TcpConn& c) override { c.close(); }
  void on_closed(TcpConn&, TcpCloseReason r) override {
    closed = true;
    reason = r;
  }
  std::array<unsigned char, 32> digest() { return sha_.final(); }

  std::uint64_t received = 0;
  bool closed = false;
  TcpCloseReason reason = TcpCloseReason::kNormal;

 private:
  Sha256 sha_;
};

struct Host {
  std::unique_ptr<MbufPool> pool;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<Stack> stack;
  std::uint64_t counter(const char* name) const { return worker->counters().value(name); }
};

bool make_host(Host& h, const char* name, Port& port, Ipv4Addr addr, const TransferSpec& spec,
               const Clock& clock, std::string* error) {
  MbufPoolConfig pc;
  pc.name = name;
  pc.capacity = spec.pool_size;
  h.pool = MbufPool::create(pc, error);
  if (!h.pool) return false;
  WorkerConfig wc;
  wc.name = name;
  h.worker = std::make_unique<Worker>(wc, clock);
  TxBatch& tx = h.worker->add_queue(port, 0);
  h.worker->add_pool(*h.pool);
  StackConfig sc;
  sc.netif.mac = port.mac();
  sc.netif.addrs = {Ipv4Cidr{addr, 24}};
  sc.netif.mtu = spec.mtu;
  sc.tcp = spec.tcp;
  sc.seed = addr.to_u32();
  h.stack = std::make_unique<Stack>(sc, *h.pool, h.worker->timers(), h.worker->counters(), tx,
                                    clock.now());
  h.worker->set_handler(*h.stack);
  return true;
}

double seconds(Duration d) {
  return static_cast<double>(d.count()) / 1e9;
}

// The whole run with the objects it needs, torn down in order on return.
class Run {
 public:
  explicit Run(const TransferSpec& spec) : spec_(spec), sender_(spec.bytes, spec.data_seed) {}

  ~Run() {
    // Connections and frames in flight go back before the pools go.
    a_.stack.reset();
    b_.stack.reset();
    a_.worker.reset();
    b_.worker.reset();
    link_.reset();
  }

  TransferResult go() {
    TransferResult r;
    const auto wall_start = std::chrono::steady_clock::now();
    if (!setup(&r.error)) return r;
    const Instant t0 = clock_.now();
    r.error = loop(t0, wall_start);
    const auto wall = std::chrono::steady_clock::now() - wall_start;
    r.wall_seconds = std::chrono::duration<double>(wall).count();
    r.sent = sender_.sent;
    r.received = receiver_.received;
    r.virtual_seconds = seconds((done_at_ ? *done_at_ : clock_.now()) - t0);
    r.completed = r.error.empty();
    r.sha_ok = receiver_.received == spec_.bytes && sender_.digest() == receiver_.digest();
    r.retransmits = a_.counter("tcp.tx.retransmits");
    r.fast_retransmits = a_.counter("tcp.fast_retransmits");
    r.sack_recoveries = a_.counter("tcp.sack.recoveries");
    r.sack_retransmits = a_.counter("tcp.sack.retransmits");
    r.timeouts = a_.counter("tcp.timeouts");
    r.rto_events = sender_.rto_events;
    r.max_srtt_ms = static_cast<double>(sender_.max_srtt.count()) / 1e6;
    r.rx_dsack = a_.counter("tcp.sack.rx_dsack");
    r.undone = a_.counter("tcp.sack.spurious_undone");
    r.tx_dsack = b_.counter("tcp.sack.tx_dsack");
    r.bad_checksum = a_.counter("tcp.drop.bad_checksum") + b_.counter("tcp.drop.bad_checksum");
    r.data_link = link_->stats_into(1);
    r.ack_link = link_->stats_into(0);
    return r;
  }

 private:
  bool setup(std::string* error) {
    MemlinkConfig lc;
    lc.mtu = spec_.mtu;
    lc.ring_size = spec_.ring_size;
    lc.a_to_b = spec_.a_to_b;
    lc.b_to_a = spec_.b_to_a;
    link_ = Memlink::create(lc, clock_, error);
    if (!link_) return false;
    if (!make_host(a_, "a", link_->a(), kAddrA, spec_, clock_, error) ||
        !make_host(b_, "b", link_->b(), kAddrB, spec_, clock_, error))
      return false;
    link_->set_rx_pool(0, a_.pool.get());
    link_->set_rx_pool(1, b_.pool.get());
    a_.stack->arp().cache().add_static(kAddrB, link_->b().mac());
    b_.stack->arp().cache().add_static(kAddrA, link_->a().mac());
    if (b_.stack->tcp().listen(kPort, receiver_, error) == nullptr) return false;
    a_.stack->set_now(clock_.now());
    b_.stack->set_now(clock_.now());
    return a_.stack->tcp().connect(IpAddr::v4(kAddrB), kPort, sender_, error) != nullptr;
  }

  // The next instant anything can happen when no frame is waiting.
  Instant next_event() const {
    Instant next = std::min(link_->next_arrival_into(0), link_->next_arrival_into(1));
    for (const Host* h : {&a_, &b_}) {
      const TimerWheel& w = h->worker->timers();
      next = std::min(next, w.current() + w.tick());
    }
    return next;
  }

  // Runs both hosts until the transfer ends; "" or what went wrong.
  std::string loop(Instant t0, std::chrono::steady_clock::time_point wall_start) {
    Instant last_progress = t0;
    std::uint64_t last_bytes = 0;
    auto wall_progress = wall_start;
    bool progressed = false;
    for (std::uint64_t iter = 0;; ++iter) {
      const Instant now = clock_.now();
      const std::size_t got = a_.worker->run_once(now) + b_.worker->run_once(now);
      sender_.sample();
      if (!done_at_ && receiver_.received >= spec_.bytes) done_at_ = clock_.now();
      if (sender_.closed && receiver_.closed) break;
      // A side that gave up ends the transfer (its peer may never hear).
      if ((sender_.closed && sender_.reason != TcpCloseReason::kNormal) ||
          (receiver_.closed && receiver_.reason != TcpCloseReason::kNormal))
        break;
      if (got > 0) {
        clock_.advance(spec_.busy_step);
      } else {
        clock_.set(std::max(next_event(), now + spec_.busy_step));
      }
      if (receiver_.received != last_bytes) {
        last_bytes = receiver_.received;
        last_progress = clock_.now();
        progressed = true;
      }
      if (clock_.now() - last_progress > spec_.stall_virtual)
        return "stalled: no byte received for " + std::to_string(seconds(spec_.stall_virtual)) +
               " s of virtual time at " + std::to_string(receiver_.received) + " bytes (" +
               sender_.state() + ")";
      if ((iter & 1023) == 0) {
        const auto w = std::chrono::steady_clock::now();
        if (progressed) wall_progress = w;
        progressed = false;
        if (std::chrono::duration<double>(w - wall_progress).count() > spec_.stall_wall_seconds)
          return "stalled: no byte received for " + std::to_string(spec_.stall_wall_seconds) +
                 " s of wall time at " + std::to_string(receiver_.received) + " bytes (" +
                 sender_.state() + ")";
        if (std::chrono::duration<double>(w - wall_start).count() > spec_.max_wall_seconds)
          return "too slow: over " + std::to_string(spec_.max_wall_seconds) + " s of wall time";
      }
    }
    const std::string at = " at " + std::to_string(receiver_.received) + " bytes received, " +
                           std::to_string(seconds(clock_.now() - t0)) + " s virtual";
    if (sender_.closed && sender_.reason != TcpCloseReason::kNormal)
      return std::string("sender's connection closed: ") + to_string(sender_.reason) + at +
             " (at its last retransmission with cwnd 1 MSS: " + sender_.last_state + ")";
    if (receiver_.closed && receiver_.reason != TcpCloseReason::kNormal)
      return std::string("receiver's connection closed: ") + to_string(receiver_.reason) + at;
    if (receiver_.received != spec_.bytes)
      return "closed after " + std::to_string(receiver_.received) + " bytes";
    return "";
  }

  TransferSpec spec_;
  VirtualClock clock_;
  std::unique_ptr<Memlink> link_;
  Host a_, b_;
  Sender sender_;
  Receiver receiver_;
  std::optional<Instant> done_at_;
};

}  // namespace

TransferResult run_transfer(const TransferSpec& spec) {
  Run run(spec);
  return run.go();
}

}  // namespace ustack::bench
