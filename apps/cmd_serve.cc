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
#include "apps/multi_host.h"
#include "apps/serve_config.h"
#include "apps/server_loop.h"
#include "apps/servers.h"
#include "apps/stats_shm.h"

namespace ustack::app {
namespace {

std::unique_ptr<ServerListener> make_server(ServerEnv& host, const ServerConfig& s,
                                            std::string* error) {
  std::unique_ptr<ServerListener> l;
  if (s.kind == "httpd") {
    l = make_httpd(host, s.httpd, s.name);
  } else if (s.kind == "wsd") {
    l = make_wsd(host, s.wsd, s.name);
  } else if (s.kind == "tcpserver") {
    l = make_tcpserver(host, s.tcpserver, s.name);
  } else if (s.kind == "iperf3") {
    l = make_iperf3(host, s.iperf3, error, s.name);
  } else {
    *error = "unknown server kind '" + s.kind + "'";  // load_serve_config refuses it first
  }
  if (!l) return nullptr;
  l->port = s.port;
  l->log_connections = s.log_connections;
  l->line_prefix = s.name + ": ";
  return l;
}

// One core's servers (multi-core serve), polled on that core's thread. The
// main thread sees them only through atomics: what they publish for the
// stats and the drain, and `closing`, on which they stop accepting and
// close what is open.
class CoreServers final : public StackApp {
 public:
  struct Published {
    std::atomic<std::uint64_t> accepted{0}, open{0}, finished{0}, failed{0};
  };
  void add(std::unique_ptr<ServerListener> s) {
    servers.push_back(std::move(s));
    published.push_back(std::make_unique<Published>());
  }
  void poll(Instant now) override {
    std::uint64_t all_open = 0;
    for (std::size_t i = 0; i < servers.size(); ++i) {
      ServerListener& s = *servers[i];
      s.poll(now);
      if (closing.load(std::memory_order_acquire) && !closed_) {
        s.stop_accepting();
        s.close_all();
      }
      Published& p = *published[i];
      p.accepted.store(s.accepted, std::memory_order_relaxed);
      p.open.store(s.open_connections(), std::memory_order_relaxed);
      p.finished.store(s.finished, std::memory_order_relaxed);
      p.failed.store(s.failed, std::memory_order_relaxed);
      all_open += s.open_connections();
    }
    if (closing.load(std::memory_order_acquire)) closed_ = true;
    open.store(all_open, std::memory_order_release);
  }
  std::vector<std::unique_ptr<ServerListener>> servers;
  std::vector<std::unique_ptr<Published>> published;
  std::atomic<bool> closing{false};
  std::atomic<std::uint64_t> open{0};

 private:
  bool closed_ = false;
};

// serve with several cores: a listener per server per core; the main
// thread publishes the stats and waits for the signal, then for the drain.
int serve_cores(const ServeConfig& cfg, StatsPublisher& stats) {
  for (const ServerConfig& s : cfg.servers) {
    if (s.kind == "iperf3") {
      std::fprintf(stderr,
                   "ustack serve: %s: iperf3 runs on one core (its control and data connections "
                   "must meet on one core); give one core or run it apart\n",
                   s.name.c_str());
      return kExitUsage;
    }
  }
  std::vector<std::unique_ptr<CoreServers>> cores;  // outlives the host's stacks
  std::string err;
  install_signal_handlers();
  auto host = MultiHost::open(cfg.host, cfg.cores, &err);
  if (!host) {
    std::fprintf(stderr, "ustack serve: %s\n", err.c_str());
    return kExitUsage;
  }
  for (std::size_t k = 0; k < host->size(); ++k) {
    cores.push_back(std::make_unique<CoreServers>());
    for (const ServerConfig& s : cfg.servers) {
      auto l = make_server(host->core(k), s, &err);
      if (!l) {
        std::fprintf(stderr, "ustack serve: %s: %s\n", s.name.c_str(), err.c_str());
        return kExitFailure;
      }
      if (host->core(k).stack().tcp().listen(l->port, *l, &err) == nullptr) {
        std::fprintf(stderr, "ustack serve: %s\n", err.c_str());
        return kExitUsage;
      }
      cores.back()->add(std::move(l));
    }
    host->core(k).stack().set_app(cores.back().get());
    const int worker = static_cast<int>(k);
    stats.add_worker(host->counters(k), worker, host->cpu(k));
    for (std::size_t i = 0; i < cfg.servers.size(); ++i) {
      const CoreServers::Published* p = cores.back()->published[i].get();
      const std::string& n = cfg.servers[i].name;
      stats.add_value(n + ".accepted", worker, [p] { return p->accepted.load(); });
      stats.add_value(n + ".open", worker, [p] { return p->open.load(); });
      stats.add_value(n + ".finished", worker, [p] { return p->finished.load(); });
      stats.add_value(n + ".failed", worker, [p] { return p->failed.load(); });
    }
  }
  for (const ServerConfig& s : cfg.servers)
    std::printf("%s: listening on %s port %u on %zu cores\n", s.name.c_str(),
                host->address().addr.to_string().c_str(), static_cast<unsigned>(s.port),
                host->size());
  if (!host->start(&err)) {
    std::fprintf(stderr, "ustack serve: %s\n", err.c_str());
    for (std::size_t k = 0; k < host->size(); ++k) host->core(k).stack().set_app(nullptr);
    return kExitUsage;
  }
  std::string list;
  for (std::size_t k = 0; k < host->size(); ++k)
    list += (k ? "," : "") + std::to_string(host->cpu(k));
  stats.start(host->now());
  std::printf(
      "serve: instance %s, %zu workers on cores %s, %zu servers; counters: ustack stats%s\n",
      cfg.instance.c_str(), host->size(), list.c_str(), cfg.servers.size(),
      cfg.instance == "ustack" ? "" : (" --name " + cfg.instance).c_str());
  std::fflush(stdout);
  while (!g_interrupted.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stats.poll(host->now());
  }
  std::printf("serve: interrupted, closing open connections on %zu cores\n", host->size());
  std::fflush(stdout);
  for (auto& c : cores) c->closing.store(true, std::memory_order_release);
  const Instant end = host->now() + cfg.drain;
  const auto open = [&] {
    std::uint64_t n = 0;
    for (auto& c : cores) n += c->open.load(std::memory_order_acquire);
    return n;
  };
  // Each core takes `closing` on its next iteration; then wait for them.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  while (open() > 0 && host->now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stats.publish(host->now());
  host->stop();
  for (std::size_t k = 0; k < host->size(); ++k) {
    host->core(k).stack().set_app(nullptr);
    std::printf("serve: worker %zu (core %d):\n", k, host->cpu(k));
    for (auto& s : cores[k]->servers) s->print_totals();
  }
  std::printf("serve: stopped\n");
  return kExitOk;
}

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
  if (cfg.cores.size() > 1) return serve_cores(cfg, *stats);
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
