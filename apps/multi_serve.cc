#include "apps/multi_serve.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "apps/multi_host.h"
#include "apps/servers.h"

namespace ustack::app {

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

namespace {

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

}  // namespace

int serve_on_cores(const char* cmd, const ServeConfig& cfg, std::uint64_t stop_after,
                   StatsPublisher* stats) {
  for (const ServerConfig& s : cfg.servers) {
    if (s.kind == "iperf3") {
      std::fprintf(stderr,
                   "ustack %s: %s: iperf3 runs on one core (its control and data connections "
                   "must meet on one core); give one core or run it apart\n",
                   cmd, s.name.c_str());
      return kExitUsage;
    }
  }
  if (cfg.host.slaac) {
    // Router advertisements reach core 0 alone (ICMPv6, proto/flow_steer.h):
    // the other cores would not have the addresses SLAAC forms.
    std::fprintf(stderr,
                 "ustack %s: slaac runs on one core (router advertisements reach core 0 "
                 "alone); give one core, or give the address with ip6\n",
                 cmd);
    return kExitUsage;
  }
  std::vector<std::unique_ptr<CoreServers>> cores;  // outlives the host's stacks
  std::string err;
  install_signal_handlers();
  auto host = MultiHost::open(cfg.host, cfg.host.cores, &err);
  if (!host) {
    std::fprintf(stderr, "ustack %s: %s\n", cmd, err.c_str());
    return kExitUsage;
  }
  for (std::size_t k = 0; k < host->size(); ++k) {
    cores.push_back(std::make_unique<CoreServers>());
    for (const ServerConfig& s : cfg.servers) {
      auto l = make_server(host->core(k), s, &err);
      if (!l) {
        std::fprintf(stderr, "ustack %s: %s: %s\n", cmd, s.name.c_str(), err.c_str());
        return kExitFailure;
      }
      if (host->core(k).stack().tcp().listen(l->port, *l, &err) == nullptr) {
        std::fprintf(stderr, "ustack %s: %s\n", cmd, err.c_str());
        return kExitUsage;
      }
      cores.back()->add(std::move(l));
    }
    host->core(k).stack().set_app(cores.back().get());
    const int worker = static_cast<int>(k);
    if (stats == nullptr) continue;
    stats->add_worker(host->counters(k), worker, host->cpu(k));
    for (std::size_t i = 0; i < cfg.servers.size(); ++i) {
      const CoreServers::Published* p = cores.back()->published[i].get();
      const std::string& n = cfg.servers[i].name;
      stats->add_value(n + ".accepted", worker, [p] { return p->accepted.load(); });
      stats->add_value(n + ".open", worker, [p] { return p->open.load(); });
      stats->add_value(n + ".finished", worker, [p] { return p->finished.load(); });
      stats->add_value(n + ".failed", worker, [p] { return p->failed.load(); });
    }
  }
  for (const ServerConfig& s : cfg.servers)
    std::printf("%s: listening on %s port %u on %zu cores\n", s.name.c_str(),
                host->address().addr.to_string().c_str(), static_cast<unsigned>(s.port),
                host->size());
  if (!host->start(&err)) {
    std::fprintf(stderr, "ustack %s: %s\n", cmd, err.c_str());
    for (std::size_t k = 0; k < host->size(); ++k) host->core(k).stack().set_app(nullptr);
    return kExitUsage;
  }
  std::string list;
  for (std::size_t k = 0; k < host->size(); ++k)
    list += (k ? "," : "") + std::to_string(host->cpu(k));
  if (stats != nullptr) {
    stats->start(host->now());
    std::printf("%s: instance %s, %zu workers on cores %s, %zu servers; counters: ustack stats%s\n",
                cmd, cfg.instance.c_str(), host->size(), list.c_str(), cfg.servers.size(),
                cfg.instance == "ustack" ? "" : (" --name " + cfg.instance).c_str());
  } else {
    std::printf("%s: %zu workers on cores %s\n", cmd, host->size(), list.c_str());
  }
  std::fflush(stdout);
  const auto finished = [&] {
    std::uint64_t n = 0;
    for (auto& c : cores)
      for (auto& p : c->published) n += p->finished.load(std::memory_order_relaxed);
    return n;
  };
  while (!g_interrupted.load() && (stop_after == 0 || finished() < stop_after)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (stats != nullptr) stats->poll(host->now());
  }
  if (g_interrupted.load()) {
    std::printf("%s: interrupted, closing open connections on %zu cores\n", cmd, host->size());
    std::fflush(stdout);
  }
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
  if (stats != nullptr) stats->publish(host->now());
  host->stop();
  std::uint64_t failed = 0;
  for (std::size_t k = 0; k < host->size(); ++k) {
    host->core(k).stack().set_app(nullptr);
    std::printf("%s: worker %zu (core %d):\n", cmd, k, host->cpu(k));
    for (auto& s : cores[k]->servers) {
      s->print_totals();
      failed += s->failed;
    }
  }
  std::fflush(stdout);
  return stop_after != 0 && failed > 0 ? kExitFailure : kExitOk;
}

int serve_one_on_cores(const char* cmd, const HostOptions& host, ServerConfig s,
                       std::uint64_t stop_after) {
  ServeConfig cfg;
  cfg.host = host;
  cfg.drain = std::chrono::seconds(1);
  cfg.servers.push_back(std::move(s));
  return serve_on_cores(cmd, cfg, stop_after, nullptr);
}

}  // namespace ustack::app
