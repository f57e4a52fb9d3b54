// The Linux side of the comparison: one thread serving, with epoll, an echo
// listener (kEchoPort) and a sink listener (kSinkPort) in each of several
// network namespaces (a socket stays in the namespace it was made in, so
// one thread serves them all). The same server for every row with a kernel
// at the far end, including Linux against Linux.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ustack::compare {

// Pins thread `t` to CPU `cpu`; false with *error if it cannot.
bool pin_thread(pthread_t t, int cpu, std::string* error);

class KernelServers {
 public:
  KernelServers();
  ~KernelServers();
  KernelServers(const KernelServers&) = delete;
  KernelServers& operator=(const KernelServers&) = delete;

  // Listens on both ports (any address) inside namespace `ns`; returns the
  // index of that namespace's sink counter, or -1 with *error. Before start().
  int listen_in(const std::string& ns, std::string* error);
  // Starts the serving thread, pinned to CPU `cpu` unless it is -1.
  bool start(int cpu, std::string* error);
  // Bytes the sink in namespace `index` has read so far.
  std::uint64_t sunk(int index) const { return sunk_[index]->load(std::memory_order_relaxed); }

 private:
  struct Conn;
  void serve();
  void on_listener(int fd, bool sink, int index);
  void on_conn(Conn* c);  // readable or writable: a peer closing reads 0
  void drop(Conn* c);

  int epoll_ = -1;
  std::vector<int> listeners_;
  std::vector<std::unique_ptr<std::atomic<std::uint64_t>>> sunk_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ustack::compare
