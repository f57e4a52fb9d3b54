// Tests of per-core named counters (core/counters.h): registration by name,
// lookup, name-ordered iteration, aggregation over cores, and reads from
// another thread while the owner increments.

#include "core/counters.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ustack {
namespace {

using Entries = std::vector<std::pair<std::string, std::uint64_t>>;

Entries entries_of(const CounterSet& s) {
  Entries out;
  s.for_each([&](const std::string& name, std::uint64_t v) { out.emplace_back(name, v); });
  return out;
}

TEST(CounterTest, StartsAtZeroAndIncrements) {
  Counter c;
  EXPECT_EQ(c.value(), 0u);
  c.inc();
  EXPECT_EQ(c.value(), 1u);
  c.inc(41);
  EXPECT_EQ(c.value(), 42u);
  c.inc(0);
  EXPECT_EQ(c.value(), 42u);
}

TEST(CounterSetTest, Owner) {
  CounterSet def;
  EXPECT_EQ(def.owner(), "core");
  CounterSet named("worker3");
  EXPECT_EQ(named.owner(), "worker3");
}

TEST(CounterSetTest, GetReturnsSameCounterForSameName) {
  CounterSet s;
  Counter& a = s.get("ipv4.rx");
  Counter& b = s.get("ipv4.rx");
  EXPECT_EQ(&a, &b);
  // A name built at run time (different storage) finds the same counter.
  std::string name = "ipv4.";
  name += "rx";
  EXPECT_EQ(&s.get(name), &a);
  EXPECT_EQ(a.value(), 0u);
  a.inc(5);
  EXPECT_EQ(b.value(), 5u);
}

TEST(CounterSetTest, DifferentNamesAreDifferentCounters) {
  CounterSet s;
  Counter& a = s.get("a");
  Counter& b = s.get("b");
  Counter& ab = s.get("a.b");
  EXPECT_NE(&a, &b);
  EXPECT_NE(&a, &ab);
  EXPECT_NE(&b, &ab);
  a.inc(1);
  b.inc(2);
  ab.inc(3);
  EXPECT_EQ(s.value("a"), 1u);
  EXPECT_EQ(s.value("b"), 2u);
  EXPECT_EQ(s.value("a.b"), 3u);
}

TEST(CounterSetTest, NamesAreCaseAndByteExact) {
  CounterSet s;
  EXPECT_NE(&s.get("Rx"), &s.get("rx"));
  EXPECT_NE(&s.get("rx"), &s.get("rx "));
  EXPECT_NE(&s.get(""), &s.get("rx"));
  EXPECT_EQ(&s.get(""), &s.get(""));
}

TEST(CounterSetTest, ReferencesStayValidAsMoreAreRegistered) {
  CounterSet s;
  Counter& first = s.get("first");
  first.inc(7);
  std::vector<Counter*> seen;
  for (int i = 0; i < 10'000; ++i) seen.push_back(&s.get("c." + std::to_string(i)));
  EXPECT_EQ(&s.get("first"), &first);
  for (int i = 0; i < 10'000; i += 997) EXPECT_EQ(&s.get("c." + std::to_string(i)), seen[i]);
  first.inc();
  EXPECT_EQ(s.value("first"), 8u);
}

TEST(CounterSetTest, ValueOfUnknownNameIsZeroAndDoesNotRegister) {
  CounterSet s;
  EXPECT_EQ(s.value("nope"), 0u);
  EXPECT_TRUE(entries_of(s).empty());
  s.get("yes").inc(3);
  EXPECT_EQ(s.value("nope"), 0u);
  EXPECT_EQ(s.value("yes"), 3u);
  EXPECT_EQ(entries_of(s).size(), 1u);
}

TEST(CounterSetTest, ForEachVisitsInNameOrder) {
  CounterSet s;
  s.get("tcp.rx").inc(4);
  s.get("arp.tx").inc(1);
  s.get("ipv4.drop.bad_checksum").inc(2);
  s.get("ipv4").inc(3);
  s.get("ipv4.drop").inc(5);
  s.get("zzz");
  const Entries want = {{"arp.tx", 1}, {"ipv4", 3}, {"ipv4.drop", 5}, {"ipv4.drop.bad_checksum", 2},
                        {"tcp.rx", 4}, {"zzz", 0}};
  EXPECT_EQ(entries_of(s), want);
}

TEST(CounterSetTest, ForEachOnEmptySetCallsNothing) {
  CounterSet s;
  int calls = 0;
  s.for_each([&](const std::string&, std::uint64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(CounterSetTest, ForEachSeesCurrentValues) {
  CounterSet s;
  Counter& c = s.get("x");
  c.inc(10);
  EXPECT_EQ(entries_of(s), (Entries{{"x", 10}}));
  c.inc(5);
  EXPECT_EQ(entries_of(s), (Entries{{"x", 15}}));
}

TEST(AggregateTest, SumsByNameOverSets) {
  CounterSet core0("core0"), core1("core1"), core2("core2");
  core0.get("rx").inc(10);
  core1.get("rx").inc(20);
  core2.get("rx").inc(30);
  core0.get("tx").inc(1);
  core2.get("tx").inc(2);
  core1.get("drop.only_core1").inc(7);
  core2.get("zero");
  const CounterSet* sets[] = {&core0, &core1, &core2};
  const std::map<std::string, std::uint64_t> want = {
      {"drop.only_core1", 7}, {"rx", 60}, {"tx", 3}, {"zero", 0}};
  EXPECT_EQ(aggregate(sets), want);
  // Aggregation reads, never changes, the sets.
  EXPECT_EQ(core0.value("rx"), 10u);
  EXPECT_EQ(core1.value("rx"), 20u);
  EXPECT_EQ(core0.value("drop.only_core1"), 0u);
}

TEST(AggregateTest, EmptyInputsGiveEmptyResult) {
  EXPECT_TRUE(aggregate({}).empty());
  CounterSet empty;
  const CounterSet* sets[] = {&empty};
  EXPECT_TRUE(aggregate(sets).empty());
}

TEST(AggregateTest, SingleSetIsItsOwnContents) {
  CounterSet s;
  s.get("a").inc(1);
  s.get("b").inc(2);
  const CounterSet* sets[] = {&s};
  const std::map<std::string, std::uint64_t> want = {{"a", 1}, {"b", 2}};
  EXPECT_EQ(aggregate(sets), want);
}

TEST(AggregateTest, ManySets) {
  std::vector<std::unique_ptr<CounterSet>> owned;
  std::vector<const CounterSet*> sets;
  for (int i = 0; i < 16; ++i) {
    owned.push_back(std::make_unique<CounterSet>("core" + std::to_string(i)));
    owned.back()->get("pkts").inc(static_cast<std::uint64_t>(i + 1));
    if (i % 2 == 0) owned.back()->get("even").inc(1);
    sets.push_back(owned.back().get());
  }
  const auto sum = aggregate(sets);
  EXPECT_EQ(sum.at("pkts"), 16u * 17u / 2u);
  EXPECT_EQ(sum.at("even"), 8u);
  EXPECT_EQ(sum.size(), 2u);
}

// The owner increments without locks while another thread reads: every read
// is a value the counter actually had (monotonic), and the last one is exact.
TEST(CounterSetTest, ReaderThreadSeesMonotonicValuesWhileOwnerIncrements) {
  constexpr std::uint64_t kIncrements = 2'000'000;
  CounterSet s("owner");
  Counter& ones = s.get("ones");
  Counter& threes = s.get("threes");
  std::atomic<bool> done{false};
  std::atomic<bool> reader_started{false};
  std::uint64_t reads = 0, backwards = 0, not_multiple = 0, too_big = 0, ordering = 0;
  std::thread reader([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::uint64_t last_ones = 0, last_threes = 0, last_agg = 0;
    const CounterSet* sets[] = {&s};
    reader_started.store(true, std::memory_order_release);
    for (std::uint64_t i = 0; i < 1'000'000'000; ++i) {
      const bool finished = done.load(std::memory_order_acquire);
      // Three ways of reading: the reference, by name, and through for_each.
      std::uint64_t o = 0, t = 0;
      switch (i % 3) {
        case 0:
          o = ones.value();
          t = threes.value();
          break;
        case 1:
          o = s.value("ones");
          t = s.value("threes");
          break;
        default:
          s.for_each([&](const std::string& name, std::uint64_t v) {
            if (name == "ones") o = v;
            if (name == "threes") t = v;
          });
          break;
      }
      ++reads;
      if (o < last_ones || t < last_threes) ++backwards;
      if (t % 3 != 0) ++not_multiple;
      if (o > kIncrements || t > 3 * kIncrements) ++too_big;
      last_ones = o;
      last_threes = t;
      if (i % 64 == 0) {
        const auto agg = aggregate(sets);
        const std::uint64_t a = agg.count("ones") ? agg.at("ones") : 0;
        if (a < last_agg) ++backwards;
        last_agg = a;
      }
      if (finished) {
        // Everything the owner did happened before `done` was set.
        if (o != kIncrements || t != 3 * kIncrements) ++ordering;
        break;
      }
      if ((i & 4095) == 0 && std::chrono::steady_clock::now() > deadline) break;
    }
  });
  // Start incrementing once the reader runs, so the two overlap.
  for (int i = 0; i < 100'000 && !reader_started.load(std::memory_order_acquire); ++i)
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  for (std::uint64_t i = 0; i < kIncrements; ++i) {
    ones.inc();
    threes.inc(3);
  }
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_GT(reads, 0u);
  RecordProperty("reads", static_cast<int>(std::min<std::uint64_t>(reads, 1'000'000'000)));
  EXPECT_EQ(backwards, 0u) << "a reader saw a counter go backwards";
  EXPECT_EQ(not_multiple, 0u) << "a reader saw a torn value";
  EXPECT_EQ(too_big, 0u);
  EXPECT_EQ(ordering, 0u) << "final values not visible after the owner finished";
  EXPECT_EQ(ones.value(), kIncrements);
  EXPECT_EQ(threes.value(), 3 * kIncrements);
  EXPECT_EQ(s.value("ones"), kIncrements);
}

// Registration from another thread (e.g. a control thread adding counters)
// does not disturb counters the owner is incrementing.
TEST(CounterSetTest, RegistrationWhileOwnerIncrements) {
  constexpr std::uint64_t kIncrements = 500'000;
  CounterSet s;
  Counter& hot = s.get("hot");
  std::thread registrar([&] {
    for (int i = 0; i < 20'000; ++i) s.get("reg." + std::to_string(i)).inc();
  });
  for (std::uint64_t i = 0; i < kIncrements; ++i) hot.inc();
  registrar.join();
  EXPECT_EQ(hot.value(), kIncrements);
  EXPECT_EQ(&s.get("hot"), &hot);
  std::uint64_t n = 0, sum = 0;
  s.for_each([&](const std::string& name, std::uint64_t v) {
    if (name.rfind("reg.", 0) == 0) {
      ++n;
      sum += v;
    }
  });
  EXPECT_EQ(n, 20'000u);
  EXPECT_EQ(sum, 20'000u);
}

}  // namespace
}  // namespace ustack
