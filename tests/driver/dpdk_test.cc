// The dpdk driver's own tests, in a process of their own because the EAL
// starts once per process and these start it on huge pages: a port on
// net_af_packet with the EAL on /dev/hugepages (a unique --file-prefix,
// files unlinked at once), frames both ways in place, and a clear sentence
// for what cannot work (bad EAL arguments, a device that does not exist,
// other EAL arguments once it runs, a port that is not there). Traffic stays
// inside the namespaces the tests make; every loop is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "drivers/dpdk/dpdk_port.h"
#include "drivers/factory.h"
#include "kernel/netns.h"
#include "unit/test_pool.h"

namespace ustack {
namespace {

using testing::NetnsPair;

// Free 2 MB huge pages (0 when the machine has none).
std::uint64_t free_huge_pages() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t v = 0;
  while (in >> key) {
    if (key == "HugePages_Free:" && in >> v) return v;
    in.ignore(1 << 10, '\n');
  }
  return 0;
}

// The EAL arguments of every test here: huge pages, 64 MB.
std::string huge_args(const std::string& vdev) {
  return "-m 64 --huge-unlink --no-pci --log-level=*:warning" +
         (vdev.empty() ? std::string() : " --vdev=" + vdev);
}

bool need_huge_pages() {
  return free_huge_pages() >= 48;
}

std::vector<std::uint8_t> frame(std::uint32_t size, std::uint8_t seed, const MacAddr& src) {
  std::vector<std::uint8_t> f(size);
  std::memset(f.data(), 0x02, 6);  // a locally administered MAC nobody has
  f[5] = 0x99;
  std::memcpy(f.data() + 6, src.b.data(), 6);
  f[12] = 0x88;  // local experimental ethertype
  f[13] = 0xb5;
  for (std::uint32_t i = 14; i < size; ++i) f[i] = static_cast<std::uint8_t>(i * 7 + seed);
  return f;
}

Mbuf* to_mbuf(const std::vector<std::uint8_t>& b, bool chain, MbufPool& pool) {
  const auto n = static_cast<std::uint16_t>(b.size());
  const auto first = static_cast<std::uint16_t>(chain ? n / 2 : n);
  Mbuf* h = pool.alloc();
  if (h == nullptr) return nullptr;
  std::memcpy(h->append(first), b.data(), first);
  if (chain) {
    Mbuf* t = pool.alloc();
    if (t == nullptr) {
      mbuf_free(h);
      return nullptr;
    }
    std::memcpy(t->append(static_cast<std::uint16_t>(n - first)), b.data() + first, n - first);
    h->chain(t);
  }
  return h;
}

// Sends frames of a few sizes (single segments and chains) from `tx` and
// checks that `rx` gets each intact; `rx_ext`: received in place.
void exchange(Port& tx, MbufPool& tx_pool, Port& rx, bool rx_ext) {
  const std::vector<std::uint32_t> sizes = {60, 61, 333, 1000, 1513, 1514};
  for (std::size_t i = 0; i < sizes.size() * 2; ++i) {
    const bool chain = i % 2 == 1;
    const auto want = frame(sizes[i / 2], static_cast<std::uint8_t>(i), tx.mac());
    Mbuf* m = to_mbuf(want, chain, tx_pool);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(tx.tx_burst(0, &m, 1), 1) << "size " << want.size();
    bool got = false;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!got && std::chrono::steady_clock::now() < end) {
      Mbuf* pkts[16];
      const std::uint16_t n = rx.rx_burst(0, pkts, 16);
      for (std::uint16_t k = 0; k < n; ++k) {
        std::vector<std::uint8_t> b(pkts[k]->pkt_len);
        mbuf_read(pkts[k], 0, std::as_writable_bytes(std::span(b)));
        if (b == want) {
          got = true;
          if (rx_ext) {
            EXPECT_TRUE(pkts[k]->has_ext()) << "not received in place";
          }
        }
        mbuf_free(pkts[k]);
      }
    }
    EXPECT_TRUE(got) << "frame of " << want.size() << (chain ? " (chain)" : "") << " lost";
  }
}

// A failed EAL start leaves state behind: this runs in a process of its own
// (tests/meson.build runs DpdkEalFails.* apart from the rest).
TEST(DpdkEalFails, SaysWhyTheEalCannotStart) {
  auto pool = testing::make_pool(64, 2048, "bad-args");
  DpdkConfig cfg;
  cfg.eal_args = "--no-huge --this-is-not-an-eal-option";
  cfg.rx_pools = {pool.get()};
  std::string err;
  EXPECT_EQ(open_dpdk(cfg, &err), nullptr);
  EXPECT_NE(err.find("dpdk: the EAL could not start"), std::string::npos) << err;
  // And it says so when asked again.
  cfg.eal_args = "--no-huge";
  err.clear();
  EXPECT_EQ(open_dpdk(cfg, &err), nullptr);
  EXPECT_NE(err.find("failed to start earlier in this process"), std::string::npos) << err;
}

TEST(DpdkEalFails, ExplainsNoHugeWithInMemory) {
  // --no-huge implies legacy memory, which --in-memory refuses: said plainly
  // (run alone: --gtest_filter=DpdkEalFails.ExplainsNoHugeWithInMemory).
  if (::testing::GTEST_FLAG(filter).find("ExplainsNoHuge") == std::string::npos)
    GTEST_SKIP() << "needs a process of its own";
  auto pool = testing::make_pool(64, 2048, "bad-args");
  DpdkConfig cfg;
  cfg.eal_args = "--no-huge --in-memory";
  cfg.rx_pools = {pool.get()};
  std::string err;
  EXPECT_EQ(open_dpdk(cfg, &err), nullptr);
  EXPECT_NE(err.find("drop --in-memory"), std::string::npos) << err;
}

TEST(Dpdk, RunsOnHugePagesZeroCopyBothWays) {
  std::string why;
  if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
  if (!need_huge_pages()) GTEST_SKIP() << "no free huge pages (run ci/hugepages)";
  auto pair = NetnsPair::create(NetnsPair::Options{}, &why);
  ASSERT_NE(pair, nullptr) << why;
  auto pa = testing::make_pool(1024, 2048, "dpdk-a");
  auto pb = testing::make_pool(1024, 2048, "dpdk-b");
  {
    DpdkConfig cfg;
    cfg.eal_args = huge_args("net_af_packet0,iface=" + pair->if_a() + ",qdisc_bypass=1");
    cfg.rx_pools = {pa.get()};
    cfg.mbufs_per_queue = 2047;
    std::unique_ptr<Port> a;
    ASSERT_TRUE(pair->run_in_a([&] { a = open_dpdk(cfg, &why); }));
    ASSERT_NE(a, nullptr) << why;
    EXPECT_TRUE(a->capabilities().zero_copy_rx);
    EXPECT_TRUE(a->capabilities().zero_copy_tx);
    EXPECT_FALSE(a->mac().is_zero());
    EXPECT_EQ(a->mtu(), 1500u);
    PortSpec sb{.driver = "af_packet", .iface = pair->if_b()};
    sb.rx_pools = {pb.get()};
    VirtualClock clock;
    std::shared_ptr<Port> b;
    ASSERT_TRUE(pair->run_in_b([&] { b = open_port(sb, clock, &why); }));
    ASSERT_NE(b, nullptr) << why;
    exchange(*a, *pa, *b, true);
    exchange(*b, *pb, *a, true);
    EXPECT_EQ(a->total_stats().tx_dropped, 0u);
    EXPECT_EQ(a->total_stats().rx_dropped, 0u);
    // Its vdev goes with the port: the same name opens again.
    a.reset();
    ASSERT_TRUE(pair->run_in_a([&] { a = open_dpdk(cfg, &why); }));
    EXPECT_NE(a, nullptr) << why;
  }
  EXPECT_EQ(pa->in_use(), 0u);
  EXPECT_EQ(pb->in_use(), 0u);
}

TEST(Dpdk, SaysWhatIsWrongOnceTheEalRuns) {
  std::string why;
  if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
  if (!need_huge_pages()) GTEST_SKIP() << "no free huge pages (run ci/hugepages)";
  auto pool = testing::make_pool(64, 2048, "errors");
  DpdkConfig cfg;
  cfg.rx_pools = {pool.get()};
  cfg.mbufs_per_queue = 511;
  std::string err;
  // A driver nobody has.
  cfg.eal_args = huge_args("net_bogus0,foo=1");
  EXPECT_EQ(open_dpdk(cfg, &err), nullptr);
  EXPECT_NE(err.find("cannot create device 'net_bogus0,foo=1'"), std::string::npos) << err;
  // An interface that does not exist.
  cfg.eal_args = huge_args("net_af_packet0,iface=ustknothere0");
  err.clear();
  EXPECT_EQ(open_dpdk(cfg, &err), nullptr);
  EXPECT_NE(err.find("cannot create device"), std::string::npos) << err;
  // No vdev and no such port.
  cfg.eal_args = huge_args("");
  cfg.port_id = 7;
  err.clear();
  EXPECT_EQ(open_dpdk(cfg, &err), nullptr);
  EXPECT_NE(err.find("there is no port 7"), std::string::npos) << err;
  // The EAL runs: other arguments cannot apply.
  cfg.eal_args = "--no-huge -m 128";
  err.clear();
  EXPECT_EQ(open_dpdk(cfg, &err), nullptr);
  EXPECT_NE(err.find("already runs in this process with other arguments"), std::string::npos)
      << err;
  EXPECT_EQ(pool->in_use(), 0u);
}

}  // namespace
}  // namespace ustack
