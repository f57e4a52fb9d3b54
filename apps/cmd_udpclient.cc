// ustack udpclient: N datagrams of a size at a rate to a UDP server, the
// echoes checked byte for byte, then loss and round-trip percentiles.
#include <cstdio>
#include <cstring>
#include <vector>

#include "apps/commands.h"
#include "apps/host.h"
#include "apps/host_lookup.h"
#include "apps/percentile.h"
#include "proto/wire/bytes.h"

namespace ustack::app {
namespace {

// Datagram `seq`: its number (8 bytes, big-endian), then a pattern of it.
void fill(std::vector<std::byte>& buf, std::uint64_t seq) {
  for (std::size_t i = 8; i < buf.size(); ++i)
    buf[i] = std::byte(static_cast<std::uint8_t>(seq * 31 + i));
  wire::store_be32(buf.data(), static_cast<std::uint32_t>(seq >> 32));
  wire::store_be32(buf.data() + 4, static_cast<std::uint32_t>(seq));
}

class Client : public UdpHandler {
 public:
  Client(AppHost& host, std::size_t size, std::uint64_t count)
      : host_(host), expect_(size), got_(size), sent_at_(count), seen_(count, false) {}

  void on_datagram(UdpSocket&, UdpDatagram& d) override {
    const Instant now = host_.now();
    const std::uint32_t len = d.payload->pkt_len;
    const std::size_t n = mbuf_read(d.payload, 0, got_);
    mbuf_free(d.payload);
    if (len != expect_.size() || n < 8) {
      ++corrupt;
      return;
    }
    const std::uint64_t seq =
        (std::uint64_t{wire::load_be32(got_.data())} << 32) | wire::load_be32(got_.data() + 4);
    if (seq >= sent) {
      ++corrupt;
      return;
    }
    fill(expect_, seq);
    if (std::memcmp(expect_.data(), got_.data(), expect_.size()) != 0) {
      ++corrupt;
      return;
    }
    if (seen_[seq]) {
      ++duplicates;
      return;
    }
    seen_[seq] = true;
    ++received;
    rtts_us.push_back(std::chrono::duration<double, std::micro>(now - sent_at_[seq]).count());
  }
  void on_error(UdpSocket&, const IcmpError&) override { ++icmp_errors; }

  SendResult send_next(UdpSocket& s) {
    fill(expect_, sent);
    sent_at_[sent] = host_.now();
    const SendResult r = s.send(expect_);
    if (r == SendResult::kOk) ++sent;
    return r;
  }

  std::uint64_t sent = 0, received = 0, corrupt = 0, duplicates = 0, icmp_errors = 0;
  std::vector<double> rtts_us;

 private:
  AppHost& host_;
  std::vector<std::byte> expect_;
  std::vector<std::byte> got_;
  std::vector<Instant> sent_at_;
  std::vector<bool> seen_;
};

Duration seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

}  // namespace

int cmd_udpclient(const Argv& argv) {
  std::vector<cli::OptionSpec> specs = host_options();
  specs.push_back(
      {"addr", {"-addr", "--addr"}, true, "HOST", "server address (or name, with --dns)"});
  for (auto& s : dns_option_specs()) specs.push_back(std::move(s));
  specs.push_back({"port", {"-port", "--port", "-p"}, true, "PORT", "server port (default 7)"});
  specs.push_back({"count", {"-c", "--count"}, true, "N", "datagrams to send (default 10)"});
  specs.push_back(
      {"size", {"-s", "--size"}, true, "BYTES", "payload bytes, 8 to 65507 (default 64)"});
  specs.push_back({"rate", {"--rate"}, true, "N", "datagrams per second (default 100)"});
  specs.push_back({"wait",
                   {"-W", "--wait"},
                   true,
                   "SECONDS",
                   "how long to wait for the last replies (default 1)"});
  specs.push_back({"timeout",
                   {"--timeout"},
                   true,
                   "SECONDS",
                   "stop sending after this long whatever the count (default 3600)"});
  specs.push_back({"no_replies",
                   {"--no-replies"},
                   false,
                   "",
                   "only send (to a discard or sink server); succeed once all are sent"});
  specs.push_back({"help", {"-h", "--help"}, false, "", "this help"});
  cli::Args args;
  if (const int rc = cli::parse_command("udpclient", "-i IFACE -addr ADDR [-port PORT] [options]",
                                        specs, argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  HostOptions ho;
  unsigned long long port = 7, count = 10, size = 64;
  double rate = 100, wait = 1, timeout = 3600;
  DnsChoice dns;
  if (!read_host_options(args, &ho, &err) || !read_dns_option(args, &dns, &err) ||
      !args.get_uint("port", 1, 65535, &port, &err) ||
      !args.get_uint("count", 1, 10000000, &count, &err) ||
      !args.get_uint("size", 8, 65507, &size, &err) ||
      !args.get_double("rate", 0.1, 10000000, &rate, &err) ||
      !args.get_double("wait", 0, 3600, &wait, &err) ||
      !args.get_double("timeout", 0.1, 86400, &timeout, &err)) {
    std::fprintf(stderr, "ustack udpclient: %s\n", err.c_str());
    return kExitUsage;
  }
  const std::string addr_arg = args.get("addr");
  if (!host_arg_usable(addr_arg, dns)) {
    std::fprintf(stderr, "ustack udpclient: give the server with -addr ADDR (a name with --dns)\n");
    return kExitUsage;
  }
  const bool no_replies = args.has("no_replies");
  IpAddr server;
  int status = 0;
  auto host = open_client_host("udpclient", ho, addr_arg, dns, &server, &status);
  if (!host) return status;
  const IpAddr* addr = &server;
  Client client(*host, size, count);
  UdpSocket* sock = host->stack().udp().open(client, 0, &err);
  if (sock == nullptr) {
    std::fprintf(stderr, "ustack udpclient: %s\n", err.c_str());
    return kExitFailure;
  }
  sock->connect(*addr, static_cast<std::uint16_t>(port));
  const std::string peer = peer_string(*addr, static_cast<std::uint16_t>(port));
  std::printf("UDP %s: %llu datagrams of %llu bytes at %g/s\n", peer.c_str(), count, size, rate);
  std::fflush(stdout);
  host->sync();
  const Instant start = host->now();
  const Duration period = seconds(1.0 / rate);
  Instant next = start;
  std::uint64_t no_buffers = 0;
  // Bounded by the count and --timeout; a datagram the pool has no room for
  // is retried at the next slot, at most 1000 times in a row.
  const Instant give_up = start + seconds(timeout);
  while (client.sent < count && !g_interrupted.load() && host->now() < give_up) {
    if (!host->run_until([&] { return host->now() >= next; }, period + seconds(1))) break;
    host->sync();
    const SendResult r = client.send_next(*sock);
    if (r == SendResult::kNoBuffers) {
      if (++no_buffers > 1000) {
        std::fprintf(stderr, "ustack udpclient: %s: out of buffers\n", peer.c_str());
        return kExitFailure;
      }
    } else if (r != SendResult::kOk) {
      std::fprintf(stderr, "ustack udpclient: %s: %s\n", peer.c_str(), to_string(r));
      return kExitFailure;
    } else {
      no_buffers = 0;
    }
    next += period;
  }
  const Instant sent_end = host->now();
  if (no_replies) {
    host->drain(std::chrono::milliseconds(50));
  } else {
    host->run_until([&] { return client.received >= client.sent; }, seconds(wait));
  }
  const double send_ms = std::chrono::duration<double, std::milli>(sent_end - start).count();
  const std::uint64_t lost = client.sent - std::min(client.received, client.sent);
  if (no_replies) {
    std::printf("%llu sent in %.0f ms, %.3f Mbps\n", static_cast<unsigned long long>(client.sent),
                send_ms,
                send_ms > 0 ? static_cast<double>(client.sent * size) * 8 / send_ms / 1e3 : 0.0);
    return client.sent == count ? kExitOk : kExitFailure;
  }
  std::printf(
      "%llu sent, %llu received, %.1f%% loss, %llu corrupt, %llu duplicate, time %.0f ms\n",
      static_cast<unsigned long long>(client.sent),
      static_cast<unsigned long long>(client.received),
      client.sent ? 100.0 * static_cast<double>(lost) / static_cast<double>(client.sent) : 0.0,
      static_cast<unsigned long long>(client.corrupt),
      static_cast<unsigned long long>(client.duplicates), send_ms);
  if (client.icmp_errors > 0)
    std::printf("%llu ICMP errors (port unreachable?)\n",
                static_cast<unsigned long long>(client.icmp_errors));
  if (!client.rtts_us.empty()) {
    auto& v = client.rtts_us;
    const double mn = *std::min_element(v.begin(), v.end()) / 1000;
    const double mx = *std::max_element(v.begin(), v.end()) / 1000;
    const double p50 = percentile(v, 0.5) / 1000, p99 = percentile(v, 0.99) / 1000;
    std::printf("rtt min/p50/p99/max = %.3f/%.3f/%.3f/%.3f ms\n", mn, p50, p99, mx);
  }
  if (ho.debug) std::printf("%s", host->drop_report().c_str());
  sock->close();
  return client.received > 0 && client.corrupt == 0 ? kExitOk : kExitFailure;
}

}  // namespace ustack::app
