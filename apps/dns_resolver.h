// A DNS stub resolver (RFC 1035, RFC 1123 §6.1.3) over ustack's UDP: one
// name at a time to one server (an IPv4 or IPv6 address), A or AAAA records
// (RFC 3596), CNAME chains followed. Which type to ask for, and in which
// order, is the caller's (apps/host_lookup.h).
//
// Against forged answers (RFC 5452 §9.1, §9.2): every query, retries
// included, goes from a fresh socket on a source port drawn at random from
// 1024-65535 with a random transaction ID, both from the kernel's random
// source; an answer counts only when it comes from the server's address
// and port 53 to that port, carries the ID, has QR set and repeats the
// question (name, the type asked, class IN) (§3, §4.1). Anything else is ignored
// and counted. A malformed answer that carries our ID ends the lookup with
// the parser's reason. Timeouts and retries are driven by poll(now).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apps/dns_message.h"
#include "core/instant.h"
#include "proto/stack.h"

namespace ustack::app {

struct DnsResolverOptions {
  IpAddr server;
  std::uint16_t qtype = dns::kTypeA;  // or dns::kTypeAaaa
  std::uint16_t port = dns::kPort;
  Duration timeout = std::chrono::seconds(1);  // per attempt
  int attempts = 3;                            // queries before giving up
};

class DnsResolver final : public UdpHandler {
 public:
  DnsResolver(Stack& stack, const DnsResolverOptions& o) : stack_(stack), o_(o) {}
  ~DnsResolver() override;
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Starts resolving `name`. false and *error when it is not a host name
  // or no UDP port can be opened.
  bool start(std::string_view name, Instant now, std::string* error);
  // Retries after a timeout, gives up after the last attempt.
  void poll(Instant now);

  bool done() const { return state_ != State::kRunning; }
  bool ok() const { return state_ == State::kDone; }
  const std::vector<IpAddr>& addresses() const { return addrs_; }
  // Failed only because the name has no record of the type asked (NOERROR
  // with an empty answer: RFC 2308 §2.2's NODATA): another type may exist.
  bool no_data() const { return no_data_; }
  const std::string& canonical() const { return canonical_; }  // the CNAME chain's end
  const std::string& error() const { return error_; }
  int queries_sent() const { return queries_; }
  std::uint64_t ignored() const { return ignored_; }  // answers that did not match

  void on_datagram(UdpSocket& s, UdpDatagram& d) override;

 private:
  enum class State { kIdle, kRunning, kDone, kFailed };
  bool send_query(Instant now);
  void fail(std::string why);
  void close_socket();

  Stack& stack_;
  DnsResolverOptions o_;
  State state_ = State::kIdle;
  std::string name_;     // asked for by the user
  std::string current_;  // asked of the server now (a CNAME's target after a restart)
  UdpSocket* socket_ = nullptr;
  std::uint16_t id_ = 0;
  int attempt_ = 0;
  int restarts_ = 0;
  int queries_ = 0;
  Instant deadline_{};
  std::uint64_t ignored_ = 0;
  bool no_data_ = false;
  std::vector<IpAddr> addrs_;
  std::string canonical_;
  std::string error_;
};

}  // namespace ustack::app
