// A small JSON reader (RFC 8259) for the control messages of the iperf3
// server: objects, arrays, strings (with \u escapes), numbers, booleans and
// null. Input is bounded by the caller; nesting is bounded here, so a
// hostile peer gets a parse error, never deep recursion.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ustack::app {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type() const { return type_; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_bool() const { return type_ == Type::kBool; }

  double number() const { return number_; }
  bool boolean() const { return boolean_; }
  const std::string& string() const { return string_; }
  const std::vector<JsonValue>& array() const { return array_; }
  // A member of an object, nullptr when absent (or not an object).
  const JsonValue* get(std::string_view key) const;
  // The member as a number / a truth value; `fallback` when absent or of another type.
  double number_or(std::string_view key, double fallback) const;
  bool bool_or(std::string_view key, bool fallback) const;

  // Parses one JSON text (surrounding white space allowed). false and
  // *error (one sentence) when malformed or nested deeper than 32.
  static bool parse(std::string_view text, JsonValue* out, std::string* error);

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  double number_ = 0;
  bool boolean_ = false;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

}  // namespace ustack::app
