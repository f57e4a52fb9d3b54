// Whole frames into a running stack: host B of a TwoStacks (10.0.0.2 and
// fd00::2 at 02:00:00:00:00:0b, IPv6 without DAD, a TCP echo listener on
// port 7 and a UDP echo socket on port 7) receives the frames the input holds, with virtual time
// moving between them; host A, a real stack on the other end of the memlink, answers whatever B
// sends it. Each frame may come marked as checksum- verified by the driver, so mutated frames get
// past the checksums into the protocols. Afterwards both stacks are torn down and every mbuf must
// be back in its pool (TwoStacks checks that; a failed check aborts).
//
// Input: records of [control byte][length, 2 bytes][frame bytes]. Control:
// bits 0-5 the milliseconds to run before the frame, bit 6 "checksums
// verified", bit 7 "first run 3 seconds" (retransmission and reassembly
// timers fire).
#include <gtest/gtest.h>

#include <cstring>

#include "fuzz/fuzz_input.h"
#include "proto/tcp_apps.h"
#include "proto/two_stacks.h"

using namespace ustack;
using namespace ustack::fuzz;

namespace {

class UdpEcho final : public UdpHandler {
 public:
  void on_datagram(UdpSocket& s, UdpDatagram& d) override {
    (void)s.send_to(d.src, d.src_port, d.payload);  // takes the payload either way
  }
};

void inject(ustack::testing::TwoStacks& t, std::span<const std::byte> frame, bool verified) {
  Mbuf* m = t.b.pool->alloc();
  if (m == nullptr) return;
  const std::size_t n = std::min<std::size_t>(frame.size(), m->tailroom());
  std::memcpy(m->append(static_cast<std::uint16_t>(n)), frame.data(), n);
  if (verified) m->ol_flags |= ol::kRxIpCksumGood | ol::kRxL4CksumGood;
  t.b.stack->input(m, t.clock.now());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  ustack::testing::LinkOptions o;
  o.pool_size = 512;
  o.ipv6 = true;
  o.dad_transmits = 0;
  o.b_slaac = true;  // B follows router advertisements (router discovery, SLAAC)
  ustack::testing::TwoStacks t(o);
  ustack::testing::EchoServer tcp_echo;
  UdpEcho udp_echo;
  std::string err;
  check(t.b.stack->tcp().listen(7, tcp_echo, &err) != nullptr, "listen");
  check(t.b.stack->udp().open(udp_echo, 7, &err) != nullptr, "udp open");
  t.b.stack->arp().cache().add_static(ustack::testing::kAddrA, t.link->a().mac());
  for (int frames = 0; !in.empty() && frames < 64; ++frames) {
    const std::uint8_t ctl = in.u8();
    const std::span<const std::byte> frame = in.bytes(in.u16() % 2048);
    if ((ctl & 0x80) != 0) t.run_for(std::chrono::seconds(3), std::chrono::milliseconds(100));
    for (int i = 0; i < (ctl & 0x3f); ++i) t.step(std::chrono::milliseconds(1));
    t.sync();
    inject(t, frame, (ctl & 0x40) != 0);
    t.step();
  }
  t.run_for(std::chrono::seconds(1), std::chrono::milliseconds(50));
  return 0;
}
