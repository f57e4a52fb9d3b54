#include "apps/dns_message.h"

#include "proto/wire/bytes.h"

namespace ustack::app {
namespace {

constexpr std::size_t kHeader = 12;
constexpr std::size_t kMaxName = 255;  // RFC 1035 §3.1: octets on the wire
constexpr int kMaxChain = 16;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

class Reader {
 public:
  explicit Reader(std::span<const std::byte> m) : m_(m) {}

  bool u8(std::size_t at, std::uint8_t* v) const {
    if (at >= m_.size()) return false;
    *v = static_cast<std::uint8_t>(m_[at]);
    return true;
  }
  bool u16(std::size_t at, std::uint16_t* v) const {
    if (at + 2 > m_.size()) return false;
    *v = wire::load_be16(m_.data() + at);
    return true;
  }
  bool u32(std::size_t at, std::uint32_t* v) const {
    if (at + 4 > m_.size()) return false;
    *v = wire::load_be32(m_.data() + at);
    return true;
  }

  // The name at *pos (lower case, dot-separated); *pos moves past it where
  // it stands (a pointer ends it: §4.1.4). A pointer must point before the
  // label sequence it ends, so following pointers always moves backwards
  // and ends; the bytes read are capped at 255 in all.
  bool name(std::size_t* pos, std::string* out, std::string* error) const {
    out->clear();
    std::size_t at = *pos;
    std::size_t lowest = at;  // every pointer must go below this
    std::size_t wire_len = 0;
    bool jumped = false;
    for (;;) {
      std::uint8_t len = 0;
      if (!u8(at, &len)) return fail(error, "a name runs past the end of the message");
      if ((len & 0xc0) == 0xc0) {
        std::uint8_t lo = 0;
        if (!u8(at + 1, &lo)) return fail(error, "a name runs past the end of the message");
        const std::size_t target = (std::size_t{len & 0x3fu} << 8) | lo;
        if (target >= lowest) return fail(error, "a compression pointer points forward or loops");
        if (!jumped) *pos = at + 2;
        jumped = true;
        lowest = target;
        at = target;
        continue;
      }
      if ((len & 0xc0) != 0) return fail(error, "a name has a label type that is not defined");
      wire_len += 1 + len;
      if (wire_len > kMaxName) return fail(error, "a name is longer than 255 bytes");
      if (len == 0) break;
      if (at + 1 + len > m_.size()) return fail(error, "a name runs past the end of the message");
      if (!out->empty()) out->push_back('.');
      for (std::size_t i = 0; i < len; ++i)
        out->push_back(lower(static_cast<char>(m_[at + 1 + i])));
      at += 1 + len;
    }
    if (!jumped) *pos = at + 1;
    return true;
  }

  static bool fail(std::string* error, const char* why) {
    *error = why;
    return false;
  }

 private:
  std::span<const std::byte> m_;
};

}  // namespace

bool dns_normalize_name(std::string_view name, std::string* out, std::string* error) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) {
    *error = "'" + std::string(name) + "' is not a host name (1 to 253 characters)";
    return false;
  }
  out->clear();
  std::size_t label = 0;
  for (const char c : name) {
    if (c == '.') {
      if (label == 0) break;
      label = 0;
    } else if (++label > 63 || static_cast<unsigned char>(c) <= ' ' ||
               static_cast<unsigned char>(c) >= 0x7f) {
      label = 0;
      break;
    }
    out->push_back(lower(c));
  }
  if (label == 0) {
    *error = "'" + std::string(name) +
             "' is not a host name (labels of 1 to 63 printable characters, dot-separated)";
    return false;
  }
  return true;
}

std::vector<std::byte> dns_build_query(std::uint16_t id, const std::string& name,
                                       std::uint16_t type) {
  std::vector<std::byte> q(kHeader);
  wire::store_be16(q.data(), id);
  wire::store_be16(q.data() + 2, 0x0100);  // QR 0, opcode 0, RD 1
  wire::store_be16(q.data() + 4, 1);       // QDCOUNT
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(std::byte(static_cast<std::uint8_t>(dot - start)));
    for (std::size_t i = start; i < dot; ++i) q.push_back(std::byte(name[i]));
    start = dot + 1;
  }
  q.push_back(std::byte{0});
  const std::size_t at = q.size();
  q.resize(at + 4);
  wire::store_be16(q.data() + at, type);
  wire::store_be16(q.data() + at + 2, dns::kClassIn);
  return q;
}

bool dns_parse_response(std::span<const std::byte> msg, DnsResponse* out, std::string* error) {
  const Reader r(msg);
  if (msg.size() < kHeader) return Reader::fail(error, "the message is shorter than its header");
  std::uint16_t flags = 0, qd = 0, an = 0;
  r.u16(0, &out->id);
  r.u16(2, &flags);
  r.u16(4, &qd);
  r.u16(6, &an);
  out->response = (flags & 0x8000) != 0;
  out->opcode = static_cast<std::uint8_t>((flags >> 11) & 0xf);
  out->truncated = (flags & 0x0200) != 0;
  out->rcode = static_cast<std::uint8_t>(flags & 0xf);
  // A response to our query repeats its one question (RFC 1035 §4.1.2).
  if (qd != 1) return Reader::fail(error, "the response does not carry exactly one question");
  std::size_t pos = kHeader;
  if (!r.name(&pos, &out->qname, error)) return false;
  if (!r.u16(pos, &out->qtype) || !r.u16(pos + 2, &out->qclass))
    return Reader::fail(error, "the question runs past the end of the message");
  pos += 4;
  out->answers.clear();
  for (std::uint16_t i = 0; i < an; ++i) {
    DnsRecord rec;
    std::uint16_t rdlen = 0;
    if (!r.name(&pos, &rec.name, error)) return false;
    if (!r.u16(pos, &rec.type) || !r.u16(pos + 2, &rec.klass) || !r.u32(pos + 4, &rec.ttl) ||
        !r.u16(pos + 8, &rdlen))
      return Reader::fail(error, "an answer record runs past the end of the message");
    pos += 10;
    if (pos + rdlen > msg.size())
      return Reader::fail(error, "an answer's data runs past the end of the message");
    if (rec.type == dns::kTypeA && rec.klass == dns::kClassIn) {
      if (rdlen != 4) return Reader::fail(error, "an A record's data is not 4 bytes");
      rec.addr = IpAddr::v4(Ipv4Addr::from_u32(wire::load_be32(msg.data() + pos)));
    } else if (rec.type == dns::kTypeAaaa && rec.klass == dns::kClassIn) {
      // RFC 3596 §2.2: "a 128 bit IPv6 address is encoded in the data
      // portion of an AAAA resource record".
      if (rdlen != 16) return Reader::fail(error, "an AAAA record's data is not 16 bytes");
      rec.addr = IpAddr::v6(Ipv6Addr::from_bytes(msg.data() + pos));
    } else if (rec.type == dns::kTypeCname) {
      std::size_t p = pos;
      if (!r.name(&p, &rec.target, error)) return false;
      if (p != pos + rdlen) return Reader::fail(error, "a CNAME record's data is not one name");
    }
    pos += rdlen;
    out->answers.push_back(std::move(rec));
  }
  // The authority and additional sections are not used: a stub takes only
  // the answer (RFC 5452 §6's advice against trusting out-of-zone data).
  return true;
}

bool dns_follow_answer(const DnsResponse& r, const std::string& qname, std::uint16_t qtype,
                       std::vector<IpAddr>* addrs, std::string* canonical, std::string* error) {
  std::string name = qname;
  for (int links = 0;; ++links) {
    const DnsRecord* cname = nullptr;
    for (const DnsRecord& rec : r.answers)
      if (rec.type == dns::kTypeCname && rec.name == name) cname = &rec;
    if (cname == nullptr) break;
    if (links == kMaxChain)
      return Reader::fail(error, "the CNAME chain loops or is longer than 16 links");
    name = cname->target;
  }
  addrs->clear();
  for (const DnsRecord& rec : r.answers)
    if (rec.type == qtype && rec.klass == dns::kClassIn && rec.name == name)
      addrs->push_back(rec.addr);
  *canonical = name;
  return true;
}

const char* dns_rcode_name(std::uint8_t rcode) {
  switch (rcode) {
    case 0:
      return "NOERROR";
    case 1:
      return "FORMERR";
    case 2:
      return "SERVFAIL";
    case 3:
      return "NXDOMAIN";
    case 4:
      return "NOTIMP";
    case 5:
      return "REFUSED";
  }
  return "an unknown error";
}

}  // namespace ustack::app
