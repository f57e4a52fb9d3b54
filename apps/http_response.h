// An incremental HTTP/1.1 response parser (RFC 9112) for `ustack http`.
//
// Bytes go in with feed() as they arrive; next() hands out each complete
// response in order. The body's length follows RFC 9112 §6.3: none for a
// response to HEAD and for 1xx, 204 and 304; chunked when the last transfer
// coding is chunked (§7.1, decoded, trailers skipped); Content-Length when
// given (several differing values are an error, §6.3 rule 5); otherwise up
// to the end of the connection (rule 8), which the caller reports with
// end_of_input(). Interim 1xx responses are skipped (§9.3 of RFC 9110:
// 100 Continue). Malformed or truncated input puts the parser in an error
// state for good with a one-line reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ustack::app {

struct HttpResponse {
  int version_minor = 1;
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, as received
  std::string body;                                          // decoded
  bool chunked = false;
  bool keep_alive = true;  // the connection may carry the next request (RFC 9112 §9.3)

  const std::string* header(std::string_view name) const;
};

enum class HttpResponseParse { kIncomplete, kResponse, kError };

class HttpResponseParser {
 public:
  HttpResponseParser(std::size_t max_head = 64 * 1024, std::uint64_t max_body = 1ull << 30)
      : max_head_(max_head), max_body_(max_body) {}

  // The next response answers a HEAD request: it has no body.
  void set_head_request(bool head) { head_ = head; }
  // A 101 (Switching Protocols) is the final response, not an interim one
  // (RFC 9110 §15.2.2): the WebSocket handshake; what follows it is then
  // the new protocol's, in unparsed().
  void set_upgrade_expected(bool upgrade) { upgrade_ = upgrade; }
  std::string_view unparsed() const { return std::string_view(buf_).substr(pos_); }
  void feed(std::string_view bytes);
  HttpResponseParse next(HttpResponse* out);
  // The peer closed: completes a body delimited by the close, or fails
  // ("truncated") if a response was under way.
  HttpResponseParse end_of_input(HttpResponse* out);
  // Part of a response has arrived.
  bool mid_response() const { return state_ != State::kHead || pos_ < buf_.size(); }
  const std::string& error() const { return error_; }

 private:
  enum class State {
    kHead,
    kLength,
    kChunkSize,
    kChunkData,
    kChunkEnd,
    kTrailers,
    kUntilClose,
    kError
  };
  HttpResponseParse fail(std::string why);
  HttpResponseParse parse_head();
  bool take_line(std::string_view* line);
  HttpResponseParse done(HttpResponse* out);

  std::size_t max_head_;
  std::uint64_t max_body_;
  bool head_ = false;
  bool interim_ = false;
  bool upgrade_ = false;  // parse_head() just skipped a 1xx response
  std::string buf_;
  std::size_t pos_ = 0;
  State state_ = State::kHead;
  std::uint64_t remaining_ = 0;
  HttpResponse resp_;
  std::string error_;
};

}  // namespace ustack::app
