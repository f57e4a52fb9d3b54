// The echo exchanges the kernel-peer suites run for either IP family: the
// seed's 20 KB TCP echo both ways and UDP echo against a kernel server.
// Each sets gtest failures; the kernel sides are tests/kernel/peers/.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "kernel/kernel_host.h"
#include "proto/tcp_apps.h"
#include "proto/udp_apps.h"

namespace ustack::testing {

inline const std::string kPeersDir = std::string(USTACK_TEST_DIR) + "/kernel/peers/";
inline const std::string kPeerPython = "/usr/bin/python3 ";

// ustack's EchoClient sends 20,000 random bytes to a kernel echo server on
// `server` port 8888 and reads them back.
inline void ustack_client_echo_20k(KernelHost& h, const NetnsPair& pair, const IpAddr& server) {
  std::atomic<int> rc{-2};
  std::string out;
  std::thread peer([&] {
    rc = sh(pair.in_b(kPeerPython + kPeersDir + "tcp_echo_server.py " + server.to_string() +
                      " 8888 1 20"),
            &out);
  });
  EchoClient client(random_bytes(20000, 42));
  std::string err;
  const bool connected = connect_when_listening(
      h, server, 8888, client, [] { return EchoClient(random_bytes(20000, 42)); }, &err);
  EXPECT_TRUE(connected) << err;
  if (connected) {
    EXPECT_TRUE(h.poll_until([&] { return client.closed; }, std::chrono::seconds(20)));
  }
  peer.join();
  EXPECT_EQ(rc.load(), 0) << out;
  EXPECT_EQ(client.got, client.data());
  EXPECT_EQ(client.reason, TcpCloseReason::kNormal);
}

// The kernel's tcp_client.py sends 20,000 bytes to `ustack_addr`:`port`,
// where `server` listens, and checks the echo.
inline void kernel_client_echo_20k(KernelHost& h, const NetnsPair& pair,
                                   const std::string& ustack_addr, std::uint16_t port) {
  std::string out;
  const int rc =
      h.run_while_polling(pair.in_b(kPeerPython + kPeersDir + "tcp_client.py " + ustack_addr + " " +
                                    std::to_string(port) + " echo 20000"),
                          std::chrono::seconds(30), &out);
  EXPECT_EQ(rc, 0) << out;
}

// Datagrams of `sizes` to a kernel echo server on `server` port 7007, each
// compared with its echo.
inline void udp_echo_against_kernel(KernelHost& h, const NetnsPair& pair, const IpAddr& server,
                                    const std::vector<std::size_t>& sizes) {
  std::atomic<int> server_rc{-2};
  std::string server_out;
  std::thread peer([&] {
    server_rc = sh(pair.in_b(kPeerPython + kPeersDir + "udp_echo_server.py " + server.to_string() +
                             " 7007 " + std::to_string(sizes.size()) + " 20"),
                   &server_out);
  });
  UdpCollector c;
  std::string err;
  UdpSocket* s = h.stack().udp().open(c, 0, &err);
  EXPECT_NE(s, nullptr) << err;
  for (std::size_t n : sizes) {
    if (s == nullptr) break;
    std::vector<std::byte> data(n);
    for (std::size_t i = 0; i < n; ++i) data[i] = std::byte(static_cast<std::uint8_t>(i * 13 + n));
    bool ok = false;
    // The server may still be starting (port unreachable): retry.
    for (int attempt = 0; attempt < 20 && !ok; ++attempt) {
      c.got.clear();
      h.sync();
      EXPECT_EQ(s->send_to(server, 7007, data), SendResult::kOk);
      ok = h.poll_until([&] { return !c.got.empty(); }, std::chrono::milliseconds(500));
    }
    EXPECT_TRUE(ok) << "no echo of " << n << " bytes";
    if (!ok) break;
    EXPECT_EQ(c.got[0], data) << "echo of " << n << " bytes differs";
  }
  peer.join();
  EXPECT_EQ(server_rc.load(), 0) << server_out;
}

}  // namespace ustack::testing
