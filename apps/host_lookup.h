// Host names on the commands' command lines: `--dns ADDR` names the DNS
// server (an IPv4 or an IPv6 address), `-4`/`-6` the family a name must
// resolve to, and a HOST argument that is not an IP address is looked up
// there with the stub resolver on the command's own stack.
//
// Which records are asked for (RFC 3596 AAAA, RFC 1035 A):
//  - `-4`: A only; `-6`: AAAA only (needs --ip6).
//  - neither, with --ip6: AAAA first, then A when the name has no AAAA
//    record (NODATA, RFC 2308 §2.2). RFC 8305 §3 asks for AAAA first too;
//    the queries are made one after the other, not raced.
//  - neither, without --ip6: A only, since an IPv6 answer could not be used.
// Any other failure of the first query (no answer, NXDOMAIN, a malformed
// answer) ends the lookup: the name does not exist for the other type
// either, or the server is not answering.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "apps/host.h"

namespace ustack::app {

struct DnsChoice {
  std::optional<IpAddr> server;       // --dns; unset: names cannot be looked up
  IpFamily only = IpFamily::kUnspec;  // -4: kV4, -6: kV6
};

// --dns, -4 and -6, for a command's option list.
std::vector<cli::OptionSpec> dns_option_specs();

// Reads them. false and *error on a bad address or both -4 and -6.
bool read_dns_option(const cli::Args& args, DnsChoice* out, std::string* error);

// `host` as an address: an IPv4 or IPv6 literal as it is (of the family -4
// or -6 asks for), else the first address the --dns server gives, asked as
// above (bounded: 3 queries of 1 s per record type; Ctrl-C stops it). false
// and one sentence in *error otherwise.
bool lookup_host(AppHost& app, const std::string& host, const DnsChoice& dns, IpAddr* out,
                 std::string* error);

// True when `host` can name a peer: an IP address, or anything when a
// --dns server is given (the lookup then says what is wrong with it).
bool host_arg_usable(const std::string& host, const DnsChoice& dns);

// A client command's start: the signal handlers, the host, then `target`
// looked up into *addr. nullptr after printing "ustack CMD: why", with the
// exit status in *status (2: the host cannot open or an IPv6 choice lacks
// --ip6, 1: the lookup failed).
std::unique_ptr<AppHost> open_client_host(const char* cmd, const HostOptions& ho,
                                          const std::string& target, const DnsChoice& dns,
                                          IpAddr* addr, int* status);

}  // namespace ustack::app
