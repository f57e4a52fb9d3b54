// Live counters of a running `ustack serve`, readable from another process
// (`ustack stats`) while the fast path pays nothing for them: the worker
// copies its counters into a shared-memory file at most once per interval,
// from its poll hook (no allocation, lock contention or system call there),
// and a reader copies them out without ever stopping the worker.
//
// The file is /dev/shm/ustack-<instance>.stats (mode 0644), laid out in
// host byte order, every size fixed by `version` (1):
//
//   offset 0                StatsFileHeader   (256 bytes)
//   offset 256              slot 0: StatsSlotHeader (64 bytes), then
//                                   kStatsMaxRecords x StatsRecord (64 bytes each)
//   offset 256 + slot_bytes slot 1: the same
//
//   StatsFileHeader: magic "USTKSTAT"; version; slot_bytes (the size of one
//     slot); max_records; pid of the writer; start_unix_ns (CLOCK_REALTIME
//     when it started); instance name (NUL-terminated); `latest`, the index
//     (0 or 1) of the slot last completed, ~0 before the first.
//   StatsSlotHeader: seq (a seqlock: odd while the slot is being written);
//     published_unix_ns; uptime_ns; workers; records.
//   StatsRecord: kind (0: a counter of the worker's stack, core/counters.h;
//     1: a server's count, named "<server>.<accepted|open|finished|failed>");
//     worker (its index); core (-1: not pinned); name (NUL-terminated,
//     at most 47 characters); value.
//
// Writer, one per file (the worker's thread): writes the slot that is not
// `latest`: seq += 1 (odd), fence, records, fence, seq += 1 (even), then
// stores `latest` (release). Reader: loads `latest` (acquire), reads seq
// (odd: try again), copies the slot, fence, reads seq again (changed: try
// again). Since the writer alternates slots, a reader retries only when a
// copy takes longer than a whole interval, and it never keeps a torn one.
// The writer removes the file when it ends; a file whose pid is gone is
// stale (a crash) and the next writer of the name replaces it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/counters.h"
#include "core/instant.h"
#include "proto/stack.h"

namespace ustack::app {

inline constexpr char kStatsMagic[8] = {'U', 'S', 'T', 'K', 'S', 'T', 'A', 'T'};
inline constexpr std::uint32_t kStatsVersion = 1;
inline constexpr std::uint32_t kStatsMaxRecords = 2048;
inline constexpr std::uint64_t kStatsNoSlot = ~std::uint64_t{0};

struct StatsFileHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t slot_bytes;
  std::uint32_t max_records;
  std::int32_t pid;
  std::uint64_t start_unix_ns;
  char instance[64];
  std::uint64_t latest;  // atomic (std::atomic_ref)
  char reserved[256 - 104];
};
static_assert(sizeof(StatsFileHeader) == 256);

struct StatsSlotHeader {
  std::uint64_t seq;  // atomic (std::atomic_ref)
  std::uint64_t published_unix_ns;
  std::uint64_t uptime_ns;
  std::uint32_t workers;
  std::uint32_t records;
  char reserved[64 - 32];
};
static_assert(sizeof(StatsSlotHeader) == 64);

enum class StatsKind : std::uint8_t { kCounter = 0, kServer = 1 };

struct StatsRecord {
  std::uint8_t kind;
  std::uint8_t reserved;
  std::uint16_t worker;
  std::int16_t core;
  char name[48];
  std::uint8_t pad[2];
  std::uint64_t value;
};
static_assert(sizeof(StatsRecord) == 64);

inline constexpr std::uint32_t kStatsSlotBytes =
    sizeof(StatsSlotHeader) + kStatsMaxRecords * sizeof(StatsRecord);

// Instance names: 1 to 64 of [A-Za-z0-9_-]. false and *error otherwise.
bool valid_instance_name(const std::string& name, std::string* error);
// /dev/shm/ustack-<instance>.stats
std::string stats_path(const std::string& instance);

class StatsPublisher final : public StackApp {
 public:
  // Creates the instance's file, or replaces a stale one. nullptr and
  // *error when a live process publishes under the name, or the file
  // cannot be made. Nothing is published before start().
  static std::unique_ptr<StatsPublisher> create(const std::string& instance, Duration interval,
                                                std::string* error);
  ~StatsPublisher() override;  // removes the file (when it is still ours)
  StatsPublisher(const StatsPublisher&) = delete;
  StatsPublisher& operator=(const StatsPublisher&) = delete;

  // Setup: the counters of worker `worker`, pinned to `core` (-1: not).
  void add_worker(const CounterSet& counters, int worker, int core);
  // Setup: a value read at each publication (a server's connection counts).
  void add_value(std::string name, int worker, std::function<std::uint64_t()> read);
  // Setup: a gauge read at each publication, shown among the counters
  // (buffers held, connections open). `read` runs on the publishing thread.
  void add_gauge(std::string name, int worker, std::function<std::uint64_t()> read);

  // Publishes the first snapshot; `now` is the worker's clock, the start
  // of the uptime.
  void start(Instant now);
  // StackApp: publishes when the interval has passed since the last time.
  void poll(Instant now) override {
    if (now >= next_) publish(now);
  }
  void publish(Instant now);

 private:
  StatsPublisher() = default;
  struct Worker {
    const CounterSet* counters;
    int index, core;
  };
  struct Value {
    std::string name;
    int worker;
    std::function<std::uint64_t()> read;
    StatsKind kind;
  };
  std::string path_;
  int fd_ = -1;
  void* map_ = nullptr;
  std::size_t map_bytes_ = 0;
  Duration interval_{};
  Instant start_{}, next_{};
  std::uint64_t start_unix_ns_ = 0;
  std::vector<Worker> workers_;
  std::vector<Value> values_;
};

struct StatsRow {
  StatsKind kind;
  int worker, core;
  std::string name;
  std::uint64_t value;
};

struct StatsSnapshot {
  std::string instance;
  int pid = 0;
  std::uint64_t start_unix_ns = 0, published_unix_ns = 0, uptime_ns = 0;
  std::uint32_t workers = 0;
  std::vector<StatsRow> rows;  // in publication order: by worker, then name
};

enum class StatsRead { kOk, kNoInstance, kBad };
// Reads the running instance's latest snapshot. kNoInstance (no file, or
// its writer is gone) and kBad (not a stats file, or no consistent copy)
// set *error to one sentence.
StatsRead read_stats(const std::string& instance, StatsSnapshot* out, std::string* error);

}  // namespace ustack::app
