// The JSON reader and the iperf3 messages built on it: what iperf3 3.12's
// client sends, and malformed or hostile input refused with a reason.
#include <gtest/gtest.h>

#include <string>

#include "apps/iperf3_proto.h"
#include "apps/json.h"

namespace ustack::app {
namespace {

TEST(Json, ParsesNestedValues) {
  JsonValue j;
  std::string err;
  ASSERT_TRUE(JsonValue::parse(
      R"( {"a": 1.5e3, "b": [true, false, null], "s": "x\"\u00e9\ud83d\ude00", "o": {}} )", &j,
      &err))
      << err;
  EXPECT_EQ(j.number_or("a", 0), 1500);
  ASSERT_TRUE(j.get("b")->is_array());
  EXPECT_EQ(j.get("b")->array().size(), 3u);
  EXPECT_TRUE(j.get("b")->array()[0].boolean());
  EXPECT_EQ(j.get("s")->string(), "x\"\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(j.get("o")->is_object());
  EXPECT_EQ(j.get("missing"), nullptr);
}

TEST(Json, RefusesMalformedInput) {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "tru", "\"abc", "01x",
                          "{\"a\":1} x", "\"\\q\"", "1e999", "\"\x01\""}) {
    JsonValue j;
    std::string err;
    EXPECT_FALSE(JsonValue::parse(bad, &j, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
  // Nesting is bounded: no deep recursion on hostile input.
  JsonValue j;
  std::string err;
  EXPECT_FALSE(JsonValue::parse(std::string(10000, '['), &j, &err));
  EXPECT_NE(err.find("nested"), std::string::npos) << err;
}

TEST(Json, QuotesStrings) {
  EXPECT_EQ(json_quote("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
}

TEST(Iperf3Params, ReadsWhatTheClientSends) {
  // iperf 3.12's send_parameters() for -c X -R -P 4 -t 5 -O 1.
  iperf3::Params p;
  std::string err;
  ASSERT_TRUE(iperf3::parse_params(
      R"({"tcp":true,"omit":1,"time":5,"num":0,"blockcount":0,"parallel":4,"reverse":true,)"
      R"("len":131072,"pacing_timer":1000,"client_version":"3.12"})",
      &p, &err))
      << err;
  EXPECT_EQ(p.protocol, iperf3::Protocol::kTcp);
  EXPECT_EQ(p.parallel, 4u);
  EXPECT_TRUE(p.reverse);
  EXPECT_EQ(p.time, 5);
  EXPECT_EQ(p.omit, 1);
  EXPECT_EQ(p.len, 131072u);
  EXPECT_EQ(p.byte_limit(), 0u);
  EXPECT_EQ(p.client_version, "3.12");
  ASSERT_TRUE(iperf3::parse_params(R"({"udp":true,"time":1,"parallel":1,"blockcount":3,"len":100})",
                                   &p, &err));
  EXPECT_EQ(p.protocol, iperf3::Protocol::kUdp);
  EXPECT_EQ(p.byte_limit(), 300u);
  EXPECT_EQ(p.bandwidth, iperf3::kDefaultUdpRate);  // no "bandwidth": iperf3's 1 Mbit/s
  EXPECT_FALSE(p.udp_counters_64bit);
  ASSERT_TRUE(iperf3::parse_params(
      R"({"udp":true,"time":1,"parallel":1,"len":1448,"bandwidth":20000000,"udp_counters_64bit":1})",
      &p, &err));
  EXPECT_EQ(p.bandwidth, 20000000u);
  EXPECT_TRUE(p.udp_counters_64bit);
  EXPECT_FALSE(iperf3::parse_params(R"({"udp":true,"time":1,"parallel":1,"len":65508})", &p, &err));
  EXPECT_NE(err.find("65507"), std::string::npos) << err;
}

TEST(Iperf3Params, RefusesOutOfRange) {
  for (const char* bad :
       {"[]", R"({"parallel":0,"time":1})", R"({"parallel":129,"time":1})",
        R"({"parallel":1.5,"time":1})", R"({"len":2000000,"time":1})", R"({"time":-1})",
        R"({"time":1,"reverse":true,"bidirectional":true})", R"({"num":"10"})"}) {
    iperf3::Params p;
    std::string err;
    EXPECT_FALSE(iperf3::parse_params(bad, &p, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(Iperf3Results, HaveWhatTheClientRequires) {
  // get_results() in iperf_api.c fails without these.
  iperf3::Results r;
  r.sender_has_retransmits = -1;
  r.congestion = "newreno";
  r.streams.push_back({iperf3::stream_id(0), 12345, -1, 2.0});
  r.streams.push_back({iperf3::stream_id(1), 6789, -1, 2.0});
  const std::string s = iperf3::results_json(r);
  JsonValue j;
  std::string err;
  ASSERT_TRUE(JsonValue::parse(s, &j, &err)) << err << s;
  for (const char* k :
       {"cpu_util_total", "cpu_util_user", "cpu_util_system", "sender_has_retransmits", "streams"})
    EXPECT_NE(j.get(k), nullptr) << k;
  ASSERT_NE(j.get("congestion_used"), nullptr);
  EXPECT_EQ(j.get("congestion_used")->string(), "newreno") << "the streams' own, not a constant";
  ASSERT_EQ(j.get("streams")->array().size(), 2u);
  const JsonValue& st = j.get("streams")->array()[1];
  EXPECT_EQ(st.number_or("id", 0), 3);  // 1, then 3, 4, ... as iperf3 numbers them
  EXPECT_EQ(st.number_or("bytes", 0), 6789);
  for (const char* k : {"retransmits", "jitter", "errors", "packets", "start_time", "end_time"})
    EXPECT_NE(st.get(k), nullptr) << k;
  // And the peer's results read back.
  std::vector<iperf3::StreamResult> back;
  ASSERT_TRUE(iperf3::parse_peer_results(s, &back, &err)) << err;
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].id, 1);
  EXPECT_EQ(back[0].bytes, 12345u);
  EXPECT_FALSE(iperf3::parse_peer_results(R"({"streams":[{"id":1}]})", &back, &err));
  EXPECT_FALSE(iperf3::parse_peer_results(R"({"cpu_util_total":1})", &back, &err));
}

TEST(Iperf3Frame, LengthIsBigEndian) {
  const std::string f = iperf3::frame_json(std::string(0x0102, 'x'));
  ASSERT_EQ(f.size(), 4u + 0x0102);
  EXPECT_EQ(f.substr(0, 4), std::string("\0\0\x01\x02", 4));
}

}  // namespace
}  // namespace ustack::app
