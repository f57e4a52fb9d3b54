// The configuration file of `ustack serve` (TOML), read and validated
// completely before anything is opened. apps/serve.example.toml shows
// every key:
//
//   name = "ustack"            instance name: /dev/shm/ustack-<name>.stats
//   cores = [1]                one worker per listed core, each pinned to it
//   drain_ms = 2000            how long SIGINT/SIGTERM waits for connections to close
//   stats_interval_ms = 100    how often the counters are published
//   [interface]                as the commands' options: driver, iface, ip,
//                              gw, mac, ring, dpdk, debug
//   [[server]]                 one table per server: kind (httpd, wsd,
//                              tcpserver, iperf3), port, name, log_connections,
//                              and the kind's own options (httpd: root;
//                              wsd: max_message; tcpserver: mode, bytes;
//                              iperf3: json)
#pragma once

#include <string>
#include <vector>

#include "apps/host.h"
#include "apps/servers.h"

namespace ustack::app {

struct ServerConfig {
  std::string kind;  // httpd, wsd, tcpserver, iperf3
  std::string name;  // the prefix of its lines: `name`, else the kind (kind-PORT if repeated)
  std::uint16_t port = 0;
  bool log_connections = true;
  HttpdOptions httpd;
  WsdOptions wsd;
  TcpServerOptions tcpserver;
  Iperf3Options iperf3;
};

struct ServeConfig {
  std::string instance = "ustack";
  HostOptions host;
  std::vector<int> cores;  // empty: one worker, not pinned
  Duration drain = std::chrono::seconds(2);
  Duration stats_interval = std::chrono::milliseconds(100);
  std::vector<ServerConfig> servers;
};

// Reads and validates the file at `path`; opens no port. false and *error,
// one line ("PATH:LINE:COLUMN: why" where the mistake has a place in it),
// on an unreadable file, a TOML syntax error, an unknown key or server
// kind, a value of the wrong type or range, a bad address, two servers on
// one port, or more than one core.
bool load_serve_config(const std::string& path, ServeConfig* out, std::string* error);

}  // namespace ustack::app
