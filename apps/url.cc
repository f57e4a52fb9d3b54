#include "apps/url.h"

#include "apps/http_parser.h"

namespace ustack::app {

std::string Url::authority() const {
  return port_given ? host + ":" + std::to_string(port) : host;
}

bool parse_url(std::string_view text, std::string_view schemes, Url* out, std::string* error) {
  const std::string quoted = "'" + std::string(text) + "'";
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    *error = quoted + " is not a URL (expected e.g. " +
             std::string(schemes.substr(0, schemes.find(' '))) + "://10.0.0.1:8080/)";
    return false;
  }
  const std::string_view scheme = text.substr(0, sep);
  bool known = false;
  for (std::string_view rest = schemes; !rest.empty();) {
    const std::size_t sp = rest.find(' ');
    if (http_iequals(rest.substr(0, sp), scheme)) known = true;
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  }
  if (!known) {
    *error = quoted + ": the scheme is not " + std::string(schemes);
    return false;
  }
  out->scheme.clear();
  for (const char c : scheme)
    out->scheme.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  text.remove_prefix(sep + 3);
  text = text.substr(0, text.find('#'));
  const std::size_t slash = text.find_first_of("/?");
  std::string_view authority = text.substr(0, slash);
  out->target = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  if (out->target.front() == '?') out->target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos ||
      authority.find('[') != std::string_view::npos) {
    *error = quoted + ": user info and IPv6 literals are not supported";
    return false;
  }
  out->port = 80;
  out->port_given = false;
  const std::size_t colon = authority.find(':');
  if (colon != std::string_view::npos) {
    const std::string_view p = authority.substr(colon + 1);
    unsigned port = 0;
    for (const char c : p) {
      if (c < '0' || c > '9' || port > 65535) {
        port = 0;
        break;
      }
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (p.empty() || port == 0 || port > 65535) {
      *error = quoted + ": the port is not a number from 1 to 65535";
      return false;
    }
    out->port = static_cast<std::uint16_t>(port);
    out->port_given = true;
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) {
    *error = quoted + " names no host";
    return false;
  }
  out->host = std::string(authority);
  return true;
}

}  // namespace ustack::app
