// The WebSocket frame codec (apps/ws_frame): every receiver rule of RFC
// 6455 §5, split-at-every-byte parsing, 7/16/64-bit lengths, masking, UTF-8
// and the close frame body.
#include "apps/ws_frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ustack::app {
namespace {

const std::uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};

// A frame as a client sends it (masked).
std::string cframe(WsOpcode op, std::string_view payload, bool fin = true) {
  std::string f;
  ws_append_frame(&f, op, payload, fin, kMask);
  return f;
}

// A frame as a server sends it (not masked).
std::string sframe(WsOpcode op, std::string_view payload, bool fin = true) {
  std::string f;
  ws_append_frame(&f, op, payload, fin);
  return f;
}

struct Outcome {
  std::vector<WsMessage> messages;
  std::uint16_t error = 0;  // the close code of the error, 0 if none
};

// Feeds `input` in pieces of `step` bytes (0: all at once).
Outcome parse(const std::string& input, std::size_t step = 0, WsLimits limits = {},
              WsRole role = WsRole::kServer) {
  WsParser p(role, limits);
  Outcome o;
  if (step == 0) step = input.size() + 1;
  for (std::size_t off = 0; off < input.size() && o.error == 0; off += step) {
    std::string_view piece = std::string_view(input).substr(off, step);
    while (true) {
      std::size_t used = 0;
      WsMessage m;
      const WsParse r = p.parse(piece, &used, &m);
      EXPECT_LE(used, piece.size());
      piece.remove_prefix(used);
      if (r == WsParse::kMessage) {
        o.messages.push_back(std::move(m));
        continue;
      }
      if (r == WsParse::kError) o.error = p.error_code();
      if (r == WsParse::kIncomplete) {
        EXPECT_TRUE(piece.empty());
      }
      break;
    }
  }
  return o;
}

std::uint16_t error_of(const std::string& input, WsLimits limits = {}) {
  return parse(input, 0, limits).error;
}

void expect_same(const Outcome& a, const Outcome& b, const std::string& where) {
  ASSERT_EQ(a.error, b.error) << where;
  ASSERT_EQ(a.messages.size(), b.messages.size()) << where;
  for (std::size_t i = 0; i < a.messages.size(); ++i) {
    EXPECT_EQ(a.messages[i].opcode, b.messages[i].opcode) << where << " message " << i;
    EXPECT_EQ(a.messages[i].payload, b.messages[i].payload) << where << " message " << i;
    EXPECT_EQ(a.messages[i].close_code, b.messages[i].close_code) << where << " message " << i;
  }
}

// Parses whole, then split in two at every byte, then byte by byte: all the
// same.
Outcome parse_every_split(const std::string& input, WsLimits limits = {}) {
  const Outcome whole = parse(input, 0, limits);
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    WsParser p(WsRole::kServer, limits);
    Outcome o;
    for (std::string_view piece :
         {std::string_view(input).substr(0, cut), std::string_view(input).substr(cut)}) {
      while (o.error == 0) {
        std::size_t used = 0;
        WsMessage m;
        const WsParse r = p.parse(piece, &used, &m);
        piece.remove_prefix(used);
        if (r == WsParse::kMessage) {
          o.messages.push_back(std::move(m));
          continue;
        }
        if (r == WsParse::kError) o.error = p.error_code();
        break;
      }
    }
    expect_same(whole, o, "cut at " + std::to_string(cut));
  }
  expect_same(whole, parse(input, 1, limits), "byte by byte");
  return whole;
}

TEST(WsFrame, HeaderLengthForms) {
  // §5.2: 7-bit up to 125, 126 + 16-bit up to 65535, 127 + 64-bit beyond.
  std::uint8_t h[14];
  ASSERT_EQ(ws_encode_header(h, WsOpcode::kText, true, 125), 2u);
  EXPECT_EQ(h[0], 0x81);
  EXPECT_EQ(h[1], 125);
  ASSERT_EQ(ws_encode_header(h, WsOpcode::kBinary, true, 126), 4u);
  EXPECT_EQ(h[0], 0x82);
  EXPECT_EQ(h[1], 126);
  EXPECT_EQ(h[2], 0);
  EXPECT_EQ(h[3], 126);
  ASSERT_EQ(ws_encode_header(h, WsOpcode::kBinary, false, 65535), 4u);
  EXPECT_EQ(h[0], 0x02);
  EXPECT_EQ(h[2], 0xff);
  EXPECT_EQ(h[3], 0xff);
  ASSERT_EQ(ws_encode_header(h, WsOpcode::kBinary, true, 65536), 10u);
  EXPECT_EQ(h[1], 127);
  EXPECT_EQ(std::vector<std::uint8_t>(h + 2, h + 10),
            (std::vector<std::uint8_t>{0, 0, 0, 0, 0, 1, 0, 0}));
  ASSERT_EQ(ws_encode_header(h, WsOpcode::kBinary, true, 0x0102030405060708ull, kMask), 14u);
  EXPECT_EQ(h[1], 0x80 | 127);
  EXPECT_EQ(std::vector<std::uint8_t>(h + 2, h + 10),
            (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(std::vector<std::uint8_t>(h + 10, h + 14), std::vector<std::uint8_t>(kMask, kMask + 4));
}

TEST(WsFrame, RfcExamples) {
  // §5.7: a single-frame masked text message "Hello".
  const std::string hello("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  EXPECT_EQ(cframe(WsOpcode::kText, "Hello"), hello);
  Outcome o = parse(hello);
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0].opcode, WsOpcode::kText);
  EXPECT_EQ(o.messages[0].payload, "Hello");
  // §5.7: a fragmented unmasked text message, as a client receives it.
  const std::string frag("\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f", 9);
  o = parse(frag, 0, {}, WsRole::kClient);
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0].payload, "Hello");
  // §5.7: the unmasked ping and masked pong.
  EXPECT_EQ(sframe(WsOpcode::kPing, "Hello"), std::string("\x89\x05Hello", 7));
  EXPECT_EQ(cframe(WsOpcode::kPong, "Hello"),
            std::string("\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
}

TEST(WsFrame, MaskingRoundTripAtAnyOffset) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  std::string whole = data;
  ws_mask(reinterpret_cast<std::uint8_t*>(whole.data()), whole.size(), kMask, 0);
  EXPECT_NE(whole, data);
  for (std::size_t cut : {1u, 3u, 5u, 8u, 13u, 999u}) {
    std::string pieces = data;
    auto* p = reinterpret_cast<std::uint8_t*>(pieces.data());
    ws_mask(p, cut, kMask, 0);
    ws_mask(p + cut, pieces.size() - cut, kMask, cut);
    EXPECT_EQ(pieces, whole) << cut;
    ws_mask(p, pieces.size(), kMask, 0);
    EXPECT_EQ(pieces, data) << cut;
  }
}

TEST(WsFrame, EveryLengthFormParses) {
  for (std::size_t n : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 200000u}) {
    std::string payload(n, '\0');
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 13 + n);
    const Outcome o = parse(cframe(WsOpcode::kBinary, payload));
    ASSERT_EQ(o.error, 0) << n;
    ASSERT_EQ(o.messages.size(), 1u) << n;
    EXPECT_EQ(o.messages[0].opcode, WsOpcode::kBinary);
    EXPECT_EQ(o.messages[0].payload, payload) << n;
  }
}

TEST(WsFrame, SixtyFourBitLengthByteByByte) {
  std::string payload(70000, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i ^ (i >> 8));
  const std::string f = cframe(WsOpcode::kBinary, payload);
  ASSERT_EQ(static_cast<std::uint8_t>(f[1]), 0x80 | 127);
  for (std::size_t step : {1u, 7u, 4096u}) {
    const Outcome o = parse(f, step);
    ASSERT_EQ(o.error, 0);
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_EQ(o.messages[0].payload, payload) << step;
  }
}

TEST(WsFrame, SixtyFourBitLengthTopBitIsAnError) {
  std::string f("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01", 10);
  f.append(reinterpret_cast<const char*>(kMask), 4);
  EXPECT_EQ(error_of(f), ws_close::kProtocolError);
}

TEST(WsFrame, StreamSplitAtEveryByte) {
  // Several messages, fragments with control frames between them, a 16-bit
  // length, a close at the end: the same result however the bytes arrive.
  std::string s = cframe(WsOpcode::kText, "first");
  s += cframe(WsOpcode::kText, "fr\xc3", false);  // "é" split across fragments
  s += cframe(WsOpcode::kPing, "p1");
  s += cframe(WsOpcode::kContinuation, "\xa9g", false);
  s += cframe(WsOpcode::kPong, "");
  s += cframe(WsOpcode::kContinuation, "ment");
  s += cframe(WsOpcode::kBinary, std::string(300, 'b'));
  s += cframe(WsOpcode::kBinary, "");
  s += cframe(WsOpcode::kClose, ws_close_payload(4000, "done"));
  const Outcome o = parse_every_split(s);
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.messages.size(), 7u);
  EXPECT_EQ(o.messages[0].payload, "first");
  EXPECT_EQ(o.messages[1].opcode, WsOpcode::kPing);
  EXPECT_EQ(o.messages[1].payload, "p1");
  EXPECT_EQ(o.messages[2].opcode, WsOpcode::kPong);
  EXPECT_EQ(o.messages[3].opcode, WsOpcode::kText);
  EXPECT_EQ(o.messages[3].payload, "fr\xc3\xa9gment");
  EXPECT_EQ(o.messages[4].payload, std::string(300, 'b'));
  EXPECT_EQ(o.messages[5].opcode, WsOpcode::kBinary);
  EXPECT_EQ(o.messages[5].payload, "");
  EXPECT_EQ(o.messages[6].opcode, WsOpcode::kClose);
  EXPECT_EQ(o.messages[6].close_code, 4000);
  EXPECT_EQ(o.messages[6].payload, "done");
}

TEST(WsFrame, ErrorsAtEverySplitToo) {
  // An invalid frame after a valid one: the valid one comes out, then the
  // error, wherever the input is cut.
  const Outcome o =
      parse_every_split(cframe(WsOpcode::kText, "ok") + sframe(WsOpcode::kText, "unmasked"));
  EXPECT_EQ(o.error, ws_close::kProtocolError);
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0].payload, "ok");
  EXPECT_EQ(parse_every_split(cframe(WsOpcode::kText,
                                     "a\xff"
                                     "b"))
                .error,
            ws_close::kInvalidData);
}

TEST(WsFrame, ServerRequiresMaskedFrames) {
  // §5.1: a server closes the connection on an unmasked client frame.
  EXPECT_EQ(error_of(sframe(WsOpcode::kText, "hi")), ws_close::kProtocolError);
  EXPECT_EQ(error_of(sframe(WsOpcode::kPing, "")), ws_close::kProtocolError);
  // ...and a client on a masked server frame.
  EXPECT_EQ(parse(cframe(WsOpcode::kText, "hi"), 0, {}, WsRole::kClient).error,
            ws_close::kProtocolError);
  const Outcome o = parse(sframe(WsOpcode::kText, "hi"), 0, {}, WsRole::kClient);
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0].payload, "hi");
}

TEST(WsFrame, ReservedBitsAreAnError) {
  for (std::uint8_t rsv : {0x40, 0x20, 0x10}) {
    std::string f = cframe(WsOpcode::kText, "x");
    f[0] = static_cast<char>(f[0] | rsv);
    EXPECT_EQ(error_of(f), ws_close::kProtocolError) << int(rsv);
  }
}

TEST(WsFrame, UnknownOpcodesAreAnError) {
  for (std::uint8_t op : {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
    std::string f = cframe(WsOpcode::kBinary, "x");
    f[0] = static_cast<char>(0x80 | op);
    EXPECT_EQ(error_of(f), ws_close::kProtocolError) << int(op);
  }
}

TEST(WsFrame, ControlFrameRules) {
  // §5.5: at most 125 bytes, never fragmented.
  EXPECT_EQ(parse(cframe(WsOpcode::kPing, std::string(125, 'p'))).error, 0);
  EXPECT_EQ(error_of(cframe(WsOpcode::kPing, std::string(126, 'p'))), ws_close::kProtocolError);
  EXPECT_EQ(error_of(cframe(WsOpcode::kPong, std::string(126, 'p'))), ws_close::kProtocolError);
  EXPECT_EQ(error_of(cframe(WsOpcode::kPing, "p", false)), ws_close::kProtocolError);
  EXPECT_EQ(error_of(cframe(WsOpcode::kClose, "", false)), ws_close::kProtocolError);
  const Outcome o = parse(cframe(WsOpcode::kPing, "payload"));
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0].opcode, WsOpcode::kPing);
  EXPECT_EQ(o.messages[0].payload, "payload");
}

TEST(WsFrame, FragmentationRules) {
  // §5.4: a continuation needs a message to continue, and a new message may
  // not start before the last fragment of the previous.
  EXPECT_EQ(error_of(cframe(WsOpcode::kContinuation, "x")), ws_close::kProtocolError);
  EXPECT_EQ(error_of(cframe(WsOpcode::kText, "a", false) + cframe(WsOpcode::kText, "b")),
            ws_close::kProtocolError);
  EXPECT_EQ(error_of(cframe(WsOpcode::kBinary, "a", false) + cframe(WsOpcode::kBinary, "b")),
            ws_close::kProtocolError);
  // Continuation after a finished message.
  EXPECT_EQ(error_of(cframe(WsOpcode::kText, "a") + cframe(WsOpcode::kContinuation, "b")),
            ws_close::kProtocolError);
  // Empty fragments are fine; the message keeps the first frame's opcode.
  const Outcome o =
      parse(cframe(WsOpcode::kBinary, "", false) + cframe(WsOpcode::kContinuation, "xy", false) +
            cframe(WsOpcode::kContinuation, ""));
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0].opcode, WsOpcode::kBinary);
  EXPECT_EQ(o.messages[0].payload, "xy");
}

TEST(WsFrame, TextMustBeUtf8) {
  EXPECT_EQ(parse(cframe(WsOpcode::kText, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")).error,
            0);
  EXPECT_EQ(error_of(cframe(WsOpcode::kText, "\xff")), ws_close::kInvalidData);
  EXPECT_EQ(error_of(cframe(WsOpcode::kText, "ab\xc3")), ws_close::kInvalidData);  // cut short
  // Binary messages are not checked.
  EXPECT_EQ(parse(cframe(WsOpcode::kBinary, "\xff\xc3")).error, 0);
  // Fail fast: the error comes with the bad fragment, before the last one.
  const Outcome o = parse(cframe(WsOpcode::kText, "ok\xed\xa0\x80", false));
  EXPECT_EQ(o.error, ws_close::kInvalidData);
}

TEST(WsFrame, Utf8Validator) {
  const char* valid[] = {"",
                         "ascii only, more than eight bytes",
                         "\xc2\x80",
                         "\xdf\xbf",
                         "\xe0\xa0\x80",
                         "\xe2\x82\xac",
                         "\xed\x9f\xbf",
                         "\xee\x80\x80",
                         "\xf0\x90\x80\x80",
                         "\xf0\x9d\x84\x9e",
                         "\xf4\x8f\xbf\xbf"};
  for (const char* s : valid) {
    Utf8Validator v;
    EXPECT_TRUE(v.feed(s) && v.complete()) << s;
  }
  const char* invalid[] = {"\x80",
                           "\xbf",
                           "\xc0\x80",
                           "\xc1\xbf",
                           "\xe0\x80\x80",
                           "\xe0\x9f\xbf",
                           "\xed\xa0\x80",
                           "\xed\xbf\xbf",
                           "\xf0\x80\x80\x80",
                           "\xf0\x8f\xbf\xbf",
                           "\xf4\x90\x80\x80",
                           "\xf5\x80\x80\x80",
                           "\xfe",
                           "\xff",
                           "\xc3\x28"};
  for (const char* s : invalid) {
    Utf8Validator v;
    EXPECT_FALSE(v.feed(s) && v.complete()) << testing::PrintToString(std::string(s));
  }
  // Split anywhere: a character across feeds is fine, incomplete until done.
  Utf8Validator v;
  EXPECT_TRUE(v.feed("abcdefgh\xf0\x9d"));
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.feed("\x84"));
  EXPECT_TRUE(v.feed("\x9e"));
  EXPECT_TRUE(v.complete());
}

TEST(WsFrame, MessageSizeLimit) {
  const WsLimits lim{100};
  EXPECT_EQ(parse(cframe(WsOpcode::kBinary, std::string(100, 'x')), 0, lim).error, 0);
  EXPECT_EQ(error_of(cframe(WsOpcode::kBinary, std::string(101, 'x')), lim), ws_close::kTooBig);
  // The limit is on the reassembled message, checked at each header.
  EXPECT_EQ(error_of(cframe(WsOpcode::kText, std::string(60, 'x'), false) +
                         cframe(WsOpcode::kContinuation, std::string(41, 'x')),
                     lim),
            ws_close::kTooBig);
  // A frame claiming a huge length is refused before its payload comes.
  std::string f("\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00", 10);
  f.append(reinterpret_cast<const char*>(kMask), 4);
  EXPECT_EQ(error_of(f), ws_close::kTooBig);
  // Control frames do not count.
  EXPECT_EQ(parse(cframe(WsOpcode::kText, std::string(100, 'x'), false) +
                      cframe(WsOpcode::kPing, std::string(100, 'p')) +
                      cframe(WsOpcode::kContinuation, ""),
                  0, lim)
                .error,
            0);
}

TEST(WsFrame, CloseFrameBodies) {
  // §5.5.1: empty (no code: 1005), or a code and a UTF-8 reason.
  Outcome o = parse(cframe(WsOpcode::kClose, ""));
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0].close_code, ws_close::kNoStatus);
  o = parse(cframe(WsOpcode::kClose, ws_close_payload(1000, "bye")));
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0].close_code, 1000);
  EXPECT_EQ(o.messages[0].payload, "bye");
  EXPECT_EQ(error_of(cframe(WsOpcode::kClose, "\x03")), ws_close::kProtocolError);
  EXPECT_EQ(error_of(cframe(WsOpcode::kClose, ws_close_payload(1000, "\xc3"))),
            ws_close::kInvalidData);
  // §7.4: codes that may be sent, and those that may not.
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                             3000, 3999, 4000, 4999}) {
    EXPECT_TRUE(ws_close_code_valid(code)) << code;
    o = parse(cframe(WsOpcode::kClose, ws_close_payload(code)));
    ASSERT_EQ(o.error, 0) << code;
    EXPECT_EQ(o.messages[0].close_code, code);
  }
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    EXPECT_FALSE(ws_close_code_valid(code)) << code;
    EXPECT_EQ(error_of(cframe(WsOpcode::kClose, ws_close_payload(code))), ws_close::kProtocolError)
        << code;
  }
}

TEST(WsFrame, ErrorStateIsForGood) {
  WsParser p(WsRole::kServer);
  std::size_t used = 0;
  WsMessage m;
  const std::string bad = sframe(WsOpcode::kText, "x");
  EXPECT_EQ(p.parse(bad, &used, &m), WsParse::kError);
  const std::string good = cframe(WsOpcode::kText, "x");
  EXPECT_EQ(p.parse(good, &used, &m), WsParse::kError);
  EXPECT_EQ(used, 0u);
  EXPECT_EQ(p.error_code(), ws_close::kProtocolError);
  EXPECT_FALSE(p.error_reason().empty());
}

}  // namespace
}  // namespace ustack::app
