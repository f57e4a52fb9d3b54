// Command-line parsing for the ustack command: GNU long options
// (--iface eth0, --iface=eth0) and the inspiring projects' single-dash
// spellings accepted verbatim (-i eth0, -dest 10.0.0.2, -addr, -port,
// -debug, -data).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ustack::cli {

struct OptionSpec {
  std::string name;                    // key used by the command
  std::vector<std::string> spellings;  // e.g. {"-i", "--iface"}
  bool takes_value = true;
  std::string value_name;  // for help: "IFACE"
  std::string help;
};

class Args {
 public:
  // false and *error (one line) on an unknown option or a missing value.
  bool parse(const std::vector<OptionSpec>& specs, const std::vector<std::string>& argv,
             std::string* error);
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  // Parses a number option; false and *error when malformed or out of range.
  bool get_uint(const std::string& name, unsigned long long lo, unsigned long long hi,
                unsigned long long* out, std::string* error) const;
  bool get_double(const std::string& name, double lo, double hi, double* out,
                  std::string* error) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // Sets an option as if it had been given (a config file's values).
  void set(const std::string& name, std::string value) { values_[name] = std::move(value); }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// "  -i, --iface IFACE   the interface" lines.
std::string format_help(const std::vector<OptionSpec>& specs);

// The start every command shares: parse `argv` against `specs` (which must
// hold a "help" option); on a mistake print "ustack CMD: <why>" to stderr and
// return 2; on --help print "usage: ustack CMD USAGE" and the options and
// return 0; otherwise return -1 and the command goes on with *args.
int parse_command(const char* cmd, const char* usage, const std::vector<OptionSpec>& specs,
                  const std::vector<std::string>& argv, Args* args);

}  // namespace ustack::cli
