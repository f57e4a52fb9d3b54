#include "apps/iperf3_proto.h"

#include <cmath>
#include <cstdio>

namespace ustack::app::iperf3 {

namespace {

// A non-negative whole number no larger than `hi`, or false.
bool whole(const JsonValue& j, const char* key, double hi, std::uint64_t* out, std::string* error) {
  const JsonValue* v = j.get(key);
  if (v == nullptr) return true;
  if (!v->is_number() || v->number() < 0 || v->number() > hi ||
      v->number() != std::floor(v->number())) {
    *error = std::string("parameter '") + key + "' is not a whole number in 0.." +
             std::to_string(static_cast<unsigned long long>(hi));
    return false;
  }
  *out = static_cast<std::uint64_t>(v->number());
  return true;
}

void append_number(std::string* out, double x) {
  char buf[48];
  if (x == std::floor(x) && std::fabs(x) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", x);
  else
    std::snprintf(buf, sizeof buf, "%.6f", x);
  *out += buf;
}

}  // namespace

bool parse_params(std::string_view json, Params* out, std::string* error) {
  JsonValue j;
  if (!JsonValue::parse(json, &j, error)) return false;
  if (!j.is_object()) {
    *error = "the parameters are not a JSON object";
    return false;
  }
  Params p;
  if (j.bool_or("udp", false)) p.protocol = Protocol::kUdp;
  if (j.bool_or("sctp", false)) p.protocol = Protocol::kSctp;
  std::uint64_t omit = 0, time = 0, parallel = 1, len = kDefaultBlock;
  // iperf3 caps -t at a day (MAX_TIME) and -O at 600 s (MAX_OMIT_TIME).
  if (!whole(j, "omit", 600, &omit, error) || !whole(j, "time", 86400, &time, error) ||
      !whole(j, "num", 1e18, &p.bytes, error) || !whole(j, "blockcount", 1e18, &p.blocks, error) ||
      !whole(j, "parallel", kMaxStreams, &parallel, error) ||
      !whole(j, "len", kMaxBlock, &len, error))
    return false;
  if (parallel == 0) {
    *error = "parameter 'parallel' is 0";
    return false;
  }
  if (len == 0) len = kDefaultBlock;
  p.omit = static_cast<double>(omit);
  p.time = static_cast<double>(time);
  p.parallel = static_cast<std::uint32_t>(parallel);
  p.len = static_cast<std::uint32_t>(len);
  if (!whole(j, "bandwidth", 1e13, &p.bandwidth, error)) return false;
  if (p.protocol == Protocol::kUdp) {
    if (p.bandwidth == 0) p.bandwidth = kDefaultUdpRate;
    if (len > kMaxUdpBlock) {
      *error = "parameter 'len' is over " + std::to_string(kMaxUdpBlock) + " for UDP";
      return false;
    }
    // iperf3 sends this as a number (send_parameters()).
    p.udp_counters_64bit = j.number_or("udp_counters_64bit", 0) != 0;
  }
  p.reverse = j.bool_or("reverse", false);
  p.bidirectional = j.bool_or("bidirectional", false);
  if (p.reverse && p.bidirectional) {
    *error = "reverse and bidirectional at once";
    return false;
  }
  p.get_server_output = j.number_or("get_server_output", 0) != 0;
  p.has_auth = j.get("authtoken") != nullptr;
  if (const JsonValue* v = j.get("client_version"); v != nullptr && v->is_string())
    p.client_version = v->string().substr(0, 64);
  *out = p;
  return true;
}

std::string results_json(const Results& r) {
  std::string s = "{\"cpu_util_total\":";
  append_number(&s, r.cpu_total);
  s += ",\"cpu_util_user\":";
  append_number(&s, r.cpu_user);
  s += ",\"cpu_util_system\":";
  append_number(&s, r.cpu_system);
  s += ",\"sender_has_retransmits\":" + std::to_string(r.sender_has_retransmits);
  s += ",\"congestion_used\":" + json_quote(r.congestion);
  if (!r.server_output_text.empty())
    s += ",\"server_output_text\":" + json_quote(r.server_output_text);
  s += ",\"streams\":[";
  for (std::size_t i = 0; i < r.streams.size(); ++i) {
    const StreamResult& st = r.streams[i];
    if (i > 0) s += ",";
    s += "{\"id\":" + std::to_string(st.id) + ",\"bytes\":" + std::to_string(st.bytes) +
         ",\"retransmits\":" + std::to_string(st.retransmits) + ",\"jitter\":";
    append_number(&s, st.jitter);
    s += ",\"errors\":" + std::to_string(st.errors) +
         ",\"omitted_errors\":0,\"packets\":" + std::to_string(st.packets) +
         ",\"omitted_packets\":0,\"start_time\":0,\"end_time\":";
    append_number(&s, st.seconds);
    s += "}";
  }
  return s + "]}";
}

bool parse_peer_results(std::string_view json, std::vector<StreamResult>* out, std::string* error) {
  JsonValue j;
  if (!JsonValue::parse(json, &j, error)) return false;
  const JsonValue* streams = j.get("streams");
  if (!j.is_object() || streams == nullptr || !streams->is_array()) {
    *error = "the results have no 'streams' array";
    return false;
  }
  out->clear();
  for (const JsonValue& st : streams->array()) {
    if (!st.is_object() || st.get("id") == nullptr || st.get("bytes") == nullptr) {
      *error = "a stream in the results lacks 'id' or 'bytes'";
      return false;
    }
    StreamResult r;
    r.id = static_cast<int>(st.number_or("id", 0));
    const double b = st.number_or("bytes", 0);
    r.bytes = b > 0 ? static_cast<std::uint64_t>(b) : 0;
    r.retransmits = static_cast<std::int64_t>(st.number_or("retransmits", -1));
    r.seconds = st.number_or("end_time", 0) - st.number_or("start_time", 0);
    r.jitter = st.number_or("jitter", 0);
    const double errors = st.number_or("errors", 0), packets = st.number_or("packets", 0);
    r.errors = errors > 0 ? static_cast<std::uint64_t>(errors) : 0;
    r.packets = packets > 0 ? static_cast<std::uint64_t>(packets) : 0;
    out->push_back(r);
  }
  return true;
}

std::string frame_json(const std::string& json) {
  const auto n = static_cast<std::uint32_t>(json.size());
  std::string out;
  out.reserve(4 + json.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  return out + json;
}

}  // namespace ustack::app::iperf3
