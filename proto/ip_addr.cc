#include "proto/ip_addr.h"

#include <arpa/inet.h>

#include <charconv>

namespace ustack {
namespace {

// Parses one decimal part of a dotted quad at the front of `s`; advances `s`.
std::optional<std::uint8_t> parse_octet(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && n < 4 && s[n] >= '0' && s[n] <= '9') ++n;
  if (n == 0 || n > 3) return std::nullopt;
  if (n > 1 && s[0] == '0') return std::nullopt;  // leading zero: octal to inet_aton
  unsigned v = 0;
  for (std::size_t i = 0; i < n; ++i) v = v * 10 + static_cast<unsigned>(s[i] - '0');
  if (v > 255) return std::nullopt;
  s.remove_prefix(n);
  return static_cast<std::uint8_t>(v);
}

// "ADDR/LEN": LEN decimal without a leading zero, at most `max_len`.
template <typename Cidr, typename Addr>
std::optional<Cidr> parse_cidr(std::string_view s, unsigned max_len) {
  const std::size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto addr = Addr::parse(s.substr(0, slash));
  if (!addr) return std::nullopt;
  const std::string_view len = s.substr(slash + 1);
  if (len.empty() || len.size() > 3 || (len.size() > 1 && len[0] == '0')) return std::nullopt;
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
  if (ec != std::errc() || end != len.data() + len.size() || v > max_len) return std::nullopt;
  return Cidr{*addr, static_cast<std::uint8_t>(v)};
}

}  // namespace

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view s) {
  Ipv4Addr a;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (s.empty() || s.front() != '.') return std::nullopt;
      s.remove_prefix(1);
    }
    const auto octet = parse_octet(s);
    if (!octet) return std::nullopt;
    a.b[i] = *octet;
  }
  if (!s.empty()) return std::nullopt;
  return a;
}

std::size_t Ipv4Addr::format(char* out) const {
  char* p = out;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *p++ = '.';
    p = std::to_chars(p, out + kMaxStringLen, b[i]).ptr;
  }
  return static_cast<std::size_t>(p - out);
}

std::string Ipv4Addr::to_string() const {
  char buf[kMaxStringLen];
  return std::string(buf, format(buf));
}

std::optional<Ipv4Cidr> Ipv4Cidr::parse(std::string_view s) {
  return parse_cidr<Ipv4Cidr, Ipv4Addr>(s, 32);
}

std::string Ipv4Cidr::to_string() const {
  return addr.to_string() + "/" + std::to_string(prefix_len);
}

std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view s) {
  // inet_pton wants a terminated string; the longest IPv6 text is 45 chars
  // (INET6_ADDRSTRLEN includes the terminator).
  char buf[INET6_ADDRSTRLEN];
  if (s.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  Ipv6Addr a;
  if (inet_pton(AF_INET6, buf, a.b.data()) != 1) return std::nullopt;
  return a;
}

std::string Ipv6Addr::to_string() const {
  // glibc's inet_ntop follows RFC 5952 (lower case, longest zero run
  // compressed, a lone zero group not compressed).
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, b.data(), buf, sizeof buf) == nullptr) return "invalid";
  return buf;
}

std::optional<Ipv6Cidr> Ipv6Cidr::parse(std::string_view s) {
  return parse_cidr<Ipv6Cidr, Ipv6Addr>(s, 128);
}

std::string Ipv6Cidr::to_string() const {
  return addr.to_string() + "/" + std::to_string(prefix_len);
}

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
  if (auto v4addr = Ipv4Addr::parse(s)) return IpAddr::v4(*v4addr);
  if (auto v6addr = Ipv6Addr::parse(s)) return IpAddr::v6(*v6addr);
  return std::nullopt;
}

std::string IpAddr::to_string() const {
  switch (family) {
    case IpFamily::kV4:
      return as_v4().to_string();
    case IpFamily::kV6:
      return as_v6().to_string();
    case IpFamily::kUnspec:
      break;
  }
  return "unspec";
}

}  // namespace ustack
