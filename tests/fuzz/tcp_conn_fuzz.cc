// TCP segments into an established connection: the packetdrill-style
// TcpScript (tests/tcp/tcp_script.h) completes a handshake with options
// the input picks, then plays the peer with segments whose sequence and
// acknowledgment numbers sit near the live ones (so they land in and around
// the windows rather than being dropped at once), interleaved with time
// passing and the application sending, pausing its reads and closing. Every
// mbuf must be back in its pool at the end (TcpScript checks; a failed
// check aborts), and sanitizers watch everything in between.
//
// Input: the SYN's options (one byte), then operations of 9 bytes each:
// kind, flags, seq offset (2), ack offset (2), window (1, scaled), payload
// length (1, x 8), option selector (1).
#include <gtest/gtest.h>

#include <algorithm>

#include "fuzz/fuzz_input.h"
#include "tcp/tcp_script.h"

using namespace ustack;
using namespace ustack::fuzz;
using ustack::testing::kFin;
using ustack::testing::kSyn;
using ustack::testing::ScriptOptions;
using ustack::testing::SynOpts;
using ustack::testing::TcpScript;
using ustack::testing::TcpSeg;

namespace {

struct Peer {
  std::uint32_t next = 1;       // the peer's next sequence number (relative)
  std::uint32_t stack_max = 1;  // past the stack's highest byte seen (relative)
};

// Tracks what the stack sent; forgets the segments.
void drain(TcpScript& t, Peer& p) {
  while (const auto s = t.next_segment()) {
    const std::uint32_t end = s->seq + s->len() + (s->has(kSyn) ? 1 : 0) + (s->has(kFin) ? 1 : 0);
    if (static_cast<std::int32_t>(end - p.stack_max) > 0) p.stack_max = end;
  }
}

// SACK blocks and timestamps picked by `sel`, around the live numbers.
std::optional<wire::TcpOptions> options(std::uint8_t sel, const Peer& p, std::uint32_t tsval) {
  if ((sel & 0x3) == 0) return std::nullopt;  // the script's default (timestamps if on)
  wire::TcpOptions o;
  if ((sel & 0x4) != 0) o.timestamps = wire::TcpTimestamps{tsval + (sel >> 5) * 1000u, 0};
  const std::uint8_t blocks = (sel >> 3) & 0x3;
  for (std::uint8_t i = 0; i < blocks; ++i) {
    const std::uint32_t left = p.stack_max - 1000u * (i + 1) + sel;
    o.sack_blocks[i] = {left, left + 500u * (sel & 0x3)};
  }
  o.sack_count = blocks;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  const std::uint8_t syn = in.u8();
  ScriptOptions so;
  so.pool_size = 1024;
  so.tcp.congestion_control = (syn & 0x80) != 0 ? CcAlgorithm::kNewReno : CcAlgorithm::kCubic;
  TcpScript t(so);
  SynOpts s;
  s.mss = (syn & 0x1) != 0 ? std::optional<std::uint16_t>(536 + (syn >> 4) * 64) : std::nullopt;
  if ((syn & 0x2) != 0) s.wscale = static_cast<std::uint8_t>((syn >> 2) & 0xf);
  s.sack_ok = (syn & 0x40) != 0;
  s.ts = (syn & 0x20) != 0;
  if (!t.accept(s)) return 0;
  Peer p;
  drain(t, p);
  for (int ops = 0; !in.empty() && ops < 48; ++ops) {
    const std::uint8_t kind = in.u8();
    const std::uint8_t flags = in.u8();
    const auto dseq = static_cast<std::int16_t>(in.u16());
    const auto dack = static_cast<std::int16_t>(in.u16());
    const std::uint16_t win = static_cast<std::uint16_t>(in.u8() << 8 | 0xff);
    const std::uint32_t len = (in.u8() * 8u) % 1400;
    const std::uint8_t sel = in.u8();
    switch (kind % 8) {
      case 0:
      case 1:
      case 2: {  // a segment: numbers exact (kind 0) or offset
        TcpSeg seg;
        seg.flags = flags;
        seg.seq = p.next + (kind == 0 ? 0 : static_cast<std::uint32_t>(dseq));
        seg.ack = p.stack_max + (kind == 0 ? 0 : static_cast<std::uint32_t>(dack));
        seg.win = win;
        seg.len = (flags & kSyn) != 0 ? 0 : len;
        seg.opts = options(sel, p, t.peer_tsval());
        t.inject(seg);
        if (kind == 0) p.next += seg.len + ((flags & kFin) != 0 ? 1 : 0);
        break;
      }
      case 3:
        t.advance(std::chrono::milliseconds(1 + sel * 4), std::chrono::milliseconds(1 + sel / 16));
        break;
      case 4:
        if (t.conn() != nullptr) t.send(len * 8);
        break;
      case 5:
        t.app.auto_read = (sel & 1) != 0;
        if (t.app.auto_read && t.conn() != nullptr) t.call([&](TcpConn& c) { t.app.drain(c); });
        break;
      case 6:
        if (t.conn() != nullptr) {
          if ((sel & 3) == 0) t.call([](TcpConn& c) { c.shutdown_write(); });
          if ((sel & 3) == 1) t.close();
          if ((sel & 3) == 2) t.call([](TcpConn& c) { c.abort(); });
        }
        break;
      default:  // the stack's own timers: a retransmission or probe
        t.advance(std::chrono::milliseconds(200 + sel * 20), std::chrono::milliseconds(10));
        break;
    }
    drain(t, p);
  }
  t.advance(std::chrono::seconds(5), std::chrono::milliseconds(100));
  drain(t, p);
  return 0;
}
