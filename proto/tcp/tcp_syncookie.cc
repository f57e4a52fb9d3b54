// SYN cookies in the handshake (RFC 4987 §3.6): a listener whose backlog of
// half-open connections is full answers a SYN with a SYN,ACK whose ISS is
// a cookie (syn_cookie.h) and keeps nothing; the final ACK brings the
// cookie back and the connection is made from it.
#include <algorithm>

#include "proto/stack.h"
#include "proto/tcp/syn_cookie.h"
#include "proto/tcp/tcp.h"
#include "proto/tcp/tcp_segment.h"
#include "proto/wire/bytes.h"
#include "proto/wire/checksum.h"
#include "proto/wire/tcp.h"

namespace ustack {

std::uint64_t TcpLayer::cookie_clock() const {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(ns_of(now()), 0)) / 1'000'000'000u;
}

void TcpLayer::send_cookie_synack(TcpListener& l, const Segment& syn) {
  Mbuf* m = stack_.pool().alloc();
  if (m == nullptr) return;
  const std::uint16_t peer_mss = syn.opts.mss ? *syn.opts.mss : 0;
  const std::uint32_t iss =
      syn_cookie_make(cookie_key_, syn.key, syn.seq.raw(), peer_mss, cookie_clock());
  wire::TcpOptions o;
  o.mss = static_cast<std::uint16_t>(stack_.link_mtu(syn.key.local) - 20 -
                                     Stack::ip_header_len(syn.key.local));
  // Window scale and SACK-permitted survive only in our timestamp: without
  // timestamps the SYN,ACK offers neither (the connection goes without).
  const bool ts = cfg_.timestamps && syn.has_ts;
  if (ts) {
    const bool ws = cfg_.window_scaling && syn.opts.window_scale.has_value();
    const bool sack = cfg_.sack_permitted && syn.opts.sack_permitted;
    if (ws) o.window_scale = our_wscale();
    o.sack_permitted = sack;
    const std::uint32_t now_ts =
        static_cast<std::uint32_t>(ns_of(now()) / 1'000'000) + ts_offset_of(syn.key);
    o.timestamps = wire::TcpTimestamps{
        syn_cookie_tsval(now_ts, sack,
                         ws ? std::optional<std::uint8_t>(*syn.opts.window_scale) : std::nullopt),
        syn.opts.timestamps->tsval};
  }
  const std::size_t olen = o.encoded_len();
  const auto hlen = static_cast<std::uint16_t>(20 + olen);
  std::byte* h = m->append(hlen);
  wire::store_be16(h, syn.key.local_port);
  wire::store_be16(h + 2, syn.key.remote_port);
  wire::store_be32(h + 4, iss);
  wire::store_be32(h + 8, (syn.seq + 1).raw());
  h[12] = std::byte(static_cast<std::uint8_t>((hlen / 4) << 4));
  h[13] = std::byte(wire::kTcpSyn | wire::kTcpAck);
  // Never scaled in a SYN (RFC 7323 §2.2); accept_cookie() assumes this.
  wire::store_be16(h + 14,
                   static_cast<std::uint16_t>(std::min<std::uint32_t>(cfg_.recv_buffer, 0xffff)));
  wire::store_be32(h + 16, 0);  // checksum, urgent pointer
  o.emit({h + 20, olen});
  l.last_cookie_ = now();
  c_cookies_sent_.inc();
  c_tx_.inc();
  finish_and_send(m, h, syn.key, false);
}

bool TcpLayer::accept_cookie(TcpListener& l, Segment& seg) {
  // Only while cookies are being sent (two periods after the last one, as
  // long as one stays valid): otherwise a flood of ACKs would be a free
  // 2^-24 lottery against the listener.
  if (l.last_cookie_ == Instant{} ||
      now() - l.last_cookie_ > std::chrono::seconds(2 * kSynCookiePeriodSeconds))
    return false;
  const std::uint16_t cookie_mss = syn_cookie_check(cookie_key_, seg.key, (seg.seq - 1).raw(),
                                                    (seg.ack - 1).raw(), cookie_clock());
  if (cookie_mss == 0) {
    c_cookies_bad_.inc();
    return false;
  }
  TcpConn* c = alloc_conn();
  if (c == nullptr || !table_.insert(seg.key, c)) {
    if (c != nullptr) release(*c);
    c_drop_table_full_.inc();
    return true;  // valid, but no room: the peer's retransmission may find some
  }
  c_cookies_ok_.inc();
  init_conn(*c, seg.key, nullptr);
  c->listener_ = &l;
  ++l.pending_;  // established() counts it out
  c->cc_.algo = l.cc_;
  c_passive_opens_.inc();
  // The SYN as the cookie remembers it.
  Segment syn = seg;
  syn.m = nullptr;
  syn.opts = wire::TcpOptions{};
  syn.opts.mss = cookie_mss;
  const bool ts = cfg_.timestamps && seg.has_ts && seg.opts.timestamps->tsecr != 0;
  syn.has_ts = ts;
  if (ts) {
    syn.opts.timestamps = seg.opts.timestamps;
    std::optional<std::uint8_t> ws;
    bool sack = false;
    syn_cookie_decode_ts(seg.opts.timestamps->tsecr, &sack, &ws);
    syn.opts.window_scale = ws;
    syn.opts.sack_permitted = sack;
  }
  c->irs_ = seg.seq - 1;
  c->rcv_nxt_ = seg.seq;
  apply_syn_options(*c, syn);
  c->rcv_adv_ = c->rcv_nxt_ + std::min<std::uint32_t>(cfg_.recv_buffer, 0xffff);
  c->iss_ = seg.ack - 1;
  c->snd_una_ = c->iss_;
  c->snd_nxt_ = c->snd_max_ = seg.ack;
  c->snd_wl1_ = seg.seq;
  c->snd_wl2_ = c->iss_;
  c->last_ack_sent_ = c->rcv_nxt_;
  c->rtt_start_ = now();  // no better guess without timestamps
  c->state_ = TcpState::kSynReceived;
  // The rest is the handshake's final ACK as in SYN-RECEIVED (it may carry
  // data, or a FIN).
  input_synchronized(*c, seg);
  return true;
}

}  // namespace ustack
