// The ustack subcommands. Each takes its arguments (after the command
// name) and returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace ustack::app {

using Argv = std::vector<std::string>;

int cmd_ping(const Argv& args);
int cmd_tcpclient(const Argv& args);
int cmd_tcpserver(const Argv& args);
int cmd_bench(const Argv& args);
int cmd_dump(const Argv& args);
int cmd_ids(const Argv& args);
int cmd_httpd(const Argv& args);
int cmd_wsd(const Argv& args);
int cmd_iperf3(const Argv& args);
int cmd_serve(const Argv& args);
int cmd_stats(const Argv& args);
int cmd_udpserver(const Argv& args);
int cmd_udpclient(const Argv& args);
int cmd_http(const Argv& args);
int cmd_ws(const Argv& args);

}  // namespace ustack::app
