// The JSON reader of the iperf3 control channel (RFC 8259): hostile text
// parses or fails with a reason (never deep recursion), and any byte string
// quoted with json_quote() parses back to itself.
#include <string>

#include "apps/json.h"
#include "fuzz/fuzz_input.h"

using namespace ustack;
using namespace ustack::app;
using namespace ustack::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  JsonValue v;
  std::string err;
  if (!JsonValue::parse(text, &v, &err)) check(!err.empty(), "failure without a reason");
  // Quoting: valid UTF-8 or not, the string must come back byte for byte.
  JsonValue s;
  check(JsonValue::parse(json_quote(text), &s, &err), "a quoted string does not parse");
  check(s.is_string() && s.string() == text, "a quoted string came back changed");
  return 0;
}
