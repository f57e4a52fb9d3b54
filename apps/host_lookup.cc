#include "apps/host_lookup.h"

#include <cstdio>

#include "apps/dns_resolver.h"

namespace ustack::app {

cli::OptionSpec dns_option_spec() {
  return {"dns", {"--dns"}, true, "ADDR", "DNS server for host names (A records, port 53)"};
}

bool read_dns_option(const cli::Args& args, std::optional<Ipv4Addr>* out, std::string* error) {
  out->reset();
  if (!args.has("dns")) return true;
  *out = Ipv4Addr::parse(args.get("dns"));
  if (!*out) {
    *error = "bad address '" + args.get("dns") + "' for --dns";
    return false;
  }
  return true;
}

bool lookup_host(AppHost& app, const std::string& host, const std::optional<Ipv4Addr>& dns,
                 IpAddr* out, std::string* error) {
  if (auto a = IpAddr::parse(host)) {
    *out = *a;
    return true;
  }
  if (!dns) {
    *error = "'" + host + "' is not an IP address; give a DNS server with --dns ADDR to look it up";
    return false;
  }
  DnsResolverOptions o;
  o.server = *dns;
  DnsResolver r(app.stack(), o);
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
    return false;
  }
  *out = IpAddr::v4(r.addresses().front());
  return true;
}

bool host_arg_usable(const std::string& host, const std::optional<Ipv4Addr>& dns) {
  return IpAddr::parse(host).has_value() || (dns.has_value() && !host.empty());
}

std::unique_ptr<AppHost> open_client_host(const char* cmd, const HostOptions& ho,
                                          const std::string& target,
                                          const std::optional<Ipv4Addr>& dns, IpAddr* addr,
                                          int* status) {
  std::string err;
  install_signal_handlers();
  auto host = AppHost::open(ho, &err);
  if (host) host->wait_for_ipv6();
  *status = kExitUsage;
  if (host && !lookup_host(*host, target, dns, addr, &err)) {
    host.reset();
    *status = kExitFailure;
  }
  if (!host) std::fprintf(stderr, "ustack %s: %s\n", cmd, err.c_str());
  return host;
}

}  // namespace ustack::app
