#include "apps/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ustack::app {

class JsonParser {
 public:
  explicit JsonParser(std::string_view t) : t_(t) {}

  bool document(JsonValue* out, std::string* error) {
    ws();
    if (!value(out, 0)) {
      *error = error_.empty() ? "malformed JSON" : error_;
      return false;
    }
    ws();
    if (i_ != t_.size()) {
      *error = "trailing bytes after the JSON value at offset " + std::to_string(i_);
      return false;
    }
    return true;
  }

 private:
  static constexpr int kMaxDepth = 32;

  bool fail(const char* what) {
    if (error_.empty()) error_ = std::string(what) + " at offset " + std::to_string(i_);
    return false;
  }
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
      ++i_;
  }
  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return fail("unknown literal");
    i_ += word.size();
    return true;
  }

  bool value(JsonValue* v, int depth) {
    if (depth > kMaxDepth) return fail("JSON nested too deeply");
    if (i_ >= t_.size()) return fail("unexpected end of JSON");
    const char c = t_[i_];
    if (c == '{') return object(v, depth);
    if (c == '[') return array(v, depth);
    if (c == '"') {
      v->type_ = JsonValue::Type::kString;
      return string(&v->string_);
    }
    if (c == 't' || c == 'f') {
      v->type_ = JsonValue::Type::kBool;
      v->boolean_ = c == 't';
      return literal(c == 't' ? "true" : "false");
    }
    if (c == 'n') {
      v->type_ = JsonValue::Type::kNull;
      return literal("null");
    }
    return number(v);
  }

  bool object(JsonValue* v, int depth) {
    v->type_ = JsonValue::Type::kObject;
    ++i_;
    ws();
    if (i_ < t_.size() && t_[i_] == '}') {
      ++i_;
      return true;
    }
    while (true) {
      ws();
      if (i_ >= t_.size() || t_[i_] != '"') return fail("expected a member name");
      std::string key;
      if (!string(&key)) return false;
      ws();
      if (i_ >= t_.size() || t_[i_] != ':') return fail("expected ':'");
      ++i_;
      ws();
      JsonValue member;
      if (!value(&member, depth + 1)) return false;
      v->members_.emplace_back(std::move(key), std::move(member));
      ws();
      if (i_ < t_.size() && t_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < t_.size() && t_[i_] == '}') {
        ++i_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(JsonValue* v, int depth) {
    v->type_ = JsonValue::Type::kArray;
    ++i_;
    ws();
    if (i_ < t_.size() && t_[i_] == ']') {
      ++i_;
      return true;
    }
    while (true) {
      ws();
      JsonValue item;
      if (!value(&item, depth + 1)) return false;
      v->array_.push_back(std::move(item));
      ws();
      if (i_ < t_.size() && t_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < t_.size() && t_[i_] == ']') {
        ++i_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  void utf8(std::uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  bool hex4(std::uint32_t* cp) {
    if (i_ + 4 > t_.size()) return fail("short \\u escape");
    std::uint32_t x = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = hex(t_[i_ + k]);
      if (h < 0) return fail("bad \\u escape");
      x = x * 16 + static_cast<std::uint32_t>(h);
    }
    i_ += 4;
    *cp = x;
    return true;
  }

  bool string(std::string* out) {
    ++i_;  // the opening quote
    while (i_ < t_.size()) {
      const char c = t_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= t_.size()) break;
      const char e = t_[i_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          // A surrogate pair (RFC 8259 §7); a lone surrogate becomes U+FFFD.
          if (cp >= 0xd800 && cp < 0xdc00 && t_.substr(i_, 2) == "\\u") {
            i_ += 2;
            std::uint32_t lo = 0;
            if (!hex4(&lo)) return false;
            cp = (lo >= 0xdc00 && lo < 0xe000) ? 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00)
                                               : 0xfffd;
          } else if (cp >= 0xd800 && cp < 0xe000) {
            cp = 0xfffd;
          }
          utf8(cp, out);
          break;
        }
        default:
          return fail("bad escape in a string");
      }
    }
    return fail("unterminated string");
  }

  bool number(JsonValue* v) {
    // RFC 8259 §6: -? int frac? exp?
    const std::size_t start = i_;
    if (i_ < t_.size() && t_[i_] == '-') ++i_;
    auto digits = [&] {
      const std::size_t d = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
      return i_ > d;
    };
    if (!digits()) return fail("expected a value");
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      if (!digits()) return fail("bad number");
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      if (!digits()) return fail("bad number");
    }
    const std::string text(t_.substr(start, i_ - start));
    v->type_ = JsonValue::Type::kNumber;
    v->number_ = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(v->number_)) return fail("number out of range");
    return true;
  }

  std::string_view t_;
  std::size_t i_ = 0;
  std::string error_;
};

const JsonValue* JsonValue::get(std::string_view key) const {
  for (const auto& [k, v] : members_)
    if (k == key) return &v;
  return nullptr;
}

double JsonValue::number_or(std::string_view key, double fallback) const {
  const JsonValue* v = get(key);
  return v != nullptr && v->is_number() ? v->number() : fallback;
}

bool JsonValue::bool_or(std::string_view key, bool fallback) const {
  const JsonValue* v = get(key);
  return v != nullptr && v->is_bool() ? v->boolean() : fallback;
}

bool JsonValue::parse(std::string_view text, JsonValue* out, std::string* error) {
  *out = JsonValue();
  return JsonParser(text).document(out, error);
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace ustack::app
