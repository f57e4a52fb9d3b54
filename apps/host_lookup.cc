#include "apps/host_lookup.h"

#include <cstdio>

#include "apps/dns_resolver.h"

namespace ustack::app {
namespace {

const char* family_name(IpFamily f) {
  return f == IpFamily::kV6 ? "IPv6" : "IPv4";
}

// One resolver run for `qtype`: true with *out, or false with *error and
// *no_data (the name has no record of that type).
bool resolve(AppHost& app, const std::string& host, const IpAddr& server, std::uint16_t qtype,
             IpAddr* out, bool* no_data, std::string* error) {
  DnsResolverOptions o;
  o.server = server;
  o.qtype = qtype;
  DnsResolver r(app.stack(), o);
  *no_data = false;
  app.sync();
  if (!r.start(host, app.now(), error)) return false;
  app.run_until(
      [&] {
        r.poll(app.now());
        return r.done();
      },
      o.timeout * (o.attempts + 1));
  if (!r.done()) {
    *error = "lookup of '" + host + "' interrupted";
    return false;
  }
  if (!r.ok()) {
    *error = r.error();
    *no_data = r.no_data();
    return false;
  }
  *out = r.addresses().front();
  return true;
}

}  // namespace

std::vector<cli::OptionSpec> dns_option_specs() {
  return {
      {"dns",
       {"--dns"},
       true,
       "ADDR",
       "DNS server for host names (IPv4 or IPv6 address, port 53; AAAA then A with --ip6)"},
      {"inet4", {"-4"}, false, "", "names resolve to IPv4 addresses only (A records)"},
      {"inet6", {"-6"}, false, "", "names resolve to IPv6 addresses only (AAAA; needs --ip6)"},
  };
}

bool read_dns_option(const cli::Args& args, DnsChoice* out, std::string* error) {
  *out = DnsChoice{};
  if (args.has("inet4") && args.has("inet6")) {
    *error = "-4 and -6 cannot both be given";
    return false;
  }
  if (args.has("inet4")) out->only = IpFamily::kV4;
  if (args.has("inet6")) out->only = IpFamily::kV6;
  if (!args.has("dns")) return true;
  out->server = IpAddr::parse(args.get("dns"));
  if (!out->server || (out->server->is_v6() && (out->server->as_v6().is_multicast() ||
                                                out->server->as_v6().is_unspecified()))) {
    *error = "bad address '" + args.get("dns") + "' for --dns";
    return false;
  }
  return true;
}

bool lookup_host(AppHost& app, const std::string& host, const DnsChoice& dns, IpAddr* out,
                 std::string* error) {
  if (auto a = IpAddr::parse(host)) {
    if (dns.only != IpFamily::kUnspec && a->family != dns.only) {
      *error = "'" + host + "' is an " + family_name(a->family) + " address, and " +
               (dns.only == IpFamily::kV6 ? "-6" : "-4") + " was given";
      return false;
    }
    *out = *a;
    return true;
  }
  if (!dns.server) {
    *error = "'" + host + "' is not an IP address; give a DNS server with --dns ADDR to look it up";
    return false;
  }
  std::vector<std::uint16_t> types;
  if (dns.only == IpFamily::kV6) {
    types = {dns::kTypeAaaa};
  } else if (dns.only == IpFamily::kV4 || !app.stack().ipv6_enabled()) {
    types = {dns::kTypeA};
  } else {
    types = {dns::kTypeAaaa, dns::kTypeA};  // RFC 8305 §3: AAAA first
  }
  bool no_data = false;
  for (const std::uint16_t t : types) {
    if (resolve(app, host, *dns.server, t, out, &no_data, error)) return true;
    if (!no_data) return false;
  }
  if (types.size() > 1)
    *error = "'" + host + "' has no address (no AAAA or A record from DNS server " +
             dns.server->to_string() + ")";
  return false;
}

bool host_arg_usable(const std::string& host, const DnsChoice& dns) {
  return IpAddr::parse(host).has_value() || (dns.server.has_value() && !host.empty());
}

std::unique_ptr<AppHost> open_client_host(const char* cmd, const HostOptions& ho,
                                          const std::string& target, const DnsChoice& dns,
                                          IpAddr* addr, int* status) {
  *status = kExitUsage;
  // IPv6 to the DNS server or for the answer needs IPv6 on the stack.
  if (!ho.ip6 && (dns.only == IpFamily::kV6 || (dns.server && dns.server->is_v6()))) {
    std::fprintf(stderr, "ustack %s: %s needs an IPv6 address on ustack: give one with --ip6\n",
                 cmd,
                 dns.only == IpFamily::kV6 ? "-6" : ("--dns " + dns.server->to_string()).c_str());
    return nullptr;
  }
  std::string err;
  install_signal_handlers();
  auto host = AppHost::open(ho, &err);
  if (host) host->wait_for_ipv6();
  if (host && !lookup_host(*host, target, dns, addr, &err)) {
    host.reset();
    *status = kExitFailure;
  }
  if (!host) std::fprintf(stderr, "ustack %s: %s\n", cmd, err.c_str());
  return host;
}

}  // namespace ustack::app
