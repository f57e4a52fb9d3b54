// memlink's receive side scaling: frames land on the queue Toeplitz and the
// redirection table predict, carrying the hash; what a NIC cannot hash goes
// to queue 0; the symmetric key keeps both directions of a flow on one
// queue index; without RSS queue q still goes to queue q.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "drivers/memlink/memlink.h"
#include "memlink/rss_frames.h"
#include "unit/test_pool.h"

namespace ustack {
namespace {

using rss_test::expected_hash;
using rss_test::FrameShape;
using rss_test::id_of;
using rss_test::ipv4_frame;
using rss_test::Tuple;

struct Received {
  std::uint16_t queue;
  std::uint32_t hash;
  bool has_hash;
};

struct RssLink {
  VirtualClock clock;
  std::unique_ptr<MbufPool> pool = testing::make_pool(8192);
  std::unique_ptr<Memlink> link;

  explicit RssLink(std::uint16_t queues, bool rss_a = true, bool rss_b = true,
                   const RssKey& key = kRssKeyMicrosoft, std::uint32_t ring_size = 4096) {
    MemlinkConfig cfg;
    cfg.queues = queues;
    cfg.ring_size = ring_size;
    cfg.rss_into_a = {.enabled = rss_a, .key = key};
    cfg.rss_into_b = {.enabled = rss_b, .key = key};
    std::string err;
    link = Memlink::create(cfg, clock, &err);
    EXPECT_NE(link, nullptr) << err;
  }
  Port& end(int e) { return e == 0 ? link->a() : link->b(); }

  // Everything waiting on every queue of end `e`, by frame id; an id seen
  // twice is a test failure.
  std::map<std::uint32_t, Received> drain(int e) {
    std::map<std::uint32_t, Received> got;
    Port& p = end(e);
    for (std::uint16_t q = 0; q < p.num_queues(); ++q) {
      Mbuf* out[32];
      for (std::uint16_t n; (n = p.rx_burst(q, out, 32)) > 0;) {
        for (std::uint16_t i = 0; i < n; ++i) {
          EXPECT_EQ(out[i]->queue, q);
          const bool fresh =
              got.emplace(id_of(out[i]),
                          Received{q, out[i]->rss_hash, (out[i]->ol_flags & ol::kRxRssHash) != 0})
                  .second;
          EXPECT_TRUE(fresh) << "frame " << id_of(out[i]) << " delivered twice";
        }
        mbuf_free_bulk(out, n);
      }
    }
    return got;
  }
};

// A NIC's answer for the first vector of Microsoft's verification suite,
// read from a whole frame: 66.9.149.187:2794 -> 161.142.100.80:1766.
TEST(MemlinkRss, HashesAFrameAsMicrosoftsVerificationSuiteSays) {
  RssLink l(1);
  Tuple t{(66u << 24) | (9u << 16) | (149u << 8) | 187u,
          (161u << 24) | (142u << 16) | (100u << 8) | 80u, 2794, 1766, rss_test::kTcp};
  Mbuf* frames[4] = {ipv4_frame(*l.pool, t, 0), ipv4_frame(*l.pool, t, 1, {.vlan = true}),
                     ipv4_frame(*l.pool, t, 2, {.fragment = true}),
                     ipv4_frame(*l.pool, t, 3, {.ihl_words = 7})};
  ASSERT_EQ(l.link->a().tx_burst(0, frames, 4), 4);
  auto got = l.drain(1);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].hash, 0x51ccc178u) << "4-tuple";
  EXPECT_EQ(got[1].hash, 0x51ccc178u) << "the 802.1Q tag is skipped";
  EXPECT_EQ(got[2].hash, 0x323e8fc2u) << "a fragment hashes the addresses only";
  EXPECT_EQ(got[3].hash, 0x51ccc178u) << "IP options are skipped";
  for (auto& [id, r] : got) EXPECT_TRUE(r.has_hash) << id;
}

// The first IPv6 vector of the same suite:
// [3ffe:2501:200:1fff::7]:2794 -> [3ffe:2501:200:3::1]:1766.
TEST(MemlinkRss, HashesAnIpv6FrameAsMicrosoftsVerificationSuiteSays) {
  RssLink l(1);
  const std::uint8_t src[16] = {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff,
                                0,    0,    0,    0,    0,    0,    0,    7};
  const std::uint8_t dst[16] = {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03,
                                0,    0,    0,    0,    0,    0,    0,    1};
  using rss_test::ipv6_frame;
  Mbuf* frames[4] = {
      ipv6_frame(*l.pool, src, dst, rss_test::kTcp, 2794, 1766, 0),
      ipv6_frame(*l.pool, src, dst, rss_test::kUdp, 2794, 1766, 1, {.ext = true}),
      ipv6_frame(*l.pool, src, dst, rss_test::kTcp, 2794, 1766, 2, {.fragment = true}),
      ipv6_frame(*l.pool, src, dst, rss_test::kIcmpv6, 0, 0, 3),
  };
  ASSERT_EQ(l.link->a().tx_burst(0, frames, 4), 4);
  auto got = l.drain(1);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].hash, 0x40207d3du) << "4-tuple";
  EXPECT_EQ(got[1].hash, 0x40207d3du) << "extension headers are skipped";
  EXPECT_EQ(got[2].hash, 0x2cc18cd5u) << "a fragment hashes the addresses only";
  EXPECT_EQ(got[3].hash, 0x2cc18cd5u) << "ICMPv6 hashes the addresses";
  for (auto& [id, r] : got) EXPECT_TRUE(r.has_hash) << id;
}

class MemlinkRssQueues : public ::testing::TestWithParam<std::uint16_t> {};

TEST_P(MemlinkRssQueues, EveryFrameLandsOnThePredictedQueueFromEveryQueue) {
  const std::uint16_t queues = GetParam();
  RssLink l(queues);
  const Toeplitz toeplitz(kRssKeyMicrosoft);
  const RssReta reta(queues);
  std::mt19937 rng(1234 + queues);
  struct Sent {
    std::uint16_t txq;
    std::uint32_t hash;
  };
  std::vector<Sent> sent;
  constexpr std::uint32_t kPerQueue = 2000;
  for (std::uint16_t t = 0; t < queues; ++t) {
    for (std::uint32_t i = 0; i < kPerQueue; i += 32) {
      Mbuf* burst[32];
      for (std::uint16_t k = 0; k < 32; ++k) {
        const Tuple tu = rss_test::random_tuple(rng);
        const FrameShape shape{.vlan = rng() % 4 == 0, .fragment = rng() % 8 == 0};
        burst[k] = ipv4_frame(*l.pool, tu, static_cast<std::uint32_t>(sent.size()), shape);
        ASSERT_NE(burst[k], nullptr);
        sent.push_back({t, expected_hash(toeplitz, tu, shape)});
      }
      ASSERT_EQ(l.link->a().tx_burst(t, burst, 32), 32);
    }
  }
  const auto got = l.drain(1);
  ASSERT_EQ(got.size(), sent.size()) << "nothing lost";
  std::vector<std::uint32_t> per_queue(queues);
  std::map<std::pair<std::uint16_t, std::uint16_t>, std::uint32_t> per_pair;
  for (std::uint32_t id = 0; id < sent.size(); ++id) {
    const Received& r = got.at(id);
    ASSERT_TRUE(r.has_hash) << id;
    ASSERT_EQ(r.hash, sent[id].hash) << id;
    ASSERT_EQ(r.queue, reta.queue_of(sent[id].hash)) << id;
    ++per_queue[r.queue];
    ++per_pair[{sent[id].txq, r.queue}];
  }
  // Round robin table, random flows: every queue gets its share, from every
  // sending queue.
  for (std::uint16_t q = 0; q < queues; ++q)
    EXPECT_NEAR(per_queue[q], sent.size() / queues, sent.size() / queues / 5) << q;
  EXPECT_EQ(per_pair.size(), std::size_t{queues} * queues);
  EXPECT_EQ(l.link->stats_into(1).delivered, sent.size());
  EXPECT_EQ(l.link->a().capabilities().rss, RssKind::kToeplitz);
  EXPECT_EQ(l.link->a().capabilities().rss_key, kRssKeyMicrosoft);
  EXPECT_EQ(l.pool->in_use(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Queues, MemlinkRssQueues, ::testing::Values(1, 2, 4));

TEST(MemlinkRss, EachRingKeepsItsSendOrder) {
  RssLink l(4);
  std::mt19937 rng(5);
  // 8 flows per sending queue, mixed in bursts of 32: what one sending
  // queue steers to one receiving queue (so each of its flows) stays in
  // send order.
  std::vector<Tuple> flows;
  for (int f = 0; f < 32; ++f) flows.push_back(rss_test::random_tuple(rng));
  constexpr std::uint32_t kPerQueue = 1024;
  for (std::uint32_t i = 0; i < kPerQueue; i += 32) {
    for (std::uint16_t t = 0; t < 4; ++t) {
      Mbuf* burst[32];
      for (std::uint32_t k = 0; k < 32; ++k)
        burst[k] = ipv4_frame(*l.pool, flows[t * 8 + rng() % 8], (i + k) * 4 + t);
      ASSERT_EQ(l.link->a().tx_burst(t, burst, 32), 32);
    }
  }
  std::uint32_t got = 0;
  for (std::uint16_t q = 0; q < 4; ++q) {
    std::vector<std::int64_t> last(4, -1);  // per sending queue
    Mbuf* out[32];
    for (std::uint16_t n; (n = l.link->b().rx_burst(q, out, 32)) > 0;) {
      for (std::uint16_t i = 0; i < n; ++i) {
        const std::uint32_t id = id_of(out[i]);
        EXPECT_GT(static_cast<std::int64_t>(id), last[id % 4]) << "queue " << q;
        last[id % 4] = id;
      }
      got += n;
      mbuf_free_bulk(out, n);
    }
  }
  EXPECT_EQ(got, 4 * kPerQueue);
}

TEST(MemlinkRss, SymmetricKeyKeepsBothDirectionsOnOneQueueIndex) {
  auto mismatches = [](const RssKey& key) {
    RssLink l(4, true, true, key);
    std::mt19937 rng(99);
    int differ = 0;
    for (std::uint32_t i = 0; i < 500; ++i) {
      Tuple t = rss_test::random_tuple(rng);
      t.proto = i % 2 ? rss_test::kTcp : rss_test::kUdp;
      Mbuf* fwd = ipv4_frame(*l.pool, t, i);
      Mbuf* rev = ipv4_frame(*l.pool, t.reversed(), i);
      EXPECT_EQ(l.link->a().tx_burst(static_cast<std::uint16_t>(rng() % 4), &fwd, 1), 1);
      EXPECT_EQ(l.link->b().tx_burst(static_cast<std::uint16_t>(rng() % 4), &rev, 1), 1);
      const auto at_b = l.drain(1);
      const auto at_a = l.drain(0);
      EXPECT_EQ(at_b.size(), 1u);
      EXPECT_EQ(at_a.size(), 1u);
      if (at_a.size() != 1 || at_b.size() != 1) return -1;
      const Received& rb = at_b.begin()->second;
      const Received& ra = at_a.begin()->second;
      EXPECT_TRUE(ra.has_hash && rb.has_hash);
      if (ra.queue != rb.queue || ra.hash != rb.hash) ++differ;
    }
    return differ;
  };
  EXPECT_EQ(mismatches(kRssKeySymmetric), 0);
  // The check can tell: with Microsoft's key most flows hash apart.
  EXPECT_GT(mismatches(kRssKeyMicrosoft), 100);
}

TEST(MemlinkRss, UnhashableFramesGoToQueueZeroWithoutAHash) {
  RssLink l(4);
  MbufPool& pool = *l.pool;
  const Tuple t{0x0a000001, 0x0a000002, 40000, 80, rss_test::kTcp};
  std::vector<Mbuf*> frames;
  frames.push_back(rss_test::ether_frame(pool, 0x0806, 0, 42));  // ARP
  frames.push_back(rss_test::ether_frame(pool, 0x86dd, 1, 80));  // IPv6 of version 0
  frames.push_back(rss_test::ether_frame(pool, 0x0800, 2, 14));  // Ethernet header only
  frames.push_back(rss_test::ether_frame(pool, 0x8100, 3, 16));  // VLAN tag cut
  Mbuf* runt = pool.alloc();
  std::memset(runt->append(10), 0, 10);
  frames.push_back(runt);
  // IPv4 cut inside its header, inside its options, inside the ports: the
  // bytes beyond pkt_len are still those of a whole frame and must not be
  // read.
  for (std::uint16_t keep : {14 + 19, 14 + 20 + 3}) {
    Mbuf* m = ipv4_frame(pool, t, 0, {.len = 96});
    ASSERT_TRUE(m->trim(96 - keep));
    frames.push_back(m);
  }
  {
    Mbuf* m = ipv4_frame(pool, t, 0, {.ihl_words = 8, .len = 96});
    ASSERT_TRUE(m->trim(96 - (14 + 28)));
    frames.push_back(m);
  }
  Mbuf* bad_version = ipv4_frame(pool, t, 0);
  bad_version->data()[14] = std::byte(0x65);
  frames.push_back(bad_version);
  Mbuf* bad_ihl = ipv4_frame(pool, t, 0);
  bad_ihl->data()[14] = std::byte(0x44);
  frames.push_back(bad_ihl);
  // Headers split over two segments: the first holds the Ethernet header only.
  {
    Mbuf* head = pool.alloc();
    Mbuf* whole = ipv4_frame(pool, t, 0);
    std::memcpy(head->append(14), whole->data(), 14);
    whole->adj(14);
    head->chain(whole);
    frames.push_back(head);
  }
  for (Mbuf* m : frames) {
    m->ol_flags |= ol::kRxRssHash;  // stale, from an earlier reception
    m->rss_hash = 0xdeadbeef;
  }
  ASSERT_EQ(l.link->a().tx_burst(3, frames.data(), static_cast<std::uint16_t>(frames.size())),
            frames.size());
  std::size_t got = 0;
  for (std::uint16_t q = 0; q < 4; ++q) {
    Mbuf* out[32];
    for (std::uint16_t n; (n = l.link->b().rx_burst(q, out, 32)) > 0;) {
      for (std::uint16_t i = 0; i < n; ++i) {
        EXPECT_EQ(q, 0) << "frame " << got + i << " of pkt_len " << out[i]->pkt_len;
        EXPECT_EQ(out[i]->ol_flags & ol::kRxRssHash, 0u);
      }
      got += n;
      mbuf_free_bulk(out, n);
    }
  }
  EXPECT_EQ(got, frames.size()) << "none lost";
  EXPECT_EQ(pool.in_use(), 0u);

  // Both ports present and nothing after them: hashed.
  Mbuf* just = ipv4_frame(pool, t, 0);
  ASSERT_TRUE(just->trim(just->pkt_len - (14 + 20 + 4)));
  ASSERT_EQ(l.link->a().tx_burst(3, &just, 1), 1);
  const auto one = l.drain(1);
  ASSERT_EQ(one.size(), 1u);
  const Toeplitz toeplitz(kRssKeyMicrosoft);
  EXPECT_TRUE(one.begin()->second.has_hash);
  EXPECT_EQ(one.begin()->second.hash, expected_hash(toeplitz, t));
}

TEST(MemlinkRss, OneBusyRingDoesNotStarveTheOthers) {
  RssLink l(2, false, true);
  const Toeplitz toeplitz(kRssKeyMicrosoft);
  const RssReta reta(2);
  // Flows that all hash to queue 0 of B.
  std::mt19937 rng(3);
  std::vector<Tuple> to_zero;
  while (to_zero.size() < 2) {
    Tuple t = rss_test::random_tuple(rng);
    if (reta.queue_of(expected_hash(toeplitz, t)) == 0) to_zero.push_back(t);
  }
  constexpr std::uint32_t kBusy = 2048;  // a multiple of 32
  for (std::uint32_t i = 0; i < kBusy; i += 32) {
    Mbuf* burst[32];
    for (std::uint32_t k = 0; k < 32; ++k) burst[k] = ipv4_frame(*l.pool, to_zero[0], i + k);
    ASSERT_EQ(l.link->a().tx_burst(0, burst, 32), 32);
  }
  Mbuf* lone = ipv4_frame(*l.pool, to_zero[1], 1'000'000);
  ASSERT_EQ(l.link->a().tx_burst(1, &lone, 1), 1);
  // However the bursts fall, the lone frame comes within the first two.
  std::vector<std::uint32_t> ids;
  Mbuf* out[32];
  for (int b = 0; b < 2; ++b) {
    const std::uint16_t n = l.link->b().rx_burst(0, out, 32);
    EXPECT_EQ(n, 32);
    for (std::uint16_t i = 0; i < n; ++i) ids.push_back(id_of(out[i]));
    mbuf_free_bulk(out, n);
  }
  EXPECT_NE(std::find(ids.begin(), ids.end(), 1'000'000u), ids.end());
  EXPECT_EQ(l.drain(1).size(), kBusy + 1 - ids.size());
}

TEST(MemlinkRss, AFullRingDropsOnlyItsOwnFrames) {
  RssLink l(2, false, true, kRssKeyMicrosoft, 16);
  const Toeplitz toeplitz(kRssKeyMicrosoft);
  const RssReta reta(2);
  std::mt19937 rng(8);
  std::vector<Mbuf*> burst;
  std::uint32_t to_one = 0;
  while (burst.size() < 40) {
    const Tuple t = rss_test::random_tuple(rng);
    const bool zero = reta.queue_of(expected_hash(toeplitz, t)) == 0;
    if (!zero && to_one == 4) continue;
    to_one += zero ? 0 : 1;
    burst.push_back(ipv4_frame(*l.pool, t, static_cast<std::uint32_t>(burst.size())));
  }
  // 36 frames for queue 0 (its ring takes 16), 4 for queue 1.
  EXPECT_EQ(l.link->a().tx_burst(0, burst.data(), 40), 20);
  EXPECT_EQ(l.link->a().stats(0).tx_dropped, 20u);
  EXPECT_EQ(l.link->stats_into(1).queue_dropped, 20u);
  const auto got = l.drain(1);
  EXPECT_EQ(got.size(), 20u);
  std::uint32_t on_one = 0;
  for (auto& [id, r] : got) on_one += r.queue == 1 ? 1 : 0;
  EXPECT_EQ(on_one, 4u);
  EXPECT_EQ(l.pool->in_use(), 0u);
}

TEST(MemlinkRss, OffKeepsQueueToQueueAndReportsNoHash) {
  RssLink l(4, false, false);
  std::mt19937 rng(4);
  for (std::uint16_t t = 0; t < 4; ++t) {
    Mbuf* burst[16];
    for (std::uint32_t k = 0; k < 16; ++k) {
      burst[k] = ipv4_frame(*l.pool, rss_test::random_tuple(rng), t * 100u + k);
      burst[k]->ol_flags |= ol::kRxRssHash;  // stale
    }
    ASSERT_EQ(l.link->a().tx_burst(t, burst, 16), 16);
  }
  const auto got = l.drain(1);
  ASSERT_EQ(got.size(), 64u);
  for (auto& [id, r] : got) {
    EXPECT_EQ(r.queue, id / 100) << id;
    EXPECT_FALSE(r.has_hash) << id;
  }
  EXPECT_EQ(l.link->b().capabilities().rss, RssKind::kNone);
}

TEST(MemlinkRss, SettingsArePerReceivingEnd) {
  RssLink l(2, false, true, kRssKeySymmetric);
  EXPECT_EQ(l.link->a().capabilities().rss, RssKind::kNone);
  EXPECT_EQ(l.link->b().capabilities().rss, RssKind::kSymmetricToeplitz);
  const Toeplitz toeplitz(kRssKeySymmetric);
  const RssReta reta(2);
  std::mt19937 rng(6);
  // Into B: steered. Into A: queue to queue, whatever the hash says.
  for (std::uint32_t i = 0; i < 64; ++i) {
    const Tuple t = rss_test::random_tuple(rng);
    Mbuf* to_b = ipv4_frame(*l.pool, t, i);
    Mbuf* to_a = ipv4_frame(*l.pool, t, i);
    ASSERT_EQ(l.link->a().tx_burst(1, &to_b, 1), 1);
    ASSERT_EQ(l.link->b().tx_burst(1, &to_a, 1), 1);
    const auto at_b = l.drain(1);
    const auto at_a = l.drain(0);
    ASSERT_EQ(at_b.size(), 1u);
    ASSERT_EQ(at_a.size(), 1u);
    EXPECT_EQ(at_b.begin()->second.queue, reta.queue_of(expected_hash(toeplitz, t)));
    EXPECT_EQ(at_a.begin()->second.queue, 1);
    EXPECT_FALSE(at_a.begin()->second.has_hash);
  }
}

}  // namespace
}  // namespace ustack
