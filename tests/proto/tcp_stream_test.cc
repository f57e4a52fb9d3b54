// The buffered stream helper, and the README's echo example, compiled and run.
#include "proto/tcp/tcp_stream.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "proto/tcp_apps.h"
#include "proto/two_stacks.h"

namespace ustack {
namespace {

// ---- The README example, verbatim: an echo server in a few lines.
struct Echo : TcpStream {
  void on_data(std::span<const std::byte> b) override { write(b); }
  void on_end() override { close(); }
};
struct EchoListener : TcpListenHandler {
  std::vector<std::unique_ptr<Echo>> conns;
  TcpHandler* on_accept(TcpConn&) override { return conns.emplace_back(new Echo).get(); }
};
// stack.tcp().listen(7, listener, &error);
// ---- end of the example.

// Writes far more than the send buffer at once; reads it all back.
struct BigWriter : TcpStream {
  explicit BigWriter(std::vector<std::byte> d) : data(std::move(d)) {}
  void on_open() override {
    write(data);
    EXPECT_GT(pending(), 0u) << "more than the send buffer waits in the stream";
  }
  void on_data(std::span<const std::byte> b) override {
    got.insert(got.end(), b.begin(), b.end());
    if (got.size() == data.size()) close();
  }
  void on_close(TcpCloseReason r) override {
    closed = true;
    reason = r;
  }
  std::vector<std::byte> data, got;
  bool closed = false;
  TcpCloseReason reason = TcpCloseReason::kAborted;
};

TEST(TcpStream, ReadmeEchoServerEchoesAWriteLargerThanTheSendBuffer) {
  testing::TwoStacks t;
  EchoListener listener;
  std::string err;
  ASSERT_NE(t.b.stack->tcp().listen(7, listener, &err), nullptr) << err;
  BigWriter w(testing::random_bytes(3 << 20, 9));  // 3 MiB, buffers are 1 MiB
  t.sync();
  ASSERT_NE(t.a.stack->tcp().connect(IpAddr::v4(testing::kAddrB), 7, w, &err), nullptr) << err;
  ASSERT_TRUE(t.run_until([&] { return w.closed; }, 2'000'000));
  EXPECT_EQ(w.got, w.data);
  EXPECT_EQ(w.reason, TcpCloseReason::kNormal);
}

}  // namespace
}  // namespace ustack
