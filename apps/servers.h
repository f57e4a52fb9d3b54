// The servers of the ustack command, each constructible on any ServerEnv
// (the caller sets the listener's port, stop_after and line options):
// alone by its own command (httpd, wsd, tcpserver, iperf3), or several on
// different ports of one stack by serve. The options are validated by the
// functions here, whichever way they were given (command line or config
// file); `what` names the option in the message ("--mode" or "mode").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "apps/host.h"
#include "apps/server_loop.h"

namespace ustack::app {

// httpd: GET /, GET /stats, POST /echo, static files from `root` ("" for none).
struct HttpdOptions {
  std::string root;
  bool debug = false;
};
inline constexpr std::uint16_t kHttpdDefaultPort = 8080;
// Checks that *root names a directory and drops its trailing slashes.
bool check_httpd_root(std::string* root, const std::string& what, std::string* error);
std::unique_ptr<ServerListener> make_httpd(ServerEnv& host, const HttpdOptions& o,
                                           std::string name = "httpd");

// tcpserver: echo (zero copy), discard, or source `source_bytes` to each connection.
enum class TcpServerMode { kEcho, kDiscard, kSource };
struct TcpServerOptions {
  TcpServerMode mode = TcpServerMode::kEcho;
  std::uint64_t source_bytes = 1 << 20;
  bool debug = false;
};
inline constexpr std::uint64_t kTcpServerMaxBytes = 1ull << 50;
bool parse_tcpserver_mode(std::string_view s, TcpServerMode* mode, const std::string& what,
                          std::string* error);
const char* to_string(TcpServerMode m);
std::unique_ptr<ServerListener> make_tcpserver(ServerEnv& host, const TcpServerOptions& o,
                                               std::string name = "tcpserver");

// wsd: WebSocket echo; messages up to max_message bytes (over: close 1009).
struct WsdOptions {
  std::uint64_t max_message = 16 << 20;
  bool debug = false;
};
inline constexpr std::uint16_t kWsdDefaultPort = 8080;
inline constexpr std::uint64_t kWsdMaxMessageLimit = 1ull << 31;
std::unique_ptr<ServerListener> make_wsd(ServerEnv& host, const WsdOptions& o,
                                         std::string name = "wsd");

// iperf3: the server stock iperf3 clients test against; `one_off` ends the
// run after one test, `json` prints one object per test (the server's own
// lines then go to stderr).
struct Iperf3Options {
  bool json = false;
  bool one_off = false;
};
// iperf3's own port is iperf3::kDefaultPort (apps/iperf3_proto.h). nullptr
// and *error when the send pattern cannot be allocated.
std::unique_ptr<ServerListener> make_iperf3(ServerEnv& host, const Iperf3Options& o,
                                            std::string* error, std::string name = "iperf3");

}  // namespace ustack::app
