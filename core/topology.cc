#include "core/topology.h"

#include <hwloc.h>

#include <algorithm>
#include <charconv>

namespace ustack {
namespace {

hwloc_topology_t as_topo(void* p) {
  return static_cast<hwloc_topology_t>(p);
}

bool parse_int(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && *out >= 0;
}

}  // namespace

std::unique_ptr<Topology> Topology::load(std::string* error) {
  std::unique_ptr<Topology> t(new Topology());
  hwloc_topology_t topo = nullptr;
  if (hwloc_topology_init(&topo) != 0 || hwloc_topology_load(topo) != 0) {
    if (topo != nullptr) hwloc_topology_destroy(topo);
    if (error) *error = "cannot read the machine topology (hwloc)";
    return nullptr;
  }
  t->topo_ = topo;
  const int npu = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  for (int i = 0; i < npu; ++i) {
    hwloc_obj_t pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, static_cast<unsigned>(i));
    if (pu != nullptr) t->cores_.push_back(static_cast<int>(pu->os_index));
  }
  std::sort(t->cores_.begin(), t->cores_.end());
  const int nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  t->numa_nodes_ = nnuma > 0 ? nnuma : 1;
  for (int core : t->cores_) {
    int node = 0;
    hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, static_cast<unsigned>(core));
    for (int n = 0; pu != nullptr && n < nnuma; ++n) {
      hwloc_obj_t numa = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(n));
      if (numa != nullptr && hwloc_bitmap_isset(numa->cpuset, static_cast<unsigned>(core)))
        node = n;
    }
    t->numa_of_core_.push_back(node);
  }
  if (t->cores_.empty()) {
    if (error) *error = "hwloc found no cores";
    return nullptr;
  }
  return t;
}

Topology::~Topology() {
  if (topo_ != nullptr) hwloc_topology_destroy(as_topo(topo_));
}

bool Topology::has_core(int core) const {
  return std::binary_search(cores_.begin(), cores_.end(), core);
}

int Topology::numa_node_of(int core) const {
  auto it = std::lower_bound(cores_.begin(), cores_.end(), core);
  if (it == cores_.end() || *it != core) return 0;
  return numa_of_core_[static_cast<std::size_t>(it - cores_.begin())];
}

bool Topology::pin_current_thread(int core, std::string* error) const {
  if (!has_core(core)) {
    if (error)
      *error = "core " + std::to_string(core) + " does not exist (this machine has cores " +
               describe_cores() + ")";
    return false;
  }
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  hwloc_bitmap_only(set, static_cast<unsigned>(core));
  const int rc = hwloc_set_cpubind(as_topo(topo_), set, HWLOC_CPUBIND_THREAD);
  hwloc_bitmap_free(set);
  if (rc != 0) {
    if (error) *error = "cannot pin thread to core " + std::to_string(core);
    return false;
  }
  return true;
}

bool Topology::check_cores(const std::vector<int>& list, std::string* error) const {
  for (int c : list) {
    if (!has_core(c)) {
      if (error)
        *error = "core " + std::to_string(c) + " does not exist (this machine has cores " +
                 describe_cores() + ")";
      return false;
    }
  }
  return true;
}

std::string Topology::describe_cores() const {
  return format_core_list(cores_);
}

bool parse_core_list(std::string_view text, std::vector<int>* out, std::string* error) {
  out->clear();
  auto fail = [&](const std::string& why) {
    if (error) *error = "bad core list '" + std::string(text) + "': " + why;
    out->clear();
    return false;
  };
  if (text.empty()) return fail("empty");
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view item = text.substr(pos, comma - pos);
    const std::size_t dash = item.find('-');
    int lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (!parse_int(item, &lo)) return fail("'" + std::string(item) + "' is not a core number");
      hi = lo;
    } else if (!parse_int(item.substr(0, dash), &lo) || !parse_int(item.substr(dash + 1), &hi) ||
               hi < lo) {
      return fail("'" + std::string(item) + "' is not a range like 0-3");
    }
    if (hi - lo > 4096) return fail("range too large");
    for (int c = lo; c <= hi; ++c) {
      if (std::find(out->begin(), out->end(), c) != out->end())
        return fail("core " + std::to_string(c) + " named twice");
      out->push_back(c);
    }
    pos = comma + 1;
  }
  return true;
}

std::string format_core_list(const std::vector<int>& cores) {
  std::vector<int> s = cores;
  std::sort(s.begin(), s.end());
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = i;
    while (j + 1 < s.size() && s[j + 1] == s[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(s[i]);
    if (j > i) out += '-' + std::to_string(s[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace ustack
