#include "kernel/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <vector>

namespace ustack::testing {

int sh(const std::string& cmd, std::string* out) {
  const std::string full = cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
  const int rc = pclose(p);
  if (out != nullptr) {
    *out = text;
  } else if (!text.empty()) {
    std::fprintf(stderr, "[sh] %s\n%s", cmd.c_str(), text.c_str());
  }
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool can_make_namespaces(std::string* why) {
  if (geteuid() != 0) {
    *why = "kernel-peer tests need root (network namespaces)";
    return false;
  }
  std::string out;
  if (sh("ip netns list", &out) != 0) {
    *why = "iproute2's 'ip netns' does not work here: " + out;
    return false;
  }
  return true;
}

std::unique_ptr<NetnsPair> NetnsPair::create(const Options& o, std::string* error) {
  static std::atomic<int> serial{0};
  const int n = serial.fetch_add(1);
  const std::string tag = std::to_string(getpid() % 100000) + "x" + std::to_string(n);
  std::unique_ptr<NetnsPair> p(new NetnsPair());
  p->ns_a_ = "ustk" + tag + "a";
  p->ns_b_ = "ustk" + tag + "b";
  p->if_a_ = "uk" + tag + "a";  // at most 15 characters (IFNAMSIZ)
  p->if_b_ = "uk" + tag + "b";
  const std::string mtu = std::to_string(o.mtu);
  const std::string a = " -n " + p->ns_a_, b = " -n " + p->ns_b_;
  const std::string tx = o.peer_tx_checksum_offload ? "" : " tx off";
  std::vector<std::string> steps = {
      "ip netns add " + p->ns_a_,
      "ip netns add " + p->ns_b_,
      "ip link add " + p->if_a_ + " netns " + p->ns_a_ + " mtu " + mtu + " type veth peer name " +
          p->if_b_ + " netns " + p->ns_b_ + " mtu " + mtu,
      "ip netns exec " + p->ns_a_ + " sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
      "ip netns exec " + p->ns_b_ + " sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
      "ip netns exec " + p->ns_a_ + " ethtool -K " + p->if_a_ + " tso off gso off gro off",
      "ip netns exec " + p->ns_b_ + " ethtool -K " + p->if_b_ + " tso off gso off gro off" + tx,
      "ip" + b + " addr add " + o.peer_cidr + " dev " + p->if_b_,
      "ip" + a + " link set " + p->if_a_ + " up",
      "ip" + b + " link set " + p->if_b_ + " up",
      "ip" + b + " link set lo up",
  };
  if (!o.peer_cidr6.empty()) {
    std::erase_if(steps, [&](const std::string& s) {
      return s == "ip netns exec " + p->ns_b_ + " sysctl -qw net.ipv6.conf.all.disable_ipv6=1";
    });
    steps.push_back("ip" + b + " -6 addr add " + o.peer_cidr6 + " dev " + p->if_b_ + " nodad");
  }
  if (!o.offloads_off) {
    std::erase_if(steps, [](const std::string& s) { return s.find("ethtool -K") != s.npos; });
  }
  if (!o.veth) {
    // Only the namespaces: the driver creates its TAP inside B (and IPv6
    // settings of interfaces made later come from "default").
    p->if_a_ = p->if_b_ = "uk" + tag + "t";
    steps = {
        "ip netns add " + p->ns_a_,
        "ip netns add " + p->ns_b_,
        "ip" + b + " link set lo up",
    };
    // With peer_cidr6 the TAP gets IPv6 (from "default"); the test adds
    // the address once the driver has made the TAP.
    if (o.peer_cidr6.empty()) {
      steps.push_back("ip netns exec " + p->ns_b_ + " sysctl -qw net.ipv6.conf.all.disable_ipv6=1");
      steps.push_back("ip netns exec " + p->ns_b_ +
                      " sysctl -qw net.ipv6.conf.default.disable_ipv6=1");
    }
  }
  for (const std::string& s : steps) {
    std::string out;
    if (sh(s, &out) != 0) {
      *error = "'" + s + "' failed: " + out;
      return nullptr;  // the destructor removes what was made
    }
  }
  return p;
}

NetnsPair::~NetnsPair() {
  // Deleting a namespace destroys the veth end inside it, and with it the pair.
  std::string out;
  if (!ns_a_.empty()) sh("ip netns del " + ns_a_, &out);
  if (!ns_b_.empty()) sh("ip netns del " + ns_b_, &out);
}

bool NetnsPair::run_in(const std::string& ns, const std::function<void()>& fn) {
  const int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = self >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0;
  if (ok) {
    fn();
    ok = setns(self, CLONE_NEWNET) == 0;
  }
  if (self >= 0) close(self);
  if (target >= 0) close(target);
  return ok;
}

}  // namespace ustack::testing
