#include "bench/compare/lab.h"

#include "bench/compare/driver_env.h"
#include "bench/compare/kernel_client.h"
#include "bench/compare/memlink_env.h"

namespace ustack::compare {

std::vector<std::string> all_row_keys() {
  std::vector<std::string> v = {"ustack-memlink", "ustack-afp-v2", "ustack-afp-v3"};
#ifdef USTACK_HAVE_URING
  v.push_back("ustack-uring-tap");
#endif
#ifdef USTACK_HAVE_DPDK
  v.insert(v.end(), {"ustack-dpdk-afp", "ustack-dpdk-pcap"});
#endif
  v.insert(v.end(), {"linux-veth", "linux-veth-offload", "linux-lo"});
  return v;
}

std::vector<std::string> extra_row_keys() {
  return {"ustack-memlink-2t"};
}

std::unique_ptr<Lab> Lab::create(const std::vector<std::string>& keys, int server_cpu,
                                 std::string* error) {
  std::unique_ptr<Lab> lab(new Lab());
  for (const std::string& k : keys)
    if (!lab->add(k, error)) return nullptr;
  if (!lab->pairs_.empty() && !lab->servers_.start(server_cpu, error)) return nullptr;
  return lab;
}

testing::NetnsPair* Lab::make_pair(const testing::NetnsPair::Options& o, bool kernel_client,
                                   std::string* error) {
  auto p = testing::NetnsPair::create(o, error);
  if (!p) return nullptr;
  if (kernel_client) {
    // A Linux client at 10.0.0.1 that may open tens of thousands of
    // connections a second (TIME-WAIT reused for new outgoing ones), as
    // may a client on loopback inside B.
    for (const std::string& ns : {p->ns_a(), p->ns_b()}) {
      std::string out;
      if (testing::sh("ip netns exec " + ns +
                          " sysctl -qw net.ipv4.tcp_tw_reuse=1 "
                          "net.ipv4.ip_local_port_range='1024 65000'",
                      &out) != 0) {
        *error = "sysctl in " + ns + " failed: " + out;
        return nullptr;
      }
    }
    std::string out;
    if (testing::sh("ip -n " + p->ns_a() + " addr add 10.0.0.1/24 dev " + p->if_a(), &out) != 0) {
      *error = "could not give " + p->if_a() + " an address: " + out;
      return nullptr;
    }
  }
  pairs_.push_back(std::move(p));
  return pairs_.back().get();
}

bool Lab::add(const std::string& key, std::string* error) {
  Row r;
  r.key = key;
  if (key == "ustack-memlink" || key == "ustack-memlink-2t") {
    const bool threaded = key == "ustack-memlink-2t";
    r.label = threaded ? "ustack <-> ustack, memlink, a thread each"
                       : "ustack <-> ustack, memlink, one thread";
    r.kind = "ustack";
    r.transport = "memlink";
    r.open = [threaded](std::string* e) { return memlink_endpoint(threaded, e); };
    rows_.push_back(std::move(r));
    return true;
  }
  const bool linux_row = key.rfind("linux-", 0) == 0;
  if (!linux_row) {
    // ustack on a driver, against Linux in namespace B of a pair of its own.
    std::string driver;
    if (key == "ustack-afp-v2") {
      driver = "af_packet_v2";
      r.label = "ustack af_packet V2 <-> Linux, veth";
    } else if (key == "ustack-afp-v3") {
      driver = "af_packet";
      r.label = "ustack af_packet V3 <-> Linux, veth";
    } else if (key == "ustack-uring-tap") {
      driver = "uring_tap";
      r.label = "ustack uring_tap <-> Linux, TAP";
    } else if (key == "ustack-dpdk-afp") {
      driver = "dpdk_af_packet";
      r.label = "ustack dpdk net_af_packet <-> Linux, veth";
    } else if (key == "ustack-dpdk-pcap") {
      driver = "dpdk";
      r.label = "ustack dpdk net_pcap <-> Linux, veth";
    } else {
      *error = "no row '" + key + "'";
      return false;
    }
    testing::NetnsPair::Options o;
    o.veth = driver != "uring_tap";
    testing::NetnsPair* pair = make_pair(o, false, error);
    if (pair == nullptr) return false;
    const int sink = servers_.listen_in(pair->ns_b(), error);
    if (sink < 0) return false;
    r.kind = "ustack";
    r.transport = o.veth ? "veth" : "TAP";
    r.open = [this, pair, driver, sink](std::string* e) {
      return driver_endpoint(
          *pair, driver, [this, sink] { return servers_.sunk(sink); }, e);
    };
    rows_.push_back(std::move(r));
    return true;
  }
  r.kind = "kernel";
  if (key == "linux-veth" || key == "linux-lo") {
    if (linux_pair_ == nullptr) {
      linux_pair_ = make_pair(testing::NetnsPair::Options{}, true, error);
      if (linux_pair_ == nullptr) return false;
      linux_sink_ = servers_.listen_in(linux_pair_->ns_b(), error);
      if (linux_sink_ < 0) return false;
    }
    const bool lo = key == "linux-lo";
    r.label = lo ? "Linux <-> Linux, loopback (MTU 64K)" : "Linux <-> Linux, veth, offloads off";
    r.transport = lo ? "loopback" : "veth";
    const std::string ns = lo ? linux_pair_->ns_b() : linux_pair_->ns_a();
    const std::string server = lo ? "127.0.0.1" : kServerAddr;
    r.open = [this, ns, server](std::string*) {
      const int sink = linux_sink_;
      return kernel_endpoint(ns, server, [this, sink] { return servers_.sunk(sink); });
    };
    rows_.push_back(std::move(r));
    return true;
  }
  if (key == "linux-veth-offload") {
    testing::NetnsPair::Options o;
    o.offloads_off = false;
    testing::NetnsPair* pair = make_pair(o, true, error);
    if (pair == nullptr) return false;
    const int sink = servers_.listen_in(pair->ns_b(), error);
    if (sink < 0) return false;
    r.label = "Linux <-> Linux, veth, default offloads";
    r.transport = "veth";
    const std::string ns = pair->ns_a();
    r.open = [this, ns, sink](std::string*) {
      return kernel_endpoint(ns, kServerAddr, [this, sink] { return servers_.sunk(sink); });
    };
    rows_.push_back(std::move(r));
    return true;
  }
  *error = "no row '" + key + "'";
  return false;
}

}  // namespace ustack::compare
