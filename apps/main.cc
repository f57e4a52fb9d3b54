// ustack: the command. `ustack help` lists the subcommands.
#include <cstdio>
#include <string>

#include "apps/commands.h"
#include "apps/host.h"

namespace {

void usage(FILE* out) {
  std::fprintf(
      out,
      "usage: ustack <command> [options]   (ustack <command> --help for its options)\n"
      "\n"
      "commands:\n"
      "  ping        send ICMP echo requests (ustack ping -i eth0 -dest 10.0.0.2)\n"
      "  tcpclient   send data to a TCP server and check the echo (-addr, -port)\n"
      "  tcpserver   serve TCP: echo (default), discard or source (-port)\n"
      "  udpserver   serve UDP: echo (default), discard or sink, many peers (-port)\n"
      "  udpclient   send N datagrams at a rate, check echoes: loss, rtt p50/p99\n"
      "  http        HTTP/1.1 client: GET, POST (chunked too), keep-alive over URLs\n"
      "  ws          WebSocket client: messages, fragments, ping, close handshake\n"
      "  bench       two stacks over an in-memory link: bulk, rr, crr (no root needed)\n"
      "  httpd       serve HTTP/1.1: /, /stats, POST /echo, files from --root\n"
      "  wsd         WebSocket (RFC 6455) echo server: messages, ping, close (-port)\n"
      "  iperf3      serve iperf3 clients (TCP and UDP: -u, -R, --bidir, -P) on port 5201\n"
      "  serve       run servers (httpd, wsd, tcpserver, iperf3) from a config file\n"
      "  stats       the live counters of a running serve (per worker, --json)\n"
      "  dump        print every frame on an interface, optionally to a pcap file\n"
      "  ids         print new flows and flag floods, scans, ARP conflicts, bad frames\n"
      "  help        this text\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return ustack::app::kExitUsage;
  }
  const std::string cmd = argv[1];
  const ustack::app::Argv rest(argv + 2, argv + argc);
  if (cmd == "ping") return ustack::app::cmd_ping(rest);
  if (cmd == "tcpclient") return ustack::app::cmd_tcpclient(rest);
  if (cmd == "tcpserver") return ustack::app::cmd_tcpserver(rest);
  if (cmd == "udpserver") return ustack::app::cmd_udpserver(rest);
  if (cmd == "udpclient") return ustack::app::cmd_udpclient(rest);
  if (cmd == "http") return ustack::app::cmd_http(rest);
  if (cmd == "ws") return ustack::app::cmd_ws(rest);
  if (cmd == "bench") return ustack::app::cmd_bench(rest);
  if (cmd == "httpd") return ustack::app::cmd_httpd(rest);
  if (cmd == "wsd") return ustack::app::cmd_wsd(rest);
  if (cmd == "iperf3") return ustack::app::cmd_iperf3(rest);
  if (cmd == "serve") return ustack::app::cmd_serve(rest);
  if (cmd == "stats") return ustack::app::cmd_stats(rest);
  if (cmd == "dump") return ustack::app::cmd_dump(rest);
  if (cmd == "ids") return ustack::app::cmd_ids(rest);
  if (cmd == "help" || cmd == "-h" || cmd == "--help" || cmd == "commands") {
    usage(stdout);
    return ustack::app::kExitOk;
  }
  std::fprintf(stderr, "ustack: unknown command '%s'\n", cmd.c_str());
  usage(stderr);
  return ustack::app::kExitUsage;
}
