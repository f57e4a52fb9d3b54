// The per-core connection table (proto/tcp/conn_table.h): a million
// entries inserted, found and erased in random order with every lookup
// checked as the backward-shift deletions move entries; a small table
// churned against a model (wrap-around, full table); refusals of
// duplicates and of a full table; IPv6 keys; and the same table behind
// TcpLayer with 10,000 connections between two stacks, closed in random
// order while the others keep talking.
//
// ConnTable stores TcpConn pointers and reads each one's key(), and only a
// TcpLayer can make a TcpConn (its constructor is private, TcpLayer its
// friend). So the table tests take real connections from a lone stack:
// connect() to random off-link IPv4 addresses (the SYNs find no route and
// are dropped) gives each TcpConn a distinct random key. connect() makes
// IPv4 connections only, so IPv6 keys can be looked up and erased (and
// must miss) but not stored; storing them would need a test hook in
// TcpConn.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "core/worker.h"
#include "drivers/memlink/memlink.h"
#include "proto/stack.h"
#include "proto/tcp/conn_table.h"
#include "proto/two_stacks.h"
#include "unit/test_pool.h"

namespace ustack {
namespace {

using testing::kAddrA;
using testing::kAddrB;
using testing::TwoStacks;

class NoHandler : public TcpHandler {};

// One stack alone on a memlink end: a factory of real TcpConns with random
// IPv4 keys, all different.
class ConnFactory {
 public:
  explicit ConnFactory(std::uint32_t n, std::uint64_t seed = 1) {
    std::string err;
    link_ = Memlink::create(MemlinkConfig{}, clock_, &err);
    EXPECT_NE(link_, nullptr) << err;
    pool_ = testing::make_pool(256);
    worker_ = std::make_unique<Worker>(WorkerConfig{}, clock_);
    TxBatch& tx = worker_->add_queue(link_->a(), 0);
    worker_->add_pool(*pool_);
    StackConfig sc;
    sc.netif.mac = link_->a().mac();
    sc.netif.addrs = {Ipv4Cidr{kAddrA, 24}};
    sc.tcp.max_connections = n;
    sc.seed = seed;
    stack_ = std::make_unique<Stack>(sc, *pool_, worker_->timers(), worker_->counters(), tx,
                                     clock_.now());
    worker_->set_handler(*stack_);
    Rng rng(seed);
    conns.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      // 11.x.y.z: off-link, and there is no gateway.
      const Ipv4Addr remote =
          Ipv4Addr::from_u32(0x0b000000u | static_cast<std::uint32_t>(rng.next() >> 40));
      const auto port = static_cast<std::uint16_t>(1 + rng.below(65535));
      TcpConn* c = stack_->tcp().connect(IpAddr::v4(remote), port, handler_, &err);
      if (c == nullptr) {
        ADD_FAILURE() << "connection " << i << ": " << err;
        return;
      }
      conns.push_back(c);
    }
  }
  ~ConnFactory() {
    stack_.reset();
    worker_.reset();
    link_.reset();
    EXPECT_EQ(pool_->in_use(), 0u);
  }

  std::vector<TcpConn*> conns;

 private:
  VirtualClock clock_;
  NoHandler handler_;
  std::unique_ptr<Memlink> link_;
  std::unique_ptr<MbufPool> pool_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<Stack> stack_;
};

// The same bytes read as an IPv6 address: must never match the IPv4 key.
ConnKey as_v6(const ConnKey& k) {
  ConnKey r = k;
  r.local.family = IpFamily::kV6;
  r.remote.family = IpFamily::kV6;
  return r;
}

ConnKey random_v6(Rng& rng) {
  ConnKey k;
  std::array<std::uint8_t, 16> a{};
  std::array<std::uint8_t, 16> b{};
  for (auto& x : a) x = static_cast<std::uint8_t>(rng.next());
  for (auto& x : b) x = static_cast<std::uint8_t>(rng.next());
  a[0] = 0x20;  // 2000::/3, global unicast
  b[0] = 0x20;
  k.local = IpAddr::v6(a);
  k.remote = IpAddr::v6(b);
  k.local_port = static_cast<std::uint16_t>(rng.next());
  k.remote_port = static_cast<std::uint16_t>(rng.next());
  return k;
}

template <typename T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

TEST(ConnTable, MillionEntriesRandomOrder) {
  constexpr std::uint32_t kN = 1'000'000;
  ConnFactory f(kN + 1);  // one more than fits
  ASSERT_EQ(f.conns.size(), kN + 1);
  TcpConn* const extra = f.conns.back();
  std::vector<TcpConn*> conns(f.conns.begin(), f.conns.end() - 1);
  Rng rng(42);
  shuffle(conns, rng);

  ConnTable t(kN, 0x1234567);
  EXPECT_EQ(t.capacity(), kN);
  for (TcpConn* c : conns) ASSERT_TRUE(t.insert(c->key(), c));
  EXPECT_EQ(t.size(), kN);
  // Full: a new key is refused, and nothing changes.
  EXPECT_FALSE(t.insert(extra->key(), extra));
  EXPECT_EQ(t.find(extra->key()), nullptr);
  EXPECT_EQ(t.size(), kN);
  // Duplicates are refused, whatever the pointer.
  for (int i = 0; i < 1000; ++i) {
    TcpConn* c = conns[rng.below(kN)];
    EXPECT_FALSE(t.insert(c->key(), c));
    EXPECT_FALSE(t.insert(c->key(), extra));
  }
  EXPECT_EQ(t.size(), kN);

  shuffle(conns, rng);
  for (TcpConn* c : conns) ASSERT_EQ(t.find(c->key()), c);
  // IPv6 keys miss: random ones, and the IPv4 keys' own bytes tagged IPv6.
  for (int i = 0; i < 100000; ++i) {
    ASSERT_EQ(t.find(random_v6(rng)), nullptr);
    ASSERT_EQ(t.find(as_v6(conns[rng.below(kN)]->key())), nullptr);
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(t.erase(random_v6(rng)));
  EXPECT_FALSE(t.erase(as_v6(conns[0]->key())));
  EXPECT_EQ(t.size(), kN);

  // Erase in random order. Each erase shifts later entries of its run back;
  // the erased key must be gone and the others still found, checked a few
  // at random after every erase and all of them at checkpoints.
  shuffle(conns, rng);
  for (std::uint32_t i = 0; i < kN; ++i) {
    TcpConn* c = conns[i];
    ASSERT_TRUE(t.erase(c->key())) << i;
    ASSERT_EQ(t.find(c->key()), nullptr) << i;
    ASSERT_FALSE(t.erase(c->key())) << i;
    ASSERT_EQ(t.size(), kN - i - 1);
    if (i + 1 < kN) {
      for (int j = 0; j < 3; ++j) {
        TcpConn* other = conns[i + 1 + rng.below(kN - i - 1)];
        ASSERT_EQ(t.find(other->key()), other) << i;
      }
    }
    if (i == kN / 2) {
      // Room again: the one that was refused goes in, and out.
      ASSERT_TRUE(t.insert(extra->key(), extra));
      ASSERT_EQ(t.find(extra->key()), extra);
      ASSERT_TRUE(t.erase(extra->key()));
    }
    if ((i + 1) % 125'000 == 0) {
      for (std::uint32_t j = 0; j <= i; ++j) ASSERT_EQ(t.find(conns[j]->key()), nullptr) << j;
      for (std::uint32_t j = i + 1; j < kN; ++j) ASSERT_EQ(t.find(conns[j]->key()), conns[j]) << j;
    }
  }
  EXPECT_EQ(t.size(), 0u);
  // Empty again and whole: everything goes back in.
  for (TcpConn* c : conns) ASSERT_TRUE(t.insert(c->key(), c));
  for (TcpConn* c : conns) ASSERT_EQ(t.find(c->key()), c);
}

TEST(ConnTable, SmallTableChurnMatchesModel) {
  // 1,024 entries in 2,048 slots: half full at most, runs wrap around the
  // end of the array, and every operation is checked against a model.
  constexpr std::uint32_t kCap = 1024;
  constexpr std::uint32_t kKeys = 3000;
  ConnFactory f(kKeys, 7);
  ASSERT_EQ(f.conns.size(), kKeys);
  ConnTable t(kCap, 99);
  std::vector<bool> in(kKeys, false);
  std::uint32_t size = 0;
  Rng rng(5);
  for (int op = 0; op < 300'000; ++op) {
    const std::uint32_t i = static_cast<std::uint32_t>(rng.below(kKeys));
    TcpConn* c = f.conns[i];
    switch (rng.below(3)) {
      case 0: {
        const bool ok = t.insert(c->key(), c);
        ASSERT_EQ(ok, !in[i] && size < kCap) << op;
        if (ok) {
          in[i] = true;
          ++size;
        }
        break;
      }
      case 1: {
        const bool ok = t.erase(c->key());
        ASSERT_EQ(ok, static_cast<bool>(in[i])) << op;
        if (ok) {
          in[i] = false;
          --size;
        }
        break;
      }
      default:
        ASSERT_EQ(t.find(c->key()), in[i] ? c : nullptr) << op;
        break;
    }
    ASSERT_EQ(t.size(), size);
    if (op % 1000 == 0) {
      for (std::uint32_t j = 0; j < kKeys; ++j)
        ASSERT_EQ(t.find(f.conns[j]->key()), in[j] ? f.conns[j] : nullptr) << op << " " << j;
    }
  }
  // Fill to the brim, then one more is refused.
  for (std::uint32_t j = 0; j < kKeys && size < kCap; ++j) {
    if (!in[j]) {
      ASSERT_TRUE(t.insert(f.conns[j]->key(), f.conns[j]));
      in[j] = true;
      ++size;
    }
  }
  EXPECT_EQ(t.size(), kCap);
  for (std::uint32_t j = 0; j < kKeys; ++j) {
    if (!in[j]) {
      EXPECT_FALSE(t.insert(f.conns[j]->key(), f.conns[j]));
      break;
    }
  }
  for (std::uint32_t j = 0; j < kKeys; ++j)
    ASSERT_EQ(t.find(f.conns[j]->key()), in[j] ? f.conns[j] : nullptr) << j;
}

TEST(ConnTable, CapacityOfOne) {
  // The slot array has spare room (8 slots), the count is what limits.
  ConnFactory f(3, 11);
  ConnTable t(1, 3);
  EXPECT_EQ(t.capacity(), 1u);
  EXPECT_TRUE(t.insert(f.conns[0]->key(), f.conns[0]));
  EXPECT_FALSE(t.insert(f.conns[1]->key(), f.conns[1]));
  EXPECT_EQ(t.find(f.conns[1]->key()), nullptr);
  EXPECT_TRUE(t.erase(f.conns[0]->key()));
  EXPECT_TRUE(t.insert(f.conns[1]->key(), f.conns[1]));
  EXPECT_EQ(t.find(f.conns[1]->key()), f.conns[1]);
}

// ---- The table behind TcpLayer: 10,000 connections between two stacks.

// Echoes what it reads; closes each connection when its peer does.
class Echo : public TcpListenHandler, public TcpHandler {
 public:
  TcpHandler* on_accept(TcpConn&) override {
    ++accepted;
    return this;
  }
  void on_readable(TcpConn& c) override {
    std::byte b[64];
    for (std::size_t n; (n = c.read(b)) > 0;) EXPECT_EQ(c.send(std::span(b, n)), n);
  }
  void on_peer_closed(TcpConn& c) override { c.close(); }
  void on_closed(TcpConn&, TcpCloseReason r) override {
    ++closed;
    if (r != TcpCloseReason::kNormal) ++abnormal;
  }
  int accepted = 0;
  int closed = 0;
  int abnormal = 0;
};

// Sends its 4-byte number and expects it back, once per message.
class NumberedClient : public TcpHandler {
 public:
  explicit NumberedClient(std::uint32_t n) : replies(n, 0), closed(n, false) {}
  void send_number(TcpConn& c, std::uint32_t salt) {
    const std::uint32_t v =
        static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(c.user)) ^ salt;
    std::byte b[4];
    std::memcpy(b, &v, 4);
    EXPECT_EQ(c.send(b), 4u);
  }
  void on_connected(TcpConn&) override { ++connected; }
  void on_readable(TcpConn& c) override {
    const auto i = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(c.user));
    std::byte b[4];
    while (c.readable() >= 4) {
      ASSERT_EQ(c.read(b), 4u);
      std::uint32_t v;
      std::memcpy(&v, b, 4);
      // First reply: the number itself; the second: the number ^ salt.
      const std::uint32_t want = replies[i] == 0 ? i : i ^ kSalt;
      if (v != want) ++wrong;
      ++replies[i];
    }
  }
  void on_closed(TcpConn& c, TcpCloseReason r) override {
    const auto i = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(c.user));
    closed[i] = true;
    if (r != TcpCloseReason::kNormal) ++abnormal;
  }
  static constexpr std::uint32_t kSalt = 0x5a5a5a5a;
  std::vector<int> replies;
  std::vector<bool> closed;
  int connected = 0;
  int wrong = 0;
  int abnormal = 0;
};

TEST(ConnTableBehindTcpLayer, TenThousandConnectionsClosedInRandomOrder) {
  constexpr std::uint32_t kN = 10000;
  constexpr std::uint16_t kPorts = 4;  // listeners 9000..9003
  TwoStacks t;
  t.a.stack->arp().cache().add_static(kAddrB, t.link->b().mac());
  t.b.stack->arp().cache().add_static(kAddrA, t.link->a().mac());
  Echo server;
  std::string err;
  for (std::uint16_t p = 0; p < kPorts; ++p)
    ASSERT_NE(t.b.stack->tcp().listen(static_cast<std::uint16_t>(9000 + p), server, &err), nullptr)
        << err;
  NumberedClient client(kN);
  std::vector<TcpConn*> conns(kN, nullptr);
  // Open in batches below the SYN backlog; each sends its number.
  for (std::uint32_t i = 0; i < kN;) {
    const std::uint32_t start = i;
    const std::uint32_t end = std::min(kN, i + 500);
    t.sync();
    for (; i < end; ++i) {
      conns[i] = t.a.stack->tcp().connect(
          IpAddr::v4(kAddrB), static_cast<std::uint16_t>(9000 + i % kPorts), client, &err);
      ASSERT_NE(conns[i], nullptr) << i << ": " << err;
      conns[i]->user = reinterpret_cast<void*>(static_cast<std::uintptr_t>(i));
    }
    ASSERT_TRUE(t.run_until([&] { return client.connected == static_cast<int>(end); }));
    t.sync();
    for (std::uint32_t j = start; j < end; ++j) client.send_number(*conns[j], 0);
  }
  ASSERT_TRUE(t.run_until([&] {
    return std::all_of(client.replies.begin(), client.replies.end(), [](int r) { return r == 1; });
  }));
  EXPECT_EQ(t.a.stack->tcp().connections(), kN);
  EXPECT_EQ(t.b.stack->tcp().connections(), kN);

  // Half of them close, in random order and a few at a time, while the
  // other half each send a second number and must get it back.
  std::vector<std::uint32_t> order(kN);
  for (std::uint32_t i = 0; i < kN; ++i) order[i] = i;
  Rng rng(3);
  shuffle(order, rng);
  std::vector<std::uint32_t> closing(order.begin(), order.begin() + kN / 2);
  std::vector<std::uint32_t> staying(order.begin() + kN / 2, order.end());
  t.sync();
  for (std::uint32_t i : staying) client.send_number(*conns[i], NumberedClient::kSalt);
  for (std::size_t k = 0; k < closing.size(); k += 100) {
    t.sync();
    for (std::size_t j = k; j < std::min(closing.size(), k + 100); ++j) conns[closing[j]]->close();
    for (int s = 0; s < 5; ++s) t.step();
  }
  ASSERT_TRUE(t.run_until([&] {
    for (std::uint32_t i : closing)
      if (!client.closed[i]) return false;
    for (std::uint32_t i : staying)
      if (client.replies[i] != 2) return false;
    return server.closed == static_cast<int>(kN / 2);
  }));
  EXPECT_EQ(client.wrong, 0);
  EXPECT_EQ(client.abnormal, 0);
  EXPECT_EQ(server.abnormal, 0);
  EXPECT_EQ(t.b.stack->tcp().connections(), kN / 2);
  for (std::uint32_t i : staying) EXPECT_EQ(conns[i]->state(), TcpState::kEstablished) << i;
  EXPECT_EQ(t.a.counter("tcp.drop.no_connection"), 0u);
  EXPECT_EQ(t.b.counter("tcp.drop.no_connection"), 0u);
  EXPECT_EQ(t.a.counter("tcp.tx.rst"), 0u);
  EXPECT_EQ(t.b.counter("tcp.tx.rst"), 0u);

  // The rest close too; after TIME-WAIT both tables are empty.
  t.sync();
  for (std::uint32_t i : staying) conns[i]->close();
  ASSERT_TRUE(t.run_until([&] { return server.closed == static_cast<int>(kN); }));
  t.run_for(2 * t.a.stack->tcp().config().msl + std::chrono::seconds(1));
  EXPECT_EQ(t.a.stack->tcp().connections(), 0u);
  EXPECT_EQ(t.b.stack->tcp().connections(), 0u);
  EXPECT_EQ(client.abnormal, 0);
  EXPECT_EQ(t.a.counter("tcp.tx.rst") + t.b.counter("tcp.tx.rst"), 0u);
}

}  // namespace
}  // namespace ustack
