// UDP (RFC 768, RFC 1122 §4.1): sockets bound to ports, zero-copy receive
// (the payload arrives as an mbuf chain the handler owns), send by
// reference (an mbuf chain) or by copy, checksums on send and verified on
// receive, port unreachable for closed ports, ICMP errors to their socket.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/counters.h"
#include "core/mbuf.h"
#include "core/random.h"
#include "proto/icmp.h"
#include "proto/ipv4.h"
#include "proto/ipv6.h"

namespace ustack {

class Stack;
class UdpLayer;
class UdpSocket;

struct UdpConfig {
  // Ephemeral ports (RFC 6056 §2.1; Linux's default range).
  std::uint16_t ephemeral_lo = 32768;
  std::uint16_t ephemeral_hi = 60999;
};

struct UdpDatagram {
  IpAddr src;
  std::uint16_t src_port = 0;
  IpAddr dst;
  std::uint16_t dst_port = 0;
  Mbuf* payload = nullptr;  // data at the payload; the handler owns it
  std::uint8_t ttl = 0;
  bool broadcast = false;
};

class UdpHandler {
 public:
  virtual ~UdpHandler() = default;
  // Takes ownership of d.payload.
  virtual void on_datagram(UdpSocket& socket, UdpDatagram& d) = 0;
  // An ICMP error about a datagram this socket sent (port unreachable...).
  virtual void on_error(UdpSocket& /*socket*/, const IcmpError& /*error*/) {}
};

class UdpSocket {
 public:
  std::uint16_t local_port() const { return port_; }
  // Only datagrams from (addr, port) are delivered; send() goes there.
  void connect(IpAddr addr, std::uint16_t port);
  bool connected() const { return peer_port_ != 0; }

  // Sends `payload` (zero copy; takes ownership).
  SendResult send_to(IpAddr dst, std::uint16_t port, Mbuf* payload);
  // Copies `data` into mbufs and sends it.
  SendResult send_to(IpAddr dst, std::uint16_t port, std::span<const std::byte> data);
  SendResult send(Mbuf* payload) { return send_to(peer_, peer_port_, payload); }
  SendResult send(std::span<const std::byte> data) { return send_to(peer_, peer_port_, data); }
  // Unbinds; the socket object is destroyed.
  void close();

  UdpHandler& handler() const { return *handler_; }

 private:
  friend class UdpLayer;
  UdpSocket(UdpLayer& layer, UdpHandler& handler, std::uint16_t port)
      : layer_(layer), handler_(&handler), port_(port) {}

  UdpLayer& layer_;
  UdpHandler* handler_;
  std::uint16_t port_;
  IpAddr peer_;
  std::uint16_t peer_port_ = 0;
};

class UdpLayer final : public Ipv4Protocol, public Ipv6Protocol, public IcmpErrorSink {
 public:
  explicit UdpLayer(Stack& stack);
  ~UdpLayer() override;

  // A socket on `port` (0: an ephemeral port chosen at random, RFC 6056
  // algorithm 1). nullptr and one sentence in *error when the port is taken
  // or no ephemeral port is free.
  UdpSocket* open(UdpHandler& handler, std::uint16_t port, std::string* error);
  std::size_t sockets() const { return count_; }

  void ipv4_input(Mbuf* m, const Ipv4Meta& meta) override;
  void ipv6_input(Mbuf* m, const Ipv6Meta& meta) override;
  void icmp_error(const IcmpError& error) override;

 private:
  friend class UdpSocket;
  SendResult send(UdpSocket& s, IpAddr dst, std::uint16_t port, Mbuf* payload);
  // Either family's input: the checks of RFC 768 (and RFC 8200 §8.1), then
  // the socket. kDrop and kNoSocket are counted; the caller frees.
  enum class Check { kDeliver, kDrop, kNoSocket };
  Check check(Mbuf* m, const IpAddr& src, const IpAddr& dst, UdpSocket** socket);
  void deliver(UdpSocket& s, Mbuf* m, const IpAddr& src, const IpAddr& dst, std::uint8_t ttl,
               bool broadcast);
  void close(UdpSocket& s);

  Stack& stack_;
  std::unique_ptr<std::unique_ptr<UdpSocket>[]> by_port_;  // 65536 slots
  std::size_t count_ = 0;
  Rng rng_;

  Counter& rx_;
  Counter& tx_;
  Counter& drop_malformed_;
  Counter& drop_checksum_;
  Counter& drop_no_socket_;
  Counter& drop_not_peer_;
  Counter& drop_unsupported_family_;
};

}  // namespace ustack
