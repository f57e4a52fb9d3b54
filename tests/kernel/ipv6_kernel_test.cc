// IPv6 against the Linux stack over a veth (af_packet, both rings) and a
// TAP with virtio-net headers (uring_tap, checksums offloaded): the
// kernel's `ping -6` to ustack's global and link-local addresses and
// ustack's ping to the kernel, neighbor discovery both ways (each side's
// neighbor table learns the other), and duplicate address detection both
// ways (ustack defends its address against the kernel's DAD, and gives up
// one the kernel already has). Namespaces are made per test and removed
// after it (NetnsPair).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "kernel/kernel_echo.h"
#include "kernel/kernel_host.h"
#include "proto/wire/ipv6_ethernet.h"

namespace ustack {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::KernelHost;
using testing::NetnsPair;

const Ipv6Cidr kUstack6 = *Ipv6Cidr::parse("fd00::1/64");
const Ipv6Addr kKernel6 = *Ipv6Addr::parse("fd00::2");

struct Replies : EchoListener {
  void on_echo_reply(const EchoReply& r) override { got.push_back(r); }
  std::vector<EchoReply> got;
};

class KernelIpv6 : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    if (!testing::can_make_namespaces(&why)) GTEST_SKIP() << why;
    NetnsPair::Options o;
    o.peer_cidr6 = "fd00::2/64";
    o.veth = !tap();
    pair_ = NetnsPair::create(o, &why);
    ASSERT_NE(pair_, nullptr) << why;
    open_host(kUstack6);
  }
  void TearDown() override {
    host_.reset();
    pair_.reset();
  }
  void open_host(const Ipv6Cidr& addr) {
    host_.reset();
    std::string why;
    host_ = KernelHost::open(*pair_, GetParam(), &why, nullptr, &addr);
    ASSERT_NE(host_, nullptr) << why;
    if (tap()) {  // the TAP exists now: the kernel's address on it
      std::string out;
      ASSERT_EQ(testing::sh(
                    pair_->in_b("ip -6 addr add fd00::2/64 dev " + pair_->if_b() + " nodad"), &out),
                0)
          << out;
    }
    // DAD: one solicitation per address and a second of silence.
    ASSERT_TRUE(
        host_->poll_until([&] { return !host_->stack().nd().dad().running(); }, seconds(3)));
  }
  Ipv6LocalAddr* local(const Ipv6Addr& a) { return host_->stack().ipv6().find_local(a); }
  // uring_tap makes its TAP in namespace B when it opens (KernelHost).
  bool tap() const { return KernelHost::makes_own_link(GetParam()); }
  std::string kernel_neighbors() {
    std::string out;
    testing::sh(pair_->in_b("ip -6 neigh show dev " + pair_->if_b()), &out);
    return out;
  }

  std::unique_ptr<NetnsPair> pair_;
  std::unique_ptr<KernelHost> host_;
};

TEST_P(KernelIpv6, KernelPingsUstack) {
  EXPECT_EQ(local(kUstack6.addr)->state, Ipv6AddrState::kPreferred);
  std::string out;
  const int rc = host_->run_while_polling(
      pair_->in_b("ping -6 -n -c 5 -i 0.2 -W 2 " + kUstack6.addr.to_string()), seconds(20), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("5 received"), std::string::npos) << out;
  EXPECT_EQ(host_->counter("icmpv6.tx.echo_reply"), 5u);
  EXPECT_GE(host_->counter("nd.tx.advert"), 1u) << "the kernel resolved us";
  // The kernel's neighbor table holds our MAC.
  const std::string neigh = kernel_neighbors();
  EXPECT_NE(neigh.find("fd00::1 lladdr " + host_->port().mac().to_string()), std::string::npos)
      << neigh;
}

TEST_P(KernelIpv6, KernelPingsUstackLinkLocal) {
  const Ipv6Addr ll = wire::link_local_from_mac(host_->port().mac());
  EXPECT_EQ(local(ll)->state, Ipv6AddrState::kPreferred);
  std::string out;
  const int rc = host_->run_while_polling(
      pair_->in_b("ping -6 -n -c 3 -i 0.2 -W 2 " + ll.to_string() + "%" + pair_->if_b()),
      seconds(20), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("3 received"), std::string::npos) << out;
}

TEST_P(KernelIpv6, UstackPingsKernel) {
  Replies r;
  host_->stack().icmpv6().set_echo_listener(&r);
  for (std::uint16_t seq = 1; seq <= 5; ++seq) {
    host_->sync();
    ASSERT_EQ(host_->stack().icmpv6().send_echo_request(kKernel6, 0x4646, seq), SendResult::kOk);
    ASSERT_TRUE(host_->poll_until([&] { return r.got.size() == seq; }, seconds(5)))
        << "no reply to seq " << seq;
  }
  EXPECT_EQ(r.got.back().from, IpAddr::v6(kKernel6));
  EXPECT_EQ(r.got.back().ttl, 64);
  EXPECT_TRUE(r.got.back().rtt_valid);
  EXPECT_GE(host_->counter("nd.tx.solicit"), 1u) << "we resolved the kernel";
  const auto st = host_->stack().nd().neighbors().state(kKernel6, host_->now());
  EXPECT_TRUE(st == NeighborCache::State::kReachable || st == NeighborCache::State::kDelay ||
              st == NeighborCache::State::kStale)
      << static_cast<int>(st);
  ASSERT_NE(host_->stack().nd().neighbors().peek(kKernel6), nullptr);
  // The kernel learned us from our solicitation too.
  const std::string neigh = kernel_neighbors();
  EXPECT_NE(neigh.find("fd00::1 lladdr " + host_->port().mac().to_string()), std::string::npos)
      << neigh;
}

TEST_P(KernelIpv6, UstackDefendsItsAddressAgainstKernelDad) {
  // The kernel's DAD for fd00::1 asks from ::; ustack answers to all nodes
  // (RFC 4861 §7.2.4), and the kernel marks its copy dadfailed.
  std::string out;
  ASSERT_EQ(testing::sh(pair_->in_b("ip -6 addr add fd00::1/64 dev " + pair_->if_b()), &out), 0)
      << out;
  ASSERT_TRUE(host_->poll_until(
      [&] {
        testing::sh(pair_->in_b("ip -6 addr show dev " + pair_->if_b()), &out);
        return out.find("dadfailed") != std::string::npos;
      },
      seconds(5)))
      << out;
  EXPECT_GE(host_->counter("nd.tx.advert"), 1u);
  EXPECT_EQ(local(kUstack6.addr)->state, Ipv6AddrState::kPreferred);
}

TEST_P(KernelIpv6, UstackGivesUpAnAddressTheKernelHas) {
  // On a TAP the kernel's address can only be added after the port opened,
  // once ustack's DAD probe has gone.
  if (tap()) GTEST_SKIP() << "the TAP is made with the port";
  open_host(*Ipv6Cidr::parse("fd00::2/64"));
  EXPECT_EQ(local(kKernel6)->state, Ipv6AddrState::kDuplicate);
  EXPECT_EQ(host_->counter("ipv6.dad.duplicate"), 1u);
  // The link-local address is ours alone.
  EXPECT_EQ(local(wire::link_local_from_mac(host_->port().mac()))->state,
            Ipv6AddrState::kPreferred);
}

// ---- TCP and UDP over IPv6 with the kernel.

const std::string kPeers = std::string(USTACK_TEST_DIR) + "/kernel/peers/";
const std::string kPython = "/usr/bin/python3 ";

TEST_P(KernelIpv6, UstackClientTwentyKilobyteEcho) {
  testing::ustack_client_echo_20k(*host_, *pair_, IpAddr::v6(kKernel6));
  EXPECT_EQ(host_->counter("tcp.drop.bad_checksum"), 0u);
  EXPECT_EQ(host_->counter("ipv4.tx"), 0u) << "all of it over IPv6";
}

TEST_P(KernelIpv6, KernelClientTwentyKilobyteEchoOverBothFamilies) {
  testing::EchoServer server;
  std::string err;
  ASSERT_NE(host_->stack().tcp().listen(8888, server, &err), nullptr) << err;
  testing::kernel_client_echo_20k(*host_, *pair_, "fd00::1", 8888);
  EXPECT_EQ(server.echoed, 20000u);
  // The same listener takes IPv4 too.
  testing::kernel_client_echo_20k(*host_, *pair_, "10.0.0.1", 8888);
  EXPECT_EQ(server.echoed, 40000u);
  EXPECT_TRUE(host_->poll_until([&] { return server.closed == 2; }, seconds(5)));
}

// Beyond 1452 bytes both sides fragment and reassemble (RFC 8200 §4.5).
TEST_P(KernelIpv6, UdpEchoServerForKernelClient) {
  testing::UdpEcho echo;
  std::string err;
  ASSERT_NE(host_->stack().udp().open(echo, 7, &err), nullptr) << err;
  std::string out;
  const int rc = host_->run_while_polling(
      pair_->in_b(kPython + kPeers +
                  "udp_echo_client.py fd00::1 7 0 1 100 1452 1453 4000 30000 65527"),
      seconds(60), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(host_->counter("udp.drop.bad_checksum"), 0u);
  EXPECT_GE(host_->counter("ipv6.reasm.ok"), 4u);
}

TEST_P(KernelIpv6, UdpEchoAgainstKernelServer) {
  testing::udp_echo_against_kernel(*host_, *pair_, IpAddr::v6(kKernel6),
                                   {0, 1, 100, 1452, 1453, 4000, 30000, 65527});
  EXPECT_GE(host_->counter("ipv6.tx.fragments"), 4u);
}

TEST_P(KernelIpv6, KernelPingsUstackWithFragments) {
  std::string out;
  const int rc = host_->run_while_polling(
      pair_->in_b("ping -6 -n -c 3 -i 0.2 -W 2 -s 8000 fd00::1"), seconds(20), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("3 received"), std::string::npos) << out;
  EXPECT_EQ(host_->counter("ipv6.reasm.ok"), 3u);
}

INSTANTIATE_TEST_SUITE_P(Drivers, KernelIpv6, ::testing::Values("af_packet", "af_packet_v2"));
#ifdef USTACK_HAVE_URING
// With virtio-net headers the TAP offers transmit checksum offload: every
// IPv6 TCP segment and UDP datagram ustack sends within the MTU leaves its
// checksum to the kernel (ol::kTxIpv6), and the kernel checks it.
INSTANTIATE_TEST_SUITE_P(Tap, KernelIpv6, ::testing::Values("uring_tap_vnet"));
#endif

}  // namespace
}  // namespace ustack
