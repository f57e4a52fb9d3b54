// Gratuitous ARP: Stack::start() announces each address of the interface
// (RFC 5227 §2.3: an ARP request whose sender and target protocol addresses
// are both the announced one, target hardware address zero, broadcast). A
// neighbour that already has an entry for the address updates it (RFC 826's
// merge rule); one that has none does not create it (the target is not its
// address).
//
// Each array is bytes(<the scapy 2.5 expression in the comment above it>),
// evaluated after `from scapy.all import *`.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "proto/two_stacks.h"

namespace ustack {
namespace {

using testing::kAddrA;
using testing::kAddrB;
using testing::TwoStacks;

// clang-format off
// Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:0a")/ARP(op=1, hwsrc="02:00:00:00:00:0a", psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.1")
constexpr std::uint8_t kArpAnnounceA[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
    0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
    0x00, 0x00, 0x00, 0x0a, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x0a, 0x00, 0x00, 0x01,
};
// Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:1a")/ARP(op=1, hwsrc="02:00:00:00:00:1a", psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.1")
constexpr std::uint8_t kArpAnnounceANewMac[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x1a,
    0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
    0x00, 0x00, 0x00, 0x1a, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x0a, 0x00, 0x00, 0x01,
};
// Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:1c")/ARP(op=1, hwsrc="02:00:00:00:00:1c", psrc="10.0.0.3", hwdst="00:00:00:00:00:00", pdst="10.0.0.3")
constexpr std::uint8_t kArpAnnounceStranger[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x1c,
    0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
    0x00, 0x00, 0x00, 0x1c, 0x0a, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x0a, 0x00, 0x00, 0x03,
};
// clang-format on

struct Replies : EchoListener {
  void on_echo_reply(const EchoReply& r) override { got.push_back(r); }
  std::vector<EchoReply> got;
};

std::vector<std::uint8_t> bytes_of(const Mbuf* m) {
  std::vector<std::uint8_t> v(m->pkt_len);
  mbuf_read(m, 0, std::as_writable_bytes(std::span(v)));
  return v;
}

template <std::size_t N>
std::vector<std::uint8_t> vec(const std::uint8_t (&a)[N]) {
  return {a, a + N};
}

// Sends `frame` from link end A into B and lets both hosts run.
void inject(TwoStacks& t, std::span<const std::uint8_t> frame) {
  Mbuf* m = t.a.pool->alloc();
  ASSERT_NE(m, nullptr);
  std::copy(frame.begin(), frame.end(),
            reinterpret_cast<std::uint8_t*>(m->append(static_cast<std::uint16_t>(frame.size()))));
  ASSERT_EQ(t.link->a().tx_burst(0, &m, 1), 1u);
  for (int i = 0; i < 4; ++i) t.step();
}

TEST(GratuitousArp, StartAnnouncesTheAddressAndAStrangerLearnsNothing) {
  TwoStacks t;
  t.a.stack->start(t.clock.now());
  t.a.worker->run_once(t.clock.now());  // flushes the announcement
  Mbuf* m[4];
  const std::uint16_t n = t.link->b().rx_burst(0, m, 4);
  ASSERT_EQ(n, 1u) << "one announcement per address";
  EXPECT_EQ(bytes_of(m[0]), vec(kArpAnnounceA));

  // B has no entry for 10.0.0.1 and is not the target: nothing is created
  // and nothing is answered.
  t.b.stack->input(m[0], t.clock.now());
  t.b.worker->run_once(t.clock.now());
  EXPECT_EQ(t.b.counter("arp.rx"), 1u);
  EXPECT_EQ(t.b.stack->arp().cache().peek(kAddrA), nullptr);
  EXPECT_EQ(t.b.stack->arp().cache().size(), 0u);
  EXPECT_EQ(t.b.counter("arp.learned"), 0u);
  EXPECT_EQ(t.b.counter("arp.tx.reply"), 0u);
  EXPECT_EQ(t.b.counter("arp.conflict"), 0u);
  EXPECT_EQ(t.b.counter("eth.tx.frames"), 0u);
}

TEST(GratuitousArp, AnnouncementOfANewMacUpdatesAnExistingEntry) {
  TwoStacks t;
  Replies replies;
  t.a.stack->icmp().set_echo_listener(&replies);
  const MacAddr mac_a = t.link->a().mac();
  const MacAddr new_mac{{0x02, 0, 0, 0, 0, 0x1a}};
  ArpCache& cache = t.b.stack->arp().cache();
  t.sync();
  ASSERT_EQ(t.a.stack->icmp().send_echo_request(kAddrB, 1, 1), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return replies.got.size() == 1; }, 100));
  ASSERT_NE(cache.peek(kAddrA), nullptr);
  ASSERT_EQ(*cache.peek(kAddrA), mac_a);

  // 10.0.0.1 moves to 02:00:00:00:00:1a (a failover, a new NIC).
  inject(t, kArpAnnounceANewMac);
  ASSERT_NE(cache.peek(kAddrA), nullptr);
  EXPECT_EQ(*cache.peek(kAddrA), new_mac);
  EXPECT_EQ(t.b.counter("arp.updated"), 1u);
  EXPECT_EQ(t.b.counter("arp.tx.reply"), 1u) << "only the first ping's request was answered";

  // Someone else's announcement creates nothing.
  inject(t, kArpAnnounceStranger);
  EXPECT_EQ(cache.peek(Ipv4Addr::from_u32(0x0a000003)), nullptr);
  EXPECT_EQ(cache.size(), 1u);

  // B now answers 10.0.0.1 at the new MAC, which is not A's: A's Ethernet
  // layer drops the reply.
  t.sync();
  ASSERT_EQ(t.a.stack->icmp().send_echo_request(kAddrB, 1, 2), SendResult::kOk);
  t.run_for(std::chrono::milliseconds(10));
  EXPECT_EQ(replies.got.size(), 1u);
  EXPECT_EQ(t.a.counter("eth.drop.not_for_us"), 1u);

  // A announces itself; B takes its MAC back and pings work again.
  t.a.stack->start(t.clock.now());
  t.run_for(std::chrono::milliseconds(1));
  ASSERT_NE(cache.peek(kAddrA), nullptr);
  EXPECT_EQ(*cache.peek(kAddrA), mac_a);
  EXPECT_EQ(t.b.counter("arp.updated"), 2u);
  t.sync();
  ASSERT_EQ(t.a.stack->icmp().send_echo_request(kAddrB, 1, 3), SendResult::kOk);
  ASSERT_TRUE(t.run_until([&] { return replies.got.size() == 2; }, 100));
  EXPECT_EQ(replies.got.back().seq, 3);
}

}  // namespace
}  // namespace ustack
