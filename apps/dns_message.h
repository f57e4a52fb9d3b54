// DNS messages (RFC 1035 §4; AAAA records, RFC 3596) for the stub resolver: the query a stub sends
// and a bounds-checked parser of the response. Every read is checked
// against the message's end; compressed names (§4.1.4) may only point
// backwards, to before the name that points, so a loop cannot form, and a
// name is at most 255 bytes (§3.1) whatever the pointers say.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/ip_addr.h"

namespace ustack::app {

namespace dns {
inline constexpr std::uint16_t kTypeA = 1;
inline constexpr std::uint16_t kTypeCname = 5;
inline constexpr std::uint16_t kTypeAaaa = 28;  // RFC 3596 §2.1
inline constexpr std::uint16_t kClassIn = 1;
inline constexpr std::uint16_t kPort = 53;
// RFC 1035 §4.2.1: messages over UDP are at most 512 bytes (no EDNS here).
inline constexpr std::size_t kMaxUdpMessage = 512;
}  // namespace dns

struct DnsRecord {
  std::string name;  // lower case, no trailing dot
  std::uint16_t type = 0;
  std::uint16_t klass = 0;
  std::uint32_t ttl = 0;
  IpAddr addr;         // type A (IPv4) or AAAA (IPv6), class IN
  std::string target;  // type CNAME: the canonical name, lower case
};

struct DnsResponse {
  std::uint16_t id = 0;
  bool response = false;   // QR
  bool truncated = false;  // TC
  std::uint8_t opcode = 0;
  std::uint8_t rcode = 0;
  std::string qname;  // lower case, no trailing dot
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
  std::vector<DnsRecord> answers;  // the answer section (others are skipped)
};

// Lower-cases `name`, drops one trailing dot and checks it is a host name
// DNS can carry: labels of 1 to 63 bytes, at most 253 characters in all.
// false and *error otherwise.
bool dns_normalize_name(std::string_view name, std::string* out, std::string* error);

// A standard query (opcode 0, RD set: a stub asks for recursion, RFC 1035
// §4.1.1) for `name` (normalized) of `type`, class IN.
std::vector<std::byte> dns_build_query(std::uint16_t id, const std::string& name,
                                       std::uint16_t type);

// Parses a whole message. false and *error (one sentence) when any part of
// the header, question or answer section is malformed or runs past the end.
bool dns_parse_response(std::span<const std::byte> msg, DnsResponse* out, std::string* error);

// The addresses the answer gives for `qname`: the records of `qtype` (A or
// AAAA) of `qname` or of the end of its CNAME chain (RFC 1034 §3.6.2,
// §5.3.3), in order. *canonical is the chain's end (qname itself without
// CNAMEs). false and *error when the chain loops or is over 16 links long.
bool dns_follow_answer(const DnsResponse& r, const std::string& qname, std::uint16_t qtype,
                       std::vector<IpAddr>* addrs, std::string* canonical, std::string* error);

// RFC 1035 §4.1.1's RCODE names ("NXDOMAIN" for 3, as dig prints them).
const char* dns_rcode_name(std::uint8_t rcode);

}  // namespace ustack::app
