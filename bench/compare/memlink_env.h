// Two ustack stacks over memlink in this process: the client stack A runs
// the measurements against an echo and a sink server on stack B. Both
// polled by the calling thread (one core for both ends), or, `threaded`,
// B on a worker thread of its own (a core each, as `ustack bench` runs).
#pragma once

#include <memory>
#include <string>

#include "bench/compare/endpoint.h"

namespace ustack::compare {

std::unique_ptr<Endpoint> memlink_endpoint(bool threaded, std::string* error);

}  // namespace ustack::compare
