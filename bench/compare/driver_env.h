// ustack on a real driver (af_packet, uring_tap, dpdk) facing Linux across
// a NetnsPair, as the kernel test suites host it (tests/kernel/kernel_host.h).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "bench/compare/endpoint.h"
#include "kernel/netns.h"

namespace ustack::compare {

// `driver` as KernelHost::open takes it ("af_packet", "af_packet_v2",
// "uring_tap", "dpdk"); `sunk` reads the Linux sink's byte counter.
std::unique_ptr<Endpoint> driver_endpoint(const testing::NetnsPair& pair, const std::string& driver,
                                          std::function<std::uint64_t()> sunk, std::string* error);

}  // namespace ustack::compare
