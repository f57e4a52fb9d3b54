// The WebSocket opening handshake, server side (see ws_handshake.h).
#include "apps/ws_handshake.h"

#include <openssl/evp.h>

namespace ustack::app {
namespace {

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

WsHandshake refuse(int status, std::string reason, std::string_view extra = "") {
  WsHandshake h;
  h.status = status;
  h.reason = std::move(reason);
  const std::string body =
      std::to_string(status) + " " + http_reason(status) + ": " + h.reason + "\n";
  h.response = "HTTP/1.1 " + std::to_string(status) + " " + http_reason(status) +
               "\r\nServer: ustack\r\nContent-Type: text/plain; charset=utf-8\r\n"
               "Content-Length: " +
               std::to_string(body.size()) + "\r\nConnection: close\r\n" + std::string(extra) +
               "\r\n" + body;
  return h;
}

}  // namespace

std::string ws_accept_key(std::string_view key) {
  std::string in(key);
  in += kWsGuid;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(in.data(), in.size(), md, &md_len, EVP_sha1(), nullptr) != 1 || md_len != 20)
    return "";
  unsigned char b64[4 * ((20 + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(b64, md, 20);
  return std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
}

bool ws_key_valid(std::string_view key) {
  // 16 bytes are 22 base64 digits and "=="; the last digit carries 2 bits,
  // so its low 4 bits are zero: A, Q, g or w.
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (std::size_t i = 0; i < 22; ++i)
    if (!is_base64_char(key[i])) return false;
  const char last = key[21];
  return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

WsHandshake ws_server_handshake(const HttpRequest& r) {
  // §4.2.1: a GET, HTTP/1.1 or later, with Host (the parser checked it),
  // Upgrade: websocket, Connection: Upgrade, a 16-byte key and version 13.
  if (r.method != "GET") return refuse(405, "a WebSocket handshake is a GET", "Allow: GET\r\n");
  const std::string* upgrade = r.header("upgrade");
  if (upgrade == nullptr)
    return refuse(426, "this is a WebSocket echo server; connect with a WebSocket client",
                  "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
  if (r.version_minor < 1) return refuse(400, "a WebSocket handshake needs HTTP/1.1");
  if (!http_has_token(*upgrade, "websocket")) return refuse(400, "Upgrade does not name websocket");
  const std::string* connection = r.header("connection");
  if (connection == nullptr || !http_has_token(*connection, "upgrade"))
    return refuse(400, "Connection does not hold the Upgrade token");
  const std::string* version = r.header("sec-websocket-version");
  if (version == nullptr || *version != "13")
    return refuse(426, "Sec-WebSocket-Version must be 13", "Sec-WebSocket-Version: 13\r\n");
  const std::string* key = r.header("sec-websocket-key");
  if (key == nullptr) return refuse(400, "no Sec-WebSocket-Key");
  if (!ws_key_valid(*key)) return refuse(400, "Sec-WebSocket-Key is not 16 bytes in base64");
  WsHandshake h;
  h.status = 101;
  h.response =
      "HTTP/1.1 101 Switching Protocols\r\nServer: ustack\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
      ws_accept_key(*key) + "\r\n\r\n";
  return h;
}

}  // namespace ustack::app
