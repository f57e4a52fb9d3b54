// URLs on the clients' command lines (RFC 3986 §3, the parts HTTP and
// WebSocket use): scheme://host[:port][/path[?query]]. No user info, no
// IPv6 literals; the fragment is dropped (never sent, RFC 9110 §7.1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ustack::app {

struct Url {
  std::string scheme;  // lower case
  std::string host;
  std::uint16_t port = 0;
  bool port_given = false;
  std::string target = "/";  // path and query (origin-form, RFC 9112 §3.2.1)

  // The Host field's value (RFC 9110 §7.2): host, and :port when given.
  std::string authority() const;
};

// Parses `text` whose scheme is one of `schemes` (space-separated, e.g.
// "http" or "ws"); the default port is 80. false and *error otherwise.
bool parse_url(std::string_view text, std::string_view schemes, Url* out, std::string* error);

}  // namespace ustack::app
