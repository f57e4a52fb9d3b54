// A row's client on a ustack stack: the same five measurements whatever
// carries the stack's frames (a driver facing Linux, or memlink facing a
// second ustack). The caller's thread polls the stack.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "bench/compare/endpoint.h"
#include "proto/tcp/tcp.h"

namespace ustack::compare {

// What the client needs from the stack it runs on.
class UstackEnv {
 public:
  virtual ~UstackEnv() = default;
  virtual TcpLayer& tcp() = 0;
  // Lets the stack see the current time before a call made outside a callback.
  virtual void sync() = 0;
  // Polls until done() or `seconds` pass; returns done().
  virtual bool poll_until(const std::function<bool()>& done, double seconds) = 0;
  // Bytes the row's sink has received so far.
  virtual std::uint64_t sunk() = 0;
};

std::unique_ptr<Endpoint> ustack_endpoint(std::unique_ptr<UstackEnv> env);

}  // namespace ustack::compare
