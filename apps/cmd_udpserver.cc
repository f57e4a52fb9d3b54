// ustack udpserver: a UDP port that echoes, discards or sinks (counts and
// reports a rate every second) what any number of peers send; one line per
// peer and the totals on Ctrl-C.
#include <cstdio>
#include <map>
#include <utility>

#include "apps/commands.h"
#include "apps/host.h"

namespace ustack::app {
namespace {

enum class Mode { kEcho, kDiscard, kSink };

struct PeerTotals {
  IpAddr addr;
  std::uint16_t port = 0;
  std::uint64_t datagrams = 0, bytes = 0;
};

// Peers are remembered up to this many; the rest count in the totals only,
// so a flood of spoofed sources cannot grow the table without end.
constexpr std::size_t kMaxPeers = 4096;

class Server : public UdpHandler {
 public:
  explicit Server(Mode mode) : mode_(mode) {}

  void on_datagram(UdpSocket& s, UdpDatagram& d) override {
    const std::uint32_t len = d.payload->pkt_len;
    ++datagrams;
    bytes += len;
    const std::pair<IpAddr, std::uint16_t> key{d.src, d.src_port};  // either family
    auto it = peers_.find(key);
    if (it == peers_.end() && peers_.size() < kMaxPeers)
      it = peers_.emplace(key, PeerTotals{d.src, d.src_port, 0, 0}).first;
    if (it != peers_.end()) {
      ++it->second.datagrams;
      it->second.bytes += len;
    } else {
      ++unlisted;
    }
    if (mode_ != Mode::kEcho) return mbuf_free(d.payload);
    // The received chain goes back as it is: zero copy.
    if (s.send_to(d.src, d.src_port, d.payload) == SendResult::kOk) {
      ++echoed;
      echoed_bytes += len;
    } else {
      ++send_failures;
    }
  }

  const std::map<std::pair<IpAddr, std::uint16_t>, PeerTotals>& peers() const { return peers_; }

  std::uint64_t datagrams = 0, bytes = 0, echoed = 0, echoed_bytes = 0, send_failures = 0,
                unlisted = 0;

 private:
  Mode mode_;
  std::map<std::pair<IpAddr, std::uint16_t>, PeerTotals> peers_;
};

}  // namespace

int cmd_udpserver(const Argv& argv) {
  std::vector<cli::OptionSpec> specs = host_options();
  specs.push_back({"port", {"-port", "--port", "-p"}, true, "PORT", "UDP port (default 7)"});
  specs.push_back({"mode", {"--mode"}, true, "MODE", "echo (default), discard, sink"});
  specs.push_back(
      {"count", {"--count"}, true, "N", "exit after N datagrams (default: run until Ctrl-C)"});
  specs.push_back({"help", {"-h", "--help"}, false, "", "this help"});
  cli::Args args;
  if (const int rc =
          cli::parse_command("udpserver", "-i IFACE [-port PORT] [options]", specs, argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  HostOptions ho;
  unsigned long long port = 7, count = 0;
  if (!read_host_options(args, &ho, &err) || !args.get_uint("port", 1, 65535, &port, &err) ||
      !args.get_uint("count", 1, 1ull << 62, &count, &err)) {
    std::fprintf(stderr, "ustack udpserver: %s\n", err.c_str());
    return kExitUsage;
  }
  const std::string mode_s = args.get("mode", "echo");
  Mode mode = Mode::kEcho;
  if (mode_s == "discard") {
    mode = Mode::kDiscard;
  } else if (mode_s == "sink") {
    mode = Mode::kSink;
  } else if (mode_s != "echo") {
    std::fprintf(stderr, "ustack udpserver: --mode is echo, discard or sink, not '%s'\n",
                 mode_s.c_str());
    return kExitUsage;
  }
  install_signal_handlers();
  auto host = AppHost::open(ho, &err);
  if (!host) {
    std::fprintf(stderr, "ustack udpserver: %s\n", err.c_str());
    return kExitUsage;
  }
  Server server(mode);
  UdpSocket* sock = host->stack().udp().open(server, static_cast<std::uint16_t>(port), &err);
  if (sock == nullptr) {
    std::fprintf(stderr, "ustack udpserver: %s\n", err.c_str());
    return kExitFailure;
  }
  std::printf("udpserver: %s on %s:%llu\n", mode_s.c_str(),
              host->address().addr.to_string().c_str(), port);
  std::fflush(stdout);
  const Instant start = host->now();
  Instant next_report = start + std::chrono::seconds(1);
  std::uint64_t last_datagrams = 0, last_bytes = 0;
  // Runs until Ctrl-C (or --count datagrams); sink reports each second.
  host->run_until(
      [&] {
        if (mode == Mode::kSink && host->now() >= next_report) {
          next_report += std::chrono::seconds(1);
          std::printf("  %llu datagrams/s, %.3f Mbps\n",
                      static_cast<unsigned long long>(server.datagrams - last_datagrams),
                      static_cast<double>(server.bytes - last_bytes) * 8 / 1e6);
          std::fflush(stdout);
          last_datagrams = server.datagrams;
          last_bytes = server.bytes;
        }
        return count != 0 && server.datagrams >= count;
      },
      std::chrono::hours(24 * 365));
  // Let the last echoes leave.
  host->drain(std::chrono::milliseconds(20));
  const double secs = std::chrono::duration<double>(host->now() - start).count();
  for (const auto& [key, p] : server.peers())
    std::printf("%s: %llu datagrams, %llu bytes\n", peer_string(p.addr, p.port).c_str(),
                static_cast<unsigned long long>(p.datagrams),
                static_cast<unsigned long long>(p.bytes));
  std::printf(
      "udpserver: %llu datagrams, %llu bytes from %zu peers%s in %.3f s; echoed %llu datagrams, "
      "%llu bytes; %llu send failures\n",
      static_cast<unsigned long long>(server.datagrams),
      static_cast<unsigned long long>(server.bytes), server.peers().size(),
      server.unlisted ? " (and more, not listed)" : "", secs,
      static_cast<unsigned long long>(server.echoed),
      static_cast<unsigned long long>(server.echoed_bytes),
      static_cast<unsigned long long>(server.send_failures));
  if (ho.debug) std::printf("%s", host->drop_report().c_str());
  sock->close();
  return kExitOk;
}

}  // namespace ustack::app
