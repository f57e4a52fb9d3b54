// The WebSocket opening handshake, server side (apps/ws_handshake): the
// accept key (RFC 6455 §1.3, §4.2.2) and every way a request is refused.
#include "apps/ws_handshake.h"

#include <gtest/gtest.h>

#include <string>

namespace ustack::app {
namespace {

const char kKey[] = "dGhlIHNhbXBsZSBub25jZQ==";

// The answer to a request given as text, through the real HTTP parser.
WsHandshake answer(const std::string& request) {
  HttpParser p;
  p.feed(request);
  HttpRequest r;
  EXPECT_EQ(p.next(&r), HttpParse::kRequest) << request;
  return ws_server_handshake(r);
}

std::string request(const std::string& fields, const std::string& line = "GET /chat HTTP/1.1") {
  return line + "\r\nHost: server.example.com\r\n" + fields + "\r\n";
}

const std::string kGood =
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + std::string(kKey) +
    "\r\nSec-WebSocket-Version: 13\r\n";

TEST(WsHandshake, AcceptKeyRfcExample) {
  // §1.3's worked example.
  EXPECT_EQ(ws_accept_key(kKey), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, KeyMustBeSixteenBytes) {
  EXPECT_TRUE(ws_key_valid(kKey));
  EXPECT_TRUE(ws_key_valid("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_FALSE(ws_key_valid(""));
  EXPECT_FALSE(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ"));        // no padding
  EXPECT_FALSE(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=a"));      // bad padding
  EXPECT_FALSE(ws_key_valid("dGhlIHNhbXBsZSBub25jZR=="));      // 17th byte's bits set
  EXPECT_FALSE(ws_key_valid("dGhlIHNhbXBsZSBub2*jZQ=="));      // not base64
  EXPECT_FALSE(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ==AAAA"));  // 19 bytes
}

TEST(WsHandshake, Accepts) {
  const WsHandshake h = answer(request(kGood));
  EXPECT_EQ(h.status, 101);
  EXPECT_EQ(h.response.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << h.response;
  EXPECT_NE(h.response.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(h.response.find("\r\nConnection: Upgrade\r\n"), std::string::npos);
  EXPECT_NE(h.response.find("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_EQ(h.response.substr(h.response.size() - 4), "\r\n\r\n");
}

TEST(WsHandshake, TokensAreListsAndCaseInsensitive) {
  // Connection and Upgrade are token lists (RFC 9110 §7.6.1, §7.8).
  const WsHandshake h = answer(
      request("upgrade: h2c, WebSocket\r\nconnection: keep-alive, UPGRADE\r\nsec-websocket-key: " +
              std::string(kKey) + "\r\nsec-websocket-version: 13\r\n"));
  EXPECT_EQ(h.status, 101) << h.reason;
}

TEST(WsHandshake, Refusals) {
  struct Case {
    std::string request;
    int status;
    const char* needle;  // in the response
  };
  const std::string no_key =
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
  const Case cases[] = {
      {request(kGood, "POST /chat HTTP/1.1"), 405, "Allow: GET"},
      {request(kGood, "GET /chat HTTP/1.0"), 400, "HTTP/1.1"},
      {request(""), 426, "Upgrade: websocket"},  // plain HTTP
      {request("Upgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + std::string(kKey) +
               "\r\nSec-WebSocket-Version: 13\r\n"),
       400, "websocket"},
      {request("Upgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: " +
               std::string(kKey) + "\r\nSec-WebSocket-Version: 13\r\n"),
       400, "Upgrade token"},
      {request("Upgrade: websocket\r\nSec-WebSocket-Key: " + std::string(kKey) +
               "\r\nSec-WebSocket-Version: 13\r\n"),
       400, "Upgrade token"},
      {request("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
               std::string(kKey) + "\r\nSec-WebSocket-Version: 8\r\n"),
       426, "Sec-WebSocket-Version: 13\r\n"},
      {request("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
               std::string(kKey) + "\r\n"),
       426, "Sec-WebSocket-Version: 13\r\n"},
      {request(no_key), 400, "Sec-WebSocket-Key"},
      {request(no_key + "Sec-WebSocket-Key: short==\r\n"), 400, "16 bytes"},
  };
  for (const Case& c : cases) {
    const WsHandshake h = answer(c.request);
    EXPECT_EQ(h.status, c.status) << c.request;
    EXPECT_FALSE(h.reason.empty());
    EXPECT_EQ(h.response.rfind("HTTP/1.1 " + std::to_string(c.status) + " ", 0), 0u) << h.response;
    EXPECT_NE(h.response.find("Connection: close\r\n"), std::string::npos) << h.response;
    EXPECT_NE(h.response.find(c.needle), std::string::npos) << c.request << "\n" << h.response;
    // The body is as long as Content-Length says.
    const std::size_t end = h.response.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    const std::size_t cl = h.response.find("Content-Length: ");
    ASSERT_NE(cl, std::string::npos);
    EXPECT_EQ(std::stoul(h.response.substr(cl + 16)), h.response.size() - end - 4);
  }
}

TEST(WsHandshake, BytesAfterTheRequestStayUnparsed) {
  // A client may send its first frame right behind the request.
  HttpParser p;
  p.feed(request(kGood) + "\x81\x80");
  HttpRequest r;
  ASSERT_EQ(p.next(&r), HttpParse::kRequest);
  EXPECT_EQ(p.unparsed(), "\x81\x80");
}

}  // namespace
}  // namespace ustack::app
