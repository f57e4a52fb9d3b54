// The DNS stub's messages: the query's bytes, names, and the response
// parser against good answers (compression, CNAME chains) and malformed
// ones (truncation anywhere, pointer loops, forward and out-of-range
// pointers, over-long names, bad record data), plus random garbage.
#include "apps/dns_message.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/random.h"

namespace ustack::app {
namespace {

using Bytes = std::vector<std::byte>;

void put(Bytes& b, std::initializer_list<int> v) {
  for (int x : v) b.push_back(std::byte(static_cast<std::uint8_t>(x)));
}
void put16(Bytes& b, int v) {
  put(b, {(v >> 8) & 0xff, v & 0xff});
}
void put_name(Bytes& b, const std::string& name) {
  std::size_t s = 0;
  while (s < name.size()) {
    std::size_t d = name.find('.', s);
    if (d == std::string::npos) d = name.size();
    b.push_back(std::byte(static_cast<std::uint8_t>(d - s)));
    for (std::size_t i = s; i < d; ++i) b.push_back(std::byte(name[i]));
    s = d + 1;
  }
  b.push_back(std::byte{0});
}
// A record header after its name: type, class IN, TTL 60, RDLENGTH.
void put_rr(Bytes& b, int type, int rdlen) {
  put16(b, type);
  put16(b, 1);
  put(b, {0, 0, 0, 60});
  put16(b, rdlen);
}

// A response to "www.example.test" `qtype` IN with `an` answers to follow.
Bytes response_head(int an, int id = 0x1234, int flags = 0x8180, int qtype = dns::kTypeA) {
  Bytes b;
  put16(b, id);
  put16(b, flags);
  put16(b, 1);
  put16(b, an);
  put16(b, 0);
  put16(b, 0);
  put_name(b, "www.example.test");  // at offset 12
  put16(b, qtype);
  put16(b, 1);
  return b;
}

bool parse(const Bytes& b, DnsResponse* r, std::string* err) {
  return dns_parse_response(b, r, err);
}

// The addresses of `qtype` a well-formed answer `b` gives for
// www.example.test (a test failure when it does not parse or follow).
std::vector<IpAddr> follow(const Bytes& b, std::uint16_t qtype, std::string* canonical) {
  DnsResponse r;
  std::string err;
  std::vector<IpAddr> addrs;
  EXPECT_TRUE(parse(b, &r, &err)) << err;
  EXPECT_TRUE(dns_follow_answer(r, "www.example.test", qtype, &addrs, canonical, &err)) << err;
  return addrs;
}

TEST(DnsMessage, QueryBytes) {
  const Bytes q = dns_build_query(0xbeef, "a.bc", dns::kTypeA);
  const Bytes want = {std::byte{0xbe}, std::byte{0xef}, std::byte{1}, std::byte{0},   std::byte{0},
                      std::byte{1},    std::byte{0},    std::byte{0}, std::byte{0},   std::byte{0},
                      std::byte{0},    std::byte{0},    std::byte{1}, std::byte{'a'}, std::byte{2},
                      std::byte{'b'},  std::byte{'c'},  std::byte{0}, std::byte{0},   std::byte{1},
                      std::byte{0},    std::byte{1}};
  EXPECT_EQ(q, want);
}

TEST(DnsMessage, AaaaQueryBytes) {
  // RFC 3596 §2.1: QTYPE 28, the rest as an A query.
  const Bytes q = dns_build_query(0xbeef, "a.bc", dns::kTypeAaaa);
  ASSERT_EQ(q.size(), 22u);
  EXPECT_EQ(q[18], std::byte{0});
  EXPECT_EQ(q[19], std::byte{28});
  EXPECT_EQ(q[21], std::byte{1});
  const Bytes a = dns_build_query(0xbeef, "a.bc", dns::kTypeA);
  EXPECT_TRUE(std::equal(q.begin(), q.begin() + 18, a.begin()));
}

TEST(DnsMessage, NormalizeNames) {
  std::string out, err;
  EXPECT_TRUE(dns_normalize_name("WWW.Example.TEST.", &out, &err));
  EXPECT_EQ(out, "www.example.test");
  EXPECT_FALSE(dns_normalize_name("", &out, &err));
  EXPECT_FALSE(dns_normalize_name("a..b", &out, &err));
  EXPECT_FALSE(dns_normalize_name(".a", &out, &err));
  EXPECT_FALSE(dns_normalize_name(std::string(64, 'x') + ".test", &out, &err));
  EXPECT_TRUE(dns_normalize_name(std::string(63, 'x') + ".test", &out, &err));
  EXPECT_FALSE(dns_normalize_name("a b.test", &out, &err));
  std::string long_name;
  for (int i = 0; i < 64; ++i) long_name += "abc.";
  EXPECT_FALSE(dns_normalize_name(long_name, &out, &err));  // 256 characters
}

TEST(DnsMessage, ParsesCompressedCnameChainAndAddresses) {
  Bytes b = response_head(3);
  // www.example.test CNAME web.example.test (target compressed: "web" + ptr to example.test)
  put(b, {0xc0, 12});
  put_rr(b, dns::kTypeCname, 6);
  const std::size_t web = b.size();
  put(b, {3, 'w', 'e', 'b', 0xc0, 16});
  // web.example.test CNAME srv.test (uncompressed)
  put(b, {0xc0, static_cast<int>(web)});
  put_rr(b, dns::kTypeCname, 10);
  put_name(b, "srv.test");
  // srv.test A 10.0.0.7, its name a pointer to the CNAME's target
  put(b, {0xc0, static_cast<int>(b.size() - 10)});
  put_rr(b, dns::kTypeA, 4);
  put(b, {10, 0, 0, 7});
  DnsResponse r;
  std::string err;
  ASSERT_TRUE(parse(b, &r, &err)) << err;
  EXPECT_EQ(r.id, 0x1234);
  EXPECT_TRUE(r.response);
  EXPECT_EQ(r.qname, "www.example.test");
  ASSERT_EQ(r.answers.size(), 3u);
  EXPECT_EQ(r.answers[0].target, "web.example.test");
  EXPECT_EQ(r.answers[1].name, "web.example.test");
  EXPECT_EQ(r.answers[1].target, "srv.test");
  EXPECT_EQ(r.answers[2].name, "srv.test");
  std::vector<IpAddr> addrs;
  std::string canonical;
  ASSERT_TRUE(dns_follow_answer(r, "www.example.test", dns::kTypeA, &addrs, &canonical, &err))
      << err;
  EXPECT_EQ(canonical, "srv.test");
  ASSERT_EQ(addrs.size(), 1u);
  EXPECT_EQ(addrs[0].to_string(), "10.0.0.7");
}

TEST(DnsMessage, CnameLoopIsRefused) {
  Bytes b = response_head(2);
  put(b, {0xc0, 12});
  put_rr(b, dns::kTypeCname, 8);
  put_name(b, "a.test");
  put_name(b, "a.test");
  put_rr(b, dns::kTypeCname, 2);
  put(b, {0xc0, 12});
  DnsResponse r;
  std::string err, canonical;
  ASSERT_TRUE(parse(b, &r, &err)) << err;
  std::vector<IpAddr> addrs;
  EXPECT_FALSE(dns_follow_answer(r, "www.example.test", dns::kTypeA, &addrs, &canonical, &err));
  EXPECT_NE(err.find("loops"), std::string::npos) << err;
}

TEST(DnsMessage, AddressesOfOtherNamesAreNotTaken) {
  Bytes b = response_head(1);
  put_name(b, "evil.test");
  put_rr(b, dns::kTypeA, 4);
  put(b, {10, 6, 6, 6});
  std::string canonical;
  EXPECT_TRUE(follow(b, dns::kTypeA, &canonical).empty());
}

// An AAAA answer behind a CNAME, with an A record of the same name: each
// type asked for takes only its own records.
Bytes aaaa_answer() {
  Bytes b = response_head(3, 0x1234, 0x8180, dns::kTypeAaaa);
  put(b, {0xc0, 12});
  put_rr(b, dns::kTypeCname, 6);
  put(b, {3, 'v', '6', 'h', 0xc0, 16});  // v6h.example.test
  const int target = static_cast<int>(b.size() - 6);
  put(b, {0xc0, target});
  put_rr(b, dns::kTypeAaaa, 16);
  put(b, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53});
  put(b, {0xc0, target});
  put_rr(b, dns::kTypeA, 4);
  put(b, {10, 0, 0, 53});
  return b;
}

TEST(DnsMessage, ParsesAaaaRecords) {
  const Bytes b = aaaa_answer();
  DnsResponse r;
  std::string err, canonical;
  ASSERT_TRUE(parse(b, &r, &err)) << err;
  EXPECT_EQ(r.qtype, dns::kTypeAaaa);
  ASSERT_EQ(r.answers.size(), 3u);
  EXPECT_EQ(r.answers[1].type, dns::kTypeAaaa);
  EXPECT_EQ(r.answers[1].addr.to_string(), "fd00::53");
  std::vector<IpAddr> addrs;
  ASSERT_TRUE(dns_follow_answer(r, "www.example.test", dns::kTypeAaaa, &addrs, &canonical, &err))
      << err;
  EXPECT_EQ(canonical, "v6h.example.test");
  ASSERT_EQ(addrs.size(), 1u);
  EXPECT_TRUE(addrs[0].is_v6());
  EXPECT_EQ(addrs[0].to_string(), "fd00::53");
  ASSERT_TRUE(dns_follow_answer(r, "www.example.test", dns::kTypeA, &addrs, &canonical, &err));
  ASSERT_EQ(addrs.size(), 1u);
  EXPECT_EQ(addrs[0].to_string(), "10.0.0.53");
}

TEST(DnsMessage, NoAaaaRecordIsAnEmptyAnswer) {
  // NODATA (RFC 2308 §2.2): NOERROR and no record of the type.
  Bytes b = response_head(1, 0x1234, 0x8180, dns::kTypeAaaa);
  put(b, {0xc0, 12});
  put_rr(b, dns::kTypeA, 4);
  put(b, {10, 0, 0, 53});
  std::string canonical;
  EXPECT_TRUE(follow(b, dns::kTypeAaaa, &canonical).empty());
  EXPECT_EQ(canonical, "www.example.test");
}

void expect_malformed(const Bytes& b, const std::string& why) {
  DnsResponse r;
  std::string err;
  EXPECT_FALSE(parse(b, &r, &err)) << why;
  EXPECT_FALSE(err.empty());
  if (!why.empty()) {
    EXPECT_NE(err.find(why), std::string::npos) << err;
  }
}

TEST(DnsMessage, PointerToItselfIsALoop) {
  Bytes b = response_head(1);
  const int here = static_cast<int>(b.size());
  put(b, {0xc0, here});
  put_rr(b, 1, 4);
  put(b, {1, 2, 3, 4});
  expect_malformed(b, "points forward or loops");
}

TEST(DnsMessage, PointerLoopBetweenTwoNamesIsRefused) {
  // Answer name: label "x" then a pointer to a later pointer that points back.
  Bytes b = response_head(1);
  const int first = static_cast<int>(b.size());
  put(b, {1, 'x', 0xc0, first + 4, 0xc0, first});
  put_rr(b, 1, 4);
  put(b, {1, 2, 3, 4});
  expect_malformed(b, "points forward or loops");
}

TEST(DnsMessage, PointerPastTheEndIsRefused) {
  Bytes b = response_head(1);
  put(b, {0xff, 0xff});
  put_rr(b, 1, 4);
  put(b, {1, 2, 3, 4});
  expect_malformed(b, "points forward");
  Bytes q = response_head(0);
  q.resize(12);
  put(q, {0xc0});  // half a pointer in the question
  put16(q, 1);
  expect_malformed(q, "");
}

TEST(DnsMessage, ReservedLabelTypeIsRefused) {
  Bytes b = response_head(1);
  put(b, {0x40, 0});
  put_rr(b, 1, 4);
  put(b, {1, 2, 3, 4});
  expect_malformed(b, "label type");
}

TEST(DnsMessage, NameOver255BytesThroughPointersIsRefused) {
  // CNAME records whose data are a 63-byte label and a pointer to the
  // previous record's data: every pointer goes backwards, and the fourth
  // name is 4 * 64 + 1 = 257 bytes long.
  Bytes b = response_head(4);
  int prev = -1;
  for (int i = 0; i < 4; ++i) {
    put(b, {0xc0, 12});
    put_rr(b, dns::kTypeCname, prev < 0 ? 65 : 66);
    const int here = static_cast<int>(b.size());
    b.push_back(std::byte{63});
    for (int k = 0; k < 63; ++k) b.push_back(std::byte{'a'});
    if (prev < 0) {
      b.push_back(std::byte{0});
    } else {
      put(b, {0xc0 | (prev >> 8), prev & 0xff});
    }
    prev = here;
  }
  expect_malformed(b, "longer than 255");
  // Three links (193 bytes) are fine.
  b[7] = std::byte{3};
  b.resize(b.size() - 10 - 2 - 66);
  DnsResponse r;
  std::string err;
  EXPECT_TRUE(parse(b, &r, &err)) << err;
}

TEST(DnsMessage, BadRecordDataIsRefused) {
  Bytes a = response_head(1);
  put(a, {0xc0, 12});
  put_rr(a, dns::kTypeA, 5);
  put(a, {1, 2, 3, 4, 5});
  expect_malformed(a, "not 4 bytes");
  Bytes c = response_head(1);
  put(c, {0xc0, 12});
  put_rr(c, dns::kTypeCname, 4);
  put(c, {1, 'a', 0, 9});
  expect_malformed(c, "not one name");
  Bytes d = response_head(1);
  put(d, {0xc0, 12});
  put_rr(d, dns::kTypeA, 40);
  put(d, {1, 2, 3, 4});
  expect_malformed(d, "past the end");
}

TEST(DnsMessage, BadAaaaDataIsRefused) {
  // RFC 3596 §2.2: sixteen bytes, no more and no fewer.
  for (const int len : {0, 4, 15, 17}) {
    Bytes b = response_head(1, 0x1234, 0x8180, dns::kTypeAaaa);
    put(b, {0xc0, 12});
    put_rr(b, dns::kTypeAaaa, len);
    for (int i = 0; i < len; ++i) put(b, {0xfd});
    expect_malformed(b, "AAAA record's data is not 16 bytes");
  }
  // RDLENGTH 16 with fewer bytes left in the message.
  Bytes d = response_head(1, 0x1234, 0x8180, dns::kTypeAaaa);
  put(d, {0xc0, 12});
  put_rr(d, dns::kTypeAaaa, 16);
  put(d, {0xfd, 0, 0, 0, 0, 0, 0, 0});
  expect_malformed(d, "past the end");
}

TEST(DnsMessage, EveryTruncationOfAnAaaaAnswerIsRefused) {
  const Bytes b = aaaa_answer();
  DnsResponse r;
  std::string err;
  ASSERT_TRUE(parse(b, &r, &err)) << err;
  for (std::size_t n = 0; n < b.size(); ++n) {
    const Bytes cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(parse(cut, &r, &err)) << "accepted " << n << " of " << b.size() << " bytes";
  }
}

TEST(DnsMessage, HeaderAndQuestionCounts) {
  expect_malformed(Bytes(11), "shorter than its header");
  Bytes b = response_head(0);
  b[5] = std::byte{2};  // QDCOUNT 2
  expect_malformed(b, "exactly one question");
  Bytes z = response_head(0);
  z[5] = std::byte{0};
  expect_malformed(z, "exactly one question");
}

TEST(DnsMessage, EveryTruncationIsRefusedAndNeverReadsPastTheEnd) {
  Bytes b = response_head(2);
  put(b, {0xc0, 12});
  put_rr(b, dns::kTypeCname, 6);
  put(b, {3, 'w', 'e', 'b', 0xc0, 16});
  put(b, {0xc0, static_cast<int>(b.size() - 6)});
  put_rr(b, dns::kTypeA, 4);
  put(b, {10, 0, 0, 7});
  DnsResponse r;
  std::string err;
  ASSERT_TRUE(parse(b, &r, &err)) << err;
  for (std::size_t n = 0; n < b.size(); ++n) {
    // A copy of exactly n bytes, so AddressSanitizer sees any read past it.
    const Bytes cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(parse(cut, &r, &err)) << "accepted " << n << " of " << b.size() << " bytes";
  }
}

TEST(DnsMessage, RandomGarbageNeverCrashes) {
  Rng rng(11);
  DnsResponse r;
  std::string err;
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b = response_head(static_cast<int>(rng.below(4)));
    const std::size_t extra = rng.below(80);
    for (std::size_t k = 0; k < extra; ++k)
      b.push_back(std::byte(static_cast<std::uint8_t>(rng.next())));
    // Flip a few bytes anywhere, pointers included.
    for (int k = 0; k < 3; ++k)
      b[rng.below(b.size())] = std::byte(static_cast<std::uint8_t>(rng.next()));
    if (parse(b, &r, &err)) ++parsed;
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace ustack::app
