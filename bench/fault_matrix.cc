// The fault matrix of issue #6: for each cell (clean, loss, reordering,
// duplication, corruption, all combined) and each MTU, one TCP transfer
// between two ustack stacks over memlink, checked with SHA-256 on the
// receiver against the sender's. Prints a line per cell as it ends and a
// table at the end; --json writes the figures; --check also fails when the
// clean cell retransmitted (the CI test, meson test fault_matrix).
//
//   build/dev/bench/fault_matrix [--bytes 1G] [--mtu 576,1500,9000]
//       [--cells clean,loss1,...] [--seed N] [--json FILE] [--check]
//
// Goodput is over virtual time (see bench/fault_transfer.h); the path is
// described in bench/fault_cells.h. Exit: 0 all cells passed, 1 a cell
// failed, 2 a bad option.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/fault_cells.h"
#include "bench/fault_transfer.h"
#include "proto/tcp/congestion.h"

namespace ustack::bench {
namespace {

const char kUsage[] =
    "usage: fault_matrix [options]\n"
    "  --bytes N        bytes per cell (suffix K, M, G: powers of 1024; default 1G)\n"
    "  --mtu LIST       IP MTUs, comma-separated (default 576,1500,9000)\n"
    "  --cells LIST     cells, comma-separated (default all: clean,loss0.1,loss1,loss5,\n"
    "                   loss10,reorder5,reorder25,dup5,corrupt1,combined)\n"
    "  --seed N         fault and data seed (default 1)\n"
    "  --cc NAME        congestion control: cubic (default) or newreno\n"
    "  --json FILE      write the results as JSON\n"
    "  --check          also fail when the clean cell retransmitted or timed out\n"
    "  --data-only      faults on the data direction only (default: ACKs too)\n"
    "  --no-timestamps  TCP timestamps (RFC 7323) off on both hosts\n"
    "  --stall-seconds S  fail a cell after S wall seconds without progress (default 120)\n"
    "  --max-seconds S  fail a cell after S wall seconds in all (default 3600)\n"
    "  --help           this text\n";

struct Options {
  std::uint64_t bytes = 1ull << 30;
  std::vector<std::uint32_t> mtus = {576, 1500, 9000};
  std::vector<FaultCell> cells = fault_cells();
  std::uint64_t seed = 1;
  // The stack's congestion control is NewReno until TcpConfig selects one;
  // then: spec.tcp.<selector> = cc in run(), and let parse() accept cubic.
  CcAlgorithm cc = CcAlgorithm::kCubic;
  std::string json;
  bool check = false;
  bool data_only = false;  // faults on the data direction only (ACKs clean)
  bool timestamps = true;
  double stall_seconds = 120;
  double max_seconds = 3600;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = s.find(',', start);
    const std::size_t end = comma == std::string::npos ? s.size() : comma;
    if (end > start) out.push_back(s.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

bool parse_u64(const std::string& s, std::uint64_t* out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0) return false;
  std::uint64_t mult = 1;
  const std::string suffix(end);
  if (suffix == "K" || suffix == "KiB")
    mult = 1ull << 10;
  else if (suffix == "M" || suffix == "MiB")
    mult = 1ull << 20;
  else if (suffix == "G" || suffix == "GiB")
    mult = 1ull << 30;
  else if (!suffix.empty())
    return false;
  *out = v * mult;
  return true;
}

// 0 to go on, 2 on a mistake (printed), or -1 after --help.
int parse(int argc, char** argv, Options* o) {
  auto bad = [](const std::string& why) {
    std::fprintf(stderr, "fault_matrix: %s\n", why.c_str());
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    const std::size_t eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (arg != "--help" && arg != "--check" && arg != "--data-only" &&
               arg != "--no-timestamps") {
      static const char* const kWithValue[] = {"--bytes",       "--mtu",          "--cells",
                                               "--seed",        "--cc",           "--json",
                                               "--max-seconds", "--stall-seconds"};
      bool known = false;
      for (const char* k : kWithValue) known = known || arg == k;
      if (!known) return bad("unknown option " + arg + " (--help lists them)");
      if (i + 1 >= argc) return bad("missing value for " + arg);
      value = argv[++i];
    }
    if (arg == "--help") {
      std::fputs(kUsage, stdout);
      return -1;
    } else if (arg == "--check") {
      o->check = true;
    } else if (arg == "--data-only") {
      o->data_only = true;
    } else if (arg == "--no-timestamps") {
      o->timestamps = false;
    } else if (arg == "--bytes") {
      if (!parse_u64(value, &o->bytes) || o->bytes == 0) return bad("bad --bytes: " + value);
    } else if (arg == "--mtu") {
      o->mtus.clear();
      for (const std::string& m : split(value)) {
        std::uint64_t v = 0;
        // 576 is the IPv4 minimum every host accepts (RFC 791); 9000 jumbo.
        if (!parse_u64(m, &v) || v < 576 || v > 9000) return bad("bad MTU (576..9000): " + m);
        o->mtus.push_back(static_cast<std::uint32_t>(v));
      }
      if (o->mtus.empty()) return bad("--mtu needs at least one MTU");
    } else if (arg == "--cells") {
      o->cells.clear();
      for (const std::string& name : split(value)) {
        bool found = false;
        for (const FaultCell& c : fault_cells())
          if (c.name == name) {
            o->cells.push_back(c);
            found = true;
          }
        if (!found) return bad("unknown cell: " + name);
      }
      if (o->cells.empty()) return bad("--cells needs at least one cell");
    } else if (arg == "--seed") {
      if (!parse_u64(value, &o->seed)) return bad("bad --seed: " + value);
    } else if (arg == "--cc") {
      if (!parse_cc(value, &o->cc)) return bad("unknown congestion control: " + value);
    } else if (arg == "--json") {
      o->json = value;
    } else if (arg == "--stall-seconds" || arg == "--max-seconds") {
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0' || !(v > 0)) return bad("bad " + arg + ": " + value);
      (arg == "--stall-seconds" ? o->stall_seconds : o->max_seconds) = v;
    } else {
      return bad("unknown option " + arg + " (--help lists them)");
    }
  }
  return 0;
}

struct Row {
  std::string cell;
  std::uint32_t mtu;
  TransferResult r;
  bool ok() const { return r.completed && r.sha_ok; }
};

void print_row(const Row& row) {
  const TransferResult& r = row.r;
  std::printf(
      "%-10s %5u %9.3f %8.2f %7.1f %8llu %8llu %8llu %6llu %5llu %5llu %7llu %6llu %8.1f  %s%s%s\n",
      row.cell.c_str(), row.mtu, r.goodput_gbps(), r.virtual_seconds, r.wall_seconds,
      (unsigned long long)r.retransmits, (unsigned long long)r.fast_retransmits,
      (unsigned long long)r.sack_recoveries, (unsigned long long)r.undone,
      (unsigned long long)r.rto_events, (unsigned long long)r.timeouts,
      (unsigned long long)r.rx_dsack, (unsigned long long)r.bad_checksum, r.max_srtt_ms,
      r.sha_ok ? "yes" : "NO", r.completed ? "" : "  FAILED: ", r.error.c_str());
}

void print_header() {
  std::printf("%-10s %5s %9s %8s %7s %8s %8s %8s %6s %5s %5s %7s %6s %8s  %s\n", "cell", "MTU",
              "Gbit/s", "virt s", "wall s", "retrans", "fastrtx", "sackrec", "undone", "RTOs",
              "gaveup", "dsackrx", "badsum", "srttmax", "SHA ok");
}

bool write_json(const std::string& path, const Options& o, const std::vector<Row>& rows) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(
      f,
      "{\n  \"bytes\": %llu,\n  \"seed\": %llu,\n  \"cc\": \"%s\",\n"
      "  \"path\": {\"rate_bps\": %llu, \"one_way_delay_us\": %lld},\n"
      "  \"goodput_clock\": \"virtual\",\n  \"cells\": [\n",
      (unsigned long long)o.bytes, (unsigned long long)o.seed, to_string(o.cc),
      (unsigned long long)kPathRateBps,
      (long long)std::chrono::duration_cast<std::chrono::microseconds>(kPathOneWayDelay).count());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const TransferResult& r = rows[i].r;
    std::fprintf(
        f,
        "    {\"cell\": \"%s\", \"mtu\": %u, \"completed\": %s, \"sha_ok\": %s, \"error\": \"%s\", "
        "\"received\": %llu, \"goodput_gbps\": %.4f, \"virtual_seconds\": %.4f, "
        "\"wall_seconds\": %.3f, \"retransmits\": %llu, \"fast_retransmits\": %llu, "
        "\"sack_recoveries\": %llu, \"spurious_undone\": %llu, \"sack_retransmits\": %llu, "
        "\"rto_events\": %llu, "
        "\"timeouts\": %llu, "
        "\"rx_dsack\": %llu, \"tx_dsack\": %llu, \"bad_checksum\": %llu, "
        "\"max_srtt_ms\": %.3f, "
        "\"link_lost\": %llu, \"link_reordered\": %llu, \"link_duplicated\": %llu, "
        "\"link_corrupted\": %llu, \"link_queue_dropped\": %llu}%s\n",
        rows[i].cell.c_str(), rows[i].mtu, r.completed ? "true" : "false",
        r.sha_ok ? "true" : "false", r.error.c_str(), (unsigned long long)r.received,
        r.goodput_gbps(), r.virtual_seconds, r.wall_seconds, (unsigned long long)r.retransmits,
        (unsigned long long)r.fast_retransmits, (unsigned long long)r.sack_recoveries,
        (unsigned long long)r.undone, (unsigned long long)r.sack_retransmits,
        (unsigned long long)r.rto_events, (unsigned long long)r.timeouts,
        (unsigned long long)r.rx_dsack, (unsigned long long)r.tx_dsack,
        (unsigned long long)r.bad_checksum, r.max_srtt_ms,
        (unsigned long long)(r.data_link.lost + r.ack_link.lost),
        (unsigned long long)(r.data_link.reordered + r.ack_link.reordered),
        (unsigned long long)(r.data_link.duplicated + r.ack_link.duplicated),
        (unsigned long long)(r.data_link.corrupted + r.ack_link.corrupted),
        (unsigned long long)(r.data_link.queue_dropped + r.ack_link.queue_dropped),
        i + 1 < rows.size() ? "," : "");
  }
  std::fprintf(f, "  ]\n}\n");
  return std::fclose(f) == 0;
}

int run(const Options& o) {
  std::printf(
      "fault matrix: %llu bytes per cell, seed %llu, cc %s; path %llu Gbit/s, RTT %lld us; "
      "goodput over virtual time\n",
      (unsigned long long)o.bytes, (unsigned long long)o.seed, to_string(o.cc),
      (unsigned long long)(kPathRateBps / 1'000'000'000),
      (long long)std::chrono::duration_cast<std::chrono::microseconds>(2 * kPathOneWayDelay)
          .count());
  print_header();
  std::fflush(stdout);
  std::vector<Row> rows;
  for (const FaultCell& cell : o.cells) {
    for (std::uint32_t mtu : o.mtus) {
      TransferSpec spec;
      spec.bytes = o.bytes;
      spec.tcp.timestamps = o.timestamps;
      spec.tcp.congestion_control = o.cc;
      spec.mtu = mtu;
      spec.a_to_b = cell_faults(cell, mtu, spec.tcp.recv_buffer, o.seed * 2 + 1);
      spec.b_to_a = cell_faults(o.data_only ? FaultCell{"clean"} : cell, mtu, spec.tcp.recv_buffer,
                                o.seed * 2 + 2);
      spec.data_seed = o.seed;
      spec.stall_wall_seconds = o.stall_seconds;
      spec.max_wall_seconds = o.max_seconds;
      rows.push_back(Row{cell.name, mtu, run_transfer(spec)});
      print_row(rows.back());
      std::fflush(stdout);
    }
  }
  int failed = 0;
  std::printf("\n");
  print_header();
  for (const Row& row : rows) {
    print_row(row);
    if (!row.ok()) ++failed;
    if (o.check && row.cell == "clean" && (row.r.retransmits != 0 || row.r.rto_events != 0)) {
      std::printf("check: clean cell at MTU %u retransmitted (%llu) or timed out (%llu)\n", row.mtu,
                  (unsigned long long)row.r.retransmits, (unsigned long long)row.r.rto_events);
      ++failed;
    }
  }
  if (!o.json.empty() && !write_json(o.json, o, rows)) {
    std::fprintf(stderr, "fault_matrix: cannot write %s: %s\n", o.json.c_str(),
                 std::strerror(errno));
    return 1;
  }
  if (failed > 0) {
    std::printf("%d of %zu cells FAILED (seed %llu)\n", failed, rows.size(),
                (unsigned long long)o.seed);
    return 1;
  }
  std::printf("all %zu cells passed\n", rows.size());
  return 0;
}

}  // namespace
}  // namespace ustack::bench

int main(int argc, char** argv) {
  ustack::bench::Options o;
  const int p = ustack::bench::parse(argc, argv, &o);
  if (p != 0) return p < 0 ? 0 : p;
  return ustack::bench::run(o);
}
