// Host names on the commands' command lines: `--dns ADDR` names the DNS
// server, and a HOST argument that is not an IPv4 address is looked up
// there with the stub resolver on the command's own stack.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "apps/cli.h"
#include "apps/host.h"

namespace ustack::app {

cli::OptionSpec dns_option_spec();

// Reads --dns (unset: no server). false and *error on a bad address.
bool read_dns_option(const cli::Args& args, std::optional<Ipv4Addr>* out, std::string* error);

// `host` as an address: an IPv4 or IPv6 literal as it is, else the first A record
// the --dns server gives (bounded: 3 queries, 1 s each; Ctrl-C stops it).
// false and one sentence in *error otherwise.
bool lookup_host(AppHost& app, const std::string& host, const std::optional<Ipv4Addr>& dns,
                 IpAddr* out, std::string* error);

// True when `host` can name a peer: an IP address, or anything when a
// --dns server is given (the lookup then says what is wrong with it).
bool host_arg_usable(const std::string& host, const std::optional<Ipv4Addr>& dns);

// A client command's start: the signal handlers, the host, then `target`
// looked up into *addr. nullptr after printing "ustack CMD: why", with the
// exit status in *status (2: the host cannot open, 1: the lookup failed).
std::unique_ptr<AppHost> open_client_host(const char* cmd, const HostOptions& ho,
                                          const std::string& target,
                                          const std::optional<Ipv4Addr>& dns, IpAddr* addr,
                                          int* status);

}  // namespace ustack::app
