// Instructions per ICMP echo, counted by callgrind (run it through
// bench/callgrind_segments.sh; without valgrind it just runs).
//
// Host B answers echo requests (56 data bytes, what ping sends) that the
// program writes on memlink end A in bursts of 32 (bench/icmp_world.h), on
// a VirtualClock so the run is deterministic. Instrumentation is on only
// around B's worker iterations: receiving the requests (Ethernet, IPv4 with
// its header checksum, ICMP with its checksum), the replies made in place
// and transmitted. The phase ends in a callgrind dump ("icmp"); the program
// prints the echo count the script divides by.
//
// usage: icmp_echo_cost [--echoes N] [--size BYTES]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/callgrind.h"
#include "bench/icmp_world.h"
#include "core/clock.h"

int main(int argc, char** argv) {
  std::uint64_t n = 10000;
  unsigned long size = 56;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--echoes") == 0 && i + 1 < argc) {
      n = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
      size = std::strtoul(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--echoes N] [--size BYTES]\n", argv[0]);
      return 2;
    }
  }
  if (n == 0 || size > 1472) {
    std::fprintf(stderr, "icmp_echo_cost: --echoes above 0, --size at most 1472\n");
    return 2;
  }
  ustack::VirtualClock clock;
  std::string err;
  ustack::bench::IcmpWorld w;
  if (!w.open(clock, static_cast<std::uint16_t>(size), &err)) {
    std::fprintf(stderr, "icmp_echo_cost: %s\n", err.c_str());
    return 1;
  }
  constexpr std::uint16_t kBurst = 32;
  std::uint64_t sent = 0, replies = 0;
  while (sent < n) {
    const auto burst = static_cast<std::uint16_t>(std::min<std::uint64_t>(kBurst, n - sent));
    if (!w.send(burst, &sent)) {
      std::fprintf(stderr, "icmp_echo_cost: pool empty\n");
      return 1;
    }
    CALLGRIND_START_INSTRUMENTATION;
    w.s->b.worker->run_once();
    CALLGRIND_STOP_INSTRUMENTATION;
    replies += w.collect();
    clock.advance(std::chrono::microseconds(10));
  }
  CALLGRIND_DUMP_STATS_AT("icmp");
  std::printf("size=%lu icmp_echoes=%llu replies=%llu\n", size,
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(replies));
  if (replies != sent || w.answered() != sent) {
    std::fprintf(stderr, "icmp_echo_cost: not every request was answered\n");
    return 1;
  }
  return 0;
}
