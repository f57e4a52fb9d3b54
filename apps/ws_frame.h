// WebSocket framing (RFC 6455 §5): an incremental parser that turns the
// byte stream into messages and control frames, and the frame encoder.
// Shared by `ustack wsd` (server role) and a client (client role).
//
// The parser takes bytes split anywhere (parse() consumes what it can and
// says how much), unmasks, reassembles fragmented messages (§5.4) and checks
// every rule a receiver must: reserved bits without an extension (§5.2),
// unknown opcodes (§5.2), control frames fragmented or over 125 bytes
// (§5.5), continuation frames out of place (§5.4), the mask required of
// clients and forbidden to servers (§5.1, §5.3), the 64-bit length's most
// significant bit (§5.2), close frame bodies (§5.5.1, §7.4), UTF-8 in text
// messages and close reasons (§8.1, fail fast per fragment) and a message
// size limit. A violation puts the parser in an error state for good, with
// the close code to send (1002 protocol error, 1007 invalid payload data,
// 1009 message too big) and a one-line reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ustack::app {

enum class WsOpcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xa,
};
const char* to_string(WsOpcode op);

// Close status codes (RFC 6455 §7.4.1).
namespace ws_close {
inline constexpr std::uint16_t kNormal = 1000;
inline constexpr std::uint16_t kGoingAway = 1001;
inline constexpr std::uint16_t kProtocolError = 1002;
inline constexpr std::uint16_t kNoStatus = 1005;  // never sent: a close frame without a body
inline constexpr std::uint16_t kAbnormal = 1006;  // never sent: no close frame at all
inline constexpr std::uint16_t kInvalidData = 1007;
inline constexpr std::uint16_t kTooBig = 1009;
}  // namespace ws_close

// True for a code an endpoint may put in a close frame (§7.4.1, §7.4.2 and
// IANA's registry): 1000-1003, 1007-1014, 3000-4999.
bool ws_close_code_valid(std::uint16_t code);

// Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF). feed() is false once the bytes so far cannot
// start valid UTF-8; complete() is true at a character boundary.
class Utf8Validator {
 public:
  bool feed(std::string_view bytes);
  bool complete() const { return need_ == 0 && ok_; }
  void reset() { *this = Utf8Validator(); }

 private:
  std::uint8_t need_ = 0;               // continuation bytes still expected
  std::uint8_t lo_ = 0x80, hi_ = 0xbf;  // range of the next continuation byte
  bool ok_ = true;
};

enum class WsRole { kServer, kClient };

struct WsLimits {
  std::uint64_t max_message = 16 * 1024 * 1024;  // reassembled payload
};

// What parse() hands out: a whole data message (kText, kBinary) or one
// control frame (kPing, kPong, kClose).
struct WsMessage {
  WsOpcode opcode = WsOpcode::kBinary;
  std::string payload;                             // unmasked; for kClose the reason text only
  std::uint16_t close_code = ws_close::kNoStatus;  // kClose: 1005 when the body was empty
};

enum class WsParse { kIncomplete, kMessage, kError };

class WsParser {
 public:
  explicit WsParser(WsRole role, WsLimits limits = {}) : role_(role), limits_(limits) {}

  // Consumes bytes from `in` and sets *used to how many. kIncomplete: all
  // of `in` was used and more is needed; kMessage: *out holds the next
  // message or control frame and the rest of `in` (from *used) is still to
  // be parsed; kError: see error_code() (for good).
  WsParse parse(std::string_view in, std::size_t* used, WsMessage* out);

  std::uint16_t error_code() const { return error_code_; }
  const std::string& error_reason() const { return error_reason_; }
  // Frames parsed so far (data and control).
  std::uint64_t frames() const { return frames_; }
  // Drops any partial message and its buffers.
  void release();

 private:
  enum class State { kHeader, kPayload, kError };

  WsParse fail(std::uint16_t code, std::string reason);
  WsParse header_done();
  WsParse frame_done(WsMessage* out);

  WsRole role_;
  WsLimits limits_;
  State state_ = State::kHeader;
  std::uint8_t hdr_[14];
  std::size_t hdr_len_ = 0;
  // The frame being read.
  bool fin_ = false;
  WsOpcode op_ = WsOpcode::kBinary;
  bool masked_ = false;
  std::uint8_t mask_[4] = {};
  std::uint64_t len_ = 0, got_ = 0;  // payload length, bytes of it read
  // The data message being reassembled (fragments so far).
  bool in_message_ = false;
  WsOpcode message_op_ = WsOpcode::kBinary;
  std::string message_;
  Utf8Validator utf8_;
  std::string control_;  // payload of the control frame being read
  std::uint64_t frames_ = 0;
  std::uint16_t error_code_ = 0;
  std::string error_reason_;
};

// The header of a frame carrying `len` payload bytes: FIN, opcode, the
// shortest length form (§5.2), and the masking key when `mask` is given.
// Writes at most 14 bytes to `out` and returns how many.
std::size_t ws_encode_header(std::uint8_t* out, WsOpcode op, bool fin, std::uint64_t len,
                             const std::uint8_t* mask = nullptr);
// Appends a whole frame (header and payload, masked with `mask` if given).
void ws_append_frame(std::string* out, WsOpcode op, std::string_view payload, bool fin = true,
                     const std::uint8_t* mask = nullptr);
// XORs `data` with the masking key, starting `offset` bytes into the payload
// (§5.3); applying it twice restores the data.
void ws_mask(std::uint8_t* data, std::size_t n, const std::uint8_t* mask, std::uint64_t offset);
// A close frame body: the code in network order, then the reason.
std::string ws_close_payload(std::uint16_t code, std::string_view reason = "");

}  // namespace ustack::app
