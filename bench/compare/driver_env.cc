#include "bench/compare/driver_env.h"

#include <chrono>

#include "bench/compare/ustack_client.h"
#include "kernel/kernel_host.h"

namespace ustack::compare {
namespace {

class DriverEnv final : public UstackEnv {
 public:
  DriverEnv(std::unique_ptr<testing::KernelHost> host, std::function<std::uint64_t()> sunk)
      : host_(std::move(host)), sunk_(std::move(sunk)) {}
  TcpLayer& tcp() override { return host_->stack().tcp(); }
  void sync() override { host_->sync(); }
  bool poll_until(const std::function<bool()>& done, double seconds) override {
    return host_->poll_until(
        done, std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)));
  }
  std::uint64_t sunk() override { return sunk_(); }

 private:
  std::unique_ptr<testing::KernelHost> host_;
  std::function<std::uint64_t()> sunk_;
};

}  // namespace

std::unique_ptr<Endpoint> driver_endpoint(const testing::NetnsPair& pair, const std::string& driver,
                                          std::function<std::uint64_t()> sunk, std::string* error) {
  auto host = testing::KernelHost::open(pair, driver, error);
  if (!host) return nullptr;
  return ustack_endpoint(std::make_unique<DriverEnv>(std::move(host), std::move(sunk)));
}

}  // namespace ustack::compare
