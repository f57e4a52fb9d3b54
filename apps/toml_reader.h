// A TOML document read into plain values that keep their position in the
// file, so that the program's own code (built with -fno-exceptions) never
// sees toml++: Debian's libtomlplusplus is a compiled library built with
// exceptions (its parse functions live in toml::v3::ex), so only
// toml_reader.cc is compiled with them, and nothing thrown leaves it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ustack::app {

struct TomlValue {
  enum class Type { kString, kInteger, kFloat, kBool, kArray, kTable, kDateTime };
  Type type = Type::kTable;
  std::string string;              // kString
  std::int64_t integer = 0;        // kInteger
  double number = 0;               // kFloat
  bool boolean = false;            // kBool
  std::vector<TomlValue> items;    // kArray
  std::vector<TomlValue> members;  // kTable, in file order
  std::string key;                 // the member's key, when this value is a table's member
  int line = 0, column = 0;        // where it starts (1-based; 0: unknown)

  // A member of a table, nullptr when absent.
  const TomlValue* get(const std::string& name) const;
};

// "string", "integer", ... for messages.
const char* to_string(TomlValue::Type t);

// Parses TOML text; `source` names it in messages. false and *error
// ("LINE:COLUMN: what toml++ says") on a syntax error.
bool read_toml(const std::string& text, const std::string& source, TomlValue* root,
               std::string* error);

}  // namespace ustack::app
