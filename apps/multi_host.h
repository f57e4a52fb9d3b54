// A host of several cores for `ustack serve` (cores = [a, b, ...]): the port
// opened with one queue per core, a StackGroup (proto/stack_group.h), each
// core's worker on its own thread pinned to its listed CPU. Each core is a
// ServerEnv, so every server runs one listener per core, each accepting
// the flows its core owns.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/host.h"
#include "proto/stack_group.h"

namespace ustack::app {

class MultiHost {
 public:
  static std::unique_ptr<MultiHost> open(const HostOptions& o, const std::vector<int>& cpus,
                                         std::string* error);
  ~MultiHost();

  std::size_t size() const { return envs_.size(); }
  ServerEnv& core(std::size_t k) { return *envs_[k]; }
  int cpu(std::size_t k) const { return cpus_[k]; }
  const CounterSet& counters(std::size_t k) const { return group_.cores[k].worker->counters(); }
  const Ipv4Cidr& address() const { return address_; }
  Instant now() const { return clock_.now(); }
  // Each core's loop on its thread. false and *error when pinning fails.
  bool start(std::string* error) { return group_.start(topology_.get(), error); }
  void stop() { group_.stop(); }

 private:
  class CoreEnv;
  MultiHost() = default;
  TscClock clock_;
  std::unique_ptr<Topology> topology_;
  StackGroup group_;
  std::shared_ptr<Port> port_;
  Ipv4Cidr address_;
  std::vector<int> cpus_;
  std::vector<std::unique_ptr<ServerEnv>> envs_;
};

}  // namespace ustack::app
