#include "apps/decode_transport.h"

#include "proto/wire/bytes.h"
#include "proto/wire/tcp.h"

namespace ustack::app::decode_detail {
namespace {

std::string tcp_flags(std::uint8_t f) {
  std::string s;
  if (f & wire::kTcpSyn) s += 'S';
  if (f & wire::kTcpFin) s += 'F';
  if (f & wire::kTcpRst) s += 'R';
  if (f & wire::kTcpPsh) s += 'P';
  if (f & wire::kTcpUrg) s += 'U';
  if (f & wire::kTcpEce) s += 'E';
  if (f & wire::kTcpCwr) s += 'W';
  if (f & wire::kTcpAck) s += '.';
  return s.empty() ? "none" : s;
}

}  // namespace

std::string decode_tcp(const char* family, const std::string& ext, std::span<const std::byte> l4,
                       std::uint32_t l4_len, FrameFacts* facts) {
  const std::string s = facts->src.to_string(), d = facts->dst.to_string();
  facts->kind = FrameFacts::Kind::kTcp;
  const auto t = wire::TcpView::parse(l4);
  if (!t)
    return fmt("%s %s > %s: %sTCP, malformed header", family, s.c_str(), d.c_str(), ext.c_str());
  facts->sport = t->src_port();
  facts->dport = t->dst_port();
  facts->tcp_flags = t->flags();
  const std::uint32_t hlen = static_cast<std::uint32_t>(t->header_len());
  const std::uint32_t len = l4_len > hlen ? l4_len - hlen : 0;
  std::string line =
      fmt("%s %s.%u > %s.%u: %sFlags [%s], seq %u", family, s.c_str(), t->src_port(), d.c_str(),
          t->dst_port(), ext.c_str(), tcp_flags(t->flags()).c_str(), t->seq_number());
  if (len > 0) line += fmt(":%u", t->seq_number() + len);
  if (t->ack()) line += fmt(", ack %u", t->ack_number());
  line += fmt(", win %u", t->window());
  const auto o = t->options();
  std::string opts;
  if (o.mss) opts += fmt("mss %u,", *o.mss);
  if (o.sack_permitted) opts += "sackOK,";
  if (o.timestamps) opts += fmt("TS val %u ecr %u,", o.timestamps->tsval, o.timestamps->tsecr);
  if (o.window_scale) opts += fmt("wscale %u,", *o.window_scale);
  if (!opts.empty()) line += ", options [" + opts.substr(0, opts.size() - 1) + "]";
  return line + fmt(", length %u", len);
}

std::string decode_udp(const char* family, const std::string& ext, std::span<const std::byte> l4,
                       FrameFacts* facts) {
  const std::string s = facts->src.to_string(), d = facts->dst.to_string();
  facts->kind = FrameFacts::Kind::kUdp;
  if (l4.size() < 8)
    return fmt("%s %s > %s: %sUDP, truncated", family, s.c_str(), d.c_str(), ext.c_str());
  const std::uint16_t sp = wire::load_be16(l4.data()), dp = wire::load_be16(l4.data() + 2);
  const std::uint16_t ulen = wire::load_be16(l4.data() + 4);
  facts->sport = sp;
  facts->dport = dp;
  if (ulen < 8)
    return fmt("%s %s.%u > %s.%u: %sUDP, malformed length %u", family, s.c_str(), sp, d.c_str(), dp,
               ext.c_str(), ulen);
  return fmt("%s %s.%u > %s.%u: %sUDP, length %u", family, s.c_str(), sp, d.c_str(), dp,
             ext.c_str(), ulen - 8u);
}

}  // namespace ustack::app::decode_detail
