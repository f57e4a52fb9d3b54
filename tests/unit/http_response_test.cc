// The HTTP/1.1 response parser of `ustack http`: framing by length, chunks
// and close, bodiless responses, interim responses, every split point, and
// malformed or truncated input; and the URL parser.
#include "apps/http_response.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apps/url.h"

namespace ustack::app {
namespace {

struct Outcome {
  std::vector<HttpResponse> responses;
  std::string error;
};

// Feeds `input` in pieces of `step` bytes, then the end of input when `eof`.
Outcome parse(const std::string& input, std::size_t step = 0, bool eof = false, bool head = false) {
  HttpResponseParser p;
  p.set_head_request(head);
  Outcome o;
  if (step == 0) step = input.size() + 1;
  auto take = [&](HttpResponseParse r, HttpResponse& resp) {
    if (r == HttpResponseParse::kResponse) o.responses.push_back(resp);
    if (r == HttpResponseParse::kError) o.error = p.error();
    return r == HttpResponseParse::kResponse;
  };
  for (std::size_t off = 0; off < input.size() && o.error.empty(); off += step) {
    p.feed(std::string_view(input).substr(off, step));
    HttpResponse r;
    while (take(p.next(&r), r)) {
    }
  }
  if (eof && o.error.empty()) {
    HttpResponse r;
    take(p.end_of_input(&r), r);
  }
  return o;
}

const std::string kTwo =
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"
    "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
    "3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n";

TEST(HttpResponse, LengthAndChunkedAtEverySplit) {
  for (std::size_t step = 1; step <= kTwo.size(); ++step) {
    const Outcome o = parse(kTwo, step);
    ASSERT_TRUE(o.error.empty()) << o.error;
    ASSERT_EQ(o.responses.size(), 2u) << "step " << step;
    EXPECT_EQ(o.responses[0].status, 200);
    EXPECT_EQ(o.responses[0].reason, "OK");
    EXPECT_EQ(o.responses[0].body, "hello");
    ASSERT_NE(o.responses[0].header("x-a"), nullptr);
    EXPECT_EQ(*o.responses[0].header("X-A"), "b");
    EXPECT_TRUE(o.responses[0].keep_alive);
    EXPECT_EQ(o.responses[1].status, 404);
    EXPECT_TRUE(o.responses[1].chunked);
    EXPECT_EQ(o.responses[1].body, "abc0123456789abcdef");
  }
}

TEST(HttpResponse, BodyUntilCloseNeedsTheEnd) {
  const std::string in = "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of it";
  EXPECT_TRUE(parse(in).responses.empty());
  const Outcome o = parse(in, 3, true);
  ASSERT_EQ(o.responses.size(), 1u) << o.error;
  EXPECT_EQ(o.responses[0].body, "all of it");
  EXPECT_FALSE(o.responses[0].keep_alive);
}

TEST(HttpResponse, PersistenceRules) {
  EXPECT_FALSE(parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                   .responses.at(0)
                   .keep_alive);
  EXPECT_FALSE(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").responses.at(0).keep_alive);
  EXPECT_TRUE(parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")
                  .responses.at(0)
                  .keep_alive);
}

TEST(HttpResponse, BodilessResponses) {
  // HEAD: the Content-Length describes the GET's body, none follows.
  Outcome o = parse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0, false, true);
  ASSERT_EQ(o.responses.size(), 1u);
  EXPECT_TRUE(o.responses[0].body.empty());
  o = parse(
      "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n");
  ASSERT_EQ(o.responses.size(), 2u);
  EXPECT_TRUE(o.responses[1].body.empty());
}

TEST(HttpResponse, InterimResponsesAreSkipped) {
  std::string in;
  for (int i = 0; i < 10000; ++i) in += "HTTP/1.1 100 Continue\r\n\r\n";
  in += "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  const Outcome o = parse(in);
  ASSERT_EQ(o.responses.size(), 1u) << o.error;
  EXPECT_EQ(o.responses[0].status, 201);
  EXPECT_EQ(o.responses[0].body, "ok");
}

TEST(HttpResponse, TruncatedResponsesFailAtTheEnd) {
  for (const std::string in :
       {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "HTTP/1.1 200 OK\r\nContent-Le",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"}) {
    const Outcome o = parse(in, 0, true);
    EXPECT_TRUE(o.responses.empty()) << in;
    EXPECT_NE(o.error.find("truncated"), std::string::npos) << in << ": " << o.error;
  }
  // A clean end between responses is no error.
  const Outcome o = parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, true);
  EXPECT_TRUE(o.error.empty());
  EXPECT_EQ(o.responses.size(), 1u);
}

TEST(HttpResponse, MalformedInputIsOneErrorForGood) {
  for (const std::string in : {
           "HTTP/2 200 OK\r\n\r\n",
           "HTTP/1.1 2000 OK\r\n\r\n",
           "HTTP/1.1 abc OK\r\n\r\n",
           "HTTP/1.1 099 Low\r\n\r\n",
           "garbage\r\n\r\n",
           "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
           "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
           "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n",
       }) {
    const Outcome o = parse(in, 0, true);
    EXPECT_TRUE(o.responses.empty()) << in;
    EXPECT_FALSE(o.error.empty()) << in;
  }
}

TEST(HttpResponse, OversizedHeadIsRefused) {
  const std::string in = "HTTP/1.1 200 OK\r\nX: " + std::string(70000, 'a');
  const Outcome o = parse(in, 1000);
  EXPECT_NE(o.error.find("head is over"), std::string::npos) << o.error;
}

TEST(Url, Parts) {
  Url u;
  std::string err;
  ASSERT_TRUE(parse_url("http://10.0.0.1:8080/a/b?c=d#frag", "http", &u, &err)) << err;
  EXPECT_EQ(u.host, "10.0.0.1");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.target, "/a/b?c=d");
  EXPECT_EQ(u.authority(), "10.0.0.1:8080");
  ASSERT_TRUE(parse_url("WS://web.test", "http ws", &u, &err)) << err;
  EXPECT_EQ(u.scheme, "ws");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.target, "/");
  EXPECT_EQ(u.authority(), "web.test");
  ASSERT_TRUE(parse_url("http://h?q", "http", &u, &err));
  EXPECT_EQ(u.target, "/?q");
  for (const char* bad : {"10.0.0.1/", "https://h/", "http://:80/", "http://h:0/",
                          "http://h:99999/", "http://h:8x/", "http://u@h/", "http://[::1]/"})
    EXPECT_FALSE(parse_url(bad, "http", &u, &err)) << bad;
}

}  // namespace
}  // namespace ustack::app
