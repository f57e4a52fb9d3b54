// The server side of the WebSocket opening handshake (RFC 6455 §4.2) on a
// request from apps/http_parser: checks the request and builds the answer,
// 101 Switching Protocols or the error that refuses it.
#pragma once

#include <string>
#include <string_view>

#include "apps/http_parser.h"

namespace ustack::app {

// §1.3: the GUID appended to the client's key.
inline constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (§4.2.2 item 5.4):
// base64(SHA-1(key + GUID)).
std::string ws_accept_key(std::string_view key);

// True when `key` is the base64 form of 16 bytes (§4.2.1 item 5).
bool ws_key_valid(std::string_view key);

struct WsHandshake {
  int status = 0;        // 101 when accepted; 400, 405 or 426 when not
  std::string reason;    // why it was refused (one line)
  std::string response;  // the whole response to send (head, and a body for errors)
};

// The answer to `r`. Refusals, each closing the connection after it:
//  405  a method other than GET (§4.1: the handshake is a GET);
//  426  no Upgrade field, i.e. plain HTTP (RFC 9110 §15.5.22; the body says
//       this is a WebSocket echo server), or a Sec-WebSocket-Version other
//       than 13 (§4.4, with "Sec-WebSocket-Version: 13");
//  400  HTTP/1.0, Upgrade without "websocket", Connection without
//       "Upgrade", a missing or malformed Sec-WebSocket-Key (§4.2.1).
// Subprotocols and extensions the client offers are not selected (§4.2.2).
WsHandshake ws_server_handshake(const HttpRequest& r);

}  // namespace ustack::app
