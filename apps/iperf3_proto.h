// The iperf3 control protocol as iperf 3.x speaks it (there is no RFC; the
// reference is esnet/iperf's iperf_api.h, iperf_server_api.c and
// iperf_tcp.c): a 37-byte cookie opens the control connection and every
// data connection, the server drives the test with one signed byte per
// state, and parameters and results travel as JSON prefixed by a 32-bit
// big-endian length.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/json.h"

namespace ustack::app::iperf3 {

inline constexpr std::uint16_t kDefaultPort = 5201;
inline constexpr std::size_t kCookieSize = 37;           // 36 characters and a NUL
inline constexpr std::uint32_t kMaxJson = 256 * 1024;    // bound on either JSON message
inline constexpr std::uint32_t kMaxStreams = 128;        // iperf3's MAX_STREAMS
inline constexpr std::uint32_t kMaxBlock = 1024 * 1024;  // iperf3's MAX_BLOCKSIZE (TCP)
inline constexpr std::uint32_t kDefaultBlock = 128 * 1024;
inline constexpr std::uint32_t kMaxUdpBlock = 65507;       // iperf3's MAX_UDP_BLOCKSIZE
inline constexpr std::uint64_t kDefaultUdpRate = 1000000;  // -b for UDP: 1 Mbit/s

// The state bytes (iperf_api.h).
enum State : std::int8_t {
  kTestStart = 1,
  kTestRunning = 2,
  kTestEnd = 4,
  kParamExchange = 9,
  kCreateStreams = 10,
  kServerTerminate = 11,
  kClientTerminate = 12,
  kExchangeResults = 13,
  kDisplayResults = 14,
  kIperfStart = 15,
  kIperfDone = 16,
  kAccessDenied = -1,
  kServerError = -2,
};

// Error numbers a SERVER_ERROR carries (iperf_api.h's i_errno values; the
// client prints its own text for them).
enum Error : std::int32_t {
  kErrStreamListen = 202,  // IESTREAMLISTEN: "unable to start stream listener"
  kErrRecvParams = 114,    // IERECVPARAMS
  kErrMessage = 110,       // IEMESSAGE
  kErrAuth = 142,          // IEAUTHTEST
};

enum class Protocol { kTcp, kUdp, kSctp };

// The client's test parameters (send_parameters() in iperf_api.c).
struct Params {
  Protocol protocol = Protocol::kTcp;
  double omit = 0;           // seconds left out of the results at the start
  double time = 0;           // test length in seconds (0: bytes or blocks end it)
  std::uint64_t bytes = 0;   // -n
  std::uint64_t blocks = 0;  // -k
  std::uint32_t parallel = 1;
  bool reverse = false;
  bool bidirectional = false;
  std::uint32_t len = kDefaultBlock;
  // UDP: bits per second per stream ("bandwidth"; iperf3's -b, 1 Mbit/s by
  // default) and 64-bit datagram counters (--udp-counters-64bit).
  std::uint64_t bandwidth = 0;
  bool udp_counters_64bit = false;
  bool get_server_output = false;
  bool has_auth = false;
  std::string client_version;
  // Bytes the sender stops at, 0 for none (-n, or -k blocks of len).
  std::uint64_t byte_limit() const { return bytes != 0 ? bytes : blocks * len; }
};

// Reads and checks the parameter JSON. false and *error (one sentence) when
// it is not an object or a value is out of range; an SCTP request parses
// fine (the caller refuses it).
bool parse_params(std::string_view json, Params* out, std::string* error);

// One stream's figures for the results message (send_results()).
struct StreamResult {
  int id = 0;
  std::uint64_t bytes = 0;
  std::int64_t retransmits = -1;  // -1: not a sender, or not counted
  double seconds = 0;             // end_time - start_time
  // UDP: the receiver's jitter (seconds) and lost datagrams, and the
  // datagrams counted (the receiver's highest number; the sender's count).
  double jitter = 0;
  std::uint64_t errors = 0, packets = 0;
};

struct Results {
  double cpu_total = 0, cpu_user = 0, cpu_system = 0;
  int sender_has_retransmits = -1;   // -1 when the server only received
  std::string congestion = "cubic";  // the streams' congestion control ("congestion_used")
  std::vector<StreamResult> streams;
  std::string server_output_text;  // sent when not empty (--get-server-output)
};

std::string results_json(const Results& r);

// The stream ids iperf3 gives in accept order: 1, then 3, 4, 5, ...
// (iperf_add_stream() numbers a stream after the list's length plus two).
inline int stream_id(std::size_t index) {
  return index == 0 ? 1 : static_cast<int>(index) + 2;
}

// The peer's per-stream byte counts from its results JSON, by id.
bool parse_peer_results(std::string_view json, std::vector<StreamResult>* out, std::string* error);

// A JSON message with its 4-byte big-endian length in front.
std::string frame_json(const std::string& json);

}  // namespace ustack::app::iperf3
