// Servers from their configs, on one core or several: what `ustack serve`
// runs, and the server commands (tcpserver, httpd, wsd) when --cores lists
// more than one core.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "apps/host.h"
#include "apps/serve_config.h"
#include "apps/server_loop.h"
#include "apps/stats_shm.h"

namespace ustack::app {

// A server from its config, on `env` (the listener's port and line options
// set). nullptr and *error when it cannot be made.
std::unique_ptr<ServerListener> make_server(ServerEnv& env, const ServerConfig& s,
                                            std::string* error);

// Runs cfg.servers on the cores cfg.host.cores (two or more): a worker per
// core, pinned, a listener per server per core, each core accepting the
// flows it owns (apps/multi_host.h). Ends on SIGINT/SIGTERM, or once
// `stop_after` connections (over all cores and servers) have finished;
// then every core stops accepting, FINs what is open, and the drain waits
// up to cfg.drain; totals per worker. `stats` (may be null) gets a worker
// per core. Returns kExitUsage for a setup mistake (one line on stderr,
// "ustack CMD: ..."), kExitFailure when `stop_after` is set and a
// connection failed, else kExitOk.
int serve_on_cores(const char* cmd, const ServeConfig& cfg, std::uint64_t stop_after,
                   StatsPublisher* stats);
// A server command (tcpserver, httpd, wsd) given several --cores: `s` on
// each core of `host`, as serve_on_cores, with a 1 s drain.
int serve_one_on_cores(const char* cmd, const HostOptions& host, ServerConfig s,
                       std::uint64_t stop_after);

}  // namespace ustack::app
