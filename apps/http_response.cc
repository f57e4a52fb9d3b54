// The incremental HTTP/1.1 response parser (see http_response.h).
#include "apps/http_response.h"

#include "apps/http_parser.h"

namespace ustack::app {
namespace {

constexpr std::size_t kMaxLine = 8192;  // a chunk-size line or a trailer field

bool parse_decimal(std::string_view s, std::uint64_t limit, std::uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t n = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (n > limit) return false;
  *out = n;
  return true;
}

}  // namespace

const std::string* HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (http_iequals(k, name)) return &v;
  return nullptr;
}

void HttpResponseParser::feed(std::string_view bytes) {
  if (state_ == State::kError) return;
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20) && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

HttpResponseParse HttpResponseParser::fail(std::string why) {
  state_ = State::kError;
  error_ = std::move(why);
  buf_.clear();
  pos_ = 0;
  return HttpResponseParse::kError;
}

bool HttpResponseParser::take_line(std::string_view* line) {
  return http_take_line(buf_, &pos_, line);
}

HttpResponseParse HttpResponseParser::done(HttpResponse* out) {
  *out = std::move(resp_);
  resp_ = HttpResponse();
  state_ = State::kHead;
  head_ = false;
  return HttpResponseParse::kResponse;
}

HttpResponseParse HttpResponseParser::parse_head() {
  const std::size_t end = buf_.find("\r\n\r\n", pos_);
  if (end == std::string::npos) {
    if (buf_.size() - pos_ > max_head_)
      return fail("the response head is over " + std::to_string(max_head_) + " bytes");
    return HttpResponseParse::kIncomplete;
  }
  if (end - pos_ > max_head_)
    return fail("the response head is over " + std::to_string(max_head_) + " bytes");
  std::string_view head = std::string_view(buf_).substr(pos_, end - pos_);
  pos_ = end + 4;
  // Status line (RFC 9112 §4): HTTP/1.x SP 3DIGIT SP reason.
  const std::size_t eol = head.find("\r\n");
  const std::string_view status_line = head.substr(0, eol);
  head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[7] < '0' ||
      status_line[7] > '9' || status_line[8] != ' ' ||
      (status_line.size() > 12 && status_line[12] != ' '))
    return fail("malformed status line '" + std::string(status_line.substr(0, 80)) + "'");
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    const char c = status_line[static_cast<std::size_t>(i)];
    if (c < '0' || c > '9')
      return fail("malformed status line '" + std::string(status_line.substr(0, 80)) + "'");
    status = status * 10 + (c - '0');
  }
  if (status < 100) return fail("status code " + std::to_string(status) + " is out of range");
  HttpResponse r;
  r.version_minor = status_line[7] - '0';
  r.status = status;
  r.reason = std::string(status_line.size() > 13 ? status_line.substr(13) : "");
  // Header fields (§5): name ":" OWS value OWS; no obs-fold.
  while (!head.empty()) {
    const std::size_t e = head.find("\r\n");
    const std::string_view line = head.substr(0, e);
    head = e == std::string_view::npos ? std::string_view() : head.substr(e + 2);
    const std::size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos || line.front() == ' ' ||
        line.front() == '\t' ||
        line.substr(0, colon).find_first_of(" \t") != std::string_view::npos)
      return fail("malformed header field '" + std::string(line.substr(0, 80)) + "'");
    r.headers.emplace_back(std::string(line.substr(0, colon)),
                           std::string(trim_ows(line.substr(colon + 1))));
  }
  // §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive".
  const std::string* conn = r.header("connection");
  r.keep_alive = r.version_minor >= 1 ? !(conn && http_has_token(*conn, "close"))
                                      : (conn && http_has_token(*conn, "keep-alive"));
  if (status < 200 && !(status == 101 && upgrade_)) {
    // An interim response: skipped, the final one follows (RFC 9110 §15.2).
    interim_ = true;
    return HttpResponseParse::kIncomplete;
  }
  resp_ = std::move(r);
  const std::string* te = resp_.header("transfer-encoding");
  const std::string* cl = resp_.header("content-length");
  if (head_ || status < 200 || status == 204 || status == 304) {
    state_ = State::kHead;
  } else if (te != nullptr) {
    // §6.3 rule 4: chunked last means chunked; otherwise read until close.
    const std::string_view v = trim_ows(*te);
    const std::size_t comma = v.rfind(',');
    const std::string_view last =
        trim_ows(comma == std::string_view::npos ? v : v.substr(comma + 1));
    if (http_iequals(last, "chunked")) {
      resp_.chunked = true;
      state_ = State::kChunkSize;
    } else {
      resp_.keep_alive = false;
      state_ = State::kUntilClose;
    }
  } else if (cl != nullptr) {
    std::uint64_t n = 0;
    for (const auto& [k, v] : resp_.headers) {
      std::uint64_t m = 0;
      if (!http_iequals(k, "content-length")) continue;
      if (!parse_decimal(trim_ows(v), max_body_, &m) || (&v != cl && m != n))
        return fail("bad Content-Length '" + v.substr(0, 40) + "'");
      n = m;
    }
    remaining_ = n;
    state_ = n > 0 ? State::kLength : State::kHead;
  } else {
    resp_.keep_alive = false;
    state_ = State::kUntilClose;
  }
  return HttpResponseParse::kResponse;
}

HttpResponseParse HttpResponseParser::next(HttpResponse* out) {
  for (;;) {
    switch (state_) {
      case State::kError:
        return HttpResponseParse::kError;
      case State::kHead: {
        const HttpResponseParse r = parse_head();
        if (interim_) {
          interim_ = false;
          break;
        }
        if (r != HttpResponseParse::kResponse) return r;
        if (state_ == State::kHead) return done(out);
        break;
      }
      case State::kLength:
      case State::kChunkData: {
        const std::uint64_t n = std::min<std::uint64_t>(remaining_, buf_.size() - pos_);
        resp_.body.append(buf_, pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        remaining_ -= n;
        if (remaining_ > 0) return HttpResponseParse::kIncomplete;
        if (state_ == State::kLength) return done(out);
        state_ = State::kChunkEnd;
        break;
      }
      case State::kChunkEnd: {
        if (buf_.size() - pos_ < 2) return HttpResponseParse::kIncomplete;
        if (buf_.compare(pos_, 2, "\r\n") != 0) return fail("a chunk does not end with CRLF");
        pos_ += 2;
        state_ = State::kChunkSize;
        break;
      }
      case State::kChunkSize: {
        std::string_view line;
        if (!take_line(&line)) {
          if (buf_.size() - pos_ > kMaxLine) return fail("a chunk-size line is too long");
          return HttpResponseParse::kIncomplete;
        }
        // §7.1: chunk-size [ chunk-ext ]; extensions are ignored.
        const std::string_view size = trim_ows(line.substr(0, line.find(';')));
        std::uint64_t n = 0;
        if (size.empty() || size.size() > 15)
          return fail("bad chunk size '" + std::string(size.substr(0, 20)) + "'");
        for (const char c : size) {
          const int d = (c >= '0' && c <= '9')   ? c - '0'
                        : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                 : -1;
          if (d < 0) return fail("bad chunk size '" + std::string(size.substr(0, 20)) + "'");
          n = n * 16 + static_cast<std::uint64_t>(d);
        }
        if (resp_.body.size() + n > max_body_)
          return fail("the body is over " + std::to_string(max_body_) + " bytes");
        remaining_ = n;
        state_ = n == 0 ? State::kTrailers : State::kChunkData;
        break;
      }
      case State::kTrailers: {
        std::string_view line;
        if (!take_line(&line)) {
          if (buf_.size() - pos_ > kMaxLine) return fail("a trailer field is too long");
          return HttpResponseParse::kIncomplete;
        }
        if (line.empty()) return done(out);
        break;
      }
      case State::kUntilClose: {
        resp_.body.append(buf_, pos_, buf_.size() - pos_);
        pos_ = buf_.size();
        if (resp_.body.size() > max_body_)
          return fail("the body is over " + std::to_string(max_body_) + " bytes");
        return HttpResponseParse::kIncomplete;
      }
    }
  }
}

HttpResponseParse HttpResponseParser::end_of_input(HttpResponse* out) {
  const HttpResponseParse r = next(out);
  if (r != HttpResponseParse::kIncomplete) return r;
  if (state_ == State::kUntilClose) return done(out);
  if (mid_response()) return fail("the connection closed in the middle of a response (truncated)");
  return HttpResponseParse::kIncomplete;
}

}  // namespace ustack::app
