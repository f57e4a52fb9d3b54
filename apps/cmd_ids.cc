// ustack ids: watches an interface and prints one line per new flow (the
// seed printed a tuple per frame), and flags what looks wrong: malformed
// frames, SYN floods, port scans, ARP replies that give an address a new MAC.
// IPv4 and IPv6 flows are one kind of thing (apps/decode.h gives both as
// IpAddr); an IPv6 address is printed in brackets before its port (RFC 5952 §6).
#include <time.h>

#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "apps/commands.h"
#include "apps/decode.h"
#include "apps/host.h"
#include "proto/wire/arp.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/tcp.h"

namespace ustack::app {
namespace {

struct Thresholds {
  std::uint32_t syn_per_window = 200;   // SYNs to one destination, unanswered
  std::uint32_t ports_per_window = 30;  // distinct ports one source tries
  std::int64_t window_ns = 1'000'000'000;
};

class Ids {
 public:
  explicit Ids(Thresholds t) : t_(t) {}

  // Looks at one frame at time `ns`; prints what is new or wrong.
  void frame(const Mbuf& m, std::int64_t ns) {
    FrameFacts f;
    const std::string line = decode_frame(m, &f);
    ++frames_;
    if (line.find("malformed") != std::string::npos ||
        line.find("truncated") != std::string::npos) {
      ++anomalies_;
      std::printf("ALERT malformed: %s\n", line.c_str());
    }
    if (f.kind == FrameFacts::Kind::kArp) return arp(m);
    if (!f.has_ip) return;
    const auto key = std::make_tuple(static_cast<int>(f.kind), f.src, f.sport, f.dst, f.dport);
    if (flows_.insert(key).second) {
      std::printf("flow %s %s:%u > %s:%u\n", kind_name(f.kind), bracketed(f.src).c_str(), f.sport,
                  bracketed(f.dst).c_str(), f.dport);
    }
    if (f.kind == FrameFacts::Kind::kTcp) tcp(f, ns);
  }

  std::uint64_t frames() const { return frames_; }
  std::uint64_t anomalies() const { return anomalies_; }
  std::size_t flows() const { return flows_.size(); }

 private:
  static const char* kind_name(FrameFacts::Kind k) {
    switch (k) {
      case FrameFacts::Kind::kTcp:
        return "tcp";
      case FrameFacts::Kind::kUdp:
        return "udp";
      case FrameFacts::Kind::kIcmp:
        return "icmp";
      case FrameFacts::Kind::kIcmp6:
        return "icmp6";
      default:
        return "ip";
    }
  }

  // "10.0.0.1" or "[fd00::1]", ready for ":port" (RFC 5952 §6).
  static std::string bracketed(const IpAddr& a) {
    return a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  }

  void arp(const Mbuf& m) {
    const auto eth = wire::EthernetView::parse(m.span());
    const auto a = eth ? wire::ArpView::parse(eth->payload()) : std::nullopt;
    if (!a || a->sender_ip().is_unspecified()) return;
    const std::uint32_t ip = a->sender_ip().to_u32();
    const MacAddr mac = a->sender_mac();
    auto [it, fresh] = arp_.emplace(ip, mac);
    if (!fresh && it->second != mac) {
      ++anomalies_;
      std::printf("ALERT arp conflict: %s moved from %s to %s\n",
                  a->sender_ip().to_string().c_str(), it->second.to_string().c_str(),
                  mac.to_string().c_str());
      it->second = mac;
    }
  }

  void tcp(const FrameFacts& f, std::int64_t ns) {
    if (!(f.tcp_flags & wire::kTcpSyn) || (f.tcp_flags & wire::kTcpAck)) return;
    // A SYN without ACK opens something: count per destination and per source.
    Window& d = syn_by_dst_[f.dst];
    roll(d, ns);
    if (++d.count == t_.syn_per_window) {
      ++anomalies_;
      std::printf("ALERT syn flood: %u SYNs to %s within %.1f s\n", d.count,
                  f.dst.to_string().c_str(), static_cast<double>(t_.window_ns) / 1e9);
    }
    Scan& s = scans_[f.src];
    if (ns - s.start > t_.window_ns) {
      s.start = ns;
      s.ports.clear();
      s.reported = false;
    }
    s.ports.insert(f.dport);
    if (!s.reported && s.ports.size() >= t_.ports_per_window) {
      s.reported = true;
      ++anomalies_;
      std::printf("ALERT port scan: %s tried %zu ports of %s within %.1f s\n",
                  f.src.to_string().c_str(), s.ports.size(), f.dst.to_string().c_str(),
                  static_cast<double>(t_.window_ns) / 1e9);
    }
  }

  struct Window {
    std::int64_t start = 0;
    std::uint32_t count = 0;
  };
  struct Scan {
    std::int64_t start = 0;
    std::set<std::uint16_t> ports;
    bool reported = false;
  };
  void roll(Window& w, std::int64_t ns) const {
    if (ns - w.start > t_.window_ns) {
      w.start = ns;
      w.count = 0;
    }
  }

  Thresholds t_;
  std::uint64_t frames_ = 0, anomalies_ = 0;
  std::set<std::tuple<int, IpAddr, std::uint16_t, IpAddr, std::uint16_t>> flows_;
  std::map<std::uint32_t, MacAddr> arp_;
  std::map<IpAddr, Window> syn_by_dst_;
  std::map<IpAddr, Scan> scans_;
};

}  // namespace

int cmd_ids(const Argv& argv) {
  const std::vector<cli::OptionSpec> specs = {
      {"iface", {"-i", "--iface"}, true, "IFACE", "network interface to watch"},
      {"driver", {"--driver"}, true, "NAME", "af_packet (default), uring_tap, dpdk"},
      {"count", {"-c", "--count"}, true, "N", "stop after N frames (default: Ctrl-C)"},
      {"seconds", {"--seconds"}, true, "S", "stop after S seconds"},
      {"syn",
       {"--syn-threshold"},
       true,
       "N",
       "SYNs to one host per second that mean a flood (200)"},
      {"scan",
       {"--scan-threshold"},
       true,
       "N",
       "ports one source tries per second that mean a scan (30)"},
      {"help", {"-h", "--help"}, false, "", "this help"},
  };
  cli::Args args;
  if (const int rc = cli::parse_command("ids", "-i IFACE [options]", specs, argv, &args); rc >= 0)
    return rc;
  std::string err;
  unsigned long long count = 0, syn = 200, scan = 30;
  double seconds = 0;
  if (!args.get_uint("count", 1, 1ull << 40, &count, &err) ||
      !args.get_uint("syn", 1, 1u << 30, &syn, &err) ||
      !args.get_uint("scan", 2, 65536, &scan, &err) ||
      !args.get_double("seconds", 0.001, 1e9, &seconds, &err)) {
    std::fprintf(stderr, "ustack ids: %s\n", err.c_str());
    return kExitUsage;
  }
  if (args.get("iface").empty()) {
    std::fprintf(stderr, "ustack ids: no interface given (-i IFACE)\n");
    return kExitUsage;
  }
  MbufPoolConfig pc;
  pc.name = "ids";
  pc.capacity = 8192;
  auto pool = MbufPool::create(pc, &err);
  TscClock clock;
  PortSpec spec;
  spec.driver = args.get("driver", "af_packet");
  spec.iface = args.get("iface");
  spec.rx_pools = {pool.get()};
  spec.promiscuous = true;
  spec.capture_outgoing = true;
  spec.af_packet_ring = 2;
  auto port = pool ? open_port(spec, clock, &err) : nullptr;
  if (!port) {
    std::fprintf(stderr, "ustack ids: %s\n", err.c_str());
    return kExitUsage;
  }
  install_signal_handlers();
  Thresholds t;
  t.syn_per_window = static_cast<std::uint32_t>(syn);
  t.ports_per_window = static_cast<std::uint32_t>(scan);
  Ids ids(t);
  const Instant end = clock.now() + std::chrono::duration_cast<Duration>(
                                        std::chrono::duration<double>(seconds > 0 ? seconds : 1e9));
  Mbuf* burst[32];
  while (!g_interrupted.load() && (count == 0 || ids.frames() < count) && clock.now() < end) {
    const std::uint16_t n = port->rx_burst(0, burst, 32);
    if (n == 0) continue;
    const std::int64_t ns = ns_of(clock.now());
    for (std::uint16_t i = 0; i < n; ++i) {
      ids.frame(*burst[i], ns);
      mbuf_free(burst[i]);
    }
    std::fflush(stdout);
  }
  std::printf("ids: %llu frames, %zu flows, %llu alerts\n",
              static_cast<unsigned long long>(ids.frames()), ids.flows(),
              static_cast<unsigned long long>(ids.anomalies()));
  return kExitOk;
}

}  // namespace ustack::app
