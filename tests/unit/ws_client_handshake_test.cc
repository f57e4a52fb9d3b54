// The client side of the WebSocket handshake: the request's key and fields,
// and every check of the server's answer (RFC 6455 §4.1).
#include "apps/ws_client_handshake.h"

#include <gtest/gtest.h>

#include "apps/ws_handshake.h"

namespace ustack::app {
namespace {

HttpResponse answer(const std::string& head) {
  HttpResponseParser p;
  p.set_upgrade_expected(true);
  p.feed(head + "\r\n\r\n");
  HttpResponse r;
  EXPECT_EQ(p.next(&r), HttpResponseParse::kResponse) << p.error();
  return r;
}

TEST(WsClientHandshake, RequestHasAFreshValidKey) {
  Url u;
  std::string err;
  ASSERT_TRUE(parse_url("ws://10.0.0.1:8080/chat?x=1", "ws", &u, &err));
  const WsClientRequest a = ws_client_request(u), b = ws_client_request(u);
  EXPECT_TRUE(ws_key_valid(a.key)) << a.key;
  EXPECT_NE(a.key, b.key);
  EXPECT_EQ(a.request.rfind("GET /chat?x=1 HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n", 0), 0u);
  for (const char* f :
       {"Upgrade: websocket\r\n", "Connection: Upgrade\r\n", "Sec-WebSocket-Version: 13\r\n"})
    EXPECT_NE(a.request.find(f), std::string::npos) << f;
}

TEST(WsClientHandshake, AnswerChecks) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 §1.3's example
  const std::string ok =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  std::string err;
  EXPECT_TRUE(ws_check_response(answer(ok), key, &err)) << err;
  EXPECT_FALSE(ws_check_response(answer(ok), "AAAAAAAAAAAAAAAAAAAAAA==", &err));
  EXPECT_NE(err.find("Accept"), std::string::npos);
  EXPECT_FALSE(
      ws_check_response(answer("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0"), key, &err));
  EXPECT_NE(err.find("426"), std::string::npos);
  EXPECT_FALSE(
      ws_check_response(answer("HTTP/1.1 101 X\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                               "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
                        key, &err));
  EXPECT_FALSE(
      ws_check_response(answer("HTTP/1.1 101 X\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: "
                               "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
                        key, &err));
  EXPECT_FALSE(ws_check_response(answer(ok + "\r\nSec-WebSocket-Extensions: permessage-deflate"),
                                 key, &err));
}

}  // namespace
}  // namespace ustack::app
