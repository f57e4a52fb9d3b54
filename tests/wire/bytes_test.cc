// Big-endian loads and stores, and the option-list walker shared by IPv4
// and TCP.
#include "proto/wire/bytes.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "proto/wire/options.h"
#include "wire_test_util.h"

namespace ustack::wire {
namespace {

using testing::bytes_of;

TEST(Bytes, LoadsBigEndianAtAnyAlignment) {
  const std::uint8_t raw[] = {0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11};
  const auto b = bytes_of(raw);
  EXPECT_EQ(load_u8(&b[1]), 0x12);
  EXPECT_EQ(load_be16(&b[1]), 0x1234);
  EXPECT_EQ(load_be32(&b[1]), 0x12345678u);
  EXPECT_EQ(load_be64(&b[1]), 0x123456789abcdef0ull);
  EXPECT_EQ(load_be16(&b[2]), 0x3456);
}

TEST(Bytes, StoresBigEndianAtAnyAlignment) {
  std::array<std::byte, 12> b{};
  store_be16(&b[1], 0xabcd);
  store_be32(&b[3], 0x01020304);
  store_u8(&b[7], 0x99);
  EXPECT_EQ(b[1], std::byte{0xab});
  EXPECT_EQ(b[2], std::byte{0xcd});
  EXPECT_EQ(b[3], std::byte{0x01});
  EXPECT_EQ(b[6], std::byte{0x04});
  EXPECT_EQ(b[7], std::byte{0x99});
  store_be64(&b[3], 0x1122334455667788ull);
  EXPECT_EQ(load_be64(&b[3]), 0x1122334455667788ull);
  EXPECT_EQ(b[3], std::byte{0x11});
}

TEST(Options, ValidLists) {
  const std::uint8_t empty[] = {0};
  const std::uint8_t nops[] = {1, 1, 1, 1};
  const std::uint8_t tlv[] = {2, 4, 5, 0xb4, 1, 3, 3, 7};
  const std::uint8_t eol_then_junk[] = {1, 0, 0xff, 0xff};
  const std::uint8_t exact_end[] = {8, 4, 0, 0};
  EXPECT_TRUE(options_valid({}));
  EXPECT_TRUE(options_valid(bytes_of(empty)));
  EXPECT_TRUE(options_valid(bytes_of(nops)));
  EXPECT_TRUE(options_valid(bytes_of(tlv)));
  EXPECT_TRUE(options_valid(bytes_of(eol_then_junk)));
  EXPECT_TRUE(options_valid(bytes_of(exact_end)));
}

TEST(Options, InvalidLists) {
  const std::uint8_t len0[] = {2, 0, 0, 0};
  const std::uint8_t len1[] = {2, 1, 0, 0};
  const std::uint8_t overrun[] = {2, 5, 0, 0};
  const std::uint8_t no_len[] = {1, 1, 1, 2};
  const std::uint8_t second_bad[] = {3, 3, 7, 9, 9, 0, 0, 0};
  EXPECT_FALSE(options_valid(bytes_of(len0)));
  EXPECT_FALSE(options_valid(bytes_of(len1)));
  EXPECT_FALSE(options_valid(bytes_of(overrun)));
  EXPECT_FALSE(options_valid(bytes_of(no_len)));
  EXPECT_FALSE(options_valid(bytes_of(second_bad)));
}

TEST(Options, IteratorSkipsNopsAndStopsAtEnd) {
  const std::uint8_t list[] = {1, 2, 4, 5, 0xb4, 1, 1, 4, 2, 0, 3, 3, 7};
  std::vector<std::uint8_t> kinds;
  std::vector<std::size_t> lens;
  for (const RawOption o : OptionList(bytes_of(list))) {
    kinds.push_back(o.kind);
    lens.push_back(o.data.size());
  }
  EXPECT_EQ(kinds, (std::vector<std::uint8_t>{2, 4}));
  EXPECT_EQ(lens, (std::vector<std::size_t>{2, 0}));
  const std::uint8_t only_nops[] = {1, 1, 1};
  const OptionList l(bytes_of(only_nops));
  EXPECT_EQ(l.begin(), l.end());
}

}  // namespace
}  // namespace ustack::wire
