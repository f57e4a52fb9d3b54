// serve's live counters file (apps/stats_shm.h): what is published is what
// a reader gets, the interval is kept, a reader racing the writer never
// keeps a torn snapshot, a live instance's name cannot be taken, a stale
// file is replaced, and the file goes with its writer.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "apps/stats_shm.h"

namespace ustack::app {
namespace {

std::string unique_name(const char* what) {
  return "ustk-test-" + std::to_string(getpid()) + "-" + what;
}

bool exists(const std::string& path) {
  return access(path.c_str(), F_OK) == 0;
}

const StatsRow* find(const StatsSnapshot& s, const std::string& name) {
  for (const StatsRow& r : s.rows)
    if (r.name == name) return &r;
  return nullptr;
}

TEST(StatsShm, PublishedValuesAreRead) {
  CounterSet counters;
  counters.get("tcp.rx").inc(5);
  counters.get("arp.rx").inc(2);
  std::string err;
  const std::string name = unique_name("roundtrip");
  auto p = StatsPublisher::create(name, std::chrono::milliseconds(100), &err);
  ASSERT_NE(p, nullptr) << err;
  std::uint64_t accepted = 7;
  p->add_worker(counters, 0, 3);
  p->add_value("httpd.accepted", 0, [&] { return accepted; });
  p->start(instant_from_ns(1'000'000'000));

  StatsSnapshot s;
  ASSERT_EQ(read_stats(name, &s, &err), StatsRead::kOk) << err;
  EXPECT_EQ(s.instance, name);
  EXPECT_EQ(s.pid, getpid());
  EXPECT_EQ(s.workers, 1u);
  EXPECT_EQ(s.uptime_ns, 0u);
  ASSERT_EQ(s.rows.size(), 3u);
  const StatsRow* rx = find(s, "tcp.rx");
  ASSERT_NE(rx, nullptr);
  EXPECT_EQ(rx->value, 5u);
  EXPECT_EQ(rx->kind, StatsKind::kCounter);
  EXPECT_EQ(rx->worker, 0);
  EXPECT_EQ(rx->core, 3);
  const StatsRow* acc = find(s, "httpd.accepted");
  ASSERT_NE(acc, nullptr);
  EXPECT_EQ(acc->kind, StatsKind::kServer);
  EXPECT_EQ(acc->value, 7u);

  // Nothing new before the interval has passed; then the new values.
  counters.get("tcp.rx").inc(10);
  accepted = 8;
  p->poll(instant_from_ns(1'050'000'000));
  ASSERT_EQ(read_stats(name, &s, &err), StatsRead::kOk) << err;
  EXPECT_EQ(find(s, "tcp.rx")->value, 5u);
  p->poll(instant_from_ns(1'100'000'000));
  ASSERT_EQ(read_stats(name, &s, &err), StatsRead::kOk) << err;
  EXPECT_EQ(find(s, "tcp.rx")->value, 15u);
  EXPECT_EQ(find(s, "httpd.accepted")->value, 8u);
  EXPECT_EQ(s.uptime_ns, 100'000'000u);

  p.reset();
  EXPECT_FALSE(exists(stats_path(name)));
  EXPECT_EQ(read_stats(name, &s, &err), StatsRead::kNoInstance);
  EXPECT_NE(err.find("no running instance"), std::string::npos) << err;
}

TEST(StatsShm, ReaderNeverKeepsATornSnapshot) {
  // The writer sets every counter to the same generation before each
  // publication; any snapshot mixing two generations would be torn.
  constexpr int kCounters = 600;
  constexpr std::uint64_t kGenerations = 20000;
  CounterSet counters;
  std::vector<Counter*> cs;
  for (int i = 0; i < kCounters; ++i) cs.push_back(&counters.get("c." + std::to_string(1000 + i)));
  std::string err;
  const std::string name = unique_name("torn");
  auto p = StatsPublisher::create(name, Duration(0), &err);
  ASSERT_NE(p, nullptr) << err;
  p->add_worker(counters, 0, -1);
  p->start(instant_from_ns(0));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (std::uint64_t g = 1; g <= kGenerations; ++g) {
      for (Counter* c : cs) c->inc();
      p->publish(instant_from_ns(static_cast<std::int64_t>(g)));
    }
    done.store(true);
  });
  std::uint64_t reads = 0, last = 0;
  bool ok = true;
  while (ok && (!done.load() || reads == 0)) {
    StatsSnapshot s;
    if (read_stats(name, &s, &err) != StatsRead::kOk) {
      ADD_FAILURE() << err;
      break;
    }
    ++reads;
    ok = s.rows.size() == kCounters;
    for (const StatsRow& r : s.rows) ok = ok && r.value == s.uptime_ns;
    EXPECT_TRUE(ok) << "torn snapshot at generation " << s.uptime_ns;
    EXPECT_GE(s.uptime_ns, last);  // never older than one already seen
    last = s.uptime_ns;
  }
  writer.join();
  EXPECT_GT(reads, 0u);
}

TEST(StatsShm, ALiveInstanceKeepsItsName) {
  std::string err;
  const std::string name = unique_name("taken");
  auto first = StatsPublisher::create(name, std::chrono::milliseconds(100), &err);
  ASSERT_NE(first, nullptr) << err;
  auto second = StatsPublisher::create(name, std::chrono::milliseconds(100), &err);
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(err.find("is already running (pid " + std::to_string(getpid()) + ")"),
            std::string::npos)
      << err;
  // The refused one did not remove the live one's file.
  second.reset();
  EXPECT_TRUE(exists(stats_path(name)));
}

TEST(StatsShm, AStaleFileIsReplaced) {
  const std::string name = unique_name("stale");
  const std::string path = stats_path(name);
  // A pid that is gone: a child that has exited and been reaped.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  waitpid(child, nullptr, 0);
  std::vector<char> file(sizeof(StatsFileHeader) + 2 * std::size_t{kStatsSlotBytes});
  StatsFileHeader h{};
  std::memcpy(h.magic, kStatsMagic, sizeof h.magic);
  h.version = kStatsVersion;
  h.slot_bytes = kStatsSlotBytes;
  h.max_records = kStatsMaxRecords;
  h.pid = child;
  std::memcpy(file.data(), &h, sizeof h);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, file.data(), file.size()), static_cast<ssize_t>(file.size()));
  close(fd);

  StatsSnapshot s;
  std::string err;
  EXPECT_EQ(read_stats(name, &s, &err), StatsRead::kNoInstance);
  EXPECT_NE(err.find("which is gone"), std::string::npos) << err;
  auto p = StatsPublisher::create(name, std::chrono::milliseconds(100), &err);
  ASSERT_NE(p, nullptr) << err;
  CounterSet counters;
  p->add_worker(counters, 0, -1);
  p->start(instant_from_ns(0));
  ASSERT_EQ(read_stats(name, &s, &err), StatsRead::kOk) << err;
  EXPECT_EQ(s.pid, getpid());
}

TEST(StatsShm, InstanceNames) {
  std::string err;
  EXPECT_TRUE(valid_instance_name("ustack", &err));
  EXPECT_TRUE(valid_instance_name("web-1_a", &err));
  for (const char* bad : {"", "a/b", "../x", "a b", ".hidden"}) {
    EXPECT_FALSE(valid_instance_name(bad, &err)) << bad;
    EXPECT_EQ(StatsPublisher::create(bad, Duration(0), &err), nullptr) << bad;
  }
  EXPECT_FALSE(valid_instance_name(std::string(65, 'a'), &err));
}

}  // namespace
}  // namespace ustack::app
