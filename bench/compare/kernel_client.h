// A row's client on Linux sockets: every measurement runs with the calling
// thread inside namespace `ns` and connects to `server` (10.0.0.2 across a
// veth, or 127.0.0.1 over loopback). The sink's byte counter is read
// through `sunk`.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "bench/compare/endpoint.h"

namespace ustack::compare {

std::unique_ptr<Endpoint> kernel_endpoint(const std::string& ns, const std::string& server,
                                          std::function<std::uint64_t()> sunk);

}  // namespace ustack::compare
