// The client side of the WebSocket opening handshake (RFC 6455 §4.1): the
// upgrade request with a random key, and the checks of the server's answer.
#pragma once

#include <string>
#include <string_view>

#include "apps/http_response.h"
#include "apps/url.h"

namespace ustack::app {

struct WsClientRequest {
  std::string key;      // Sec-WebSocket-Key: 16 random bytes in base64 (§4.1 item 7)
  std::string request;  // the GET to send
};

WsClientRequest ws_client_request(const Url& url);

// §4.1, the client's checks of the answer: status 101, Upgrade: websocket,
// Connection: Upgrade, Sec-WebSocket-Accept for our key, and no extension
// or subprotocol, since we asked for none. false and *error otherwise.
bool ws_check_response(const HttpResponse& r, std::string_view key, std::string* error);

}  // namespace ustack::app
