#include "tcp/tcp_script.h"

#include <cstring>
#include <sstream>

#include "proto/wire/arp.h"
#include "proto/wire/ethernet.h"
#include "proto/wire/ipv4.h"
#include "unit/test_pool.h"

namespace ustack::testing {

std::vector<std::byte> pattern(std::uint32_t seq, std::uint32_t len) {
  std::vector<std::byte> v(len);
  for (std::uint32_t i = 0; i < len; ++i) {
    const std::uint32_t x = seq + i;
    v[i] = std::byte(static_cast<std::uint8_t>((x * 2654435761u) >> 24));
  }
  return v;
}

std::string flags_str(std::uint8_t f) {
  std::string s;
  if (f & kSyn) s += 'S';
  if (f & kFin) s += 'F';
  if (f & kRst) s += 'R';
  if (f & kPsh) s += 'P';
  if (f & kAck) s += '.';
  if (f & ~(kSyn | kFin | kRst | kPsh | kAck)) s += '?';
  return s.empty() ? "none" : s;
}

std::string SentSeg::str() const {
  std::ostringstream o;
  o << "[" << ns_of(at) / 1'000'000 << " ms] " << flags_str(flags) << " seq " << seq;
  if (flags & kAck) o << " ack " << ack;
  o << " win " << win << " len " << len();
  std::string opt;
  auto add = [&opt](const std::string& s) { opt += (opt.empty() ? "" : ",") + s; };
  if (opts.mss) add("mss " + std::to_string(*opts.mss));
  if (opts.sack_permitted) add("sackOK");
  if (opts.timestamps)
    add("TS val " + std::to_string(opts.timestamps->tsval) + " ecr " +
        std::to_string(opts.timestamps->tsecr));
  if (opts.window_scale) add("wscale " + std::to_string(*opts.window_scale));
  if (!opt.empty()) o << " <" << opt << ">";
  return o.str();
}

namespace {

std::string describe(const Want& w) {
  std::ostringstream o;
  o << (w.flags ? flags_str(*w.flags) : "*");
  if (w.seq) o << " seq " << *w.seq;
  if (w.ack) o << " ack " << *w.ack;
  if (w.win) o << " win " << *w.win;
  if (w.len) o << " len " << *w.len;
  return o.str();
}

bool matches(const Want& w, const SentSeg& s) {
  if (w.flags) {
    const auto strip = [](std::uint8_t f) { return static_cast<std::uint8_t>(f & ~kPsh); };
    if (strip(*w.flags) != strip(s.flags)) return false;
    if ((*w.flags & kPsh) && !(s.flags & kPsh)) return false;
  }
  if (w.seq && *w.seq != s.seq) return false;
  if (w.ack && *w.ack != s.ack) return false;
  if (w.win && *w.win != s.win) return false;
  if (w.len && *w.len != s.len()) return false;
  return true;
}

const char* reason_str(TcpCloseReason r) {
  return to_string(r);
}

}  // namespace

// ---- Recorder

TcpHandler* Recorder::on_accept(TcpConn& c) {
  conn = &c;
  ++accepted;
  events.push_back("accept");
  return this;
}

void Recorder::on_connected(TcpConn& c) {
  conn = &c;
  ++connected;
  events.push_back("connected");
}

void Recorder::on_readable(TcpConn& c) {
  ++readable;
  if (auto_read) drain(c);
}

void Recorder::on_writable(TcpConn&) {
  ++writable;
}

void Recorder::on_peer_closed(TcpConn& c) {
  ++peer_closed;
  events.push_back("peer_closed");
  if (close_on_peer_close) c.close();
}

void Recorder::on_closed(TcpConn&, TcpCloseReason r) {
  ++closed;
  reason = r;
  conn = nullptr;
  events.push_back(std::string("closed: ") + reason_str(r));
}

void Recorder::drain(TcpConn& c) {
  std::byte buf[4096];
  for (std::size_t n; (n = c.read(buf)) > 0;) received.insert(received.end(), buf, buf + n);
}

// ---- TcpScript

TcpScript::TcpScript(const ScriptOptions& o)
    : start_(clock_.now()), peer_isn_(o.peer_isn), mtu_(o.mtu) {
  MemlinkConfig lc;
  lc.mtu = o.mtu;
  std::string err;
  link_ = Memlink::create(lc, clock_, &err);
  EXPECT_NE(link_, nullptr) << err;
  stack_mac_ = link_->a().mac();
  peer_mac_ = link_->b().mac();
  pool_ = make_pool(o.pool_size, 2048, "stack");
  peer_pool_ = make_pool(o.pool_size / 2, 2048, "peer");
  link_->set_rx_pool(0, pool_.get());
  link_->set_rx_pool(1, peer_pool_.get());
  WorkerConfig wc;
  wc.name = "sut";
  worker_ = std::make_unique<Worker>(wc, clock_);
  TxBatch& tx = worker_->add_queue(link_->a(), 0);
  worker_->add_pool(*pool_);
  StackConfig sc;
  sc.netif.mac = stack_mac_;
  sc.netif.addrs = {Ipv4Cidr{kStackAddr, 24}};
  sc.netif.mtu = o.mtu;
  sc.netif.gratuitous_arp = false;
  sc.tcp = o.tcp;
  sc.seed = 12345;
  stack_ =
      std::make_unique<Stack>(sc, *pool_, worker_->timers(), worker_->counters(), tx, clock_.now());
  worker_->set_handler(*stack_);
  stack_->arp().cache().add_static(kPeerAddr, peer_mac_);
}

TcpScript::~TcpScript() {
  stack_.reset();
  worker_.reset();
  link_.reset();
  EXPECT_EQ(pool_->in_use(), 0u) << "the stack leaked mbufs";
  EXPECT_EQ(peer_pool_->in_use(), 0u) << "injected frames leaked";
}

void TcpScript::run() {
  worker_->run_once(clock_.now());
  collect();
}

void TcpScript::advance(Duration d, Duration step) {
  const Instant end = clock_.now() + d;
  while (clock_.now() < end) {
    clock_.advance(std::min(step, end - clock_.now()));
    run();
  }
}

void TcpScript::collect() {
  Mbuf* burst[32];
  for (;;) {
    const std::uint16_t n = link_->b().rx_burst(0, burst, 32);
    for (std::uint16_t i = 0; i < n; ++i) {
      std::vector<std::byte> f(burst[i]->pkt_len);
      mbuf_read(burst[i], 0, f);
      mbuf_free(burst[i]);
      handle_frame(f);
    }
    if (n < 32) break;
  }
}

void TcpScript::handle_frame(std::span<const std::byte> f) {
  const auto eth = wire::EthernetView::parse(f);
  if (!eth) {
    ADD_FAILURE() << "the stack sent a malformed Ethernet frame";
    return;
  }
  if (eth->ethertype() == wire::kEtherTypeArp) {
    const auto arp = wire::ArpView::parse(eth->payload());
    if (arp && arp->operation() == wire::kArpOpRequest && arp->target_ip() == kPeerAddr) {
      std::vector<std::byte> reply(14 + wire::ArpRepr::len());
      wire::EthernetRepr{arp->sender_mac(), peer_mac_, wire::kEtherTypeArp, std::nullopt}.emit(
          reply);
      wire::ArpRepr{wire::kArpOpReply, peer_mac_, kPeerAddr, arp->sender_mac(), arp->sender_ip()}
          .emit(std::span(reply).subspan(14));
      inject_frame(reply);
    }
    return;
  }
  if (eth->ethertype() != wire::kEtherTypeIpv4) return;
  const auto ip = wire::Ipv4View::parse(eth->payload());
  if (!ip) {
    ADD_FAILURE() << "the stack sent a malformed IPv4 datagram";
    return;
  }
  EXPECT_TRUE(ip->header_checksum_ok()) << "bad IPv4 header checksum";
  // RFC 9293 §3.7.1: a segment, options included, fits the MTU; the stack
  // never leaves TCP to IP fragmentation.
  if (ip->protocol() == wire::kIpProtoTcp && ip->is_fragment()) {
    ADD_FAILURE() << "the stack sent a TCP segment larger than the MTU (IP fragmented it)";
    return;
  }
  EXPECT_EQ(ip->dst(), kPeerAddr);
  if (ip->protocol() != wire::kIpProtoTcp) return;
  const auto tcp = wire::TcpView::parse(ip->payload());
  if (!tcp) {
    ADD_FAILURE() << "the stack sent a malformed TCP segment";
    return;
  }
  EXPECT_TRUE(tcp->checksum_ok(ip->src(), ip->dst())) << "bad TCP checksum";
  SentSeg s;
  s.at = clock_.now();
  s.flags = tcp->flags();
  s.raw_seq = tcp->seq_number();
  s.raw_ack = tcp->ack_number();
  s.win = tcp->window();
  s.src_port = tcp->src_port();
  s.dst_port = tcp->dst_port();
  s.opts = tcp->options();
  s.payload.assign(tcp->payload().begin(), tcp->payload().end());
  if (s.has(kSyn) && !s.has(kRst)) {
    stack_isn_ = s.raw_seq;
    stack_isn_known_ = true;
    stack_ts_ = s.opts.timestamps.has_value();
  }
  if (s.opts.timestamps) last_stack_tsval_ = s.opts.timestamps->tsval;
  s.seq = stack_isn_known_ ? s.raw_seq - stack_isn_ : s.raw_seq;
  s.ack = s.raw_ack - peer_isn_;
  captured_.push_back(std::move(s));
}

void TcpScript::inject_frame(std::span<const std::byte> frame) {
  Mbuf* m = peer_pool_->alloc();
  ASSERT_NE(m, nullptr);
  std::byte* p = m->append(static_cast<std::uint16_t>(frame.size()));
  std::memcpy(p, frame.data(), frame.size());
  Mbuf* burst[1] = {m};
  EXPECT_EQ(link_->b().tx_burst(0, burst, 1), 1u);
}

std::uint32_t TcpScript::peer_tsval() const {
  return 1000u + static_cast<std::uint32_t>(ms(clock_.now() - start_));
}

void TcpScript::inject(const TcpSeg& s, std::uint16_t pport) {
  const bool syn = (s.flags & kSyn) != 0;
  wire::TcpOptions o = s.opts ? *s.opts : wire::TcpOptions{};
  if (!s.opts && !syn && ts_negotiated() && !s.no_ts)
    o.timestamps = wire::TcpTimestamps{peer_tsval(), last_stack_tsval_};
  if (s.ts) o.timestamps = *s.ts;
  if (syn) peer_ts_ = o.timestamps.has_value();
  const std::vector<std::byte> payload =
      s.data.empty() ? pattern(s.seq + (syn ? 1 : 0), s.len) : s.data;

  wire::TcpRepr t;
  t.src_port = pport != 0 ? pport : peer_port;
  t.dst_port = local_port;
  t.seq = s.absolute ? s.seq : peer_isn_ + s.seq;
  t.ack = s.absolute ? s.ack : ((s.flags & kAck) ? stack_isn_ + s.ack : 0);
  t.flags = s.flags;
  t.window = s.win;
  t.options = o;
  const std::size_t tcp_len = t.header_len() + payload.size();
  EXPECT_LE(20 + tcp_len, mtu_) << "the injected segment does not fit the link's MTU";
  std::vector<std::byte> frame(14 + 20 + tcp_len);
  wire::EthernetRepr{stack_mac_, peer_mac_, wire::kEtherTypeIpv4, std::nullopt}.emit(frame);
  wire::Ipv4Repr ip;
  ip.src = kPeerAddr;
  ip.dst = kStackAddr;
  ip.protocol = wire::kIpProtoTcp;
  ip.ident = ip_id_++;
  ip.dont_fragment = true;
  ip.payload_len = static_cast<std::uint16_t>(tcp_len);
  ASSERT_TRUE(ip.emit(std::span(frame).subspan(14)));
  const std::span<std::byte> seg = std::span(frame).subspan(34);
  if (!payload.empty()) std::memcpy(seg.data() + t.header_len(), payload.data(), payload.size());
  ASSERT_TRUE(t.emit(seg, kPeerAddr, kStackAddr));
  inject_frame(frame);
  run();
}

std::optional<SentSeg> TcpScript::next_segment() {
  if (captured_.empty()) return std::nullopt;
  SentSeg s = std::move(captured_.front());
  captured_.pop_front();
  return s;
}

std::optional<SentSeg> TcpScript::wait_segment(Duration max, Duration step) {
  const Instant end = clock_.now() + max;
  while (captured_.empty() && clock_.now() < end) advance(std::min(step, end - clock_.now()), step);
  return next_segment();
}

std::optional<SentSeg> TcpScript::expect(const Want& w, Duration within, SourceLocation loc) {
  std::optional<SentSeg> s = wait_segment(within);
  if (!s) {
    ADD_FAILURE_AT(loc.file_name(), static_cast<int>(loc.line()))
        << "expected " << describe(w) << " within " << ms(within) << " ms; the stack sent nothing";
    return std::nullopt;
  }
  if (!matches(w, *s)) {
    ADD_FAILURE_AT(loc.file_name(), static_cast<int>(loc.line()))
        << "expected " << describe(w) << "\n     got " << s->str();
    return std::nullopt;
  }
  return s;
}

bool TcpScript::expect_nothing_for(Duration d, Duration step, SourceLocation loc) {
  advance(d, step);
  if (captured_.empty()) return true;
  std::string got;
  for (const SentSeg& s : captured_) got += "\n  " + s.str();
  ADD_FAILURE_AT(loc.file_name(), static_cast<int>(loc.line()))
      << "expected nothing for " << ms(d) << " ms; the stack sent:" << got;
  captured_.clear();
  return false;
}

wire::TcpOptions TcpScript::syn_options(const SynOpts& s, std::uint32_t tsval) {
  wire::TcpOptions o;
  o.mss = s.mss;
  o.window_scale = s.wscale;
  o.sack_permitted = s.sack_ok;
  if (s.ts) o.timestamps = wire::TcpTimestamps{tsval, 0};
  return o;
}

void TcpScript::listen() {
  if (listener_ != nullptr) return;
  std::string err;
  listener_ = tcp().listen(kServerPort, app, &err);
  EXPECT_NE(listener_, nullptr) << err;
  local_port = kServerPort;
  peer_port = kPeerPort;
}

std::optional<SentSeg> TcpScript::accept(const SynOpts& syn, std::uint16_t win, Duration rtt,
                                         SourceLocation loc) {
  listen();
  inject({.flags = kSyn, .seq = 0, .win = win, .opts = syn_options(syn, peer_tsval())});
  std::optional<SentSeg> synack = expect({.flags = kSyn | kAck, .seq = 0, .ack = 1}, {}, loc);
  if (!synack) return std::nullopt;
  advance(rtt);
  inject({.flags = kAck, .seq = 1, .ack = 1, .win = win});
  if (app.accepted != 1 || conn() == nullptr || conn()->state() != TcpState::kEstablished) {
    ADD_FAILURE_AT(loc.file_name(), static_cast<int>(loc.line()))
        << "the handshake did not establish the connection";
    return std::nullopt;
  }
  return synack;
}

std::optional<SentSeg> TcpScript::open(SourceLocation loc) {
  local_port = kClientPort;
  peer_port = kRemotePort;
  std::string err;
  stack_->set_now(clock_.now());
  app.conn = tcp().connect(IpAddr::v4(kPeerAddr), kRemotePort, app, &err, kClientPort);
  if (app.conn == nullptr) {
    ADD_FAILURE_AT(loc.file_name(), static_cast<int>(loc.line())) << "connect: " << err;
    return std::nullopt;
  }
  run();
  // At once, or a moment later when the peer's address had to be resolved.
  return expect({.flags = kSyn, .seq = 0}, milliseconds(10), loc);
}

std::optional<SentSeg> TcpScript::connect(const SynOpts& synack, std::uint16_t win,
                                          SourceLocation loc) {
  std::optional<SentSeg> syn = open(loc);
  if (!syn) return std::nullopt;
  wire::TcpOptions o = syn_options(synack, peer_tsval());
  if (o.timestamps) o.timestamps->tsecr = syn->tsval();
  inject({.flags = kSyn | kAck, .seq = 0, .ack = 1, .win = win, .opts = o});
  if (!expect({.flags = kAck, .seq = 1, .ack = 1}, {}, loc)) return std::nullopt;
  if (app.connected != 1 || conn() == nullptr || conn()->state() != TcpState::kEstablished) {
    ADD_FAILURE_AT(loc.file_name(), static_cast<int>(loc.line()))
        << "the handshake did not establish the connection";
    return std::nullopt;
  }
  return syn;
}

void TcpScript::call(const std::function<void(TcpConn&)>& f) {
  stack_->set_now(clock_.now());
  if (conn() == nullptr) {
    ADD_FAILURE() << "no connection";
    return;
  }
  f(*conn());
  run();
}

std::uint32_t TcpScript::send(std::uint32_t n) {
  const std::vector<std::byte> data = pattern(1 + static_cast<std::uint32_t>(sent.size()), n);
  std::uint32_t taken = 0;
  call([&](TcpConn& c) { taken = c.send(data); });
  sent.insert(sent.end(), data.begin(), data.begin() + taken);
  return taken;
}

void TcpScript::close() {
  call([](TcpConn& c) { c.close(); });
}

}  // namespace ustack::testing
