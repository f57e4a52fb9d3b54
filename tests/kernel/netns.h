// Kernel peers for tests: two network namespaces joined by a veth pair,
// made uniquely for this process and always removed (the destructor; and
// ci/test sweeps any "ustk" namespace a crashed test left behind).
//
// Side A carries no kernel address: ustack owns it. Side B is the Linux
// stack, 10.0.0.2/24 by default, with segmentation offloads off so frames
// stay within the MTU, as on a real wire.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace ustack::testing {

// Runs `cmd` with /bin/sh; returns its exit status (-1 if it could not run).
// Output goes to *out when given, else to the test log.
int sh(const std::string& cmd, std::string* out = nullptr);

// True when this process may create namespaces (root with iproute2).
bool can_make_namespaces(std::string* why);

class NetnsPair {
 public:
  struct Options {
    std::string peer_cidr = "10.0.0.2/24";
    std::uint32_t mtu = 1500;
    bool peer_tx_checksum_offload = false;  // leave the kernel's TX checksum to "hardware"
  };
  static std::unique_ptr<NetnsPair> create(const Options& o, std::string* error);
  ~NetnsPair();
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;

  const std::string& ns_a() const { return ns_a_; }
  const std::string& ns_b() const { return ns_b_; }
  const std::string& if_a() const { return if_a_; }
  const std::string& if_b() const { return if_b_; }
  // "ip netns exec <ns_b> <cmd>"
  std::string in_b(const std::string& cmd) const { return "ip netns exec " + ns_b_ + " " + cmd; }
  // Runs fn with the calling thread inside namespace A (sockets opened there
  // stay there). false if the namespace could not be entered or left.
  bool run_in_a(const std::function<void()>& fn) const;

 private:
  NetnsPair() = default;
  std::string ns_a_, ns_b_, if_a_, if_b_;
};

}  // namespace ustack::testing
