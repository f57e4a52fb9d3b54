#include "proto/wire/tcp.h"

#include <algorithm>

namespace ustack::wire {
namespace {

// Bytes for the SACK blocks that fit after `used` bytes of other options:
// two NOPs, kind, length, then 8 bytes a block.
std::size_t sack_blocks_that_fit(std::size_t used, std::size_t wanted) {
  if (wanted == 0 || used + 4 + 8 > TcpOptions::kMaxLen) return 0;
  return std::min(wanted, (TcpOptions::kMaxLen - used - 4) / 8);
}

// Bytes of everything but the SACK blocks, each part padded to 4.
std::size_t fixed_len(const TcpOptions& o) {
  std::size_t n = 0;
  if (o.mss) n += 4;
  if (o.timestamps)
    n += 12;  // (SACK-permitted or two NOPs) + 10
  else if (o.sack_permitted)
    n += 4;
  if (o.window_scale) n += 4;
  return n;
}

}  // namespace

TcpOptions TcpOptions::parse_valid(std::span<const std::byte> opts) {
  TcpOptions o;
  for (const RawOption opt : OptionList(opts)) {
    const std::span<const std::byte> d = opt.data;
    switch (opt.kind) {
      case kTcpOptMss:
        if (d.size() == 2) o.mss = load_be16(d.data());
        break;
      case kTcpOptWindowScale:
        // RFC 7323 §2.3: shifts above 14 are logged and used as 14.
        if (d.size() == 1) o.window_scale = std::min(load_u8(d.data()), kMaxWindowScale);
        break;
      case kTcpOptSackPermitted:
        if (d.empty()) o.sack_permitted = true;
        break;
      case kTcpOptSack:
        // RFC 2018 §3: length 2 + 8n; the 40-byte limit keeps n <= 4.
        if (!d.empty() && d.size() % 8 == 0 && d.size() / 8 <= kMaxSackBlocks) {
          o.sack_count = static_cast<std::uint8_t>(d.size() / 8);
          for (std::size_t i = 0; i < o.sack_count; ++i)
            o.sack_blocks[i] = {load_be32(d.data() + 8 * i), load_be32(d.data() + 8 * i + 4)};
        }
        break;
      case kTcpOptTimestamps:
        if (d.size() == 8)
          o.timestamps = TcpTimestamps{load_be32(d.data()), load_be32(d.data() + 4)};
        break;
      default:
        break;  // RFC 9293 §3.2 MUST-6: ignore options not implemented
    }
  }
  return o;
}

std::optional<TcpOptions> TcpOptions::parse(std::span<const std::byte> opts) {
  if (!options_valid(opts)) return std::nullopt;
  return parse_valid(opts);
}

std::size_t TcpOptions::encoded_len() const {
  const std::size_t n = fixed_len(*this);
  const std::size_t blocks = sack_blocks_that_fit(n, sack_count);
  return n + (blocks > 0 ? 4 + 8 * blocks : 0);
}

std::size_t TcpOptions::emit(std::span<std::byte> out) const {
  const std::size_t len = encoded_len();
  if (out.size() < len) return 0;
  std::byte* p = out.data();
  auto put = [&p](std::uint8_t v) { store_u8(p++, v); };
  if (mss) {
    put(kTcpOptMss);
    put(4);
    store_be16(p, *mss);
    p += 2;
  }
  if (timestamps) {
    if (sack_permitted) {
      put(kTcpOptSackPermitted);
      put(2);
    } else {
      put(kTcpOptNop);
      put(kTcpOptNop);
    }
    put(kTcpOptTimestamps);
    put(10);
    store_be32(p, timestamps->tsval);
    store_be32(p + 4, timestamps->tsecr);
    p += 8;
  } else if (sack_permitted) {
    put(kTcpOptNop);
    put(kTcpOptNop);
    put(kTcpOptSackPermitted);
    put(2);
  }
  if (window_scale) {
    put(kTcpOptNop);
    put(kTcpOptWindowScale);
    put(3);
    put(*window_scale);
  }
  const std::size_t blocks = sack_blocks_that_fit(fixed_len(*this), sack_count);
  if (blocks > 0) {
    put(kTcpOptNop);
    put(kTcpOptNop);
    put(kTcpOptSack);
    put(static_cast<std::uint8_t>(2 + 8 * blocks));
    for (std::size_t i = 0; i < blocks; ++i) {
      store_be32(p, sack_blocks[i].left);
      store_be32(p + 4, sack_blocks[i].right);
      p += 8;
    }
  }
  return len;
}

bool TcpRepr::emit(std::span<std::byte> segment, Ipv4Addr src, Ipv4Addr dst,
                   bool compute_checksum) const {
  const std::size_t hl = header_len();
  if (segment.size() < hl || segment.size() > 0xffff - Ipv4View::kMinHeaderLen) return false;
  std::byte* p = segment.data();
  store_be16(p, src_port);
  store_be16(p + 2, dst_port);
  store_be32(p + 4, seq);
  store_be32(p + 8, ack);
  store_u8(p + 12, static_cast<std::uint8_t>((hl / 4) << 4));
  store_u8(p + 13, flags);
  store_be16(p + 14, window);
  store_be16(p + 16, 0);
  store_be16(p + 18, urgent_pointer);
  options.emit(segment.subspan(TcpView::kMinHeaderLen, hl - TcpView::kMinHeaderLen));
  if (compute_checksum) store_be16(p + 16, ipv4_l4_checksum(src, dst, kIpProtoTcp, segment));
  return true;
}

}  // namespace ustack::wire
