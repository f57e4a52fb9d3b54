// ustack stats: the live counters of a running `ustack serve`, read from
// its shared-memory file (apps/stats_shm.h) without disturbing it: per
// worker (core), each server's connections and the stack's counters.
#include <time.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/host.h"
#include "apps/json.h"
#include "apps/stats_shm.h"

namespace ustack::app {
namespace {

const char* const kServerFields[] = {"accepted", "open", "finished", "failed"};

struct WorkerView {
  int core = -1;
  std::vector<const StatsRow*> counters;
  // server name -> field -> value, in publication order of the servers
  std::vector<std::pair<std::string, std::map<std::string, std::uint64_t>>> servers;
};

std::map<int, WorkerView> by_worker(const StatsSnapshot& s) {
  std::map<int, WorkerView> out;
  for (const StatsRow& r : s.rows) {
    WorkerView& w = out[r.worker];
    w.core = r.core;
    if (r.kind == StatsKind::kCounter) {
      w.counters.push_back(&r);
      continue;
    }
    const std::size_t dot = r.name.rfind('.');
    const std::string server = r.name.substr(0, dot), field = r.name.substr(dot + 1);
    if (w.servers.empty() || w.servers.back().first != server) w.servers.push_back({server, {}});
    w.servers.back().second[field] = r.value;
  }
  return out;
}

double age_seconds(const StatsSnapshot& s) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  const double now = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  return now - static_cast<double>(s.published_unix_ns) / 1e9;
}

std::string to_json(const StatsSnapshot& s) {
  char num[64];
  std::snprintf(num, sizeof num, "%.3f", static_cast<double>(s.uptime_ns) / 1e9);
  std::string out = "{\"instance\":" + json_quote(s.instance) +
                    ",\"pid\":" + std::to_string(s.pid) + ",\"uptime_s\":" + num;
  std::snprintf(num, sizeof num, "%.3f", age_seconds(s));
  out += ",\"age_s\":" + std::string(num) + ",\"workers\":[";
  bool first_worker = true;
  for (const auto& [index, w] : by_worker(s)) {
    out += std::string(first_worker ? "" : ",") + "{\"worker\":" + std::to_string(index) +
           ",\"core\":" + std::to_string(w.core) + ",\"servers\":{";
    first_worker = false;
    for (std::size_t i = 0; i < w.servers.size(); ++i) {
      out += (i ? "," : "") + json_quote(w.servers[i].first) + ":{";
      bool first = true;
      for (const auto& [field, v] : w.servers[i].second) {
        out += (first ? "" : ",") + json_quote(field) + ":" + std::to_string(v);
        first = false;
      }
      out += "}";
    }
    out += "},\"counters\":{";
    for (std::size_t i = 0; i < w.counters.size(); ++i)
      out += (i ? "," : "") + json_quote(w.counters[i]->name) + ":" +
             std::to_string(w.counters[i]->value);
    out += "}}";
  }
  return out + "]}\n";
}

std::string to_text(const StatsSnapshot& s) {
  char line[256];
  std::snprintf(line, sizeof line, "instance %s: pid %d, up %.1f s, counters of %.2f s ago\n",
                s.instance.c_str(), s.pid, static_cast<double>(s.uptime_ns) / 1e9, age_seconds(s));
  std::string out = line;
  for (const auto& [index, w] : by_worker(s)) {
    out += "worker " + std::to_string(index) +
           (w.core >= 0 ? " (core " + std::to_string(w.core) + ")" : std::string(" (not pinned)")) +
           "\n";
    std::snprintf(line, sizeof line, "  %-24s %10s %10s %10s %10s\n", "server", kServerFields[0],
                  kServerFields[1], kServerFields[2], kServerFields[3]);
    out += line;
    for (const auto& [name, fields] : w.servers) {
      std::string row = "  " + name;
      row.resize(std::max<std::size_t>(row.size(), 26), ' ');
      for (const char* f : kServerFields) {
        const auto it = fields.find(f);
        std::snprintf(line, sizeof line, " %10llu",
                      static_cast<unsigned long long>(it == fields.end() ? 0 : it->second));
        row += line;
      }
      out += row + "\n";
    }
    out += "  counters (non-zero)\n";
    for (const StatsRow* r : w.counters) {
      if (r->value == 0) continue;
      std::snprintf(line, sizeof line, "  %-36s %14llu\n", r->name.c_str(),
                    static_cast<unsigned long long>(r->value));
      out += line;
    }
  }
  return out;
}

}  // namespace

int cmd_stats(const Argv& argv) {
  const std::vector<cli::OptionSpec> specs = {
      {"name", {"-n", "--name"}, true, "NAME", "the instance (serve's `name`; default ustack)"},
      {"json", {"--json"}, false, "", "one JSON object per report"},
      {"watch", {"-w", "--watch"}, true, "SECONDS", "report again every SECONDS until Ctrl-C"},
      {"count", {"--count"}, true, "N", "with --watch: stop after N reports"},
      {"help", {"-h", "--help"}, false, "", "this help"},
  };
  cli::Args args;
  if (const int rc = cli::parse_command("stats", "[--name NAME] [--json] [--watch SECONDS]", specs,
                                        argv, &args);
      rc >= 0)
    return rc;
  std::string err;
  double watch = 0;
  unsigned long long count = 0;
  const std::string name = args.get("name", "ustack");
  if (!args.get_double("watch", 0.05, 86400, &watch, &err) ||
      !args.get_uint("count", 1, 1ull << 40, &count, &err) || !valid_instance_name(name, &err) ||
      !args.positional().empty()) {
    if (err.empty()) err = "unexpected argument '" + args.positional()[0] + "'";
    std::fprintf(stderr, "ustack stats: %s\n", err.c_str());
    return kExitUsage;
  }
  if (!args.has("watch")) count = 1;
  install_signal_handlers();
  for (unsigned long long n = 0; count == 0 || n < count; ++n) {
    if (n > 0) {
      const auto ns = static_cast<long long>(watch * 1e9);
      timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      nanosleep(&ts, nullptr);  // Ctrl-C ends the wait early
      if (g_interrupted.load()) break;
    }
    StatsSnapshot snap;
    const StatsRead r = read_stats(name, &snap, &err);
    if (r != StatsRead::kOk) {
      std::fprintf(stderr, "ustack stats: %s\n", err.c_str());
      return kExitFailure;
    }
    const std::string text = args.has("json") ? to_json(snap) : to_text(snap);
    std::fputs(text.c_str(), stdout);
    if (!args.has("json") && watch > 0) std::fputs("\n", stdout);
    std::fflush(stdout);
  }
  return kExitOk;
}

}  // namespace ustack::app
