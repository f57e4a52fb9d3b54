// 256 MiB each way over one TCP connection between two stacks on memlink,
// both directions at once, each stream checked with SHA-256: clean, and
// with 1 % loss, 5 % reordering and 1 % duplication. (Suite tcp: it moves a
// gigabyte through both stacks.)
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <array>
#include <vector>

#include "proto/two_stacks.h"

namespace ustack {
namespace {

using testing::kAddrB;
using testing::TwoStacks;

constexpr std::uint64_t kBytes = 256ull << 20;

// Sends kBytes of a seeded stream and hashes what it sends; hashes what it
// receives. Closes its side when done sending.
class DuplexEnd : public TcpListenHandler, public TcpHandler {
 public:
  explicit DuplexEnd(std::uint64_t seed) : rng_state_(seed * 0x9e3779b97f4a7c15ull + 1) {
    SHA256_Init(&sent_);
    SHA256_Init(&got_);
    block_.resize(1 << 16);
    fill();
  }
  TcpHandler* on_accept(TcpConn&) override { return this; }
  void on_connected(TcpConn& c) override { push(c); }
  void on_writable(TcpConn& c) override { push(c); }
  void on_readable(TcpConn& c) override {
    while (Mbuf* m = c.take()) {
      for (const Mbuf* s = m; s != nullptr; s = s->next) {
        SHA256_Update(&got_, s->data(), s->data_len);
        received += s->data_len;
      }
      mbuf_free(m);
    }
  }
  void on_peer_closed(TcpConn& c) override {
    peer_done = true;
    if (sent >= kBytes) c.close();
  }
  void on_closed(TcpConn&, TcpCloseReason r) override {
    closed = true;
    reason = r;
  }
  std::array<unsigned char, 32> sent_digest() {
    std::array<unsigned char, 32> d{};
    SHA256_CTX copy = sent_;
    SHA256_Final(d.data(), &copy);
    return d;
  }
  std::array<unsigned char, 32> received_digest() {
    std::array<unsigned char, 32> d{};
    SHA256_CTX copy = got_;
    SHA256_Final(d.data(), &copy);
    return d;
  }
  std::uint64_t sent = 0, received = 0;
  bool closed = false, peer_done = false;
  TcpCloseReason reason = TcpCloseReason::kNormal;

 private:
  void fill() {
    for (std::size_t i = 0; i < block_.size(); i += 8) {
      rng_state_ ^= rng_state_ << 13;
      rng_state_ ^= rng_state_ >> 7;
      rng_state_ ^= rng_state_ << 17;
      std::memcpy(block_.data() + i, &rng_state_, 8);
    }
    block_off_ = 0;
  }
  void push(TcpConn& c) {
    while (sent < kBytes) {
      if (block_off_ == block_.size()) fill();
      const std::size_t n = std::min<std::uint64_t>(block_.size() - block_off_, kBytes - sent);
      const std::uint32_t k = c.send(std::span(block_).subspan(block_off_, n));
      if (k == 0) return;
      SHA256_Update(&sent_, block_.data() + block_off_, k);
      block_off_ += k;
      sent += k;
    }
    if (!closing_) {
      closing_ = true;
      if (peer_done) {
        c.close();
      } else {
        c.shutdown_write();
      }
    }
  }
  std::uint64_t rng_state_;
  std::vector<std::byte> block_;
  std::size_t block_off_ = 0;
  bool closing_ = false;
  SHA256_CTX sent_, got_;
};

void duplex(const testing::LinkOptions& o, int max_steps) {
  TwoStacks t(o);
  DuplexEnd a(1), b(2);
  std::string err;
  ASSERT_NE(t.b.stack->tcp().listen(7000, b, &err), nullptr) << err;
  t.sync();
  ASSERT_NE(t.a.stack->tcp().connect(IpAddr::v4(kAddrB), 7000, a, &err), nullptr) << err;
  ASSERT_TRUE(
      t.run_until([&] { return a.closed && b.closed; }, max_steps, std::chrono::microseconds(20)))
      << "a sent " << a.sent << " received " << a.received << "; b sent " << b.sent << " received "
      << b.received;
  EXPECT_EQ(a.received, kBytes);
  EXPECT_EQ(b.received, kBytes);
  if (a.received != kBytes) {
    for (auto* h : {&t.a, &t.b})
      h->counters().for_each([&](const std::string& n, std::uint64_t v) {
        if (v != 0 && n.rfind("tcp", 0) == 0)
          std::printf("  %s=%llu\n", n.c_str(), (unsigned long long)v);
      });
    std::printf("virtual time %lld ms\n", (long long)(ns_of(t.clock.now()) / 1000000));
  }
  EXPECT_EQ(a.sent_digest(), b.received_digest()) << "a -> b stream differs";
  EXPECT_EQ(b.sent_digest(), a.received_digest()) << "b -> a stream differs";
  EXPECT_EQ(a.reason, TcpCloseReason::kNormal);
  EXPECT_EQ(b.reason, TcpCloseReason::kNormal);
}

TEST(TcpDuplex, TwoHundredFiftySixMegabytesEachWayClean) {
  duplex(testing::LinkOptions{}, 50'000'000);
}

TEST(TcpDuplex, TwoHundredFiftySixMegabytesEachWayUnderFaults) {
  testing::LinkOptions o;
  for (FaultConfig* f : {&o.a_to_b, &o.b_to_a}) {
    f->loss = 0.01;
    f->reorder = 0.05;
    f->reorder_depth = 16;
    f->duplicate = 0.01;
  }
  o.b_to_a.seed = 5;
  o.pool_size = 65536;
  duplex(o, 200'000'000);
}

}  // namespace
}  // namespace ustack
