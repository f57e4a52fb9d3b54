#include "bench/compare/report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace ustack::compare {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return kNaN;
  const auto i =
      std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

struct Metric {
  const char* key;    // JSON
  const char* title;  // table
  const char* unit;
  bool higher_better;
  int decimals;
  double Summary::*field;
};
constexpr Metric kMetrics[] = {
    {"bulk_1conn_gbps", "bulk, 1 conn", "Gbit/s", true, 2, &Summary::gbps1},
    {"bulk_4conn_gbps", "bulk, 4 conns", "Gbit/s", true, 2, &Summary::gbps4},
    {"rr_p50_us", "RR p50", "us", false, 1, &Summary::rr_p50_us},
    {"rr_p99_us", "RR p99", "us", false, 1, &Summary::rr_p99_us},
    {"rr_per_s", "RR", "round trips/s", true, 0, &Summary::rr_per_s},
    {"crr_per_s", "CRR", "connections/s", true, 0, &Summary::crr_per_s},
    {"echo_20kb_us", "20 KB echo, median", "us", false, 1, &Summary::echo_us},
};

std::string fmt(double v, int decimals) {
  if (std::isnan(v)) return "failed";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  std::string s = b;
  if (decimals == 0 && s.size() > 3) {  // thousands separators
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
      s.insert(static_cast<std::size_t>(i), ",");
  }
  return s;
}

std::string json_num(double v) {
  if (std::isnan(v)) return "null";
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o + "\"";
}

int find_row(const std::vector<Row>& rows, const std::string& key) {
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i].key == key) return static_cast<int>(i);
  return -1;
}

}  // namespace

Summary summarize(const RowRuns& r) {
  return {quantile(r.gbps1, 0.5),   quantile(r.gbps4, 0.5),    quantile(r.rtt_us, 0.5),
          quantile(r.rtt_us, 0.99), quantile(r.rr_per_s, 0.5), quantile(r.crr_per_s, 0.5),
          quantile(r.echo_us, 0.5)};
}

bool complete(const Summary& s) {
  for (const Metric& m : kMetrics)
    if (std::isnan(s.*m.field)) return false;
  return true;
}

void print_table(std::FILE* out, const std::vector<Row>& rows, const std::vector<RowRuns>& runs,
                 const std::string& reference) {
  const int ref = find_row(rows, reference);
  const Summary rs = ref >= 0 ? summarize(runs[static_cast<std::size_t>(ref)]) : Summary{};
  std::fprintf(out, "| row |");
  for (const Metric& m : kMetrics) std::fprintf(out, " %s (%s) |", m.title, m.unit);
  std::fprintf(out, "\n|---|");
  for (std::size_t i = 0; i < std::size(kMetrics); ++i) std::fprintf(out, "---:|");
  std::fprintf(out, "\n");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Summary s = summarize(runs[i]);
    std::fprintf(out, "| %s |", rows[i].label.c_str());
    for (const Metric& m : kMetrics) {
      const double v = s.*m.field;
      std::string cell = fmt(v, m.decimals);
      if (ref >= 0 && static_cast<int>(i) != ref && !std::isnan(v) && !std::isnan(rs.*m.field))
        cell += " (" + fmt(v / (rs.*m.field), 2) + "x)";
      std::fprintf(out, " %s |", cell.c_str());
    }
    std::fprintf(out, "\n");
  }
  if (ref >= 0)
    std::fprintf(out,
                 "\n(x: the row's figure over the reference row's, \"%s\"; above 1 is better for "
                 "Gbit/s and rates, below 1 is better for times)\n",
                 rows[static_cast<std::size_t>(ref)].label.c_str());
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (const std::string& e : runs[i].errors)
      std::fprintf(out, "%s: %s\n", rows[i].label.c_str(), e.c_str());
}

bool write_json(const std::string& path, const RunInfo& info, const std::vector<Row>& rows,
                const std::vector<RowRuns>& runs, const std::string& reference,
                std::string* error) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    *error = "cannot write " + path;
    return false;
  }
  const int ref = find_row(rows, reference);
  const Summary rs = ref >= 0 ? summarize(runs[static_cast<std::size_t>(ref)]) : Summary{};
  std::fprintf(f,
               "{\n  \"command\": %s,\n  \"machine\": %s,\n  \"load\": %s,\n  \"pinning\": %s,\n",
               json_str(info.command).c_str(), json_str(info.machine).c_str(),
               json_str(info.load).c_str(), json_str(info.pinning).c_str());
  std::fprintf(f,
               "  \"rounds\": %d,\n  \"seconds_per_measurement\": %s,\n  \"echo_runs_per_round\": "
               "%d,\n  \"wall_seconds\": %s,\n  \"reference\": %s,\n  \"metrics\": [",
               info.rounds, json_num(info.budget.seconds).c_str(), info.budget.echo_runs,
               json_num(info.wall_seconds).c_str(), json_str(reference).c_str());
  for (std::size_t k = 0; k < std::size(kMetrics); ++k)
    std::fprintf(f, "%s\n    {\"key\": %s, \"title\": %s, \"unit\": %s, \"higher_is_better\": %s}",
                 k == 0 ? "" : ",", json_str(kMetrics[k].key).c_str(),
                 json_str(kMetrics[k].title).c_str(), json_str(kMetrics[k].unit).c_str(),
                 kMetrics[k].higher_better ? "true" : "false");
  std::fprintf(f, "\n  ],\n  \"rows\": [");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Summary s = summarize(runs[i]);
    std::fprintf(f,
                 "%s\n    {\"key\": %s, \"label\": %s, \"kind\": %s, \"transport\": %s,\n     "
                 "\"figures\": {",
                 i == 0 ? "" : ",", json_str(rows[i].key).c_str(), json_str(rows[i].label).c_str(),
                 json_str(rows[i].kind).c_str(), json_str(rows[i].transport).c_str());
    for (std::size_t k = 0; k < std::size(kMetrics); ++k)
      std::fprintf(f, "%s%s: %s", k == 0 ? "" : ", ", json_str(kMetrics[k].key).c_str(),
                   json_num(s.*kMetrics[k].field).c_str());
    std::fprintf(f, "},\n     \"ratio_to_reference\": {");
    for (std::size_t k = 0; k < std::size(kMetrics); ++k) {
      const double v = s.*kMetrics[k].field, r = rs.*kMetrics[k].field;
      std::fprintf(f, "%s%s: %s", k == 0 ? "" : ", ", json_str(kMetrics[k].key).c_str(),
                   json_num(ref >= 0 ? v / r : kNaN).c_str());
    }
    std::fprintf(f, "},\n     \"per_round\": {");
    const std::pair<const char*, const std::vector<double>*> per_round[] = {
        {"bulk_1conn_gbps", &runs[i].gbps1},
        {"bulk_4conn_gbps", &runs[i].gbps4},
        {"rr_per_s", &runs[i].rr_per_s},
        {"crr_per_s", &runs[i].crr_per_s}};
    for (std::size_t k = 0; k < std::size(per_round); ++k) {
      std::fprintf(f, "%s%s: [", k == 0 ? "" : ", ", json_str(per_round[k].first).c_str());
      for (std::size_t j = 0; j < per_round[k].second->size(); ++j)
        std::fprintf(f, "%s%s", j == 0 ? "" : ", ", json_num((*per_round[k].second)[j]).c_str());
      std::fprintf(f, "]");
    }
    // The round trips' tail, and their mean (what the rate is one over).
    const std::vector<double>& rtt = runs[i].rtt_us;
    double sum = 0;
    for (const double v : rtt) sum += v;
    std::fprintf(f,
                 "},\n     \"rr_detail_us\": {\"mean\": %s, \"p99.9\": %s, \"max\": %s, "
                 "\"over_1ms\": %zu},",
                 json_num(rtt.empty() ? kNaN : sum / static_cast<double>(rtt.size())).c_str(),
                 json_num(quantile(rtt, 0.999)).c_str(),
                 json_num(rtt.empty() ? kNaN : *std::max_element(rtt.begin(), rtt.end())).c_str(),
                 static_cast<std::size_t>(
                     std::count_if(rtt.begin(), rtt.end(), [](double v) { return v > 1000; })));
    std::fprintf(f, "\n     \"samples\": {\"rr_round_trips\": %zu, \"echo_runs\": %zu},",
                 runs[i].rtt_us.size(), runs[i].echo_us.size());
    std::fprintf(f, "\n     \"errors\": [");
    for (std::size_t e = 0; e < runs[i].errors.size(); ++e)
      std::fprintf(f, "%s%s", e == 0 ? "" : ", ", json_str(runs[i].errors[e]).c_str());
    std::fprintf(f, "]}");
  }
  std::fprintf(f, "\n  ]\n}\n");
  const bool ok = std::fclose(f) == 0;
  if (!ok) *error = "cannot write " + path;
  return ok;
}

}  // namespace ustack::compare
