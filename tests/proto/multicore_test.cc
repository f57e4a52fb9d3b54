// Two hosts of two cores each over a two-queue memlink that does not steer
// (a frame sent on queue q arrives on queue q, as with af_packet fanout or
// multi-queue TAP, whose hashes are not ours): every core owns the flows
// RSS gives it, frames that arrive elsewhere are handed to their owner,
// active opens pick ports whose replies come back to the opening core,
// listeners on every core accept their own flows, ARP is answered by core
// 0 and learned by all. The same over IPv6: TCP flows spread by the IPv6
// hash, neighbor discovery answered by core 0 and learned by all.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "proto/multi_stacks.h"
#include "proto/multicore_apps.h"
#include "proto/wire/bytes.h"
#include "unit/test_pool.h"

namespace ustack::testing {
namespace {

struct EchoRun {
  explicit EchoRun(MultiStacks& stacks, IpAddr to = IpAddr::v4(kMultiB)) : s(stacks), dest(to) {}
  // Listeners on every core of B; `per_core` connections from each core of A.
  void start(std::size_t per_core) {
    listeners.resize(s.b.cores.size());
    for (std::uint16_t k = 0; k < s.b.cores.size(); ++k) {
      listeners[k].core = k;
      std::string err;
      ASSERT_NE(s.b.cores[k].stack->tcp().listen(kPort, listeners[k], &err), nullptr) << err;
    }
    clients.resize(per_core * s.a.cores.size());
    s.sync();
    for (std::size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      c.id = i;
      c.core = static_cast<std::uint16_t>(i % s.a.cores.size());
      std::string err;
      c.conn = s.a.cores[c.core].stack->tcp().connect(dest, kPort, c, &err);
      ASSERT_NE(c.conn, nullptr) << err;
      // Affinity: the replies of this 4-tuple hash to the opening core.
      const ConnKey& k = c.conn->key();
      EXPECT_EQ(k.remote.family, dest.family);
      EXPECT_EQ(s.a.cores[c.core].steer->owner(k.remote, k.local, k.remote_port, k.local_port),
                c.core);
    }
  }
  bool all_closed() const {
    for (const Client& c : clients)
      if (!c.closed) return false;
    return true;
  }
  void check() {
    for (const Client& c : clients) {
      EXPECT_TRUE(c.closed) << "connection " << c.id;
      EXPECT_EQ(c.reason, TcpCloseReason::kNormal) << "connection " << c.id;
      EXPECT_EQ(c.got, kBytes) << "connection " << c.id;
      EXPECT_EQ(c.bad, 0u) << "connection " << c.id;
    }
    std::size_t accepted = 0;
    for (const EchoListener& l : listeners) {
      accepted += l.keys.size();
      // Each core accepted only flows it owns.
      for (const ConnKey& k : l.keys) {
        EXPECT_EQ(k.remote.family, dest.family);
        EXPECT_EQ(s.b.cores[l.core].steer->owner(k.remote, k.local, k.remote_port, k.local_port),
                  l.core);
      }
    }
    EXPECT_EQ(accepted, clients.size());
  }
  MultiStacks& s;
  IpAddr dest;
  std::vector<EchoListener> listeners;
  std::vector<Client> clients;
};

TEST(MultiCore, ThousandConnectionsOverTwoCoresWithHandOver) {
  MultiStacks s;
  EchoRun r(s);
  r.start(500);
  ASSERT_TRUE(s.run_until([&] { return r.all_closed(); }, 400000));
  for (int i = 0; i < 1000; ++i) s.step();  // the last ACKs, still on their way
  r.check();
  // Both of B's cores took a fair share of the flows.
  for (const EchoListener& l : r.listeners)
    EXPECT_GT(l.keys.size(), 300u) << "core " << l.core << " of B";
  // The link does not steer, the standard key is not symmetric: frames
  // arrive on the wrong core and are handed over, on both hosts.
  EXPECT_GT(s.a.sum("steer.tx.redirected"), 0u);
  EXPECT_GT(s.b.sum("steer.tx.redirected"), 0u);
  for (MultiHost* h : {&s.a, &s.b})
    EXPECT_EQ(h->sum("steer.tx.redirected") + h->sum("steer.tx.arp_copies"),
              h->sum("steer.rx.handed_in"))
        << "every frame handed over was taken in";
  EXPECT_EQ(s.a.sum("steer.drop.ring_full") + s.b.sum("steer.drop.ring_full"), 0u);
  // ARP was resolved, not configured: core 0 of B answered, core 1 never
  // did, and A's core 1 learned B from the copy its core 0 handed it.
  EXPECT_GT(s.b.cores[0].counter("arp.tx.reply"), 0u);
  EXPECT_EQ(s.b.cores[1].counter("arp.tx.reply"), 0u);
  EXPECT_NE(s.a.cores[1].stack->arp().cache().peek(kMultiB), nullptr);
  EXPECT_NE(s.b.cores[1].stack->arp().cache().peek(kMultiA), nullptr);
}

// IPv6 connections spread over both cores by the IPv6 4-tuple hash, as
// IPv4 ones do: active opens pick ports whose replies hash home, frames on
// the wrong queue are handed over, and neighbor discovery is answered by
// core 0 only and learned by core 1 from the copies core 0 hands it.
TEST(MultiCore, Ipv6ConnectionsSpreadOverCoresWithHandOver) {
  MultiOptions o;
  o.ipv6 = true;
  MultiStacks s(o);
  EchoRun r(s, IpAddr::v6(kMultiB6));
  r.start(200);
  ASSERT_TRUE(s.run_until([&] { return r.all_closed(); }, 400000));
  for (int i = 0; i < 1000; ++i) s.step();
  r.check();
  for (const EchoListener& l : r.listeners)
    EXPECT_GT(l.keys.size(), 100u) << "core " << l.core << " of B";
  EXPECT_GT(s.a.sum("steer.tx.redirected"), 0u);
  EXPECT_GT(s.b.sum("steer.tx.redirected"), 0u);
  for (MultiHost* h : {&s.a, &s.b}) {
    EXPECT_EQ(h->sum("steer.tx.redirected") + h->sum("steer.tx.arp_copies") +
                  h->sum("steer.tx.nd_copies"),
              h->sum("steer.rx.handed_in"));
    EXPECT_GT(h->sum("steer.tx.nd_copies"), 0u);
    EXPECT_EQ(h->cores[1].counter("nd.tx.advert"), 0u) << "only core 0 answers";
  }
  // A's cores solicited B; B's core 0 answered, and A's core 1 learned the
  // answer from the copy its core 0 handed it. B's core 1 learned A from
  // the copies of A's solicitations.
  EXPECT_GT(s.b.cores[0].counter("nd.tx.advert"), 0u);
  EXPECT_GT(s.a.cores[1].counter("nd.rx.advert"), 0u);
  EXPECT_GT(s.b.cores[1].counter("nd.rx.solicit"), 0u);
  EXPECT_EQ(s.a.sum("steer.drop.ring_full") + s.b.sum("steer.drop.ring_full"), 0u);
  EXPECT_EQ(s.a.sum("tcp.tx.rst") + s.b.sum("tcp.tx.rst"), 0u);
}

// The same with a link that steers as a NIC does (IPv6 4-tuple hash on
// every frame): TCP lands on its owner, only ICMPv6 is handed to core 0.
TEST(MultiCore, Ipv6OverALinkThatSteers) {
  MultiOptions o;
  o.ipv6 = true;
  o.link_rss = true;
  MultiStacks s(o);
  EchoRun r(s, IpAddr::v6(kMultiB6));
  r.start(100);
  ASSERT_TRUE(s.run_until([&] { return r.all_closed(); }, 400000));
  for (int i = 0; i < 1000; ++i) s.step();
  r.check();
  for (const EchoListener& l : r.listeners) EXPECT_GT(l.keys.size(), 50u) << "core " << l.core;
  for (MultiHost* h : {&s.a, &s.b}) EXPECT_GT(h->sum("steer.tx.nd_copies"), 0u);
}

// With the symmetric key a flow hashes alike at both ends; over a link
// that keeps queue q to queue q, replies come back on the queue the core
// sent on, and nothing is handed over (ARP pinned: it is not IPv4).
TEST(MultiCore, SymmetricKeyNeedsNoHandOver) {
  MultiOptions o;
  o.key = &kRssKeySymmetric;
  MultiStacks s(o);
  for (Core& c : s.a.cores) c.stack->arp().cache().add_static(kMultiB, s.link->b().mac());
  for (Core& c : s.b.cores) c.stack->arp().cache().add_static(kMultiA, s.link->a().mac());
  EchoRun r(s);
  r.start(100);
  ASSERT_TRUE(s.run_until([&] { return r.all_closed(); }, 400000));
  r.check();
  EXPECT_EQ(s.a.sum("steer.tx.redirected") + s.b.sum("steer.tx.redirected"), 0u);
}

// A link that steers as a NIC does (memlink with RSS, the hash on each
// frame): every frame arrives on its owner's queue, nothing is handed over
// although the key is not symmetric, and no core hashes a frame itself.
TEST(MultiCore, LinkThatSteersNeedsNoHandOver) {
  MultiOptions o;
  o.link_rss = true;
  MultiStacks s(o);
  EchoRun r(s);
  r.start(200);
  ASSERT_TRUE(s.run_until([&] { return r.all_closed(); }, 400000));
  r.check();
  for (const EchoListener& l : r.listeners) EXPECT_GT(l.keys.size(), 100u) << "core " << l.core;
  EXPECT_EQ(s.a.sum("steer.tx.redirected") + s.b.sum("steer.tx.redirected"), 0u);
  EXPECT_GT(s.a.sum("steer.tx.arp_copies"), 0u) << "ARP was resolved, on core 0";
}

// The same with each core on its own thread, as deployed: the hand-over
// rings, the remote frees back to each core's pool and the memlink queues
// are crossed by real threads (ThreadSanitizer checks this test in CI).
// Each of A's cores opens its connections from its own loop (Opener).
TEST(MultiCore, ThreadsPerCore) {
  MultiOptions o;
  o.threaded = true;
  MultiStacks s(o);
  constexpr std::size_t kPerCore = 100;
  std::vector<EchoListener> listeners(s.b.cores.size());
  for (std::uint16_t k = 0; k < s.b.cores.size(); ++k) {
    listeners[k].core = k;
    std::string err;
    ASSERT_NE(s.b.cores[k].stack->tcp().listen(kPort, listeners[k], &err), nullptr) << err;
  }
  std::vector<Client> clients(kPerCore * s.a.cores.size());
  std::atomic<std::size_t> closed{0};
  for (Client& c : clients) c.closed_count = &closed;
  std::vector<std::unique_ptr<Opener>> openers;
  for (std::uint16_t k = 0; k < s.a.cores.size(); ++k) {
    std::vector<Client*> mine;
    for (std::size_t i = k; i < clients.size(); i += s.a.cores.size()) {
      clients[i].id = i;
      clients[i].core = k;
      mine.push_back(&clients[i]);
    }
    openers.push_back(std::make_unique<Opener>(*s.a.cores[k].stack, std::move(mine)));
    s.a.cores[k].stack->set_app(openers.back().get());
  }
  s.start_threads();
  // Bounded: until every connection has closed, or 60 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (closed.load(std::memory_order_acquire) < clients.size() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  s.stop_threads();
  std::size_t done = 0;
  for (const Client& c : clients) {
    done += c.closed && c.reason == TcpCloseReason::kNormal && c.got == kBytes && c.bad == 0;
    if (c.conn != nullptr || c.closed) {
      EXPECT_EQ(c.got, kBytes) << "connection " << c.id;
      EXPECT_EQ(c.bad, 0u) << "connection " << c.id;
    }
  }
  EXPECT_EQ(done, clients.size());
  std::size_t accepted = 0;
  for (const EchoListener& l : listeners) {
    accepted += l.keys.size();
    for (const ConnKey& k : l.keys)
      EXPECT_EQ(s.b.cores[l.core].steer->owner_v4(k.remote.as_v4(), k.local.as_v4(), k.remote_port,
                                                  k.local_port),
                l.core);
  }
  EXPECT_EQ(accepted, clients.size());
  EXPECT_GT(s.b.sum("steer.tx.redirected"), 0u);
  for (Stack* st : {s.a.cores[0].stack.get(), s.a.cores[1].stack.get()}) st->set_app(nullptr);
}

}  // namespace
// Who owns an IPv6 frame (proto/flow_steer.h): TCP and UDP follow the
// driver's hash as IPv4 does, or the IPv6 4-tuple hash without one, also
// behind extension headers; ICMPv6 and fragments belong to core 0 whatever
// the driver hashed.
TEST(FlowSteer, Ipv6TcpAndUdpFollowTheHashIcmpv6AndFragmentsCoreZero) {
  const Toeplitz hash(kRssKeyMicrosoft);
  const FlowSteer steer(hash, 4, 1);
  auto pool = testing::make_pool(8);
  const Ipv6Addr src = *Ipv6Addr::parse("fd00::2"), dst = *Ipv6Addr::parse("fd00::1");
  // next header, Hop-by-Hop in front, driver hash; the owner.
  struct Case {
    std::uint8_t nh;
    bool hbh;
    bool driver_hash;
    int owner;  // -1: owner_v6 of the 4-tuple
  };
  const Case cases[] = {
      {6, false, true, 3},   {17, false, true, 3},  {6, false, false, -1},
      {17, true, false, -1}, {58, false, true, 0},  {44, false, true, 0},
      {58, false, false, 0}, {44, false, false, 0}, {0x3b, false, true, 0},
  };
  for (const Case& c : cases) {
    Mbuf* m = pool->alloc();
    ASSERT_NE(m, nullptr);
    std::byte* p = m->append(100);
    std::memset(p, 0, 100);
    wire::store_be16(p + 12, 0x86dd);
    std::byte* ip = p + 14;
    wire::store_u8(ip, 0x60);
    wire::store_be16(ip + 4, 100 - 54);
    src.to_bytes(ip + 8);
    dst.to_bytes(ip + 24);
    std::byte* l4 = ip + 40;
    if (c.hbh) {
      wire::store_u8(ip + 6, 0);
      wire::store_u8(l4, c.nh);
      wire::store_u8(l4 + 2, 1);  // PadN of 4
      wire::store_u8(l4 + 3, 4);
      l4 += 8;
    } else {
      wire::store_u8(ip + 6, c.nh);
    }
    if (c.nh == 44) {
      wire::store_be16(l4 + 2, 1);  // offset 0, M set: a first fragment
    } else {
      wire::store_be16(l4, 40000);
      wire::store_be16(l4 + 2, 80);
    }
    if (c.driver_hash) {
      m->ol_flags |= ol::kRxRssHash;
      m->rss_hash = 3;  // the redirection table's queue 3
    }
    const int want = c.owner >= 0 ? c.owner : steer.owner_v6(src, dst, 40000, 80);
    EXPECT_EQ(steer.owner_of_frame(*m), want) << int{c.nh} << " hbh " << c.hbh;
    mbuf_free(m);
  }
  // The IPv6 hash is not IPv4's, and the flows spread.
  std::set<std::uint16_t> owners;
  for (std::uint16_t port = 40000; port < 40064; ++port)
    owners.insert(steer.owner_v6(src, dst, port, 80));
  EXPECT_EQ(owners.size(), 4u);
}

// ICMP and ICMPv6 errors go to the core that owns the flow they quote (our
// packet: source ours, destination the peer's), whatever the outer
// addresses or the driver's hash say; other ICMP does not.
TEST(FlowSteer, IcmpErrorsFollowTheQuotedFlow) {
  const Toeplitz hash(kRssKeyMicrosoft);
  const FlowSteer steer(hash, 4, 1);
  auto pool = testing::make_pool(8);
  const Ipv4Addr us4 = Ipv4Addr::from_u32(0x0a000001), peer4 = Ipv4Addr::from_u32(0x0a000002);
  const Ipv4Addr router4 = Ipv4Addr::from_u32(0x0a0000fe);
  const Ipv6Addr us6 = *Ipv6Addr::parse("fd00::1"), peer6 = *Ipv6Addr::parse("fd00::2");
  const Ipv6Addr router6 = *Ipv6Addr::parse("fd00::fe");
  // An error (or other ICMP of `type`) from the router quoting our segment
  // from `port` to the peer's 80.
  const auto v4 = [&](std::uint8_t type, std::uint16_t port, bool driver_hash) {
    Mbuf* m = pool->alloc();
    std::byte* p = m->append(14 + 20 + 8 + 20 + 8);
    std::memset(p, 0, m->data_len);
    wire::store_be16(p + 12, 0x0800);
    std::byte* ip = p + 14;
    wire::store_u8(ip, 0x45);
    wire::store_u8(ip + 9, 1);
    wire::store_be32(ip + 12, router4.to_u32());
    wire::store_be32(ip + 16, us4.to_u32());
    std::byte* icmp = ip + 20;
    wire::store_u8(icmp, type);
    std::byte* q = icmp + 8;
    wire::store_u8(q, 0x45);
    wire::store_u8(q + 9, 6);
    wire::store_be32(q + 12, us4.to_u32());
    wire::store_be32(q + 16, peer4.to_u32());
    wire::store_be16(q + 20, port);
    wire::store_be16(q + 22, 80);
    if (driver_hash) {
      m->ol_flags |= ol::kRxRssHash;
      m->rss_hash = 3;
    }
    return m;
  };
  const auto v6 = [&](std::uint8_t type, std::uint16_t port, bool driver_hash) {
    Mbuf* m = pool->alloc();
    std::byte* p = m->append(14 + 40 + 8 + 40 + 8);
    std::memset(p, 0, m->data_len);
    wire::store_be16(p + 12, 0x86dd);
    std::byte* ip = p + 14;
    wire::store_u8(ip, 0x60);
    wire::store_be16(ip + 4, 8 + 40 + 8);
    wire::store_u8(ip + 6, 58);
    router6.to_bytes(ip + 8);
    us6.to_bytes(ip + 24);
    std::byte* icmp = ip + 40;
    wire::store_u8(icmp, type);
    std::byte* q = icmp + 8;
    wire::store_u8(q, 0x60);
    wire::store_be16(q + 4, 8);
    wire::store_u8(q + 6, 6);
    us6.to_bytes(q + 8);
    peer6.to_bytes(q + 24);
    wire::store_be16(q + 40, port);
    wire::store_be16(q + 42, 80);
    if (driver_hash) {
      m->ol_flags |= ol::kRxRssHash;
      m->rss_hash = 3;
    }
    return m;
  };
  std::set<std::uint16_t> owners;
  for (std::uint16_t port = 40000; port < 40016; ++port) {
    const std::uint16_t want4 = steer.owner_v4(peer4, us4, 80, port);
    const std::uint16_t want6 = steer.owner_v6(peer6, us6, 80, port);
    owners.insert(want4);
    for (const bool driver_hash : {false, true}) {
      // IPv4: unreachable (fragmentation needed), time exceeded, parameter problem.
      for (const std::uint8_t type : {3, 11, 12}) {
        Mbuf* m = v4(type, port, driver_hash);
        EXPECT_EQ(steer.owner_of_frame(*m), want4) << "ICMP type " << int{type};
        mbuf_free(m);
      }
      // IPv6: unreachable, packet too big, time exceeded, parameter problem.
      for (const std::uint8_t type : {1, 2, 3, 4}) {
        Mbuf* m = v6(type, port, driver_hash);
        EXPECT_EQ(steer.owner_of_frame(*m), want6) << "ICMPv6 type " << int{type};
        mbuf_free(m);
      }
    }
    // Not errors: an echo request follows the outer addresses (IPv4) or
    // core 0 (ICMPv6, as neighbor discovery).
    Mbuf* echo4 = v4(8, port, false);
    EXPECT_EQ(steer.owner_of_frame(*echo4),
              RssReta(4).queue_of(hash.hash_v4(router4.to_u32(), us4.to_u32())));
    mbuf_free(echo4);
    for (const std::uint8_t type : {128, 135}) {
      Mbuf* m = v6(type, port, false);
      EXPECT_EQ(steer.owner_of_frame(*m), 0) << "ICMPv6 type " << int{type};
      mbuf_free(m);
    }
  }
  EXPECT_GT(owners.size(), 1u) << "the quoted flows should spread over the cores";
  EXPECT_EQ(pool->in_use(), 0u);
}

}  // namespace ustack::testing
