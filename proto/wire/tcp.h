// TCP header view and options (RFC 9293 §3.1).
//
//   0          2          4
//   | src port | dst port |
//   | sequence number     |
//   | acknowledgment      |
//   |off|rsv| flags | window |
//   | checksum | urgent ptr  |
//   | options (off > 5) ...  |
//   | data ...               |
//
// parse() takes the IP payload (the whole segment) and checks, once: at
// least 20 bytes; data offset >= 5 (RFC 9293 §3.1: "the TCP header ... is an
// integer multiple of 32 bits", at least the five fixed words) and the
// header inside the segment; the option list well formed (kinds 0 and 1
// alone, every other kind with a length byte >= 2 that ends inside the
// header: RFC 9293 §3.2, MUST-6 and MUST-7). The checksum is not checked by
// parse(): a driver may have done it (rx_l4_checksum in checksum.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

#include "proto/ip_addr.h"
#include "proto/wire/bytes.h"
#include "proto/wire/checksum.h"
#include "proto/wire/ipv4.h"
#include "proto/wire/options.h"

namespace ustack::wire {

// Control bits, byte 13 of the header (RFC 9293 §3.1; CWR and ECE from RFC
// 3168 §6.1).
inline constexpr std::uint8_t kTcpFin = 0x01;
inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpRst = 0x04;
inline constexpr std::uint8_t kTcpPsh = 0x08;
inline constexpr std::uint8_t kTcpAck = 0x10;
inline constexpr std::uint8_t kTcpUrg = 0x20;
inline constexpr std::uint8_t kTcpEce = 0x40;
inline constexpr std::uint8_t kTcpCwr = 0x80;

// Option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
inline constexpr std::uint8_t kTcpOptEnd = 0;
inline constexpr std::uint8_t kTcpOptNop = 1;
inline constexpr std::uint8_t kTcpOptMss = 2;            // length 4
inline constexpr std::uint8_t kTcpOptWindowScale = 3;    // length 3, RFC 7323 §2
inline constexpr std::uint8_t kTcpOptSackPermitted = 4;  // length 2, RFC 2018 §2
inline constexpr std::uint8_t kTcpOptSack = 5;           // length 2 + 8n, RFC 2018 §3
inline constexpr std::uint8_t kTcpOptTimestamps = 8;     // length 10, RFC 7323 §3

struct TcpSackBlock {
  std::uint32_t left = 0;   // first sequence number of the block
  std::uint32_t right = 0;  // sequence number just after the block
  friend bool operator==(const TcpSackBlock&, const TcpSackBlock&) = default;
};

struct TcpTimestamps {
  std::uint32_t tsval = 0;
  std::uint32_t tsecr = 0;
  friend bool operator==(const TcpTimestamps&, const TcpTimestamps&) = default;
};

// The options this stack understands, as values.
struct TcpOptions {
  // 40 bytes of options hold at most 4 blocks (2 + 4 * 8 = 34, RFC 2018 §3).
  static constexpr std::size_t kMaxSackBlocks = 4;
  static constexpr std::size_t kMaxLen = 40;
  // RFC 7323 §2.3: a larger shift "MUST use 14 instead".
  static constexpr std::uint8_t kMaxWindowScale = 14;

  std::optional<std::uint16_t> mss;
  std::optional<std::uint8_t> window_scale;
  bool sack_permitted = false;
  std::optional<TcpTimestamps> timestamps;
  std::array<TcpSackBlock, kMaxSackBlocks> sack_blocks{};
  std::uint8_t sack_count = 0;

  std::span<const TcpSackBlock> sack() const { return {sack_blocks.data(), sack_count}; }

  // nullopt when the list is malformed (options_valid() fails). Unknown
  // kinds are skipped (RFC 9293 §3.2, MUST-6); a known kind with the wrong
  // length is skipped too, as Linux does, rather than failing the segment;
  // when a kind repeats the last one counts.
  static std::optional<TcpOptions> parse(std::span<const std::byte> opts);
  // The same for a list known to be valid (a TcpView's).
  static TcpOptions parse_valid(std::span<const std::byte> opts);

  // Bytes emit() writes: a multiple of 4, at most kMaxLen. SACK blocks that
  // do not fit are left out (with timestamps only 3 fit, RFC 2018 §3).
  std::size_t encoded_len() const;
  // Writes the options in the layout Linux uses (each option or pair padded
  // with NOPs to a 4-byte boundary: MSS; SACK-permitted + timestamps; window
  // scale; SACK blocks). Returns encoded_len(), or 0 (nothing written) if
  // `out` is shorter.
  std::size_t emit(std::span<std::byte> out) const;

  friend bool operator==(const TcpOptions&, const TcpOptions&) = default;
};

template <typename B>
class BasicTcpView {
  static_assert(std::is_same_v<std::remove_const_t<B>, std::byte>);

 public:
  static constexpr bool kMutable = !std::is_const_v<B>;
  static constexpr std::size_t kMinHeaderLen = 20;
  static constexpr std::size_t kMaxHeaderLen = 60;

  static std::optional<BasicTcpView> parse(std::span<B> segment) {
    if (segment.size() < kMinHeaderLen) return std::nullopt;
    const std::size_t header_len = (std::size_t{load_u8(segment.data() + 12)} >> 4) * 4;
    if (header_len < kMinHeaderLen || header_len > segment.size()) return std::nullopt;
    if (!options_valid(segment.subspan(kMinHeaderLen, header_len - kMinHeaderLen)))
      return std::nullopt;
    return BasicTcpView(segment, header_len);
  }

  std::uint16_t src_port() const { return load_be16(at(0)); }
  std::uint16_t dst_port() const { return load_be16(at(2)); }
  std::uint32_t seq_number() const { return load_be32(at(4)); }
  std::uint32_t ack_number() const { return load_be32(at(8)); }
  std::uint8_t data_offset() const { return load_u8(at(12)) >> 4; }  // 32-bit words
  std::size_t header_len() const { return header_len_; }
  std::uint8_t flags() const { return load_u8(at(13)); }
  bool fin() const { return (flags() & kTcpFin) != 0; }
  bool syn() const { return (flags() & kTcpSyn) != 0; }
  bool rst() const { return (flags() & kTcpRst) != 0; }
  bool psh() const { return (flags() & kTcpPsh) != 0; }
  bool ack() const { return (flags() & kTcpAck) != 0; }
  bool urg() const { return (flags() & kTcpUrg) != 0; }
  bool ece() const { return (flags() & kTcpEce) != 0; }
  bool cwr() const { return (flags() & kTcpCwr) != 0; }
  std::uint16_t window() const { return load_be16(at(14)); }
  std::uint16_t checksum() const { return load_be16(at(16)); }
  std::uint16_t urgent_pointer() const { return load_be16(at(18)); }
  std::span<B> options_bytes() const {
    return bytes_.subspan(kMinHeaderLen, header_len_ - kMinHeaderLen);
  }
  OptionList raw_options() const { return OptionList(options_bytes()); }
  TcpOptions options() const { return TcpOptions::parse_valid(options_bytes()); }
  std::span<B> header() const { return bytes_.first(header_len_); }
  std::span<B> payload() const { return bytes_.subspan(header_len_); }
  std::span<B> bytes() const { return bytes_; }
  // SEG.LEN (RFC 9293 §3.3.1): data bytes plus one for SYN and one for FIN.
  std::uint32_t segment_len() const {
    return static_cast<std::uint32_t>(payload().size()) + (syn() ? 1 : 0) + (fin() ? 1 : 0);
  }
  bool checksum_ok(Ipv4Addr src, Ipv4Addr dst) const {
    return ipv4_l4_checksum(src, dst, kIpProtoTcp, bytes_) == 0;
  }

  void set_src_port(std::uint16_t v) const requires kMutable { store_be16(at(0), v); }
  void set_dst_port(std::uint16_t v) const requires kMutable { store_be16(at(2), v); }
  void set_seq_number(std::uint32_t v) const requires kMutable { store_be32(at(4), v); }
  void set_ack_number(std::uint32_t v) const requires kMutable { store_be32(at(8), v); }
  void set_flags(std::uint8_t v) const requires kMutable { store_u8(at(13), v); }
  void set_window(std::uint16_t v) const requires kMutable { store_be16(at(14), v); }
  void set_checksum(std::uint16_t v) const requires kMutable { store_be16(at(16), v); }
  void set_urgent_pointer(std::uint16_t v) const requires kMutable { store_be16(at(18), v); }
  void fill_checksum(Ipv4Addr src, Ipv4Addr dst) const requires kMutable {
    set_checksum(0);
    set_checksum(ipv4_l4_checksum(src, dst, kIpProtoTcp, bytes_));
  }

  operator BasicTcpView<const std::byte>() const requires kMutable {
    return BasicTcpView<const std::byte>(bytes_, header_len_);
  }

 private:
  template <typename>
  friend class BasicTcpView;
  BasicTcpView(std::span<B> bytes, std::size_t header_len)
      : bytes_(bytes), header_len_(header_len) {}
  B* at(std::size_t off) const { return bytes_.data() + off; }

  std::span<B> bytes_;  // header + data
  std::size_t header_len_;
};

using TcpView = BasicTcpView<const std::byte>;
using TcpMutView = BasicTcpView<std::byte>;

struct TcpRepr {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
  std::uint16_t window = 0;
  std::uint16_t urgent_pointer = 0;
  TcpOptions options;

  static TcpRepr parse(const TcpView& v) {
    return {v.src_port(), v.dst_port(), v.seq_number(),     v.ack_number(),
            v.flags(),    v.window(),   v.urgent_pointer(), v.options()};
  }
  std::size_t header_len() const { return TcpView::kMinHeaderLen + options.encoded_len(); }

  // Writes the header at the front of `segment` (header + data, the data
  // already in place after header_len() bytes) and, unless
  // compute_checksum is false (offload: the field is left 0), the checksum
  // over the pseudo-header and the whole segment. False (nothing written)
  // if `segment` is shorter than the header or longer than an IPv4
  // datagram can carry.
  bool emit(std::span<std::byte> segment, Ipv4Addr src, Ipv4Addr dst,
            bool compute_checksum = true) const;

  friend bool operator==(const TcpRepr&, const TcpRepr&) = default;
};

}  // namespace ustack::wire
