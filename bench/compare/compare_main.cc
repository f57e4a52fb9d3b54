// ustack next to the Linux kernel, in one run (issue #9): every row's
// client runs bulk transfer over 1 and 4 connections, 1-byte
// request/response (netperf TCP_RR), connect/request/close (TCP_CRR) and
// the seed's 20 KB echo, against the same kind of server: Linux's (one
// epoll thread) across a veth, a TAP or loopback, or a second ustack over
// memlink. Rounds interleave the rows (every round runs every row once, in
// a rotated order), so drift on a shared machine hits all rows alike;
// each figure is the median over rounds (latency percentiles and the echo
// median over all samples). Prints a Markdown table with ratios to Linux
// to Linux over the veth with the same 1500-byte frames; --json for
// bench/plot_compare.py. Root: it makes its namespaces (ustk*, 10.0.0.x)
// and removes them at exit, on failure and on SIGINT/SIGTERM.
//
// usage: compare [--rounds N] [--seconds S] [--runs N] [--quick]
//                [--rows KEY,...] [--json FILE] [--cpus C,S | --no-pin]
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/compare/kernel_server.h"
#include "bench/compare/lab.h"
#include "bench/compare/report.h"

namespace ustack::compare {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
}

struct Options {
  int rounds = 3;
  // --cpus C,S: the clients (ustack's poll loop, or the Linux client) on
  // CPU C, the Linux server on CPU S. Off by default: on this 2-vCPU VM it
  // made every row's round trips slower (a cross-CPU wake-up per message
  // is an IPI, a VM exit, and the server's CPU is shared with whatever
  // else runs), Linux's the most.
  int client_cpu = -1, server_cpu = -1;
  Budget budget;
  std::vector<std::string> rows = all_row_keys();
  std::string json;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream in(s);
  for (std::string k; std::getline(in, k, ',');)
    if (!k.empty()) v.push_back(k);
  return v;
}

int usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "compare: %s\n", why);
  std::string keys;
  for (const std::string& k : all_row_keys()) keys += (keys.empty() ? "" : ",") + k;
  std::string extra;
  for (const std::string& k : extra_row_keys()) extra += (extra.empty() ? "" : ",") + k;
  std::fprintf(stderr,
               "usage: compare [--rounds N] [--seconds S] [--runs N] [--quick] [--rows KEYS] "
               "[--json FILE]\n"
               "  --rounds N   rounds, each running every row once (default 3)\n"
               "  --seconds S  per bulk, RR and CRR measurement (default 1)\n"
               "  --runs N     20 KB echoes per row and round (default 100)\n"
               "  --quick      1 round, 0.25 s, 20 echoes: under a minute (a smoke run)\n"
               "  --rows KEYS  some of (default: all of) %s; or also %s\n"
               "  --json FILE  also write the figures as JSON (bench/plot_compare.py plots it)\n"
               "  --cpus C,S   pin the clients to CPU C and the Linux server to CPU S\n"
               "  --no-pin     pin nothing (the default)\n",
               keys.c_str(), extra.c_str());
  return 2;
}

bool parse(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--quick") {
      o->rounds = 1;
      o->budget.seconds = 0.25;
      o->budget.warm_seconds = 0.05;
      o->budget.echo_runs = 20;
    } else if (a == "--rounds" && has_value) {
      o->rounds = std::atoi(argv[++i]);
    } else if (a == "--seconds" && has_value) {
      o->budget.seconds = std::atof(argv[++i]);
    } else if (a == "--runs" && has_value) {
      o->budget.echo_runs = std::atoi(argv[++i]);
    } else if (a == "--rows" && has_value) {
      o->rows = split(argv[++i]);
    } else if (a == "--json" && has_value) {
      o->json = argv[++i];
    } else if (a == "--cpus" && has_value) {
      const std::vector<std::string> v = split(argv[++i]);
      if (v.size() != 2) return false;
      o->client_cpu = std::atoi(v[0].c_str());
      o->server_cpu = std::atoi(v[1].c_str());
    } else if (a == "--no-pin") {
      o->client_cpu = o->server_cpu = -1;
    } else {
      return false;
    }
  }
  return o->rounds >= 1 && o->rounds <= 100 && o->budget.seconds > 0 && o->budget.seconds <= 60 &&
         o->budget.echo_runs >= 1 && o->budget.echo_runs <= 100000 && !o->rows.empty();
}

// The 1, 5 and 15 minute load averages.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string read_line(const char* path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

std::string machine() {
  std::ifstream in("/proc/cpuinfo");
  std::string model;
  for (std::string l; std::getline(in, l);)
    if (l.rfind("model name", 0) == 0) {
      model = l.substr(l.find(':') + 2);
      break;
    }
  std::string kernel = read_line("/proc/sys/kernel/osrelease");
  return model + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " CPUs, Linux " + kernel;
}

// One row's five measurements of one round.
void measure(Endpoint& ep, const Budget& b, int round, RowRuns* r) {
  const auto note = [&](const char* what, const std::string& why) {
    r->errors.push_back("round " + std::to_string(round + 1) + ", " + what + ": " + why);
  };
  std::string err;
  double v = 0;
  if (ep.bulk(1, b, &v, &err))
    r->gbps1.push_back(v);
  else
    note("bulk 1", err);
  if (ep.bulk(4, b, &v, &err))
    r->gbps4.push_back(v);
  else
    note("bulk 4", err);
  if (ep.rr(b, &r->rtt_us, &v, &err))
    r->rr_per_s.push_back(v);
  else
    note("rr", err);
  if (ep.crr(b, &v, &err))
    r->crr_per_s.push_back(v);
  else
    note("crr", err);
  if (!ep.echo(b, &r->echo_us, &err)) note("echo", err);
}

}  // namespace
}  // namespace ustack::compare

int main(int argc, char** argv) {
  using namespace ustack::compare;
  Options o;
  if (!parse(argc, argv, &o)) return usage(argc > 1 ? "bad arguments" : nullptr);
  std::string why;
  if (!ustack::testing::can_make_namespaces(&why)) {
    std::fprintf(stderr, "compare: %s\n", why.c_str());
    return 2;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  RunInfo info;
  info.pinning = o.client_cpu < 0 ? "none"
                                  : "clients on CPU " + std::to_string(o.client_cpu) +
                                        ", Linux server on CPU " + std::to_string(o.server_cpu);
  for (int i = 0; i < argc; ++i) info.command += (i == 0 ? "" : " ") + std::string(argv[i]);
  info.machine = machine();
  info.rounds = o.rounds;
  info.budget = o.budget;
  const std::string load0 = load_average();
  const auto t0 = std::chrono::steady_clock::now();
  if (o.client_cpu >= 0 && !pin_thread(pthread_self(), o.client_cpu, &why)) {
    std::fprintf(stderr, "compare: %s\n", why.c_str());
    return 2;
  }
  auto lab = Lab::create(o.rows, o.server_cpu, &why);
  if (!lab) {
    std::fprintf(stderr, "compare: %s\n", why.c_str());
    return 1;
  }
  const std::vector<Row>& rows = lab->rows();
  std::vector<RowRuns> runs(rows.size());
  for (int round = 0; round < o.rounds && !g_stop; ++round) {
    for (std::size_t k = 0; k < rows.size() && !g_stop; ++k) {
      const std::size_t i = (k + static_cast<std::size_t>(round)) % rows.size();  // rotated
      std::string err;
      auto ep = rows[i].open(&err);
      if (!ep) {
        runs[i].errors.push_back("round " + std::to_string(round + 1) + ", open: " + err);
        continue;
      }
      measure(*ep, o.budget, round, &runs[i]);
      std::fprintf(stderr, "round %d/%d: %s done\n", round + 1, o.rounds, rows[i].label.c_str());
    }
  }
  info.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  info.load = "before " + load0 + ", after " + load_average();
  std::printf(
      "%s\n%s, %d round(s), %.2f s per measurement, %d echoes per row and round, %.0f s; "
      "load %s; pinned: %s\n\n",
      info.command.c_str(), info.machine.c_str(), o.rounds, o.budget.seconds, o.budget.echo_runs,
      info.wall_seconds, info.load.c_str(), info.pinning.c_str());
  print_table(stdout, rows, runs, kReferenceRow);
  if (!o.json.empty() && !write_json(o.json, info, rows, runs, kReferenceRow, &why)) {
    std::fprintf(stderr, "compare: %s\n", why.c_str());
    return 1;
  }
  if (g_stop) {
    std::fprintf(stderr, "compare: interrupted\n");
    return 1;
  }
  // A figure missing from every round is a failure (the smoke run's
  // verdict); slow figures are not: nothing here judges timing.
  int status = 0;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (!complete(summarize(runs[i]))) {
      std::fprintf(stderr, "compare: %s: some measurement failed in every round\n",
                   rows[i].label.c_str());
      status = 1;
    }
  return status;
}
