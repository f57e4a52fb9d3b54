// WebSocket framing (see ws_frame.h).
#include "apps/ws_frame.h"

#include <algorithm>
#include <cstring>

namespace ustack::app {
namespace {

bool is_control(WsOpcode op) {
  return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

bool known_opcode(std::uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xa);
}

// Bytes after the first two that the header still needs (§5.2): the
// extended length (0, 2 or 8) and the masking key (0 or 4).
std::size_t header_size(std::uint8_t b1) {
  const std::uint8_t len7 = b1 & 0x7f;
  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) != 0 ? 4 : 0);
}

}  // namespace

const char* to_string(WsOpcode op) {
  switch (op) {
    case WsOpcode::kContinuation:
      return "continuation";
    case WsOpcode::kText:
      return "text";
    case WsOpcode::kBinary:
      return "binary";
    case WsOpcode::kClose:
      return "close";
    case WsOpcode::kPing:
      return "ping";
    case WsOpcode::kPong:
      return "pong";
  }
  return "?";
}

bool ws_close_code_valid(std::uint16_t code) {
  // §7.4.1: 1004-1006 and 1015 are reserved and never sent; 1012-1014 are
  // registered with IANA since. §7.4.2: 3000-4999 for libraries and
  // applications; below 1000 and 1016-2999 unassigned.
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

bool Utf8Validator::feed(std::string_view bytes) {
  if (!ok_) return false;
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p < end) {
    if (need_ == 0) {
      // ASCII runs eight bytes at a time.
      while (end - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        if ((w & 0x8080808080808080ull) != 0) break;
        p += 8;
      }
      if (p == end) break;
      const std::uint8_t b = *p++;
      if (b < 0x80) continue;
      lo_ = 0x80;
      hi_ = 0xbf;
      if (b >= 0xc2 && b <= 0xdf) {
        need_ = 1;
      } else if (b >= 0xe0 && b <= 0xef) {
        need_ = 2;
        if (b == 0xe0) lo_ = 0xa0;  // overlong
        if (b == 0xed) hi_ = 0x9f;  // surrogates
      } else if (b >= 0xf0 && b <= 0xf4) {
        need_ = 3;
        if (b == 0xf0) lo_ = 0x90;  // overlong
        if (b == 0xf4) hi_ = 0x8f;  // above U+10FFFF
      } else {
        ok_ = false;  // 0x80-0xc1 as a lead byte, 0xf5-0xff
        return false;
      }
    } else {
      const std::uint8_t b = *p++;
      if (b < lo_ || b > hi_) {
        ok_ = false;
        return false;
      }
      --need_;
      lo_ = 0x80;
      hi_ = 0xbf;
    }
  }
  return true;
}

WsParse WsParser::fail(std::uint16_t code, std::string reason) {
  state_ = State::kError;
  error_code_ = code;
  error_reason_ = std::move(reason);
  return WsParse::kError;
}

void WsParser::release() {
  std::string().swap(message_);
  std::string().swap(control_);
  in_message_ = false;
}

WsParse WsParser::header_done() {
  const std::uint8_t b0 = hdr_[0], b1 = hdr_[1];
  fin_ = (b0 & 0x80) != 0;
  const std::uint8_t op = b0 & 0x0f;
  masked_ = (b1 & 0x80) != 0;
  if ((b0 & 0x70) != 0)
    return fail(ws_close::kProtocolError, "reserved bits set with no extension (RFC 6455 5.2)");
  if (!known_opcode(op))
    return fail(ws_close::kProtocolError, "unknown opcode " + std::to_string(op));
  op_ = static_cast<WsOpcode>(op);
  std::size_t at = 2;
  const std::uint8_t len7 = b1 & 0x7f;
  if (len7 == 126) {
    len_ = static_cast<std::uint64_t>(hdr_[2]) << 8 | hdr_[3];
    at = 4;
  } else if (len7 == 127) {
    len_ = 0;
    for (int i = 0; i < 8; ++i) len_ = len_ << 8 | hdr_[2 + i];
    at = 10;
    // §5.2: the most significant bit of the 64-bit length MUST be 0.
    if ((len_ >> 63) != 0)
      return fail(ws_close::kProtocolError, "64-bit length with the top bit set");
  } else {
    len_ = len7;
  }
  // (A length not in its shortest form is accepted: §5.2 binds the sender.)
  if (masked_) std::memcpy(mask_, hdr_ + at, 4);
  // §5.1: a server closes on an unmasked frame, a client on a masked one.
  if (role_ == WsRole::kServer && !masked_)
    return fail(ws_close::kProtocolError, "unmasked frame from the client (RFC 6455 5.1)");
  if (role_ == WsRole::kClient && masked_)
    return fail(ws_close::kProtocolError, "masked frame from the server (RFC 6455 5.1)");
  got_ = 0;
  ++frames_;
  if (is_control(op_)) {
    // §5.5: control frames are at most 125 bytes and never fragmented.
    if (!fin_) return fail(ws_close::kProtocolError, "fragmented control frame (RFC 6455 5.5)");
    if (len_ > 125)
      return fail(ws_close::kProtocolError,
                  "control frame of " + std::to_string(len_) + " bytes (RFC 6455 5.5)");
    control_.clear();
    return WsParse::kIncomplete;
  }
  // §5.4: a message is one unfragmented frame or a first frame, any number
  // of continuations and a last one with FIN; control frames may come
  // between fragments, messages may not.
  if (op_ == WsOpcode::kContinuation) {
    if (!in_message_)
      return fail(ws_close::kProtocolError, "continuation frame with no message to continue");
  } else {
    if (in_message_)
      return fail(ws_close::kProtocolError, "new message before the last fragment of the previous");
    in_message_ = true;
    message_op_ = op_;
    message_.clear();
    utf8_.reset();
  }
  if (len_ > limits_.max_message - std::min<std::uint64_t>(message_.size(), limits_.max_message))
    return fail(ws_close::kTooBig,
                "message over " + std::to_string(limits_.max_message) + " bytes");
  return WsParse::kIncomplete;
}

WsParse WsParser::frame_done(WsMessage* out) {
  state_ = State::kHeader;
  hdr_len_ = 0;
  if (is_control(op_)) {
    out->opcode = op_;
    out->close_code = ws_close::kNoStatus;
    if (op_ != WsOpcode::kClose) {
      out->payload.swap(control_);
      return WsParse::kMessage;
    }
    // §5.5.1: an optional body of a 2-byte code and a UTF-8 reason.
    if (control_.size() == 1)
      return fail(ws_close::kProtocolError, "close frame with a one-byte body (RFC 6455 5.5.1)");
    out->payload.clear();
    if (control_.size() >= 2) {
      const auto code = static_cast<std::uint16_t>(static_cast<std::uint8_t>(control_[0]) << 8 |
                                                   static_cast<std::uint8_t>(control_[1]));
      if (!ws_close_code_valid(code))
        return fail(ws_close::kProtocolError,
                    "close code " + std::to_string(code) + " may not be sent (RFC 6455 7.4)");
      Utf8Validator v;
      const std::string_view reason = std::string_view(control_).substr(2);
      if (!v.feed(reason) || !v.complete())
        return fail(ws_close::kInvalidData, "close reason is not UTF-8 (RFC 6455 5.5.1)");
      out->close_code = code;
      out->payload.assign(reason);
    }
    return WsParse::kMessage;
  }
  if (!fin_) return WsParse::kIncomplete;
  // §8.1: a text message is UTF-8 as a whole (fragments may split characters).
  if (message_op_ == WsOpcode::kText && !utf8_.complete())
    return fail(ws_close::kInvalidData, "text message ends inside a UTF-8 sequence");
  out->opcode = message_op_;
  out->close_code = ws_close::kNoStatus;
  out->payload.swap(message_);
  message_.clear();
  in_message_ = false;
  return WsParse::kMessage;
}

WsParse WsParser::parse(std::string_view in, std::size_t* used, WsMessage* out) {
  std::size_t pos = 0;
  *used = 0;
  if (state_ == State::kError) return WsParse::kError;
  while (pos < in.size()) {
    if (state_ == State::kHeader) {
      std::size_t need = hdr_len_ >= 2 ? header_size(hdr_[1]) : 2;
      while (hdr_len_ < need && pos < in.size()) {
        hdr_[hdr_len_++] = static_cast<std::uint8_t>(in[pos++]);
        if (hdr_len_ == 2) need = header_size(hdr_[1]);
      }
      if (hdr_len_ < need) break;
      WsParse r = header_done();
      if (r == WsParse::kIncomplete && len_ == 0) r = frame_done(out);
      if (r != WsParse::kIncomplete) {
        *used = pos;
        return r;
      }
      if (len_ == 0) continue;
      state_ = State::kPayload;
    }
    const bool control = is_control(op_);
    std::string& dst = control ? control_ : message_;
    const std::size_t k =
        static_cast<std::size_t>(std::min<std::uint64_t>(in.size() - pos, len_ - got_));
    const std::size_t at = dst.size();
    dst.append(in.data() + pos, k);
    if (masked_) ws_mask(reinterpret_cast<std::uint8_t*>(dst.data() + at), k, mask_, got_);
    got_ += k;
    pos += k;
    if (!control && message_op_ == WsOpcode::kText &&
        !utf8_.feed(std::string_view(dst).substr(at))) {
      *used = pos;
      return fail(ws_close::kInvalidData, "text message is not valid UTF-8 (RFC 6455 8.1)");
    }
    if (got_ == len_) {
      const WsParse r = frame_done(out);
      if (r != WsParse::kIncomplete) {
        *used = pos;
        return r;
      }
    }
  }
  *used = pos;
  return WsParse::kIncomplete;
}

std::size_t ws_encode_header(std::uint8_t* out, WsOpcode op, bool fin, std::uint64_t len,
                             const std::uint8_t* mask) {
  out[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | static_cast<std::uint8_t>(op));
  const std::uint8_t m = mask != nullptr ? 0x80 : 0;
  std::size_t n = 2;
  if (len < 126) {
    out[1] = static_cast<std::uint8_t>(m | len);
  } else if (len <= 0xffff) {
    out[1] = m | 126;
    out[2] = static_cast<std::uint8_t>(len >> 8);
    out[3] = static_cast<std::uint8_t>(len);
    n = 4;
  } else {
    out[1] = m | 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(len >> (56 - 8 * i));
    n = 10;
  }
  if (mask != nullptr) {
    std::memcpy(out + n, mask, 4);
    n += 4;
  }
  return n;
}

void ws_mask(std::uint8_t* data, std::size_t n, const std::uint8_t* mask, std::uint64_t offset) {
  std::uint8_t key[8];
  for (int i = 0; i < 8; ++i) key[i] = mask[(offset + i) & 3];
  std::uint64_t k8;
  std::memcpy(&k8, key, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data + i, 8);
    w ^= k8;
    std::memcpy(data + i, &w, 8);
  }
  for (; i < n; ++i) data[i] ^= key[i & 7];
}

void ws_append_frame(std::string* out, WsOpcode op, std::string_view payload, bool fin,
                     const std::uint8_t* mask) {
  std::uint8_t hdr[14];
  const std::size_t h = ws_encode_header(hdr, op, fin, payload.size(), mask);
  out->append(reinterpret_cast<const char*>(hdr), h);
  const std::size_t at = out->size();
  out->append(payload);
  if (mask != nullptr)
    ws_mask(reinterpret_cast<std::uint8_t*>(out->data() + at), payload.size(), mask, 0);
}

std::string ws_close_payload(std::uint16_t code, std::string_view reason) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xff));
  p.append(reason);
  return p;
}

}  // namespace ustack::app
