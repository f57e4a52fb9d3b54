// The live counters file (see stats_shm.h for the layout and protocol).
#include "apps/stats_shm.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace ustack::app {
namespace {

constexpr std::size_t kFileBytes = sizeof(StatsFileHeader) + 2 * std::size_t{kStatsSlotBytes};

std::uint64_t unix_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

StatsSlotHeader* slot_at(void* map, std::uint64_t i) {
  return reinterpret_cast<StatsSlotHeader*>(static_cast<char*>(map) + sizeof(StatsFileHeader) +
                                            i * kStatsSlotBytes);
}

bool process_alive(int pid) {
  return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

// The writer's pid of an existing file at `path`; 0 when it is not a
// stats file (or cannot be read).
int file_pid(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  StatsFileHeader h{};
  const bool ok = pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h) &&
                  std::memcmp(h.magic, kStatsMagic, sizeof h.magic) == 0;
  close(fd);
  return ok ? h.pid : 0;
}

void copy_name(char (&dst)[48], const std::string& src) {
  const std::size_t n = std::min(src.size(), sizeof dst - 1);
  std::memcpy(dst, src.data(), n);
  std::memset(dst + n, 0, sizeof dst - n);
}

}  // namespace

bool valid_instance_name(const std::string& name, std::string* error) {
  const bool ok =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
      });
  if (!ok) *error = "bad instance name '" + name + "' (1 to 64 of A-Z a-z 0-9 _ -)";
  return ok;
}

std::string stats_path(const std::string& instance) {
  return "/dev/shm/ustack-" + instance + ".stats";
}

std::unique_ptr<StatsPublisher> StatsPublisher::create(const std::string& instance,
                                                       Duration interval, std::string* error) {
  if (!valid_instance_name(instance, error)) return nullptr;
  std::unique_ptr<StatsPublisher> p(new StatsPublisher());
  p->path_ = stats_path(instance);
  p->interval_ = interval;
  // Built under a private name, then linked into place whole: a reader
  // never sees a half-made header, and link() cannot replace a live file.
  const std::string tmp = "/dev/shm/.ustack-" + instance + "." + std::to_string(getpid());
  unlink(tmp.c_str());
  p->fd_ = open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (p->fd_ < 0) {
    *error = "cannot create " + tmp + ": " + std::strerror(errno);
    return nullptr;
  }
  fchmod(p->fd_, 0644);  // whatever the umask: readers need not be root
  void* map = MAP_FAILED;
  if (ftruncate(p->fd_, static_cast<off_t>(kFileBytes)) == 0)
    map = mmap(nullptr, kFileBytes, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd_, 0);
  if (map == MAP_FAILED) {
    *error = "cannot map " + tmp + ": " + std::strerror(errno);
    unlink(tmp.c_str());
    return nullptr;
  }
  p->map_ = map;
  p->map_bytes_ = kFileBytes;
  auto* h = static_cast<StatsFileHeader*>(map);
  std::memcpy(h->magic, kStatsMagic, sizeof h->magic);
  h->version = kStatsVersion;
  h->slot_bytes = kStatsSlotBytes;
  h->max_records = kStatsMaxRecords;
  h->pid = static_cast<std::int32_t>(getpid());
  h->start_unix_ns = unix_ns();
  std::strncpy(h->instance, instance.c_str(), sizeof h->instance - 1);
  h->latest = kStatsNoSlot;
  for (int attempt = 0;; ++attempt) {
    if (link(tmp.c_str(), p->path_.c_str()) == 0) break;
    const int err = errno;
    const int pid = err == EEXIST ? file_pid(p->path_) : 0;
    if (err != EEXIST || attempt > 0 || process_alive(pid)) {
      *error = err == EEXIST ? "instance '" + instance + "' is already running (pid " +
                                   std::to_string(pid) + "): give this one another name"
                             : "cannot create " + p->path_ + ": " + std::strerror(err);
      unlink(tmp.c_str());
      p->path_.clear();  // not ours: the destructor leaves it
      return nullptr;
    }
    unlink(p->path_.c_str());  // stale: its writer is gone
  }
  unlink(tmp.c_str());
  return p;
}

StatsPublisher::~StatsPublisher() {
  if (!path_.empty() && fd_ >= 0) {
    // Remove the file only while it is still the one this writer made.
    struct stat mine {
    }, there{};
    if (fstat(fd_, &mine) == 0 && stat(path_.c_str(), &there) == 0 && mine.st_ino == there.st_ino &&
        mine.st_dev == there.st_dev)
      unlink(path_.c_str());
  }
  if (map_ != nullptr) munmap(map_, map_bytes_);
  if (fd_ >= 0) close(fd_);
}

void StatsPublisher::add_worker(const CounterSet& counters, int worker, int core) {
  workers_.push_back({&counters, worker, core});
}

void StatsPublisher::add_value(std::string name, int worker, std::function<std::uint64_t()> read) {
  values_.push_back({std::move(name), worker, std::move(read), StatsKind::kServer});
}

void StatsPublisher::add_gauge(std::string name, int worker, std::function<std::uint64_t()> read) {
  values_.push_back({std::move(name), worker, std::move(read), StatsKind::kCounter});
}

void StatsPublisher::start(Instant now) {
  start_ = now;
  start_unix_ns_ = unix_ns();
  static_cast<StatsFileHeader*>(map_)->start_unix_ns = start_unix_ns_;
  publish(now);
}

void StatsPublisher::publish(Instant now) {
  next_ = now + interval_;
  auto* h = static_cast<StatsFileHeader*>(map_);
  std::atomic_ref<std::uint64_t> latest(h->latest);
  const std::uint64_t cur = latest.load(std::memory_order_relaxed);
  const std::uint64_t idx = cur == kStatsNoSlot ? 0 : cur ^ 1;
  StatsSlotHeader* s = slot_at(map_, idx);
  auto* records = reinterpret_cast<StatsRecord*>(s + 1);
  std::atomic_ref<std::uint64_t> seq(s->seq);
  seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // odd
  std::atomic_thread_fence(std::memory_order_release);
  std::uint32_t n = 0;
  const auto put = [&](StatsKind kind, int worker, int core, const std::string& name,
                       std::uint64_t value) {
    if (n == kStatsMaxRecords) return;
    StatsRecord& r = records[n++];
    r.kind = static_cast<std::uint8_t>(kind);
    r.worker = static_cast<std::uint16_t>(worker);
    r.core = static_cast<std::int16_t>(core);
    copy_name(r.name, name);
    r.value = value;
  };
  for (const Worker& w : workers_) {
    w.counters->for_each([&](const std::string& name, std::uint64_t v) {
      put(StatsKind::kCounter, w.index, w.core, name, v);
    });
    for (const Value& v : values_)
      if (v.worker == w.index) put(v.kind, w.index, w.core, v.name, v.read());
  }
  const Duration up = now - start_;
  s->published_unix_ns = start_unix_ns_ + static_cast<std::uint64_t>(ns_of(up));
  s->uptime_ns = static_cast<std::uint64_t>(ns_of(up));
  s->workers = static_cast<std::uint32_t>(workers_.size());
  s->records = n;
  std::atomic_thread_fence(std::memory_order_release);
  seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);  // even
  latest.store(idx, std::memory_order_release);
}

StatsRead read_stats(const std::string& instance, StatsSnapshot* out, std::string* error) {
  if (!valid_instance_name(instance, error)) return StatsRead::kBad;
  const std::string path = stats_path(instance);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = errno == ENOENT ? "no running instance '" + instance + "' (no " + path + ")"
                             : "cannot open " + path + ": " + std::strerror(errno);
    return errno == ENOENT ? StatsRead::kNoInstance : StatsRead::kBad;
  }
  struct stat st {};
  void* map = MAP_FAILED;
  if (fstat(fd, &st) == 0 && static_cast<std::size_t>(st.st_size) >= kFileBytes)
    map = mmap(nullptr, kFileBytes, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (map == MAP_FAILED) {
    *error = path + " is not a ustack stats file";
    return StatsRead::kBad;
  }
  const auto* h = static_cast<const StatsFileHeader*>(map);
  StatsRead result = StatsRead::kBad;
  if (std::memcmp(h->magic, kStatsMagic, sizeof h->magic) != 0 || h->version != kStatsVersion ||
      h->slot_bytes != kStatsSlotBytes || h->max_records != kStatsMaxRecords) {
    *error = path + " is not a ustack stats file of version " + std::to_string(kStatsVersion);
  } else if (!process_alive(h->pid)) {
    *error = "no running instance '" + instance + "' (" + path + " is left from pid " +
             std::to_string(h->pid) + ", which is gone)";
    result = StatsRead::kNoInstance;
  } else {
    // The header is written once, before the file is linked into place.
    auto* mh = const_cast<StatsFileHeader*>(h);
    std::atomic_ref<std::uint64_t> latest(mh->latest);
    std::vector<StatsRecord> copy(kStatsMaxRecords);
    StatsSlotHeader sh{};
    bool got = false;
    for (int attempt = 0; attempt < 1000 && !got; ++attempt) {
      const std::uint64_t idx = latest.load(std::memory_order_acquire);
      if (idx > 1) {  // nothing published yet: the first comes within an interval
        usleep(1000);
        continue;
      }
      StatsSlotHeader* s = slot_at(map, idx);
      std::atomic_ref<std::uint64_t> seq(s->seq);
      const std::uint64_t before = seq.load(std::memory_order_acquire);
      if (before & 1) continue;
      std::memcpy(&sh, s, sizeof sh);
      const std::uint32_t n = std::min(sh.records, kStatsMaxRecords);
      std::memcpy(copy.data(), s + 1, n * sizeof(StatsRecord));
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq.load(std::memory_order_relaxed) != before) continue;
      sh.records = n;
      got = true;
    }
    if (!got) {
      *error = "instance '" + instance + "' published no consistent snapshot in time";
    } else {
      out->instance = instance;
      out->pid = h->pid;
      out->start_unix_ns = h->start_unix_ns;
      out->published_unix_ns = sh.published_unix_ns;
      out->uptime_ns = sh.uptime_ns;
      out->workers = sh.workers;
      out->rows.clear();
      for (std::uint32_t i = 0; i < sh.records; ++i) {
        const StatsRecord& r = copy[i];
        out->rows.push_back({static_cast<StatsKind>(r.kind), r.worker, r.core,
                             std::string(r.name, strnlen(r.name, sizeof r.name)), r.value});
      }
      result = StatsRead::kOk;
    }
  }
  munmap(map, kFileBytes);
  return result;
}

}  // namespace ustack::app
