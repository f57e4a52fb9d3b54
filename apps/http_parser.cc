// The incremental HTTP/1.1 request parser (see http_parser.h).
#include "apps/http_parser.h"

#include <algorithm>

namespace ustack::app {
namespace {

constexpr std::size_t kMaxChunkLine = 4096;  // chunk size + extensions

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// field-value characters: VCHAR, obs-text, SP, HTAB.
bool is_field_char(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f);
}

// Splits a comma-separated list, trimming each element (empty ones kept).
std::vector<std::string_view> split_list(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    const std::size_t comma = s.find(',');
    out.push_back(trim_ows(s.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool http_take_line(std::string_view buf, std::size_t* pos, std::string_view* line) {
  const std::size_t nl = buf.find('\n', *pos);
  if (nl == std::string_view::npos) return false;
  std::size_t end = nl;
  if (end > *pos && buf[end - 1] == '\r') --end;
  *line = buf.substr(*pos, end - *pos);
  *pos = nl + 1;
  return true;
}

bool http_has_token(std::string_view list, std::string_view token) {
  for (std::string_view t : split_list(list))
    if (http_iequals(t, token)) return true;
  return false;
}

bool http_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

const char* http_reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (http_iequals(k, name)) return &v;
  return nullptr;
}

void HttpParser::feed(std::string_view bytes) {
  if (state_ == State::kError) return;
  compact();
  buf_.append(bytes);
}

void HttpParser::compact() {
  if (pos_ == 0) return;
  if (pos_ == buf_.size()) {
    buf_.clear();
  } else if (pos_ >= 4096 && pos_ * 2 >= buf_.size()) {
    buf_.erase(0, pos_);
  } else {
    return;
  }
  scan_ -= std::min(scan_, pos_);
  line_start_ -= std::min(line_start_, pos_);
  pos_ = 0;
}

bool HttpParser::take_continue_expected() {
  if (!continue_expected_) return false;
  continue_expected_ = false;
  return state_ == State::kBody || state_ == State::kChunkSize || state_ == State::kChunkData ||
         state_ == State::kChunkDataEnd;
}

HttpParse HttpParser::fail(int status, std::string reason) {
  state_ = State::kError;
  error_status_ = status;
  error_reason_ = std::move(reason);
  buf_.clear();
  buf_.shrink_to_fit();
  pos_ = scan_ = line_start_ = 0;
  continue_expected_ = false;
  return HttpParse::kError;
}

bool HttpParser::take_line(std::string_view* line) {
  return http_take_line(buf_, &pos_, line);
}

HttpParse HttpParser::parse_head() {
  // §2.2: empty lines before the request line are ignored.
  if (scan_ <= pos_) {
    while (pos_ < buf_.size()) {
      if (buf_[pos_] == '\n') {
        ++pos_;
      } else if (buf_[pos_] == '\r' && pos_ + 1 < buf_.size() && buf_[pos_ + 1] == '\n') {
        pos_ += 2;
      } else {
        break;
      }
    }
    scan_ = line_start_ = pos_;
    if (pos_ < buf_.size() && buf_[pos_] == '\r' && pos_ + 1 == buf_.size())
      return HttpParse::kIncomplete;
  }
  std::size_t i = scan_;
  for (; i < buf_.size(); ++i) {
    if (buf_[i] != '\n') continue;
    std::size_t len = i - line_start_;
    if (len > 0 && buf_[i - 1] == '\r') --len;
    if (len == 0) {
      if (line_start_ - pos_ > limits_.max_head)
        return fail(431,
                    "request line and headers over " + std::to_string(limits_.max_head) + " bytes");
      const std::string_view head = std::string_view(buf_).substr(pos_, line_start_ - pos_);
      const std::size_t end = i + 1;
      const HttpParse r = parse_head_fields(head);
      if (r == HttpParse::kError) return r;
      pos_ = end;
      scan_ = line_start_ = pos_;
      return HttpParse::kRequest;
    }
    line_start_ = i + 1;
  }
  scan_ = i;
  // Incomplete: everything buffered is head, but a final line's "\r" may
  // be the terminator's first half, which the complete check above does not
  // count; allowing it keeps the verdict independent of where the input
  // was split.
  if (buf_.size() - pos_ > limits_.max_head + 1)
    return fail(431,
                "request line and headers over " + std::to_string(limits_.max_head) + " bytes");
  return HttpParse::kIncomplete;
}

HttpParse HttpParser::parse_head_fields(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    const std::size_t nl = head.find('\n');
    std::string_view l = head.substr(0, nl);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    lines.push_back(l);
    if (nl == std::string_view::npos) break;
    head.remove_prefix(nl + 1);
  }
  if (lines.empty()) return fail(400, "empty request");

  // request-line = method SP request-target SP HTTP-version
  const std::string_view rl = lines[0];
  const std::size_t sp1 = rl.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : rl.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || rl.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "malformed request line");
  const std::string_view method = rl.substr(0, sp1);
  const std::string_view target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = rl.substr(sp2 + 1);
  if (!is_token(method)) return fail(400, "malformed method");
  if (target.empty()) return fail(400, "empty request target");
  for (char ch : target) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return fail(400, "bad character in request target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[5] < '0' ||
      version[5] > '9' || version[6] != '.' || version[7] < '0' || version[7] > '9')
    return fail(400, "malformed HTTP version");
  if (version[5] != '1') return fail(505, "HTTP major version " + std::string(1, version[5]));
  req_.method = method;
  req_.target = target;
  req_.version_minor = version[7] - '0';

  for (std::size_t n = 1; n < lines.size(); ++n) {
    const std::string_view l = lines[n];
    if (l.front() == ' ' || l.front() == '\t') return fail(400, "obsolete line folding");
    const std::size_t colon = l.find(':');
    if (colon == std::string_view::npos) return fail(400, "header line without a colon");
    const std::string_view name = l.substr(0, colon);
    if (!is_token(name)) return fail(400, "malformed header field name");
    const std::string_view value = trim_ows(l.substr(colon + 1));
    if (!std::all_of(value.begin(), value.end(), is_field_char))
      return fail(400, "bad character in header field value");
    req_.headers.emplace_back(std::string(name), std::string(value));
  }

  // Semantics: Host, framing, persistence, expectations.
  int hosts = 0;
  bool has_te = false, has_cl = false, conn_close = false, conn_keep_alive = false;
  bool expect_continue = false;
  std::string_view cl_value;
  std::vector<std::string_view> codings;
  for (const auto& [k, v] : req_.headers) {
    if (http_iequals(k, "host")) {
      ++hosts;
    } else if (http_iequals(k, "transfer-encoding")) {
      has_te = true;
      for (std::string_view c : split_list(v))
        if (!c.empty()) codings.push_back(c);
    } else if (http_iequals(k, "content-length")) {
      for (std::string_view e : split_list(v)) {
        if (e.empty() ||
            !std::all_of(e.begin(), e.end(), [](char c) { return c >= '0' && c <= '9'; }))
          return fail(400, "malformed Content-Length");
        if (has_cl && e != cl_value) return fail(400, "conflicting Content-Length values");
        has_cl = true;
        cl_value = e;
      }
    } else if (http_iequals(k, "connection")) {
      for (std::string_view t : split_list(v)) {
        if (http_iequals(t, "close")) conn_close = true;
        if (http_iequals(t, "keep-alive")) conn_keep_alive = true;
      }
    } else if (http_iequals(k, "expect")) {
      if (http_iequals(v, "100-continue")) expect_continue = true;
    }
  }
  if (req_.version_minor >= 1 && hosts != 1)
    return fail(400, hosts == 0 ? "no Host header" : "more than one Host header");
  if (hosts > 1) return fail(400, "more than one Host header");
  req_.keep_alive = req_.version_minor >= 1 ? !conn_close : conn_keep_alive && !conn_close;

  remaining_ = 0;
  if (has_te) {
    if (has_cl) return fail(400, "both Transfer-Encoding and Content-Length");
    if (req_.version_minor == 0) return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (codings.empty() || !http_iequals(codings.back(), "chunked"))
      return fail(400, "chunked is not the final transfer coding");
    if (codings.size() > 1) {
      for (std::size_t n = 0; n + 1 < codings.size(); ++n)
        if (http_iequals(codings[n], "chunked")) return fail(400, "chunked applied twice");
      return fail(501, "unsupported transfer coding '" + std::string(codings[0]) + "'");
    }
    req_.chunked = true;
    state_ = State::kChunkSize;
  } else if (has_cl) {
    std::uint64_t n = 0;
    for (char c : cl_value) {
      n = n * 10 + static_cast<std::uint64_t>(c - '0');  // n <= max_body before: no overflow
      if (n > limits_.max_body)
        return fail(413, "body over " + std::to_string(limits_.max_body) + " bytes");
    }
    remaining_ = n;
    state_ = n > 0 ? State::kBody : State::kHead;
    if (n > 0) req_.body.reserve(static_cast<std::size_t>(n));
  } else {
    state_ = State::kHead;
  }
  continue_expected_ = expect_continue && state_ != State::kHead;
  return HttpParse::kRequest;
}

HttpParse HttpParser::next(HttpRequest* out) {
  while (true) {
    switch (state_) {
      case State::kError:
        return HttpParse::kError;
      case State::kHead: {
        const HttpParse r = parse_head();
        if (r != HttpParse::kRequest) return r;
        if (state_ == State::kHead) break;  // no body: complete
        continue;
      }
      case State::kBody:
      case State::kChunkData: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, buffered()));
        req_.body.append(buf_, pos_, n);
        pos_ += n;
        remaining_ -= n;
        if (remaining_ > 0) return HttpParse::kIncomplete;
        if (state_ == State::kBody) {
          state_ = State::kHead;
          break;
        }
        state_ = State::kChunkDataEnd;
        continue;
      }
      case State::kChunkSize: {
        std::string_view line;
        if (!take_line(&line)) {
          if (buffered() > kMaxChunkLine) return fail(400, "chunk size line too long");
          return HttpParse::kIncomplete;
        }
        if (line.size() > kMaxChunkLine) return fail(400, "chunk size line too long");
        std::uint64_t size = 0;
        std::size_t k = 0;
        for (; k < line.size() && hex_value(line[k]) >= 0; ++k) {
          if (size > (limits_.max_body >> 4))
            return fail(413, "body over " + std::to_string(limits_.max_body) + " bytes");
          size = size * 16 + static_cast<std::uint64_t>(hex_value(line[k]));
        }
        if (k == 0) return fail(400, "malformed chunk size");
        // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): ignored.
        std::string_view rest = line.substr(k);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
          rest.remove_prefix(1);
        if (!rest.empty() && rest.front() != ';') return fail(400, "malformed chunk size");
        if (!std::all_of(rest.begin(), rest.end(), is_field_char))
          return fail(400, "bad character in chunk extension");
        if (size > limits_.max_body - req_.body.size())
          return fail(413, "body over " + std::to_string(limits_.max_body) + " bytes");
        if (size == 0) {
          trailer_bytes_ = 0;
          state_ = State::kTrailers;
        } else {
          remaining_ = size;
          state_ = State::kChunkData;
        }
        continue;
      }
      case State::kChunkDataEnd: {
        if (buffered() == 0 || (buf_[pos_] == '\r' && buffered() == 1))
          return HttpParse::kIncomplete;
        std::string_view line;
        if (buf_[pos_] == '\n' || (buf_[pos_] == '\r' && buf_[pos_ + 1] == '\n')) {
          take_line(&line);
          state_ = State::kChunkSize;
          continue;
        }
        return fail(400, "chunk data not followed by CRLF");
      }
      case State::kTrailers: {
        std::string_view line;
        if (!take_line(&line)) {
          if (trailer_bytes_ + buffered() > limits_.max_head + 1)  // as in parse_head()
            return fail(431, "trailer section too large");
          return HttpParse::kIncomplete;
        }
        if (line.empty()) {
          state_ = State::kHead;
          break;
        }
        trailer_bytes_ += line.size() + 2;
        if (trailer_bytes_ > limits_.max_head) return fail(431, "trailer section too large");
        if (line.front() == ' ' || line.front() == '\t' ||
            line.find(':') == std::string_view::npos || !is_token(line.substr(0, line.find(':'))))
          return fail(400, "malformed trailer field");
        continue;  // trailer fields are skipped
      }
    }
    // A request is complete.
    *out = std::move(req_);
    req_ = HttpRequest{};
    continue_expected_ = false;
    scan_ = line_start_ = pos_;
    return HttpParse::kRequest;
  }
}

}  // namespace ustack::app
