// The fixture the TCP tests over memlink share: two stacks on the virtual
// clock, an echo server listening on B's port 8888, and connect() from A to
// it over either family (tcp_test.cc for IPv4, ipv6_transport_test.cc for
// IPv6).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "proto/tcp_apps.h"
#include "proto/two_stacks.h"

namespace ustack::testing {

struct TcpEchoPair {
  static constexpr std::uint16_t kPort = 8888;

  TwoStacks t;
  EchoServer server;
  IpAddr to;  // where connect() goes unless told otherwise

  explicit TcpEchoPair(const LinkOptions& o = LinkOptions{}, IpAddr dest = IpAddr::v4(kAddrB))
      : t(o), to(dest) {
    std::string err;
    EXPECT_NE(t.b.stack->tcp().listen(kPort, server, &err), nullptr) << err;
  }
  TcpConn* connect(EchoClient& c) { return connect(c, to); }
  TcpConn* connect(EchoClient& c, const IpAddr& dest) {
    std::string err;
    t.sync();
    TcpConn* conn = t.a.stack->tcp().connect(dest, kPort, c, &err);
    EXPECT_NE(conn, nullptr) << err;
    return conn;
  }
};

}  // namespace ustack::testing
