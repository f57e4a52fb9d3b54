// Stack: the protocols of one core on one port queue, run to completion.
//
// A received burst goes frame by frame through Ethernet, ARP or IPv4 and on
// to ICMP, UDP (and TCP), into the application's callbacks; replies are
// queued on the worker's transmit batch in the same pass. Nothing here is
// shared with another core. The stack reads no clock: the worker passes
// `now` in with every burst and poll.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/counters.h"
#include "core/instant.h"
#include "core/mbuf_pool.h"
#include "core/port.h"
#include "core/ring.h"
#include "core/timer_wheel.h"
#include "core/tx_batch.h"
#include "core/worker.h"
#include "proto/arp.h"
#include "proto/arp_cache.h"
#include "proto/ethernet.h"
#include "proto/flow_steer.h"
#include "proto/icmp.h"
#include "proto/icmpv6.h"
#include "proto/ipv4.h"
#include "proto/ipv4_reassembly.h"
#include "proto/ipv6.h"
#include "proto/nd.h"
#include "proto/netif.h"
#include "proto/tcp/tcp.h"
#include "proto/udp.h"

namespace ustack {

struct StackConfig {
  NetifConfig netif;
  ArpConfig arp;
  ReassemblyConfig reassembly;
  IcmpConfig icmp;
  UdpConfig udp;
  TcpConfig tcp;
  Ipv6Config ipv6;                // used when netif.ipv6_enabled()
  std::uint8_t default_ttl = 64;  // also the IPv6 hop limit
  // Seeds the IP ID start, ephemeral port choice and rate-limit jitter.
  // 0 draws one from the system at construction.
  std::uint64_t seed = 0;
};

// Application work that runs on the stack's core once per loop iteration
// (starting connections, timing, generating load), after received frames.
class StackApp {
 public:
  virtual ~StackApp() = default;
  virtual void poll(Instant now) = 0;
};

class Stack final : public PacketHandler {
 public:
  // `tx` is the worker's transmit batch for the queue this stack serves.
  Stack(const StackConfig& cfg, MbufPool& pool, TimerWheel& timers, CounterSet& counters,
        TxBatch& tx, Instant now);
  ~Stack() override;
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // Announces the interface's addresses (gratuitous ARP) when configured
  // to, and starts IPv6 duplicate address detection.
  void start(Instant now);

  // PacketHandler
  void on_rx(Worker& worker, std::size_t rxq, Mbuf** pkts, std::uint16_t n, Instant now) override;
  void on_poll(Worker& worker, Instant now) override;

  // Frame input without a worker (tests, tools). Takes ownership.
  void input(Mbuf* frame, Instant now);
  // Sets the time for calls made between bursts (sends from the app).
  void set_now(Instant now) { now_ = now; }
  // Runs `app` on every loop iteration (nullptr: none).
  void set_app(StackApp* app) { app_ = app; }

  // Multi-core (proto/flow_steer.h): this stack is core `steer->self()`.
  // Received frames of flows another core owns go to to[owner]; frames the
  // others hand over come from `from` (polled once per iteration). Core 0
  // receives ARP and IPv6 neighbor discovery (proto/flow_steer.h) and hands
  // each other core a copy to learn from; only core 0 answers
  // (ArpConfig::reply_requests, Ipv6Config::answer_solicitations).
  // Setup only, before traffic; the rings and `steer` outlive the stack.
  struct CoreLinks {
    const FlowSteer* steer = nullptr;
    std::vector<SpscRing<Mbuf*>*> to;    // by core; to[self] unused
    std::vector<SpscRing<Mbuf*>*> from;  // every ring into this core
  };
  void set_core_links(CoreLinks links);
  const FlowSteer* steer() const { return links_.steer; }

  const StackConfig& config() const { return cfg_; }
  MbufPool& pool() { return pool_; }
  TimerWheel& timers() { return timers_; }
  CounterSet& counters() { return counters_; }
  TxBatch& tx() { return tx_; }
  const PortCapabilities& caps() const { return caps_; }
  Instant now() const { return now_; }

  EthernetLayer& ethernet() { return *ethernet_; }
  ArpLayer& arp() { return *arp_; }
  Ipv4Layer& ipv4() { return *ipv4_; }
  IcmpLayer& icmp() { return *icmp_; }
  UdpLayer& udp() { return *udp_; }
  TcpLayer& tcp() { return *tcp_; }
  Ipv6Layer& ipv6() { return *ipv6_; }
  Icmpv6Layer& icmpv6() { return *icmpv6_; }
  NdLayer& nd() { return *nd_; }
  bool ipv6_enabled() const { return cfg_.netif.ipv6_enabled(); }

  // For the transports, which keep one code path for both families: sends
  // `m` (transport header and data) from `src` to `dst` by the family of
  // the addresses (takes ownership), and the source address for `dst`
  // (unspecified when there is none: no IPv6, or DAD still running).
  SendResult ip_output(Mbuf* m, const IpAddr& src, const IpAddr& dst, std::uint8_t protocol);
  IpAddr source_for(const IpAddr& dst) const;
  // The IP header a segment of `a`'s family carries (no options or
  // extension headers): what the MSS leaves out of the MTU (RFC 9293
  // §3.7.1; RFC 8200 §8.3).
  static constexpr std::uint32_t ip_header_len(const IpAddr& a) { return a.is_v6() ? 40 : 20; }
  // The link MTU for `a`'s family: IPv6's may have been set by a router
  // (RFC 4861 §6.3.4).
  std::uint32_t link_mtu(const IpAddr& a) const {
    return a.is_v6() && ipv6_enabled() ? ipv6_->link_mtu() : cfg_.netif.mtu;
  }

 private:
  StackConfig cfg_;
  MbufPool& pool_;
  TimerWheel& timers_;
  CounterSet& counters_;
  TxBatch& tx_;
  PortCapabilities caps_;
  Instant now_;
  StackApp* app_ = nullptr;
  CoreLinks links_;
  Counter* c_redirected_ = nullptr;
  Counter* c_handed_in_ = nullptr;
  Counter* c_ring_full_ = nullptr;
  Counter* c_arp_copies_ = nullptr;
  Counter* c_nd_copies_ = nullptr;
  void steer_input(Mbuf* m);
  void share_neighbor_frame(const Mbuf& m);
  void share_copies(const Mbuf& m, Counter* copies);
  void poll_inbound();
  std::unique_ptr<EthernetLayer> ethernet_;
  std::unique_ptr<ArpLayer> arp_;
  std::unique_ptr<Ipv4Layer> ipv4_;
  std::unique_ptr<IcmpLayer> icmp_;
  std::unique_ptr<UdpLayer> udp_;
  std::unique_ptr<TcpLayer> tcp_;
  std::unique_ptr<Ipv6Layer> ipv6_;
  std::unique_ptr<Icmpv6Layer> icmpv6_;
  std::unique_ptr<NdLayer> nd_;
};

}  // namespace ustack
