// The machine's cores and NUMA nodes (hwloc), core lists as users write
// them ("0-1", "2,4", "0-3,8"), and pinning a thread to a core.
//
// A "core" here is a logical CPU by its OS index (what taskset and DPDK's
// -l take).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ustack {

class Topology {
 public:
  // nullptr and *error set when hwloc cannot read the machine.
  static std::unique_ptr<Topology> load(std::string* error);
  ~Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  // OS indexes of the logical CPUs this process may run on, ascending.
  const std::vector<int>& cores() const { return cores_; }
  bool has_core(int core) const;
  // NUMA node of a core (0 on machines without NUMA information).
  int numa_node_of(int core) const;
  int numa_nodes() const { return numa_nodes_; }
  // Pins the calling thread to `core`. false and *error set on failure.
  bool pin_current_thread(int core, std::string* error) const;
  // Every core in `list` exists; otherwise *error says which does not.
  bool check_cores(const std::vector<int>& list, std::string* error) const;
  // "0-1" style description of cores().
  std::string describe_cores() const;

 private:
  Topology() = default;
  void* topo_ = nullptr;  // hwloc_topology_t, kept opaque to includers
  std::vector<int> cores_;
  std::vector<int> numa_of_core_;  // indexed by position in cores_
  int numa_nodes_ = 1;
};

// Parses a core list: comma-separated indexes and ranges, no duplicates.
// Returns false and sets *error on a malformed list.
bool parse_core_list(std::string_view text, std::vector<int>* out, std::string* error);
// Formats a sorted list compactly ("0-3,8").
std::string format_core_list(const std::vector<int>& cores);

}  // namespace ustack
