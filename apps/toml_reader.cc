// The one translation unit built with exceptions (see toml_reader.h):
// toml++'s documented use with exceptions, caught here.
#include "apps/toml_reader.h"

#include <toml++/toml.h>
#include <algorithm>
#include <utility>

namespace ustack::app {
namespace {

void convert(const toml::node& n, TomlValue* out) {
  out->line = static_cast<int>(n.source().begin.line);
  out->column = static_cast<int>(n.source().begin.column);
  switch (n.type()) {
    case toml::node_type::string:
      out->type = TomlValue::Type::kString;
      out->string = n.as_string()->get();
      return;
    case toml::node_type::integer:
      out->type = TomlValue::Type::kInteger;
      out->integer = n.as_integer()->get();
      return;
    case toml::node_type::floating_point:
      out->type = TomlValue::Type::kFloat;
      out->number = n.as_floating_point()->get();
      return;
    case toml::node_type::boolean:
      out->type = TomlValue::Type::kBool;
      out->boolean = n.as_boolean()->get();
      return;
    case toml::node_type::array:
      out->type = TomlValue::Type::kArray;
      for (const toml::node& item : *n.as_array()) convert(item, &out->items.emplace_back());
      return;
    case toml::node_type::table:
      out->type = TomlValue::Type::kTable;
      for (const auto& [key, value] : *n.as_table()) {
        TomlValue& m = out->members.emplace_back();
        m.key = std::string(key.str());
        convert(value, &m);
        // Where the key is written, for messages about the key itself.
        if (key.source().begin.line != 0) {
          m.line = static_cast<int>(key.source().begin.line);
          m.column = static_cast<int>(key.source().begin.column);
        }
      }
      // toml++ orders a table's keys by name; messages follow the file.
      std::stable_sort(out->members.begin(), out->members.end(), [](const auto& a, const auto& b) {
        return std::pair(a.line, a.column) < std::pair(b.line, b.column);
      });
      return;
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
    case toml::node_type::none:
      out->type = TomlValue::Type::kDateTime;
      return;
  }
}

}  // namespace

const TomlValue* TomlValue::get(const std::string& name) const {
  for (const TomlValue& v : members)
    if (v.key == name) return &v;
  return nullptr;
}

const char* to_string(TomlValue::Type t) {
  switch (t) {
    case TomlValue::Type::kString:
      return "a string";
    case TomlValue::Type::kInteger:
      return "an integer";
    case TomlValue::Type::kFloat:
      return "a float";
    case TomlValue::Type::kBool:
      return "a boolean";
    case TomlValue::Type::kArray:
      return "an array";
    case TomlValue::Type::kTable:
      return "a table";
    case TomlValue::Type::kDateTime:
      return "a date or time";
  }
  return "?";
}

bool read_toml(const std::string& text, const std::string& source, TomlValue* root,
               std::string* error) {
  try {
    const toml::table t = toml::parse(text, source);
    *root = TomlValue();
    convert(t, root);
    root->line = root->column = 0;
    return true;
  } catch (const toml::parse_error& e) {
    *error = std::to_string(e.source().begin.line) + ":" + std::to_string(e.source().begin.column) +
             ": TOML syntax error: " + std::string(e.description());
    return false;
  } catch (const std::exception& e) {  // std::bad_alloc and the like
    *error = std::string("cannot parse: ") + e.what();
    return false;
  }
}

}  // namespace ustack::app
