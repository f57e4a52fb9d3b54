// The client side of one row of the comparison (bench/compare/): it runs
// the five measurements against the row's server (an echo service on
// kEchoPort, a discarding sink on kSinkPort). Opened again every round.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ustack::compare {

inline constexpr std::uint16_t kEchoPort = 7000;  // echoes every byte back
inline constexpr std::uint16_t kSinkPort = 7001;  // reads and discards
inline constexpr std::size_t kEchoBytes = 20000;  // the seed's transfer
// The server end of every row but loopback: 10.0.0.2 (the client is 10.0.0.1).
inline constexpr const char* kServerAddr = "10.0.0.2";

// How long each measurement runs (every loop also stops at its bound).
struct Budget {
  double seconds = 1;         // bulk, rr and crr: measured time
  double warm_seconds = 0.2;  // bulk: sent before measuring
  int echo_runs = 100;        // 20 KB echoes
};

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // Bulk transfer to the sink over `conns` connections; Gbit/s of payload
  // the sink received while measured.
  virtual bool bulk(int conns, const Budget& b, double* gbps, std::string* error) = 0;
  // 1-byte request, 1-byte response on one connection (netperf TCP_RR):
  // the round trips' times in microseconds and their rate.
  virtual bool rr(const Budget& b, std::vector<double>* rtt_us, double* per_s,
                  std::string* error) = 0;
  // Connect, 1-byte request and response, close (netperf TCP_CRR): per second.
  virtual bool crr(const Budget& b, double* per_s, std::string* error) = 0;
  // The seed's transfer: connect, send 20,000 bytes, read them back, close;
  // each run's time in microseconds.
  virtual bool echo(const Budget& b, std::vector<double>* us, std::string* error) = 0;
};

}  // namespace ustack::compare
