// The httpd request parser (RFC 9112) on hostile bytes: fed whole or split
// at a point the input picks, it hands out the same requests and reaches
// the same verdict, within its limits.
#include <string>
#include <vector>

#include "apps/http_parser.h"
#include "fuzz/fuzz_input.h"

using namespace ustack;
using namespace ustack::app;
using namespace ustack::fuzz;

namespace {

struct Outcome {
  std::vector<std::string> requests;  // method, target, body of each
  bool error = false;
  int status = 0;
};

Outcome run(std::string_view text, std::size_t split, const HttpLimits& limits) {
  HttpParser p(limits);
  Outcome o;
  for (std::string_view part : {text.substr(0, split), text.substr(split)}) {
    p.feed(part);
    for (;;) {
      HttpRequest r;
      const HttpParse res = p.next(&r);
      if (res == HttpParse::kIncomplete) break;
      if (res == HttpParse::kError) {
        o.error = true;
        o.status = p.error_status();
        check(o.status >= 400 && o.status < 600, "error status");
        check(!p.error_reason().empty(), "error without a reason");
        return o;
      }
      check(r.body.size() <= limits.max_body, "body over the limit");
      o.requests.push_back(r.method + ' ' + r.target + '\n' + r.body);
    }
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  HttpLimits limits;
  limits.max_head = 64 + in.u8() * 8u;
  limits.max_body = in.u16();
  const std::size_t split_at = in.u16();
  const auto bytes = in.rest();
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const Outcome whole = run(text, text.size(), limits);
  const Outcome split = run(text, split_at % (text.size() + 1), limits);
  check(whole.requests == split.requests, "split input gave other requests");
  // Both must fail or neither; the status may differ with what has
  // arrived (a malformed line is seen only once it is there).
  check(whole.error == split.error, "split input, other verdict");
  return 0;
}
