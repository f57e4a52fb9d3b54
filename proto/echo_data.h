// The data of an echo request as ustack's ping sends it (ICMP, RFC 792;
// ICMPv6, RFC 4443 §4.1): after the 8-byte header, the send time (8 bytes,
// host order: only we read it back) and then ping's pattern of
// incrementing bytes. Shared by ICMP and ICMPv6.
#pragma once

#include <cstdint>

#include "core/instant.h"
#include "core/mbuf.h"
#include "core/mbuf_pool.h"
#include "proto/icmp.h"

namespace ustack {

// A chain of 8 + data_len bytes: a zeroed header for the caller to fill,
// then the stamp of `now` and the pattern. nullptr when the pool is dry.
Mbuf* make_echo_message(MbufPool& pool, std::uint32_t data_len, Instant now);

// The request `m` as a message this core may write into, to turn it around
// as the reply: itself, or a copy when its bytes are shared (a clone
// somewhere); nullptr (m freed) when no copy could be had.
Mbuf* writable_request(Mbuf* m, MbufPool& pool);

// What an echo reply (data at the ICMP or ICMPv6 header, the same layout:
// type, code, checksum, identifier, sequence) tells ping. `ttl` is the
// IPv4 TTL or IPv6 hop limit it arrived with.
EchoReply echo_reply_of(const Mbuf* message, const IpAddr& from, std::uint8_t ttl, Instant now);

// The round trip of a reply carrying our stamp: false when the data is too
// short or the stamp is not a time before `now`.
bool echo_rtt(const Mbuf* message, Instant now, Duration* rtt);

}  // namespace ustack
