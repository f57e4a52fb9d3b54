// A ustack host on a real interface, as the commands run it: the driver's
// port, an mbuf pool, a worker (pinned when asked), the stack, and a loop
// that stops on Ctrl-C.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "core/clock.h"
#include "core/topology.h"
#include "core/worker.h"
#include "drivers/factory.h"
#include "proto/stack.h"

namespace ustack::app {

// Exit statuses (issue: user mistakes 2, runtime failures 1).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// The options every interface command shares.
std::vector<cli::OptionSpec> host_options();

struct HostOptions {
  std::string driver = "af_packet";
  std::string iface;
  std::optional<Ipv4Cidr> ip;  // unset: borrow the interface's address
  Ipv4Addr gateway;
  std::optional<Ipv6Cidr> ip6;  // set: IPv6 runs, with this address and the link-local one
  Ipv6Addr gateway6;            // the default router for IPv6; :: none
  bool slaac = false;           // follow router advertisements (NetifConfig::slaac)
  std::optional<MacAddr> mac;
  int core = -1;           // the first of `cores`
  std::vector<int> cores;  // --cores: several only for the servers (apps/multi_serve.h)
  bool debug = false;
  int ring = 2;            // af_packet ring: V2 by default (latency); 3 for throughput
  std::string dpdk_args;   // EAL arguments for the dpdk driver
  Duration idle_sleep{0};  // --idle sleep: WorkerConfig::idle_sleep; zero spins
};
// Reads the shared options; false and *error on a bad value. Messages name
// an option as `flag` + its name ("--ip"; serve's config file: "ip").
bool read_host_options(const cli::Args& args, HostOptions* out, std::string* error,
                       const std::string& flag = "--");

// The stack's address: --ip, else the interface's own (with a warning that
// the kernel answers on it too). false and *error when there is none.
bool host_address(const HostOptions& o, Ipv4Cidr* out, std::string* error);

// "10.0.0.2:7" or "[fd00::2]:7" (RFC 5952 §6: brackets around an IPv6
// address with a port).
inline std::string peer_string(const IpAddr& a, std::uint16_t port) {
  const std::string p = std::to_string(port);
  return a.is_v6() ? "[" + a.to_string() + "]:" + p : a.to_string() + ":" + p;
}

// The line a server prints for each finished connection:
// "PEER: [WHAT]received N bytes, sent N bytes in T ms (REASON)".
void print_connection_summary(const std::string& peer, const std::string& what,
                              std::uint64_t received, std::uint64_t sent, Duration took,
                              TcpCloseReason reason);

// Set by SIGINT/SIGTERM; loops stop when they see it.
extern std::atomic<bool> g_interrupted;
void install_signal_handlers();

// What a server needs of the core it runs on: its stack, the time, and the
// core's counters. An AppHost is one; so is each core of a MultiHost.
class ServerEnv {
 public:
  virtual ~ServerEnv() = default;
  virtual Stack& stack() = 0;
  virtual Instant now() const = 0;
  // Every counter of the core's worker and stack, by name.
  virtual void for_each_counter(
      const std::function<void(const std::string&, std::uint64_t)>& fn) const = 0;
};

class AppHost final : public ServerEnv {
 public:
  static std::unique_ptr<AppHost> open(const HostOptions& o, std::string* error);
  ~AppHost() override;

  // Polls until done() (true), Ctrl-C or `timeout` (false).
  bool run_until(const std::function<bool()>& done, Duration timeout);
  // Runs the stack until IPv6 duplicate address detection is through (about
  // 1 s; nothing without IPv6), warning about an address found in use. For
  // clients, which need a source address; servers answer IPv4 meanwhile.
  void wait_for_ipv6();
  // Runs the loop for `d` even after Ctrl-C (to finish closing).
  void drain(Duration d);
  Stack& stack() override { return *stack_; }
  Instant now() const override { return clock_.now(); }
  void sync() { stack_->set_now(clock_.now()); }
  const Ipv4Cidr& address() const { return address_; }
  std::uint64_t counter(const char* name) { return worker_->counters().value(name); }
  const CounterSet& counters() const { return worker_->counters(); }
  // Every counter of the worker and its stack, by name.
  void for_each_counter(
      const std::function<void(const std::string&, std::uint64_t)>& fn) const override {
    worker_->counters().for_each(fn);
  }
  // Non-zero drop counters, one "name=value" per line (for --debug).
  std::string drop_report();

 private:
  AppHost() = default;
  TscClock clock_;
  std::unique_ptr<Topology> topology_;
  std::unique_ptr<MbufPool> pool_;
  std::shared_ptr<Port> port_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<Stack> stack_;
  Ipv4Cidr address_;
};

}  // namespace ustack::app
