// One ustack host on a real driver, facing the Linux stack across a
// NetnsPair: its pool, worker, port and stack, polled on the calling thread
// with the real clock.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/worker.h"
#include "drivers/factory.h"
#include "drivers/impair/impair_port.h"
#include "kernel/netns.h"
#include "proto/stack.h"
#include "unit/test_pool.h"

namespace ustack::testing {

inline const Ipv4Addr kUstackAddr = Ipv4Addr::from_u32(0x0a000001);  // 10.0.0.1
inline const Ipv4Addr kKernelAddr = Ipv4Addr::from_u32(0x0a000002);  // 10.0.0.2

// The drivers the kernel-peer suites run on in this build. "dpdk" is the
// net_pcap PMD on the veth end in namespace A (net_af_packet would not do:
// its sockets join a PACKET_FANOUT group with FLAG_DEFRAG, so the kernel
// hands it whole reassembled datagrams, cut to its ring's slot); the EAL
// starts once for the process (normal pages) and each test hot-plugs its
// own vdev.
inline std::vector<std::string> kernel_drivers() {
  std::vector<std::string> v = {"af_packet", "af_packet_v2"};
#ifdef USTACK_HAVE_URING
  v.insert(v.end(), {"uring_tap", "uring_tap_vnet"});
#endif
#ifdef USTACK_HAVE_DPDK
  v.push_back("dpdk");
#endif
  return v;
}

class KernelHost {
 public:
  // True for the drivers that bring their own link into namespace B (a
  // TAP): their pair is made with Options::veth = false.
  static bool makes_own_link(const std::string& driver) {
    return driver.rfind("uring_tap", 0) == 0;
  }

  // Opens `driver` on side A of `pair` and builds a stack with 10.0.0.1/24.
  // "uring_tap" instead creates the TAP if_b() inside namespace B with the
  // kernel side at 10.0.0.2/24 ("uring_tap_vnet": with virtio-net headers).
  // With `impair`, the port loses frames both ways (ImpairPort).
  // With `ip6`, IPv6 runs too, with that address (and the link-local one).
  static std::unique_ptr<KernelHost> open(const NetnsPair& pair, const std::string& driver,
                                          std::string* error, const ImpairConfig* impair = nullptr,
                                          const Ipv6Cidr* ip6 = nullptr) {
    std::unique_ptr<KernelHost> h(new KernelHost());
    h->pool_ = make_pool(16384, 2048, "kernel-host");
    PortSpec spec;
    spec.driver = driver;
    if (driver == "af_packet_v2") {  // af_packet on a TPACKET_V2 ring
      spec.driver = "af_packet";
      spec.af_packet_ring = 2;
    }
    spec.iface = pair.if_a();
    spec.rx_pools = {h->pool_.get()};
    // The EAL arguments must match between ports of a process; only the
    // --vdev differs.
    const std::string eal = "--no-huge --no-shconf -m 512 --no-pci --log-level=*:warning ";
    if (driver == "dpdk") {
      spec.dpdk_args = eal + "--vdev=net_pcap0,rx_iface_in=" + pair.if_a() +
                       ",tx_iface=" + pair.if_a() + ",phy_mac=1";
    }
    if (driver == "dpdk_af_packet") {  // fine for TCP within the MTU (see kernel_drivers())
      spec.driver = "dpdk";
      spec.dpdk_args = eal + "--vdev=net_af_packet0,iface=" + pair.if_a() + ",qdisc_bypass=1";
    }
    const auto open = [&] { h->port_ = open_port(spec, h->clock_, error); };
    if (makes_own_link(driver)) {
      spec.driver = "uring_tap";
      spec.vnet_hdr = driver == "uring_tap_vnet";
      spec.iface = pair.if_b();
      spec.kernel_cidr = kKernelAddr.to_string() + "/24";
      if (!pair.run_in_b(open) || !h->port_) return nullptr;
      // As on the veth: the kernel's frames stay within the MTU. With
      // virtio-net headers the TCP/UDP checksums stay offloaded to us.
      std::string out;
      const std::string tx = spec.vnet_hdr ? "" : " tx off";
      if (sh(pair.in_b("ethtool -K " + pair.if_b() + " tso off gso off gro off" + tx), &out) != 0) {
        *error = "ethtool on the TAP failed: " + out;
        return nullptr;
      }
    } else if (!pair.run_in_a(open) || !h->port_) {
      return nullptr;
    }
    if (impair != nullptr) {
      auto wrapped = std::make_shared<ImpairPort>(std::move(h->port_), *impair);
      h->impair_ = wrapped.get();
      h->port_ = std::move(wrapped);
    }
    h->worker_ = std::make_unique<Worker>(WorkerConfig{}, h->clock_);
    TxBatch& tx = h->worker_->add_queue(*h->port_, 0);
    h->worker_->add_pool(*h->pool_);
    StackConfig sc;
    sc.netif.mac = h->port_->mac();
    sc.netif.addrs = {Ipv4Cidr{kUstackAddr, 24}};
    sc.netif.mtu = h->port_->mtu();
    if (ip6 != nullptr) sc.netif.addrs6 = {*ip6};
    h->stack_ = std::make_unique<Stack>(sc, *h->pool_, h->worker_->timers(), h->worker_->counters(),
                                        tx, h->clock_.now());
    h->worker_->set_handler(*h->stack_);
    h->stack_->start(h->clock_.now());
    return h;
  }

  ~KernelHost() {
    stack_.reset();
    worker_.reset();  // flushes its transmit batches into the port
    port_.reset();    // uring_tap: gives back the buffers its reads hold
    EXPECT_EQ(pool_->in_use(), 0u) << "mbufs leaked (or still pointing into the ring)";
  }

  // Polls until done() or `timeout` passes; returns done().
  bool poll_until(const std::function<bool()>& done, Duration timeout) {
    const Instant end = clock_.now() + timeout;
    while (!done()) {
      if (clock_.now() > end) return false;
      worker_->run_once(clock_.now());
    }
    return true;
  }

  // Runs `cmd` on a thread while this thread polls the stack; returns its
  // exit status (-1 if it did not finish within `timeout`).
  int run_while_polling(const std::string& cmd, Duration timeout, std::string* out = nullptr) {
    std::atomic<bool> done{false};
    int rc = -1;
    std::string text;
    std::thread t([&] {
      rc = sh(cmd, &text);
      done.store(true);
    });
    poll_until([&] { return done.load(); }, timeout);
    t.join();  // commands carry their own time limits
    if (out != nullptr) *out = text;
    return rc;
  }

  Stack& stack() { return *stack_; }
  Port& port() { return *port_; }
  ImpairPort* impair() { return impair_; }
  std::uint64_t counter(const char* name) { return worker_->counters().value(name); }
  void sync() { stack_->set_now(clock_.now()); }
  Instant now() const { return clock_.now(); }

 private:
  KernelHost() = default;
  TscClock clock_;
  std::unique_ptr<MbufPool> pool_;
  std::shared_ptr<Port> port_;
  ImpairPort* impair_ = nullptr;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<Stack> stack_;
};

// Connects `client` to (to, port) on a server that may still be starting:
// a refusal is retried with a fresh client from `make()`, at most 50 times
// 100 ms apart. True when connected; *error says why not.
template <typename Client, typename Make>
bool connect_when_listening(KernelHost& h, const IpAddr& to, std::uint16_t port, Client& client,
                            Make&& make, std::string* error) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    client = make();
    h.sync();
    if (h.stack().tcp().connect(to, port, client, error) == nullptr) return false;
    h.poll_until([&] { return client.connected || client.closed; }, std::chrono::seconds(5));
    if (client.connected) return true;
    h.poll_until([] { return false; }, std::chrono::milliseconds(100));
  }
  *error = "never accepted";
  return false;
}

// A NetnsPair and a KernelHost on the driver named by the test parameter,
// made before each test and removed after it.
class KernelPeerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    if (!can_make_namespaces(&why)) GTEST_SKIP() << why;
    NetnsPair::Options o;
    o.veth = !KernelHost::makes_own_link(GetParam());
    pair_ = NetnsPair::create(o, &why);
    ASSERT_NE(pair_, nullptr) << why;
    host_ = KernelHost::open(*pair_, GetParam(), &why);
    ASSERT_NE(host_, nullptr) << why;
  }
  void TearDown() override {
    host_.reset();
    pair_.reset();
  }
  std::unique_ptr<NetnsPair> pair_;
  std::unique_ptr<KernelHost> host_;
};

}  // namespace ustack::testing
