#include "apps/host.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "core/log.h"

namespace ustack::app {

std::atomic<bool> g_interrupted{false};

namespace {

void on_signal(int) {
  g_interrupted.store(true);
}

// The IPv4 address and prefix the kernel has on `iface`.
std::optional<Ipv4Cidr> kernel_address(const std::string& iface) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return std::nullopt;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  std::optional<Ipv4Cidr> out;
  if (ioctl(fd, SIOCGIFADDR, &ifr) == 0) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ifr.ifr_addr);
    Ipv4Cidr c;
    c.addr = Ipv4Addr::from_u32(ntohl(sin->sin_addr.s_addr));
    c.prefix_len = 32;
    if (ioctl(fd, SIOCGIFNETMASK, &ifr) == 0) {
      const auto* m = reinterpret_cast<const sockaddr_in*>(&ifr.ifr_netmask);
      if (auto len = Ipv4Addr::from_u32(ntohl(m->sin_addr.s_addr)).mask_prefix_len())
        c.prefix_len = static_cast<std::uint8_t>(*len);
    }
    out = c;
  }
  close(fd);
  return out;
}

}  // namespace

void print_connection_summary(const std::string& peer, const std::string& what,
                              std::uint64_t received, std::uint64_t sent, Duration took,
                              TcpCloseReason reason) {
  std::printf("%s: %sreceived %llu bytes, sent %llu bytes in %.3f ms (%s)\n", peer.c_str(),
              what.c_str(), static_cast<unsigned long long>(received),
              static_cast<unsigned long long>(sent),
              std::chrono::duration<double, std::milli>(took).count(), to_string(reason));
  std::fflush(stdout);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::vector<cli::OptionSpec> host_options() {
  return {
      {"iface", {"-i", "--iface"}, true, "IFACE", "network interface to run on"},
      {"driver",
       {"--driver"},
       true,
       "NAME",
       "af_packet (default), uring_tap, dpdk (--dpdk), memlink"},
      {"ip",
       {"--ip"},
       true,
       "ADDR/PREFIX",
       "ustack's own address (default: borrow the interface's, with a warning)"},
      {"gw", {"--gw"}, true, "ADDR", "default gateway"},
      {"ip6",
       {"--ip6"},
       true,
       "ADDR/PREFIX",
       "an IPv6 address (e.g. fd00::1/64): IPv6 runs beside IPv4, with the link-local address "
       "from the MAC; both are checked by DAD first (about 1 s)"},
      {"gw6", {"--gw6"}, true, "ADDR", "default IPv6 router"},
      {"slaac",
       {"--slaac"},
       false,
       "",
       "follow IPv6 router advertisements: default routers, on-link prefixes, the MTU, and "
       "addresses formed from the routers' /64 prefixes (turns IPv6 on)"},
      {"mac", {"--mac"}, true, "MAC", "ustack's own MAC (default: the interface's)"},
      {"cores",
       {"--cores"},
       true,
       "LIST",
       "core to pin the worker to, e.g. 1 (servers: several, e.g. 0,1: a worker on each)"},
      {"ring",
       {"--ring"},
       true,
       "V",
       "af_packet ring: 2 (TPACKET_V2, low latency; default) or 3 (V3, throughput)"},
      {"dpdk", {"--dpdk"}, true, "'EAL ARGS'", "EAL arguments for --driver dpdk"},
      {"idle",
       {"--idle"},
       true,
       "POLICY",
       "spin (default: poll mode, the core stays busy) or sleep (after 256 empty loops the "
       "core sleeps in the driver until a frame comes or the next 1 ms timer tick; "
       "af_packet and uring_tap, one core)"},
      {"debug", {"-debug", "--debug"}, false, "", "trace states and drops"},
  };
}

bool read_host_options(const cli::Args& args, HostOptions* o, std::string* error,
                       const std::string& flag) {
  o->driver = args.get("driver", "af_packet");
  o->iface = args.get("iface");
  o->debug = args.has("debug");
  if (o->iface.empty()) {
    *error = "no interface given (-i IFACE)";
    return false;
  }
  if (args.has("ip")) {
    o->ip = Ipv4Cidr::parse(args.get("ip"));
    if (!o->ip) {
      *error =
          "bad address '" + args.get("ip") + "' for " + flag + "ip (expected e.g. 10.0.0.1/24)";
      return false;
    }
  }
  if (args.has("gw")) {
    auto gw = Ipv4Addr::parse(args.get("gw"));
    if (!gw) {
      *error = "bad address '" + args.get("gw") + "' for " + flag + "gw";
      return false;
    }
    o->gateway = *gw;
  }
  if (args.has("ip6")) {
    o->ip6 = Ipv6Cidr::parse(args.get("ip6"));
    if (!o->ip6 || o->ip6->addr.is_multicast() || o->ip6->addr.is_unspecified() ||
        o->ip6->addr.is_v4_mapped()) {
      *error =
          "bad address '" + args.get("ip6") + "' for " + flag + "ip6 (expected e.g. fd00::1/64)";
      return false;
    }
  }
  o->slaac = args.has("slaac");
  if (args.has("gw6")) {
    auto gw = Ipv6Addr::parse(args.get("gw6"));
    if (!gw || gw->is_multicast() || gw->is_unspecified()) {
      *error = "bad address '" + args.get("gw6") + "' for " + flag + "gw6";
      return false;
    }
    o->gateway6 = *gw;
  }
  if (args.has("mac")) {
    o->mac = MacAddr::parse(args.get("mac"));
    if (!o->mac) {
      *error = "bad MAC '" + args.get("mac") + "' for " + flag + "mac (expected aa:bb:cc:dd:ee:ff)";
      return false;
    }
  }
  if (args.has("ring")) {
    const std::string r = args.get("ring");
    if (r != "2" && r != "3") {
      *error = flag + "ring is 2 or 3, not '" + r + "'";
      return false;
    }
    o->ring = r == "3" ? 3 : 2;
  }
  o->dpdk_args = args.get("dpdk");
  if (args.has("idle")) {
    const std::string v = args.get("idle");
    if (v != "spin" && v != "sleep") {
      *error = flag + "idle is spin or sleep, not '" + v + "'";
      return false;
    }
    // One timer tick (WorkerConfig::timer_tick): timers stay on time.
    o->idle_sleep = v == "sleep" ? Duration(std::chrono::milliseconds(1)) : Duration::zero();
  }
  if (args.has("cores")) {
    std::vector<int> cores;
    if (!parse_core_list(args.get("cores"), &cores, error)) return false;
    if (cores.empty()) {
      *error = "--cores names no core";
      return false;
    }
    o->core = cores[0];
    o->cores = cores;
  }
  return true;
}

bool host_address(const HostOptions& o, Ipv4Cidr* out, std::string* error) {
  if (o.ip) {
    *out = *o.ip;
  } else if (auto k = kernel_address(o.iface)) {
    *out = *k;
    log(LogLevel::kWarn,
        "borrowing %s from %s: the kernel will answer on it too unless filtered "
        "(e.g. iptables -A INPUT -i %s -p tcp -j DROP), or give ustack its own with --ip",
        out->to_string().c_str(), o.iface.c_str(), o.iface.c_str());
  } else {
    *error = "no --ip given and " + o.iface + " has no IPv4 address to borrow";
    return false;
  }
  return true;
}

std::unique_ptr<AppHost> AppHost::open(const HostOptions& o, std::string* error) {
  if (o.cores.size() > 1) {
    *error = "this command runs one worker: give one core with --cores";
    return nullptr;
  }
  std::unique_ptr<AppHost> h(new AppHost());
  h->topology_ = Topology::load(error);
  if (!h->topology_) return nullptr;
  if (o.core >= 0 && !h->topology_->check_cores({o.core}, error)) return nullptr;
  MbufPoolConfig pc;
  pc.name = "app";
  pc.capacity = 32768;
  h->pool_ = MbufPool::create(pc, error);
  if (!h->pool_) return nullptr;
  PortSpec spec;
  spec.driver = o.driver;
  spec.iface = o.iface;
  spec.rx_pools = {h->pool_.get()};
  spec.af_packet_ring = o.ring;
  spec.dpdk_args = o.dpdk_args;
  h->port_ = open_port(spec, h->clock_, error);
  if (!h->port_ || !host_address(o, &h->address_, error)) return nullptr;
  if (o.core >= 0) {
    if (!h->topology_->pin_current_thread(o.core, error)) return nullptr;
  }
  WorkerConfig wc;
  wc.name = "worker";
  wc.idle_sleep = o.idle_sleep;
  h->worker_ = std::make_unique<Worker>(wc, h->clock_);
  TxBatch& tx = h->worker_->add_queue(*h->port_, 0);
  h->worker_->add_pool(*h->pool_);
  StackConfig sc;
  sc.netif.mac = o.mac ? *o.mac : h->port_->mac();
  sc.netif.addrs = {h->address_};
  sc.netif.gateway = o.gateway;
  sc.netif.mtu = h->port_->mtu();
  if (o.ip6) sc.netif.addrs6 = {*o.ip6};
  sc.netif.gateway6 = o.gateway6;
  sc.netif.slaac = o.slaac;
  h->stack_ = std::make_unique<Stack>(sc, *h->pool_, h->worker_->timers(), h->worker_->counters(),
                                      tx, h->clock_.now());
  h->worker_->set_handler(*h->stack_);
  h->stack_->start(h->clock_.now());
  return h;
}

void AppHost::wait_for_ipv6() {
  if (!stack_->ipv6_enabled()) return;
  // The addresses are tentative until DAD is through (RFC 4862 §5.4): one
  // solicitation each and RetransTimer (1 s) of silence.
  const StackConfig& sc = stack_->config();
  const Duration dad = sc.ipv6.neighbors.retrans_timer * (sc.ipv6.dad_transmits + 1);
  run_until([&] { return !stack_->nd().dad().running(); }, dad);
  for (const Ipv6LocalAddr& a : stack_->ipv6().addrs()) {
    if (a.state == Ipv6AddrState::kDuplicate)
      log(LogLevel::kWarn, "%s is in use on the link (duplicate address detection): not used",
          a.addr.to_string().c_str());
  }
}

AppHost::~AppHost() {
  stack_.reset();
  worker_.reset();
  port_.reset();
}

bool AppHost::run_until(const std::function<bool()>& done, Duration timeout) {
  const Instant end = clock_.now() + timeout;
  while (!done()) {
    if (g_interrupted.load(std::memory_order_relaxed) || clock_.now() > end) return false;
    worker_->step();
  }
  return true;
}

void AppHost::drain(Duration d) {
  const Instant end = clock_.now() + d;
  while (clock_.now() < end) worker_->step();
}

std::string AppHost::drop_report() {
  std::string out;
  worker_->counters().for_each([&](const std::string& name, std::uint64_t v) {
    if (v != 0 && name.find(".drop.") != std::string::npos)
      out += "  " + name + "=" + std::to_string(v) + "\n";
  });
  return out;
}

}  // namespace ustack::app
