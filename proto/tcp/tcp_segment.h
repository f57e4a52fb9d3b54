// A received segment as TCP input sees it (internal to proto/tcp).
#pragma once

#include "core/mbuf.h"
#include "proto/ipv4.h"
#include "proto/tcp/conn_key.h"
#include "proto/tcp/seq.h"
#include "proto/tcp/tcp.h"
#include "proto/wire/tcp.h"

namespace ustack {

struct TcpLayer::Segment {
  Mbuf* m = nullptr;  // data at the TCP header; set to nullptr when taken
  ConnKey key;        // local = destination, remote = source
  SeqNum seq;
  SeqNum ack;
  std::uint8_t flags = 0;
  std::uint16_t wnd = 0;  // raw window field
  std::uint16_t hlen = 20;
  std::uint32_t payload = 0;
  wire::TcpOptions opts;
  bool has_ts = false;

  bool syn() const { return (flags & wire::kTcpSyn) != 0; }
  bool ack_flag() const { return (flags & wire::kTcpAck) != 0; }
  bool rst() const { return (flags & wire::kTcpRst) != 0; }
  bool fin() const { return (flags & wire::kTcpFin) != 0; }
  // SEG.LEN: data plus one for SYN and one for FIN.
  std::uint32_t len() const { return payload + (syn() ? 1u : 0u) + (fin() ? 1u : 0u); }
};

}  // namespace ustack
