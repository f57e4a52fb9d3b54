// Small UDP applications for tests: a zero-copy echo and a collector of
// payloads and ICMP errors.
#pragma once

#include <cstddef>
#include <vector>

#include "proto/udp.h"

namespace ustack::testing {

// Sends every datagram back to its sender (the received chain, zero copy).
struct UdpEcho : UdpHandler {
  void on_datagram(UdpSocket& s, UdpDatagram& d) override {
    from = d.src;
    ttl = d.ttl;
    s.send_to(d.src, d.src_port, d.payload);
  }
  IpAddr from;  // the last sender
  std::uint8_t ttl = 0;
};

// Keeps each payload's bytes and each ICMP error.
struct UdpCollector : UdpHandler {
  void on_datagram(UdpSocket&, UdpDatagram& d) override {
    std::vector<std::byte> bytes(d.payload->pkt_len);
    mbuf_read(d.payload, 0, bytes);
    mbuf_free(d.payload);
    got.push_back(std::move(bytes));
  }
  void on_error(UdpSocket&, const IcmpError& e) override { errors.push_back(e); }
  std::vector<std::vector<std::byte>> got;
  std::vector<IcmpError> errors;
};

}  // namespace ustack::testing
