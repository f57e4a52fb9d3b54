// WebSocket frames (RFC 6455 §5) as a server or a client receives them:
// parsed whole or byte by byte, the same messages and the same verdict,
// and no data message over the limit.
#include <string>
#include <vector>

#include "apps/ws_frame.h"
#include "fuzz/fuzz_input.h"

using namespace ustack;
using namespace ustack::app;
using namespace ustack::fuzz;

namespace {

struct Outcome {
  std::vector<std::string> messages;
  std::uint16_t error = 0;
};

Outcome run(std::string_view text, std::size_t piece, WsRole role, const WsLimits& limits) {
  WsParser p(role, limits);
  Outcome o;
  for (std::size_t at = 0; at < text.size() && o.error == 0; at += piece) {
    std::string_view part = text.substr(at, piece);
    while (o.error == 0) {
      std::size_t used = 0;
      WsMessage m;
      const WsParse res = p.parse(part, &used, &m);
      check(used <= part.size(), "used more than it was given");
      part.remove_prefix(used);
      if (res == WsParse::kIncomplete) {
        check(part.empty(), "incomplete with bytes left");
        break;
      }
      if (res == WsParse::kError) {
        o.error = p.error_code();
        check(ws_close_code_valid(o.error), "error code not sendable in a close frame");
        break;
      }
      // The limit is on data messages; control frames carry at most 125
      // bytes whatever it is (§5.5).
      const bool control = m.opcode == WsOpcode::kPing || m.opcode == WsOpcode::kPong ||
                           m.opcode == WsOpcode::kClose;
      check(m.payload.size() <= (control ? 125 : limits.max_message), "message over the limit");
      o.messages.push_back(std::to_string(static_cast<int>(m.opcode)) + ':' +
                           std::to_string(m.close_code) + ':' + m.payload);
    }
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  const std::uint8_t mode = in.u8();
  const WsRole role = (mode & 1) != 0 ? WsRole::kClient : WsRole::kServer;
  WsLimits limits;
  limits.max_message = in.u16();
  const auto bytes = in.rest();
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const Outcome whole = run(text, text.size() + 1, role, limits);
  const Outcome pieces = run(text, 1 + (mode >> 1) % 7, role, limits);
  check(whole.messages == pieces.messages, "pieces gave other messages");
  check(whole.error == pieces.error, "pieces gave another verdict");
  return 0;
}
