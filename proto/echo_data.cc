#include "proto/echo_data.h"

#include <cstring>

#include "proto/wire/bytes.h"

namespace ustack {
namespace {

constexpr std::uint32_t kHeaderLen = 8;
constexpr std::uint32_t kStampLen = 8;

}  // namespace

Mbuf* make_echo_message(MbufPool& pool, std::uint32_t data_len, Instant now) {
  Mbuf* m = mbuf_alloc_chain(pool, kHeaderLen + data_len);
  if (m == nullptr) return nullptr;
  std::uint32_t pos = 0;
  const std::int64_t now_ns = ns_of(now);
  for (Mbuf* s = m; s != nullptr; s = s->next) {
    for (std::uint16_t i = 0; i < s->data_len; ++i, ++pos) {
      std::byte b{0};
      if (pos >= kHeaderLen) {
        const std::uint32_t d = pos - kHeaderLen;
        b = d < kStampLen ? std::byte(static_cast<std::uint8_t>(now_ns >> (8 * d)))
                          : std::byte(static_cast<std::uint8_t>(d));
      }
      s->data()[i] = b;
    }
  }
  return m;
}

Mbuf* writable_request(Mbuf* m, MbufPool& pool) {
  if (m->is_writable()) return m;
  Mbuf* copy = mbuf_copy(m, pool);
  mbuf_free(m);
  return copy;
}

EchoReply echo_reply_of(const Mbuf* message, const IpAddr& from, std::uint8_t ttl, Instant now) {
  EchoReply r;
  r.from = from;
  r.id = wire::load_be16(message->data() + 4);
  r.seq = wire::load_be16(message->data() + 6);
  r.ttl = ttl;
  r.bytes = message->pkt_len;
  r.rtt_valid = echo_rtt(message, now, &r.rtt);
  return r;
}

bool echo_rtt(const Mbuf* message, Instant now, Duration* rtt) {
  std::byte stamp[kStampLen];
  if (mbuf_read(message, kHeaderLen, stamp) != kStampLen) return false;
  std::int64_t sent_ns = 0;
  std::memcpy(&sent_ns, stamp, kStampLen);
  const std::int64_t now_ns = ns_of(now);
  if (sent_ns <= 0 || sent_ns > now_ns) return false;
  *rtt = Duration(now_ns - sent_ns);
  return true;
}

}  // namespace ustack
