// The run of a TCP server command (see server_loop.h).
#include "apps/server_loop.h"

#include <cstdio>

namespace ustack::app {

std::unique_ptr<AppHost> open_server_host(const char* name, const HostOptions& o) {
  install_signal_handlers();
  std::string err;
  auto host = AppHost::open(o, &err);
  if (!host) std::fprintf(stderr, "ustack %s: %s\n", name, err.c_str());
  return host;
}

int serve(AppHost& host, ServerListener& listener, const ServeOptions& o) {
  std::string err;
  if (host.stack().tcp().listen(o.port, listener, &err) == nullptr) {
    std::fprintf(stderr, "ustack %s: %s\n", o.name, err.c_str());
    return kExitUsage;
  }
  std::printf("%s: listening on %s port %u%s\n", o.name, host.address().addr.to_string().c_str(),
              static_cast<unsigned>(o.port), o.detail.c_str());
  std::fflush(stdout);
  host.run_until([&] { return o.count != 0 && listener.finished >= o.count; },
                 std::chrono::hours(24 * 365));
  if (g_interrupted.load()) {
    // Ctrl-C: close what is open with FIN and give it a moment to finish.
    std::printf("%s: interrupted, closing open connections\n", o.name);
    listener.close_all();
    host.drain(std::chrono::seconds(1));
  }
  std::printf("%s: %llu connections, %llu failed\n", o.name,
              static_cast<unsigned long long>(listener.finished),
              static_cast<unsigned long long>(listener.failed));
  return listener.failed == 0 ? kExitOk : kExitFailure;
}

}  // namespace ustack::app
