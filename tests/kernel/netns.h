// Kernel peers for tests: two network namespaces joined by a veth pair,
// made uniquely for this process and always removed (the destructor; and
// ci/test sweeps any "ustk" namespace a crashed test left behind).
//
// Side A carries no kernel address: ustack owns it. Side B is the Linux
// stack, 10.0.0.2/24 by default, with segmentation offloads off so frames
// stay within the MTU, as on a real wire.
//
// With Options::veth = false there is no veth pair: the driver makes the
// link itself inside namespace B (a TAP, whose kernel side is B's host), and
// if_a() == if_b() names the interface it should create there.
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
    bool veth = true;  // false: namespaces only; the driver brings its link into B
    // false: the veth keeps the kernel's default offloads (TSO, GSO, GRO,
    // checksums): frames up to 64 KB cross it (bench/compare's second
    // Linux row).
    bool offloads_off = true;
    // Not empty: IPv6 runs in namespace B with this address (added without
    // DAD, so it is usable at once); otherwise IPv6 is off in both.
    std::string peer_cidr6;
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
  bool run_in_a(const std::function<void()>& fn) const { return run_in(ns_a_, fn); }
  // The same inside namespace B (where a TAP's kernel side lives).
  bool run_in_b(const std::function<void()>& fn) const { return run_in(ns_b_, fn); }
  // Runs fn with the calling thread inside namespace `ns`.
  static bool run_in(const std::string& ns, const std::function<void()>& fn);

 private:
  NetnsPair() = default;
  std::string ns_a_, ns_b_, if_a_, if_b_;
};

}  // namespace ustack::testing
