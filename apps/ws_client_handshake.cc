#include "apps/ws_client_handshake.h"

#include <openssl/evp.h>

#include "apps/http_parser.h"
#include "apps/secure_random.h"
#include "apps/ws_handshake.h"

namespace ustack::app {

WsClientRequest ws_client_request(const Url& url) {
  unsigned char raw[16];
  secure_random(raw, sizeof raw);
  unsigned char b64[25];
  const int n = EVP_EncodeBlock(b64, raw, sizeof raw);
  WsClientRequest r;
  r.key.assign(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
  r.request = "GET " + url.target + " HTTP/1.1\r\nHost: " + url.authority() +
              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + r.key +
              "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: ustack\r\n\r\n";
  return r;
}

bool ws_check_response(const HttpResponse& r, std::string_view key, std::string* error) {
  if (r.status != 101) {
    *error =
        "the server refused the WebSocket handshake: " + std::to_string(r.status) + " " + r.reason;
    return false;
  }
  const std::string* upgrade = r.header("upgrade");
  const std::string* connection = r.header("connection");
  const std::string* accept = r.header("sec-websocket-accept");
  if (upgrade == nullptr || !http_iequals(*upgrade, "websocket")) {
    *error = "the handshake answer's Upgrade is not websocket (RFC 6455 4.1)";
  } else if (connection == nullptr || !http_has_token(*connection, "upgrade")) {
    *error = "the handshake answer's Connection lacks Upgrade (RFC 6455 4.1)";
  } else if (accept == nullptr || *accept != ws_accept_key(key)) {
    *error = "the handshake answer's Sec-WebSocket-Accept does not match our key (RFC 6455 4.1)";
  } else if (r.header("sec-websocket-extensions") || r.header("sec-websocket-protocol")) {
    *error = "the server chose an extension or subprotocol that was not offered (RFC 6455 4.1)";
  } else {
    return true;
  }
  return false;
}

}  // namespace ustack::app
