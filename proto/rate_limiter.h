// A token bucket whose cost per event is random (0, 1 or 2 tokens, 1 on
// average). A fixed limit on ICMP errors is an observable shared state: an
// off-path attacker can count how many errors remain in the current period
// and learn whether another host's probes hit an open port (CVE-2020-25705,
// "SAD DNS"); Linux randomized its global ICMP limit the same way.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/instant.h"
#include "core/random.h"

namespace ustack {

class RandomizedTokenBucket {
 public:
  RandomizedTokenBucket(std::uint32_t per_second, std::uint32_t burst, std::uint64_t seed,
                        Instant start)
      : per_second_(per_second),
        burst_milli_(std::uint64_t{burst} * 1000),
        tokens_milli_(burst_milli_),
        last_(start),
        rng_(seed) {}

  // True when the event may happen now (and pays for it).
  bool allow(Instant now) {
    if (per_second_ == 0) return true;  // unlimited
    refill(now);
    if (tokens_milli_ < 1000) return false;
    const std::uint64_t cost = rng_.below(3) * 1000;
    tokens_milli_ = tokens_milli_ > cost ? tokens_milli_ - cost : 0;
    return true;
  }

 private:
  void refill(Instant now) {
    if (now <= last_) return;
    const auto ns = static_cast<std::uint64_t>((now - last_).count());
    // per_second tokens per 1e9 ns, in thousandths of a token.
    const std::uint64_t add = ns / 1000 * per_second_ / 1000;
    if (add == 0) return;  // keep the remainder for next time
    tokens_milli_ = std::min(burst_milli_, tokens_milli_ + add);
    last_ = now;
  }

  std::uint32_t per_second_;
  std::uint64_t burst_milli_;
  std::uint64_t tokens_milli_;
  Instant last_;
  Rng rng_;
};

}  // namespace ustack
