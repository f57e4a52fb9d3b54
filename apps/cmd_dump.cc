// ustack dump: every frame on an interface, one line each (tcpdump -n
// style), optionally written to a pcap file, with a simple filter.
#include <time.h>

#include <cstdio>
#include <vector>

#include "apps/commands.h"
#include "apps/decode.h"
#include "apps/host.h"
#include "apps/pcap_writer.h"

namespace ustack::app {

int cmd_dump(const Argv& argv) {
  const std::vector<cli::OptionSpec> specs = {
      {"iface", {"-i", "--iface"}, true, "IFACE", "network interface to listen on"},
      {"driver", {"--driver"}, true, "NAME", "af_packet (default), uring_tap, dpdk"},
      {"ring", {"--ring"}, true, "V", "af_packet ring: 2 (default) or 3"},
      {"write", {"-w", "--write"}, true, "FILE", "also write the frames to a pcap file"},
      {"count", {"-c", "--count"}, true, "N", "stop after N frames (default: Ctrl-C)"},
      {"proto", {"--proto"}, true, "P", "only arp, icmp, icmp6, udp or tcp"},
      {"host", {"--host"}, true, "ADDR", "only frames from or to ADDR (IPv4 or IPv6)"},
      {"port", {"--port"}, true, "PORT", "only UDP/TCP frames from or to PORT"},
      {"quiet", {"-q", "--quiet"}, false, "", "no per-frame lines (with -w)"},
      {"help", {"-h", "--help"}, false, "", "this help"},
  };
  cli::Args args;
  if (const int rc = cli::parse_command("dump", "-i IFACE [-w FILE] [-c N] [filter options]", specs,
                                        argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  unsigned long long count = 0, port = 0;
  if (!args.get_uint("count", 1, 1ull << 40, &count, &err) ||
      !args.get_uint("port", 1, 65535, &port, &err)) {
    std::fprintf(stderr, "ustack dump: %s\n", err.c_str());
    return kExitUsage;
  }
  const std::string iface = args.get("iface");
  if (iface.empty()) {
    std::fprintf(stderr, "ustack dump: no interface given (-i IFACE)\n");
    return kExitUsage;
  }
  const std::string proto = args.get("proto");
  FrameFacts::Kind want = FrameFacts::Kind::kOther;
  if (proto == "arp") {
    want = FrameFacts::Kind::kArp;
  } else if (proto == "icmp") {
    want = FrameFacts::Kind::kIcmp;
  } else if (proto == "icmp6") {
    want = FrameFacts::Kind::kIcmp6;
  } else if (proto == "udp") {
    want = FrameFacts::Kind::kUdp;
  } else if (proto == "tcp") {
    want = FrameFacts::Kind::kTcp;
  } else if (!proto.empty()) {
    std::fprintf(stderr, "ustack dump: --proto is arp, icmp, icmp6, udp or tcp, not '%s'\n",
                 proto.c_str());
    return kExitUsage;
  }
  std::optional<IpAddr> host;
  if (args.has("host")) {
    host = IpAddr::parse(args.get("host"));
    if (!host) {
      std::fprintf(stderr, "ustack dump: bad address '%s' for --host\n", args.get("host").c_str());
      return kExitUsage;
    }
  }
  PcapWriter pcap;
  if (args.has("write") && !pcap.open(args.get("write"), &err)) {
    std::fprintf(stderr, "ustack dump: %s\n", err.c_str());
    return kExitUsage;
  }
  MbufPoolConfig pc;
  pc.name = "dump";
  pc.capacity = 8192;
  auto pool = MbufPool::create(pc, &err);
  if (!pool) {
    std::fprintf(stderr, "ustack dump: %s\n", err.c_str());
    return kExitUsage;
  }
  TscClock clock;
  PortSpec spec;
  spec.driver = args.get("driver", "af_packet");
  spec.iface = iface;
  spec.rx_pools = {pool.get()};
  spec.promiscuous = true;
  spec.capture_outgoing = true;
  spec.af_packet_ring = args.get("ring", "2") == "3" ? 3 : 2;
  auto port_p = open_port(spec, clock, &err);
  if (!port_p) {
    std::fprintf(stderr, "ustack dump: %s\n", err.c_str());
    return kExitUsage;
  }
  install_signal_handlers();
  const bool quiet = args.has("quiet");
  std::uint64_t seen = 0, shown = 0;
  Mbuf* burst[32];
  while (!g_interrupted.load() && (count == 0 || shown < count)) {
    const std::uint16_t n = port_p->rx_burst(0, burst, 32);
    if (n == 0) continue;
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);  // once per burst
    const std::int64_t unix_ns = std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
    for (std::uint16_t i = 0; i < n; ++i) {
      Mbuf* m = burst[i];
      ++seen;
      FrameFacts f;
      const std::string line = decode_frame(*m, &f);
      bool keep = count == 0 || shown < count;
      if (want != FrameFacts::Kind::kOther && f.kind != want) keep = false;
      if (host && !(f.src == *host || f.dst == *host)) keep = false;
      if (port != 0 && f.sport != port && f.dport != port) keep = false;
      if (keep) {
        ++shown;
        if (!quiet) {
          tm lt{};
          localtime_r(&ts.tv_sec, &lt);
          std::printf("%02d:%02d:%02d.%06ld %s\n", lt.tm_hour, lt.tm_min, lt.tm_sec,
                      ts.tv_nsec / 1000, line.c_str());
        }
        if (pcap.is_open()) pcap.write(*m, unix_ns);
      }
      mbuf_free(m);
    }
    std::fflush(stdout);
  }
  std::fprintf(stderr, "%llu frames seen, %llu shown\n", static_cast<unsigned long long>(seen),
               static_cast<unsigned long long>(shown));
  return kExitOk;
}

}  // namespace ustack::app
