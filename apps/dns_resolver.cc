#include "apps/dns_resolver.h"

#include "apps/secure_random.h"

#include "proto/wire/bytes.h"

namespace ustack::app {
namespace {

// Restarts at a CNAME's target when an answer stops at the alias (RFC 1034
// §5.3.3 step 3.b), at most this many times.
constexpr int kMaxRestarts = 8;

}  // namespace

DnsResolver::~DnsResolver() {
  close_socket();
}

void DnsResolver::close_socket() {
  if (socket_ != nullptr) socket_->close();
  socket_ = nullptr;
}

bool DnsResolver::start(std::string_view name, Instant now, std::string* error) {
  if (!dns_normalize_name(name, &name_, error)) return false;
  current_ = name_;
  attempt_ = 0;
  restarts_ = 0;
  queries_ = 0;
  ignored_ = 0;
  no_data_ = false;
  addrs_.clear();
  canonical_.clear();
  error_.clear();
  state_ = State::kRunning;
  if (!send_query(now)) {
    *error = error_;
    return false;
  }
  return true;
}

bool DnsResolver::send_query(Instant now) {
  close_socket();
  // RFC 5452 §9.2: a random port from as large a range as possible (1024 and
  // up, as §10 discusses); a few draws, then any free ephemeral port.
  std::string err;
  for (int i = 0; i < 8 && socket_ == nullptr; ++i) {
    const auto port = static_cast<std::uint16_t>(1024 + secure_random32() % (65536 - 1024));
    socket_ = stack_.udp().open(*this, port, nullptr);
  }
  if (socket_ == nullptr) socket_ = stack_.udp().open(*this, 0, &err);
  if (socket_ == nullptr) {
    fail("cannot open a UDP port for DNS: " + err);
    return false;
  }
  socket_->connect(o_.server, o_.port);
  id_ = static_cast<std::uint16_t>(secure_random32());
  const std::vector<std::byte> q = dns_build_query(id_, current_, o_.qtype);
  const SendResult r = socket_->send(q);
  if (r != SendResult::kOk && r != SendResult::kNoBuffers) {
    fail("cannot send to DNS server " + o_.server.to_string() + ": " + to_string(r));
    return false;
  }
  ++queries_;
  deadline_ = now + o_.timeout;
  return true;
}

void DnsResolver::fail(std::string why) {
  close_socket();
  error_ = std::move(why);
  state_ = State::kFailed;
}

void DnsResolver::poll(Instant now) {
  if (state_ != State::kRunning || now < deadline_) return;
  if (++attempt_ < o_.attempts) {
    send_query(now);
    return;
  }
  fail("no answer from DNS server " + o_.server.to_string() + " for '" + name_ + "' after " +
       std::to_string(queries_) + " queries");
}

void DnsResolver::on_datagram(UdpSocket&, UdpDatagram& d) {
  std::byte buf[65536];
  const std::size_t n = mbuf_read(d.payload, 0, buf);
  mbuf_free(d.payload);
  const std::span<const std::byte> msg(buf, n);
  // RFC 5452 §4.1: the answer must come from where the query went.
  if (state_ != State::kRunning || d.src != o_.server || d.src_port != o_.port || n < 2 ||
      wire::load_be16(buf) != id_) {
    ++ignored_;
    return;
  }
  const std::string server = "DNS server " + o_.server.to_string();
  DnsResponse r;
  std::string err;
  if (!dns_parse_response(msg, &r, &err))
    return fail("malformed answer from " + server + ": " + err);
  if (!r.response || r.opcode != 0 || r.qname != current_ || r.qtype != o_.qtype ||
      r.qclass != dns::kClassIn) {
    ++ignored_;  // RFC 5452 §3: not the answer to our question
    return;
  }
  if (r.truncated)
    return fail(server + " truncated its answer for '" + current_ +
                "' (a retry over TCP is not supported)");
  if (r.rcode == 3) return fail("'" + current_ + "' does not exist (NXDOMAIN from " + server + ")");
  if (r.rcode != 0)
    return fail(server + " answered " + dns_rcode_name(r.rcode) + " for '" + current_ + "'");
  std::string canonical;
  if (!dns_follow_answer(r, current_, o_.qtype, &addrs_, &canonical, &err))
    return fail("bad answer from " + server + ": " + err);
  if (!addrs_.empty()) {
    canonical_ = canonical;
    close_socket();
    state_ = State::kDone;
    return;
  }
  if (canonical == current_) {
    fail(o_.qtype == dns::kTypeAaaa
             ? "'" + current_ + "' has no IPv6 address (no AAAA record from " + server + ")"
             : "'" + current_ + "' has no IPv4 address (no A record from " + server + ")");
    no_data_ = true;
    return;
  }
  if (++restarts_ > kMaxRestarts)
    return fail("the CNAME chain of '" + name_ + "' is longer than the resolver follows");
  current_ = canonical;
  attempt_ = 0;
  send_query(stack_.now());
}

}  // namespace ustack::app
