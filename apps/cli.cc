#include "apps/cli.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace ustack::cli {

bool Args::parse(const std::vector<OptionSpec>& specs, const std::vector<std::string>& argv,
                 std::string* error) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    std::optional<std::string> inline_value;
    if (arg.rfind("--", 0) == 0) {
      const auto eq = arg.find('=');
      if (eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    const OptionSpec* spec = nullptr;
    for (const OptionSpec& s : specs)
      for (const std::string& sp : s.spellings)
        if (sp == arg) spec = &s;
    if (spec == nullptr) {
      *error = "unknown option '" + argv[i] + "' (see --help)";
      return false;
    }
    if (!spec->takes_value) {
      if (inline_value) {
        *error = "option '" + arg + "' takes no value";
        return false;
      }
      values_[spec->name] = "1";
      continue;
    }
    if (inline_value) {
      values_[spec->name] = *inline_value;
    } else if (i + 1 < argv.size()) {
      values_[spec->name] = argv[++i];
    } else {
      *error = "option '" + arg + "' needs a value (" + spec->value_name + ")";
      return false;
    }
  }
  return true;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

bool Args::get_uint(const std::string& name, unsigned long long lo, unsigned long long hi,
                    unsigned long long* out, std::string* error) const {
  auto it = values_.find(name);
  if (it == values_.end()) return true;
  const std::string& v = it->second;
  unsigned long long x = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || end != v.data() + v.size() || x < lo || x > hi) {
    *error = "bad value '" + v + "' for --" + name + " (expected " + std::to_string(lo) + ".." +
             std::to_string(hi) + ")";
    return false;
  }
  *out = x;
  return true;
}

bool Args::get_double(const std::string& name, double lo, double hi, double* out,
                      std::string* error) const {
  auto it = values_.find(name);
  if (it == values_.end()) return true;
  char* end = nullptr;
  const double x = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0' || !(x >= lo && x <= hi)) {
    *error = "bad value '" + it->second + "' for --" + name;
    return false;
  }
  *out = x;
  return true;
}

int parse_command(const char* cmd, const char* usage, const std::vector<OptionSpec>& specs,
                  const std::vector<std::string>& argv, Args* args) {
  std::string err;
  if (!args->parse(specs, argv, &err)) {
    std::fprintf(stderr, "ustack %s: %s\n", cmd, err.c_str());
    return 2;
  }
  if (args->has("help")) {
    std::printf("usage: ustack %s %s\n%s", cmd, usage, format_help(specs).c_str());
    return 0;
  }
  return -1;
}

std::string format_help(const std::vector<OptionSpec>& specs) {
  std::string out;
  for (const OptionSpec& s : specs) {
    std::string left = "  ";
    for (std::size_t i = 0; i < s.spellings.size(); ++i) {
      if (i > 0) left += ", ";
      left += s.spellings[i];
    }
    if (s.takes_value) left += " " + s.value_name;
    if (left.size() < 30) left.resize(30, ' ');
    out += left + " " + s.help + "\n";
  }
  return out;
}

}  // namespace ustack::cli
