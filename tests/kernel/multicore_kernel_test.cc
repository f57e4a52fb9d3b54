// One ustack host of two cores against the Linux stack in a namespace, on
// the drivers whose queues the kernel fills by its own hash (af_packet
// PACKET_FANOUT_HASH, multi-queue TAP): flows land on either core, and a
// core that is not a flow's owner hands its frames over (FlowSteer). The
// kernel opens 1,000 connections to listeners on both cores; then each
// core opens 100 to a kernel server, choosing ports whose replies are its
// own. Every byte is echoed and checked, no mbuf is left.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.h"
#include "drivers/factory.h"
#include "kernel/netns.h"
#include "proto/multi_stacks.h"
#include "proto/multicore_apps.h"

namespace ustack::testing {
namespace {

const std::string kPeer =
    "/usr/bin/python3 " + std::string(USTACK_TEST_DIR) + "/kernel/peers/many_tcp.py ";
const Ipv4Addr kUs = Ipv4Addr::from_u32(0x0a000001);      // 10.0.0.1
const Ipv4Addr kKernel = Ipv4Addr::from_u32(0x0a000002);  // 10.0.0.2

class MultiCoreKernel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    if (!can_make_namespaces(&why)) GTEST_SKIP() << why;
    const bool tap = GetParam() == "uring_tap";
    NetnsPair::Options o;
    o.veth = !tap;
    pair_ = NetnsPair::create(o, &why);
    ASSERT_NE(pair_, nullptr) << why;
    host_.make_pools(2, 16384, GetParam());
    PortSpec spec;
    spec.driver = GetParam();
    spec.queues = 2;
    spec.rx_pools = host_.pools();
    std::string err;
    const auto open = [&] { port_ = open_port(spec, clock_, &err); };
    if (tap) {
      spec.iface = pair_->if_b();
      spec.kernel_cidr = kKernel.to_string() + "/24";
      ASSERT_TRUE(pair_->run_in_b(open));
      ASSERT_NE(port_, nullptr) << err;
      std::string out;
      ASSERT_EQ(
          sh(pair_->in_b("ethtool -K " + pair_->if_b() + " tso off gso off gro off tx off"), &out),
          0)
          << out;
    } else {
      spec.iface = pair_->if_a();
      ASSERT_TRUE(pair_->run_in_a(open));
      ASSERT_NE(port_, nullptr) << err;
    }
    host_.build(*port_, clock_, kUs, TcpConfig{});
  }
  void TearDown() override {
    host_.teardown();
    port_.reset();
    host_.expect_no_leak();
  }

  // Runs `cmd` in namespace B while both cores run on their threads.
  int run_with_cores(const std::string& cmd, std::string* out) {
    host_.start();
    const int rc = sh(pair_->in_b(cmd), out);
    host_.stop();
    return rc;
  }

  TscClock clock_;
  std::unique_ptr<NetnsPair> pair_;
  std::shared_ptr<Port> port_;
  MultiHost host_;
};

TEST_P(MultiCoreKernel, KernelOpensAThousandConnections) {
  std::vector<EchoListener> listeners(2);
  for (std::uint16_t k = 0; k < 2; ++k) {
    listeners[k].core = k;
    std::string err;
    ASSERT_NE(host_.cores[k].stack->tcp().listen(kPort, listeners[k], &err), nullptr) << err;
  }
  std::string out;
  const int rc = run_with_cores(
      kPeer + "client " + kUs.to_string() + " " + std::to_string(kPort) + " 1000 2000 64 120",
      &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("1000 done, 0 failed"), std::string::npos) << out;
  std::size_t accepted = 0;
  for (const EchoListener& l : listeners) {
    accepted += l.keys.size();
    EXPECT_GT(l.keys.size(), 250u) << "core " << l.core << " took too few of the flows";
    for (const ConnKey& k : l.keys)
      EXPECT_EQ(host_.cores[l.core].steer->owner_v4(k.remote.as_v4(), k.local.as_v4(),
                                                    k.remote_port, k.local_port),
                l.core)
          << "a core accepted a flow it does not own";
  }
  EXPECT_EQ(accepted, 1000u);
  EXPECT_GT(host_.sum("steer.tx.redirected"), 0u) << "the kernel's hash is not ours";
  EXPECT_EQ(host_.sum("steer.drop.ring_full"), 0u);
  EXPECT_EQ(host_.cores[1].counter("arp.tx.reply"), 0u) << "only core 0 answers ARP";
}

TEST_P(MultiCoreKernel, EachCoreOpensItsOwnConnections) {
  constexpr std::size_t kPerCore = 100;
  std::vector<Client> clients(2 * kPerCore);
  std::atomic<std::size_t> closed{0};
  std::vector<std::unique_ptr<Opener>> openers;
  for (std::uint16_t k = 0; k < 2; ++k) {
    std::vector<Client*> mine;
    for (std::size_t i = k; i < clients.size(); i += 2) {
      clients[i].id = i;
      clients[i].core = k;
      clients[i].closed_count = &closed;
      mine.push_back(&clients[i]);
    }
    openers.push_back(std::make_unique<Opener>(*host_.cores[k].stack, std::move(mine), kKernel));
  }
  // The kernel server first, then the cores open (Opener runs on each
  // core's first loop iteration).
  std::string out;
  int rc = -1;
  std::thread server([&] {
    rc = sh(pair_->in_b(kPeer + "server " + kKernel.to_string() + " " + std::to_string(kPort) +
                        " " + std::to_string(clients.size()) + " 60"),
            &out);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (std::uint16_t k = 0; k < 2; ++k) host_.cores[k].stack->set_app(openers[k].get());
  host_.start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (closed.load(std::memory_order_acquire) < clients.size() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  host_.stop();
  server.join();
  EXPECT_EQ(rc, 0) << out;
  for (const Client& c : clients) {
    ASSERT_NE(c.conn, nullptr) << "connection " << c.id;
    EXPECT_TRUE(c.closed) << "connection " << c.id;
    EXPECT_EQ(c.reason, TcpCloseReason::kNormal) << "connection " << c.id;
    EXPECT_EQ(c.got, kBytes) << "connection " << c.id;
    EXPECT_EQ(c.bad, 0u) << "connection " << c.id;
  }
  for (std::uint16_t k = 0; k < 2; ++k) host_.cores[k].stack->set_app(nullptr);
}

#ifdef USTACK_HAVE_URING
INSTANTIATE_TEST_SUITE_P(Drivers, MultiCoreKernel, ::testing::Values("af_packet", "uring_tap"),
                         [](const auto& p) { return p.param; });
#else
INSTANTIATE_TEST_SUITE_P(Drivers, MultiCoreKernel, ::testing::Values("af_packet"),
                         [](const auto& p) { return p.param; });
#endif

}  // namespace
}  // namespace ustack::testing
