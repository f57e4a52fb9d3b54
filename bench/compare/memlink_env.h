// Two ustack stacks over memlink in this process, both polled by the
// calling thread (one core for both ends): the client stack A runs the
// measurements against an echo and a sink server on stack B.
#pragma once

#include <memory>
#include <string>

#include "bench/compare/endpoint.h"

namespace ustack::compare {

std::unique_ptr<Endpoint> memlink_endpoint(std::string* error);

}  // namespace ustack::compare
