// ustack ping: ICMP echo with iputils-style output.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "apps/commands.h"
#include "apps/host.h"
#include "apps/host_lookup.h"

namespace ustack::app {
namespace {

struct Pinger : EchoListener {
  void on_echo_reply(const EchoReply& r) override {
    if (r.id != id) return;
    replies.push_back(r);
  }
  std::uint16_t id = 0;
  std::vector<EchoReply> replies;
};

}  // namespace

int cmd_ping(const Argv& argv) {
  std::vector<cli::OptionSpec> specs = host_options();
  specs.push_back(
      {"dest", {"-dest", "--dest"}, true, "HOST", "address (or name, with --dns) to ping"});
  for (auto& s : dns_option_specs()) specs.push_back(std::move(s));
  specs.push_back(
      {"count", {"-c", "--count"}, true, "N", "stop after N replies (default: Ctrl-C)"});
  specs.push_back({"interval",
                   {"--interval"},
                   true,
                   "SECONDS",
                   "between requests, default 1 (-i names the interface here, as in the seed)"});
  specs.push_back({"size", {"-s", "--size"}, true, "BYTES", "data bytes per request (default 56)"});
  specs.push_back({"wait",
                   {"-W", "--timeout"},
                   true,
                   "SECONDS",
                   "how long to wait for the last reply (default 2)"});
  specs.push_back({"ttl", {"-t", "--ttl"}, true, "TTL", "time to live (default 64)"});
  specs.push_back({"help", {"-h", "--help"}, false, "", "this help"});
  cli::Args args;
  if (const int rc =
          cli::parse_command("ping", "-i IFACE -dest ADDR [options]", specs, argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  HostOptions ho;
  unsigned long long count = 0, size = 56, ttl = 64;
  double interval = 1.0, wait = 2.0;
  DnsChoice dns;
  if (!read_host_options(args, &ho, &err) || !read_dns_option(args, &dns, &err) ||
      !args.get_uint("count", 1, 1ull << 32, &count, &err) ||
      !args.get_uint("size", 0, 65507, &size, &err) || !args.get_uint("ttl", 1, 255, &ttl, &err) ||
      !args.get_double("interval", 0.001, 3600, &interval, &err) ||
      !args.get_double("wait", 0.001, 3600, &wait, &err)) {
    std::fprintf(stderr, "ustack ping: %s\n", err.c_str());
    return kExitUsage;
  }
  const std::string dest_arg =
      args.get("dest", args.positional().empty() ? "" : args.positional()[0]);
  if (!host_arg_usable(dest_arg, dns)) {
    std::fprintf(stderr,
                 "ustack ping: give the address to ping with -dest ADDR (a name with --dns)\n");
    return kExitUsage;
  }
  IpAddr dest;
  int status = 0;
  auto host = open_client_host("ping", ho, dest_arg, dns, &dest, &status);
  if (!host) return status;
  if (dest.is_v6() && !host->stack().ipv6_enabled()) {
    std::fprintf(stderr, "ustack ping: %s is an IPv6 address: give ustack one with --ip6\n",
                 dest_arg.c_str());
    return kExitUsage;
  }
  Pinger p;
  p.id = static_cast<std::uint16_t>(getpid());
  host->stack().icmp().set_echo_listener(&p);
  host->stack().icmpv6().set_echo_listener(&p);
  const std::string d = dest.to_string();
  // The header sizes as iputils prints them: IPv4 20 + ICMP 8, IPv6 40 + 8.
  std::printf("PING %s (%s) %llu(%llu) bytes of data.\n", dest_arg.c_str(), d.c_str(), size,
              size + (dest.is_v6() ? 48 : 28));
  std::fflush(stdout);
  const Instant start = host->now();
  const auto period = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(interval));
  std::uint64_t sent = 0;
  std::size_t printed = 0;
  Instant next = start;
  auto print_new = [&] {
    for (; printed < p.replies.size(); ++printed) {
      const EchoReply& r = p.replies[printed];
      std::printf("%u bytes from %s: icmp_seq=%u ttl=%u time=%.3f ms\n", r.bytes,
                  r.from.to_string().c_str(), r.seq, r.ttl,
                  std::chrono::duration<double, std::milli>(r.rtt).count());
    }
    std::fflush(stdout);
  };
  // Requests go out every `interval`; a lost reply never stalls the next.
  while (!g_interrupted.load() && (count == 0 || sent < count)) {
    host->sync();
    const auto seq = static_cast<std::uint16_t>(sent + 1);
    const SendResult res =
        dest.is_v6() ? host->stack().icmpv6().send_echo_request(dest.as_v6(), p.id, seq,
                                                                static_cast<std::uint32_t>(size),
                                                                static_cast<std::uint8_t>(ttl))
                     : host->stack().icmp().send_echo_request(dest.as_v4(), p.id, seq,
                                                              static_cast<std::uint32_t>(size),
                                                              static_cast<std::uint8_t>(ttl));
    if (res != SendResult::kOk) {
      std::fprintf(stderr, "ustack ping: %s: %s\n", d.c_str(), to_string(res));
      return kExitFailure;
    }
    ++sent;
    next += period;
    host->run_until(
        [&] {
          print_new();
          return host->now() >= next || (count != 0 && sent >= count && p.replies.size() >= count);
        },
        period * 2);
  }
  // Wait for the last replies.
  host->run_until(
      [&] {
        print_new();
        return p.replies.size() >= sent;
      },
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(wait)));
  print_new();
  const double total_ms = std::chrono::duration<double, std::milli>(host->now() - start).count();
  const std::size_t got = p.replies.size();
  std::printf("\n--- %s ping statistics ---\n", d.c_str());
  std::printf("%llu packets transmitted, %zu received, %.0f%% packet loss, time %.0fms\n",
              static_cast<unsigned long long>(sent), got,
              sent ? 100.0 * static_cast<double>(sent - std::min<std::uint64_t>(got, sent)) /
                         static_cast<double>(sent)
                   : 0.0,
              total_ms);
  if (got > 0) {
    double mn = 1e18, mx = 0, sum = 0, sum2 = 0;
    for (const auto& r : p.replies) {
      const double ms = std::chrono::duration<double, std::milli>(r.rtt).count();
      mn = std::min(mn, ms);
      mx = std::max(mx, ms);
      sum += ms;
      sum2 += ms * ms;
    }
    const double avg = sum / static_cast<double>(got);
    const double mdev = std::sqrt(std::max(0.0, sum2 / static_cast<double>(got) - avg * avg));
    std::printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", mn, avg, mx, mdev);
  }
  if (ho.debug) std::printf("%s", host->drop_report().c_str());
  return got > 0 ? kExitOk : kExitFailure;
}

}  // namespace ustack::app
