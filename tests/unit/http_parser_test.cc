// The incremental HTTP/1.1 request parser: every split point, pipelining,
// chunked bodies, persistence, limits and every malformed case.
#include "apps/http_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ustack::app {
namespace {

struct Outcome {
  std::vector<HttpRequest> requests;
  int error = 0;  // the status of the error, 0 if none
};

// Feeds `input` in pieces of `step` bytes (0: all at once), collecting requests.
Outcome parse(const std::string& input, std::size_t step = 0, HttpLimits limits = {}) {
  HttpParser p(limits);
  Outcome o;
  if (step == 0) step = input.size() + 1;
  for (std::size_t off = 0; off < input.size() && o.error == 0; off += step) {
    p.feed(std::string_view(input).substr(off, step));
    while (true) {
      HttpRequest r;
      const HttpParse res = p.next(&r);
      if (res == HttpParse::kRequest) {
        o.requests.push_back(std::move(r));
        continue;
      }
      if (res == HttpParse::kError) o.error = p.error_status();
      break;
    }
  }
  return o;
}

// Parses `input` once whole, then split at every byte boundary into two
// pieces and fed byte by byte; every way must give the same result.
Outcome parse_all_ways(const std::string& input, HttpLimits limits = {}) {
  const Outcome whole = parse(input, 0, limits);
  auto same = [&](const Outcome& o, const std::string& how) {
    EXPECT_EQ(o.error, whole.error) << how;
    EXPECT_EQ(o.requests.size(), whole.requests.size()) << how;
    for (std::size_t i = 0; i < o.requests.size() && i < whole.requests.size(); ++i) {
      EXPECT_EQ(o.requests[i].method, whole.requests[i].method) << how;
      EXPECT_EQ(o.requests[i].target, whole.requests[i].target) << how;
      EXPECT_EQ(o.requests[i].body, whole.requests[i].body) << how;
      EXPECT_EQ(o.requests[i].keep_alive, whole.requests[i].keep_alive) << how;
      EXPECT_EQ(o.requests[i].headers, whole.requests[i].headers) << how;
    }
  };
  same(parse(input, 1, limits), "byte by byte");
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    HttpParser p(limits);
    Outcome o;
    for (const std::string_view piece :
         {std::string_view(input).substr(0, cut), std::string_view(input).substr(cut)}) {
      if (o.error != 0) break;
      p.feed(piece);
      while (true) {
        HttpRequest r;
        const HttpParse res = p.next(&r);
        if (res == HttpParse::kRequest) {
          o.requests.push_back(std::move(r));
          continue;
        }
        if (res == HttpParse::kError) o.error = p.error_status();
        break;
      }
    }
    same(o, "cut at " + std::to_string(cut));
  }
  return whole;
}

TEST(HttpParser, SimpleGet) {
  const Outcome o = parse_all_ways(
      "GET /index.html?x=1 HTTP/1.1\r\nHost: example\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n");
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.requests.size(), 1u);
  const HttpRequest& r = o.requests[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/index.html?x=1");
  EXPECT_EQ(r.version_minor, 1);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_TRUE(r.body.empty());
  ASSERT_EQ(r.headers.size(), 3u);
  ASSERT_NE(r.header("user-agent"), nullptr);
  EXPECT_EQ(*r.header("USER-AGENT"), "t");
  EXPECT_EQ(r.header("cookie"), nullptr);
}

TEST(HttpParser, IncompleteUntilBlankLine) {
  HttpParser p;
  HttpRequest r;
  p.feed("GET / HTTP/1.1\r\nHost: a\r\n");
  EXPECT_EQ(p.next(&r), HttpParse::kIncomplete);
  p.feed("\r");
  EXPECT_EQ(p.next(&r), HttpParse::kIncomplete);
  p.feed("\n");
  EXPECT_EQ(p.next(&r), HttpParse::kRequest);
  EXPECT_EQ(p.next(&r), HttpParse::kIncomplete);
  EXPECT_FALSE(p.mid_request());
}

TEST(HttpParser, HeaderValuesTrimmedAndNamesCaseInsensitive) {
  const Outcome o =
      parse_all_ways("GET / HTTP/1.1\r\nhOsT:   a.b  \r\nX-Empty:\r\nX-Tab:\tv 1\t\r\n\r\n");
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(*o.requests[0].header("Host"), "a.b");
  EXPECT_EQ(*o.requests[0].header("x-empty"), "");
  EXPECT_EQ(*o.requests[0].header("X-TAB"), "v 1");
}

TEST(HttpParser, BareLfAndLeadingEmptyLinesAccepted) {
  const Outcome o = parse_all_ways("\r\n\nGET / HTTP/1.1\nHost: a\n\n");
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(*o.requests[0].header("host"), "a");
}

TEST(HttpParser, ContentLengthBody) {
  const Outcome o =
      parse_all_ways("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world");
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(o.requests[0].body, "hello world");
  EXPECT_FALSE(o.requests[0].chunked);
}

TEST(HttpParser, RepeatedIdenticalContentLengthAccepted) {
  const Outcome o = parse_all_ways(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(o.requests[0].body, "abc");
}

TEST(HttpParser, BinaryBody) {
  std::string body;
  for (int i = 0; i < 256; ++i) body.push_back(static_cast<char>(i));
  const Outcome o =
      parse_all_ways("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 256\r\n\r\n" + body);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(o.requests[0].body, body);
}

TEST(HttpParser, ChunkedBody) {
  const Outcome o = parse_all_ways(
      "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n"
      "1;name=value;flag\r\n \r\n"
      "A ; ext=\"quoted\"\r\n0123456789\r\n"
      "0\r\nX-Trailer: yes\r\nAnother: one\r\n\r\n");
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(o.requests[0].body, "hello 0123456789");
  EXPECT_TRUE(o.requests[0].chunked);
  EXPECT_EQ(o.requests[0].header("x-trailer"), nullptr);  // trailers are skipped
}

TEST(HttpParser, ChunkedUppercaseHexAndCodingCase) {
  const Outcome o = parse_all_ways(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "1F\r\n" +
      std::string(31, 'x') + "\r\n0\r\n\r\n");
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(o.requests[0].body, std::string(31, 'x'));
}

TEST(HttpParser, Pipelined) {
  const Outcome o = parse_all_ways(
      "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
      "HEAD /d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.requests.size(), 4u);
  EXPECT_EQ(o.requests[0].target, "/a");
  EXPECT_EQ(o.requests[1].target, "/b");
  EXPECT_EQ(o.requests[1].body, "xyz");
  EXPECT_EQ(o.requests[2].target, "/c");
  EXPECT_EQ(o.requests[2].body, "hi");
  EXPECT_EQ(o.requests[3].method, "HEAD");
  EXPECT_TRUE(o.requests[2].keep_alive);
  EXPECT_FALSE(o.requests[3].keep_alive);
}

TEST(HttpParser, ManyPipelinedRequests) {
  std::string in;
  for (int i = 0; i < 1000; ++i) in += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
  const Outcome o = parse(in, 7);
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.requests.size(), 1000u);
  EXPECT_EQ(o.requests[999].target, "/999");
}

TEST(HttpParser, KeepAliveRules) {
  auto ka = [](const std::string& version, const std::string& conn) {
    const std::string host = version == "HTTP/1.1" ? "Host: a\r\n" : "";
    const Outcome o = parse("GET / " + version + "\r\n" + host +
                            (conn.empty() ? "" : "Connection: " + conn + "\r\n") + "\r\n");
    EXPECT_EQ(o.requests.size(), 1u) << version << " " << conn;
    return !o.requests.empty() && o.requests[0].keep_alive;
  };
  EXPECT_TRUE(ka("HTTP/1.1", ""));
  EXPECT_TRUE(ka("HTTP/1.1", "keep-alive"));
  EXPECT_FALSE(ka("HTTP/1.1", "close"));
  EXPECT_FALSE(ka("HTTP/1.1", "Upgrade, CLOSE"));
  EXPECT_FALSE(ka("HTTP/1.0", ""));
  EXPECT_TRUE(ka("HTTP/1.0", "Keep-Alive"));
  EXPECT_FALSE(ka("HTTP/1.0", "keep-alive, close"));
  // A later minor version is handled as 1.1.
  EXPECT_TRUE(ka("HTTP/1.1", "foo"));
  const Outcome o = parse("GET / HTTP/1.7\r\nHost: a\r\n\r\n");
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_TRUE(o.requests[0].keep_alive);
}

TEST(HttpParser, ExpectContinue) {
  HttpParser p;
  HttpRequest r;
  p.feed("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(p.next(&r), HttpParse::kIncomplete);
  EXPECT_TRUE(p.take_continue_expected());
  EXPECT_FALSE(p.take_continue_expected());
  p.feed("ok");
  EXPECT_EQ(p.next(&r), HttpParse::kRequest);
  EXPECT_EQ(r.body, "ok");
  // Body already there: no 100 needed.
  p.feed("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(p.next(&r), HttpParse::kRequest);
  EXPECT_FALSE(p.take_continue_expected());
}

TEST(HttpParser, HeadLimit) {
  const std::string big =
      "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(16 * 1024, 'v') + "\r\n\r\n";
  EXPECT_EQ(parse(big).error, 431);
  EXPECT_EQ(parse(big, 100).error, 431);
  // No end of the head in sight: refused once over the limit.
  EXPECT_EQ(parse("GET /" + std::string(20000, 'a')).error, 431);
  // Just under the limit is fine.
  std::string ok = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  ok += std::string(16 * 1024 - ok.size() - 2, 'v') + "\r\n\r\n";
  EXPECT_EQ(parse(ok).error, 0);
  EXPECT_EQ(parse(ok).requests.size(), 1u);
  HttpLimits small;
  small.max_head = 64;
  EXPECT_EQ(
      parse_all_ways("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(64, 'v') + "\r\n\r\n", small)
          .error,
      431);
}

// A head of exactly max_head bytes (its terminator not counted) passes
// however the input is split, one byte more fails however it is split (the
// http_parser fuzz target found the split just before the terminator's
// "\n" refused).
TEST(HttpParser, HeadAtTheLimitHoweverSplit) {
  HttpLimits small;
  small.max_head = 64;
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  head += std::string(64 - head.size() - 2, 'v') + "\r\n";
  ASSERT_EQ(head.size(), 64u);
  const Outcome at = parse_all_ways(head + "\r\n", small);
  EXPECT_EQ(at.error, 0);
  EXPECT_EQ(at.requests.size(), 1u);
  head.insert(head.size() - 2, "v");
  EXPECT_EQ(parse_all_ways(head + "\r\n", small).error, 431);
  // The same for trailers.
  std::string trailer = "T: ";
  trailer += std::string(64 - trailer.size() - 2, 't') + "\r\n";
  const std::string chunked =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  EXPECT_EQ(parse_all_ways(chunked + trailer + "\r\n", small).error, 0);
  trailer.insert(trailer.size() - 2, "t");
  EXPECT_EQ(parse_all_ways(chunked + trailer + "\r\n", small).error, 431);
}

TEST(HttpParser, BodyLimit) {
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 16777217\r\n\r\n").error, 413);
  EXPECT_EQ(
      parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n").error,
      413);
  const Outcome ok = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 16777216\r\n\r\n" +
                           std::string(16 * 1024 * 1024, 'z'));
  EXPECT_EQ(ok.error, 0);
  ASSERT_EQ(ok.requests.size(), 1u);
  EXPECT_EQ(ok.requests[0].body.size(), 16u * 1024 * 1024);
  HttpLimits small;
  small.max_body = 10;
  EXPECT_EQ(parse_all_ways("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n",
                           small)
                .error,
            413);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "fffffffffffffffffffffff\r\n",
                  0, small)
                .error,
            413);
}

TEST(HttpParser, TrailerLimit) {
  HttpLimits small;
  small.max_head = 64;
  EXPECT_EQ(parse_all_ways("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                           "T: " +
                               std::string(80, 't') + "\r\n\r\n",
                           small)
                .error,
            431);
}

TEST(HttpParser, VersionNotSupported) {
  EXPECT_EQ(parse_all_ways("GET / HTTP/2.0\r\nHost: a\r\n\r\n").error, 505);
  EXPECT_EQ(parse_all_ways("GET / HTTP/0.9\r\n\r\n").error, 505);
  EXPECT_EQ(parse_all_ways("GET / HTTP/3.0\r\nHost: a\r\n\r\n").error, 505);
}

TEST(HttpParser, NotImplementedCoding) {
  EXPECT_EQ(parse_all_ways("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
                .error,
            501);
}

// Every malformed input: answered 400, and the parser stays in error.
TEST(HttpParser, Malformed) {
  const std::vector<std::string> bad = {
      "garbage\r\n\r\n",
      "GET\r\n\r\n",
      "GET /\r\n\r\n",
      "GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",
      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",            // two spaces
      "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",            // trailing space
      "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",             // method not a token
      "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n",        // control in target
      "GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n",         // non-ASCII target
      "GET / http/1.1\r\nHost: a\r\n\r\n",             // lowercase version
      "GET / HTTP/1\r\nHost: a\r\n\r\n",               // short version
      "GET / HTTP/1.10\r\nHost: a\r\n\r\n",            // long version
      "GET / HTTP/x.1\r\nHost: a\r\n\r\n",             // non-digit
      "GET / HTTP/1.1\r\n\r\n",                        // no Host in 1.1
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  // two Hosts
      "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nBad Name: v\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nName : v\r\n\r\n",  // space before colon
      "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n",       // empty name
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n",  // control in value
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",    // bare CR
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;a=\x01\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nbad\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n "
      "folded\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(5000, '0'),
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;" + std::string(5000, 'e'),
  };
  for (const std::string& in : bad) {
    const Outcome o = parse_all_ways(in);
    EXPECT_EQ(o.error, 400) << in;
    EXPECT_TRUE(o.requests.empty()) << in;
  }
}

TEST(HttpParser, ErrorIsFinalAndEarlierRequestsSurvive) {
  HttpParser p;
  HttpRequest r;
  p.feed("GET /ok HTTP/1.1\r\nHost: a\r\n\r\nBROKEN\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(p.next(&r), HttpParse::kRequest);
  EXPECT_EQ(r.target, "/ok");
  EXPECT_EQ(p.next(&r), HttpParse::kError);
  EXPECT_EQ(p.error_status(), 400);
  EXPECT_FALSE(p.error_reason().empty());
  p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(p.next(&r), HttpParse::kError);
}

TEST(HttpParser, Helpers) {
  EXPECT_TRUE(http_iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(http_iequals("Content-Length", "Content-Lengt"));
  EXPECT_STREQ(http_reason(404), "Not Found");
  EXPECT_STREQ(http_reason(431), "Request Header Fields Too Large");
}

}  // namespace
}  // namespace ustack::app
