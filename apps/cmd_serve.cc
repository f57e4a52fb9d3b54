// ustack serve: a server deployment from a config file (apps/serve_config.h):
// one interface, a worker pinned to the listed core, and several servers
// (httpd, wsd, tcpserver, iperf3) on their ports in that one stack. The
// worker publishes its counters for `ustack stats` (apps/stats_shm.h).
// SIGINT/SIGTERM: stop accepting, FIN every connection, drain for at most
// drain_ms, one totals line per server, exit 0.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "apps/commands.h"
#include "apps/host.h"
#include "apps/multi_serve.h"
#include "apps/serve_config.h"
#include "apps/server_loop.h"
#include "apps/servers.h"
#include "apps/stats_shm.h"

namespace ustack::app {
namespace {

std::string describe(const ServeConfig& cfg) {
  std::string out;
  for (const ServerConfig& s : cfg.servers)
    out += (out.empty() ? "" : ", ") + s.name + " on port " + std::to_string(s.port);
  return out;
}

}  // namespace

int cmd_serve(const Argv& argv) {
  const std::vector<cli::OptionSpec> specs = {
      {"config", {"-c", "--config"}, true, "FILE", "the configuration file (TOML)"},
      {"check", {"--check"}, false, "", "validate the file, open nothing, exit 0 if it is good"},
      {"help", {"-h", "--help"}, false, "", "this help"},
  };
  cli::Args args;
  if (const int rc =
          cli::parse_command("serve", "CONFIG.toml | --config FILE [--check]", specs, argv, &args);
      rc >= 0)
    return rc;
  const auto fail = [](const std::string& why) {
    std::fprintf(stderr, "ustack serve: %s\n", why.c_str());
    return kExitUsage;
  };
  const std::vector<std::string>& pos = args.positional();
  if (pos.size() > 1 || (pos.size() == 1 && args.has("config")))
    return fail("give one config file (ustack serve CONFIG.toml)");
  if (pos.empty() && !args.has("config"))
    return fail("no config file given (ustack serve CONFIG.toml; see apps/serve.example.toml)");
  const std::string path = pos.empty() ? args.get("config") : pos[0];
  ServeConfig cfg;
  std::string err;
  if (!load_serve_config(path, &cfg, &err)) return fail(err);
  const std::string where =
      cfg.host.core >= 0 ? "core " + std::to_string(cfg.host.core) : std::string("no core pinned");
  if (args.has("check")) {
    std::printf("serve: %s is valid: %s on %s (%s), %s\n", path.c_str(), cfg.host.iface.c_str(),
                cfg.host.driver.c_str(), where.c_str(), describe(cfg).c_str());
    return kExitOk;
  }

  // Claim the instance name before opening anything else.
  auto stats = StatsPublisher::create(cfg.instance, cfg.stats_interval, &err);
  if (!stats) return fail(err);
  if (cfg.cores.size() > 1) {
    ServeConfig c = cfg;
    c.host.cores = cfg.cores;
    const int rc = serve_on_cores("serve", c, 0, stats.get());
    if (rc == kExitOk) std::printf("serve: stopped\n");
    return rc;
  }
  auto host = open_server_host("serve", cfg.host);
  if (!host) return kExitUsage;
  std::vector<std::unique_ptr<ServerListener>> owned;
  std::vector<ServerListener*> servers;
  for (const ServerConfig& s : cfg.servers) {
    owned.push_back(make_server(*host, s, &err));
    if (!owned.back()) {
      std::fprintf(stderr, "ustack serve: %s: %s\n", s.name.c_str(), err.c_str());
      return kExitFailure;
    }
    servers.push_back(owned.back().get());
  }
  if (!listen_servers(*host, "serve", servers)) return kExitUsage;

  // The live counters: the worker's stack, and each server's connections.
  const int worker = 0;
  stats->add_worker(host->counters(), worker, cfg.host.core);
  // Gauges for leak checks: buffers held, connections open.
  Stack& stack = host->stack();
  stats->add_gauge("mbuf.in_use", worker, [&stack] { return stack.pool().in_use(); });
  stats->add_gauge("tcp.connections", worker, [&stack] { return stack.tcp().connections(); });
  for (ServerListener* s : servers) {
    stats->add_value(s->name() + ".accepted", worker, [s] { return s->accepted; });
    stats->add_value(s->name() + ".open", worker, [s] { return s->open_connections(); });
    stats->add_value(s->name() + ".finished", worker, [s] { return s->finished; });
    stats->add_value(s->name() + ".failed", worker, [s] { return s->failed; });
  }
  stats->start(host->now());
  std::printf("serve: instance %s, worker %d on %s, %zu servers; counters: ustack stats%s\n",
              cfg.instance.c_str(), worker, where.c_str(), servers.size(),
              cfg.instance == "ustack" ? "" : (" --name " + cfg.instance).c_str());
  std::fflush(stdout);

  run_servers(*host, servers, cfg.drain, stats.get());
  stats->publish(host->now());
  std::printf("serve: stopped\n");
  return kExitOk;
}

}  // namespace ustack::app
