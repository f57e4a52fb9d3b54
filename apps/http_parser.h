// An incremental HTTP/1.1 request parser (RFC 9112) for `ustack httpd`.
//
// Bytes go in with feed() as they arrive, split anywhere; next() hands out
// the complete requests in order (pipelining), one per call. Bodies are
// framed by Content-Length or by the chunked transfer coding (§7.1: chunk
// extensions ignored, trailer fields skipped) and handed over decoded.
// Malformed input puts the parser in an error state for good, with the
// status the server answers before it closes: 400 (bad syntax or framing),
// 413 (body over the limit), 431 (request line + headers over the limit),
// 501 (a transfer coding other than chunked), 505 (an HTTP major version
// other than 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ustack::app {

struct HttpLimits {
  std::size_t max_head = 16 * 1024;           // request line + header fields
  std::uint64_t max_body = 16 * 1024 * 1024;  // decoded body
};

struct HttpRequest {
  std::string method;
  std::string target;
  int version_minor = 1;                                     // HTTP/1.x
  std::vector<std::pair<std::string, std::string>> headers;  // in order, as received
  std::string body;                                          // decoded
  bool chunked = false;                                      // the body came chunked
  bool keep_alive = true;  // RFC 9112 §9.3: the connection persists after the response

  // The first field named `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

enum class HttpParse { kIncomplete, kRequest, kError };

// Case-insensitive ASCII comparison (field names, tokens).
bool http_iequals(std::string_view a, std::string_view b);
// The canonical reason phrase for a status code ("Not Found").
const char* http_reason(int status);
// True when the comma-separated list `list` (a Connection or Upgrade field
// value, RFC 9110 §5.6.1) holds `token`, compared case-insensitively.
bool http_has_token(std::string_view list, std::string_view token);

// Optional white space trimmed from both ends (RFC 9110 §5.6.3 OWS).
std::string_view trim_ows(std::string_view s);
// The line starting at *pos in `buf` (without CR LF; a bare LF ends one too)
// and *pos past it; false when no LF has arrived yet.
bool http_take_line(std::string_view buf, std::size_t* pos, std::string_view* line);

class HttpParser {
 public:
  explicit HttpParser(HttpLimits limits = {}) : limits_(limits) {}

  // Appends received bytes (ignored once in the error state).
  void feed(std::string_view bytes);
  // The next complete request into *out (kRequest), kIncomplete when more
  // bytes are needed, kError (for good) on malformed input.
  HttpParse next(HttpRequest* out);

  // After kError: the status to answer with and a one-line reason.
  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }
  // True once per request whose head asked for "Expect: 100-continue" while
  // its body has not fully arrived: the server may send 100 Continue.
  bool take_continue_expected();
  // Bytes fed but not yet parsed into a request.
  std::size_t buffered() const { return buf_.size() - pos_; }
  // The bytes fed after the last request handed out, not parsed (what
  // follows a protocol switch: RFC 9110 §7.8).
  std::string_view unparsed() const { return std::string_view(buf_).substr(pos_); }
  // In the middle of a request (some of it received).
  bool mid_request() const { return state_ != State::kHead || buffered() > 0; }

 private:
  enum class State { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kError };

  HttpParse fail(int status, std::string reason);
  // Takes one line (without CR LF) starting at pos_; false when incomplete.
  bool take_line(std::string_view* line);
  HttpParse parse_head();
  HttpParse parse_head_fields(std::string_view head);
  void compact();

  HttpLimits limits_;
  std::string buf_;
  std::size_t pos_ = 0;         // parsed up to here
  std::size_t scan_ = 0;        // the head end was searched for up to here
  std::size_t line_start_ = 0;  // start of the head line being scanned
  State state_ = State::kHead;
  HttpRequest req_;
  std::uint64_t remaining_ = 0;     // body or chunk bytes still to come
  std::size_t trailer_bytes_ = 0;   // of the trailer section so far
  bool continue_expected_ = false;  // the current head asked for 100-continue
  int error_status_ = 0;
  std::string error_reason_;
};

}  // namespace ustack::app
