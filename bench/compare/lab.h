// The rows of the comparison and what they run on: the namespaces, veth
// pairs and TAP namespaces this program creates (all named "ustk...", on
// 10.0.0.0/24, removed by the destructor whatever happened), the Linux
// servers in them, and for each row a way to open its client.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/compare/endpoint.h"
#include "bench/compare/kernel_server.h"
#include "kernel/netns.h"

namespace ustack::compare {

struct Row {
  std::string key;        // --rows
  std::string label;      // the table's
  std::string kind;       // "ustack" or "kernel"
  std::string transport;  // "memlink", "veth", "TAP", "loopback"
  // Opens the client side for one round (nullptr and *error if it cannot).
  std::function<std::unique_ptr<Endpoint>(std::string* error)> open;
};

// The rows run by default, in table order; the reference (Linux to Linux,
// same 1500-byte frames) is kReferenceRow.
std::vector<std::string> all_row_keys();
// Rows run only when --rows names them: "ustack-memlink-2t", B on a
// busy-polling thread of its own, needs a CPU per loop that nobody else
// uses (on 2 shared CPUs it measures the scheduler).
std::vector<std::string> extra_row_keys();
inline constexpr const char* kReferenceRow = "linux-veth";

class Lab {
 public:
  // Builds what the rows in `keys` need; nullptr and *error on failure
  // (what was made is removed).
  // The Linux server's thread is pinned to `server_cpu` (-1: not pinned).
  static std::unique_ptr<Lab> create(const std::vector<std::string>& keys, int server_cpu,
                                     std::string* error);
  const std::vector<Row>& rows() const { return rows_; }

 private:
  Lab() = default;
  bool add(const std::string& key, std::string* error);
  testing::NetnsPair* make_pair(const testing::NetnsPair::Options& o, bool kernel_client,
                                std::string* error);

  std::vector<std::unique_ptr<testing::NetnsPair>> pairs_;
  KernelServers servers_;  // after pairs_: its sockets close before the namespaces go
  std::vector<Row> rows_;
  testing::NetnsPair* linux_pair_ = nullptr;  // shared by linux-veth and linux-lo
  int linux_sink_ = -1;
};

}  // namespace ustack::compare
