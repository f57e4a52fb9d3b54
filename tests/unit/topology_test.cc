// Tests of core lists and the machine topology (core/topology.h): parsing and
// formatting "0-3,8" style lists, loading the topology through hwloc,
// checking cores and pinning a thread.

#include "core/topology.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ustack {
namespace {

std::vector<int> parse_ok(const std::string& text) {
  std::vector<int> out;
  std::string error;
  EXPECT_TRUE(parse_core_list(text, &out, &error)) << "'" << text << "': " << error;
  EXPECT_TRUE(error.empty()) << "'" << text << "': " << error;
  return out;
}

// ---------------------------------------------------------------------------
// parse_core_list.

TEST(ParseCoreListTest, Range) {
  EXPECT_EQ(parse_ok("0-1"), (std::vector<int>{0, 1}));
}

TEST(ParseCoreListTest, List) {
  EXPECT_EQ(parse_ok("2,4"), (std::vector<int>{2, 4}));
}

TEST(ParseCoreListTest, RangeAndSingle) {
  EXPECT_EQ(parse_ok("0-3,8"), (std::vector<int>{0, 1, 2, 3, 8}));
}

TEST(ParseCoreListTest, MoreForms) {
  EXPECT_EQ(parse_ok("0"), (std::vector<int>{0}));
  EXPECT_EQ(parse_ok("7"), (std::vector<int>{7}));
  EXPECT_EQ(parse_ok("3-3"), (std::vector<int>{3}));
  EXPECT_EQ(parse_ok("1,3-5,9,11-12"), (std::vector<int>{1, 3, 4, 5, 9, 11, 12}));
  EXPECT_EQ(parse_ok("127"), (std::vector<int>{127}));
  EXPECT_EQ(parse_ok("010"), (std::vector<int>{10}));
  // Order as written is accepted; the contents are what matter.
  std::vector<int> v = parse_ok("8,0-2");
  std::sort(v.begin(), v.end());
  EXPECT_EQ(v, (std::vector<int>{0, 1, 2, 8}));
}

TEST(ParseCoreListTest, ReplacesPreviousContents) {
  std::vector<int> out = {42, 43};
  std::string error;
  ASSERT_TRUE(parse_core_list("5", &out, &error));
  EXPECT_EQ(out, (std::vector<int>{5}));
}

TEST(ParseCoreListTest, NullErrorIsAllowed) {
  std::vector<int> out;
  EXPECT_TRUE(parse_core_list("1-2", &out, nullptr));
  EXPECT_EQ(out, (std::vector<int>{1, 2}));
  EXPECT_FALSE(parse_core_list("x", &out, nullptr));
  EXPECT_TRUE(out.empty());
}

class ParseCoreListErrorTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ParseCoreListErrorTest, Rejected) {
  const std::string text = GetParam();
  std::vector<int> out = {99};  // must be cleared on failure
  std::string error;
  EXPECT_FALSE(parse_core_list(text, &out, &error)) << "'" << text << "'";
  EXPECT_TRUE(out.empty()) << "'" << text << "' left " << out.size() << " cores";
  EXPECT_FALSE(error.empty()) << "'" << text << "'";
  EXPECT_NE(error.find("bad core list"), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(Malformed, ParseCoreListErrorTest,
                         ::testing::Values("", "a", "3-1", "1,1", "1-", "-1", ",",
                                           // further malformed lists
                                           "1,", ",1", "1,,2", "0-2,2", "0-3,1-2", "1-2-3", " 1",
                                           "1 ", "1;2", "0x1", "+1", "1-a", "a-1", "-", "--1",
                                           "99999999999", "0-5000"));

TEST(ParseCoreListTest, ErrorNamesTheProblem) {
  std::vector<int> out;
  std::string error;
  ASSERT_FALSE(parse_core_list("0-2,1", &out, &error));
  EXPECT_NE(error.find("1"), std::string::npos) << error;
  EXPECT_NE(error.find("twice"), std::string::npos) << error;
  ASSERT_FALSE(parse_core_list("3-1", &out, &error));
  EXPECT_NE(error.find("3-1"), std::string::npos) << error;
}

// ---------------------------------------------------------------------------
// format_core_list.

TEST(FormatCoreListTest, Forms) {
  EXPECT_EQ(format_core_list({}), "");
  EXPECT_EQ(format_core_list({0}), "0");
  EXPECT_EQ(format_core_list({0, 1}), "0-1");
  EXPECT_EQ(format_core_list({2, 4}), "2,4");
  EXPECT_EQ(format_core_list({0, 1, 2, 3, 8}), "0-3,8");
  EXPECT_EQ(format_core_list({1, 2, 4, 5, 7}), "1-2,4-5,7");
  EXPECT_EQ(format_core_list({5, 6, 7, 8, 9, 10, 11}), "5-11");
}

TEST(FormatCoreListTest, SortsItsInput) {
  EXPECT_EQ(format_core_list({8, 3, 1, 2, 0}), "0-3,8");
  EXPECT_EQ(format_core_list({4, 2}), "2,4");
}

TEST(FormatCoreListTest, RoundTripsWithParse) {
  // Every subset of 0..11.
  for (unsigned mask = 1; mask < (1u << 12); ++mask) {
    std::vector<int> cores;
    for (int c = 0; c < 12; ++c)
      if (mask & (1u << c)) cores.push_back(c);
    const std::string text = format_core_list(cores);
    std::vector<int> back;
    std::string error;
    ASSERT_TRUE(parse_core_list(text, &back, &error)) << text << ": " << error;
    ASSERT_EQ(back, cores) << text;
  }
}

// ---------------------------------------------------------------------------
// Topology.

class TopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    topo_ = Topology::load(&error);
    ASSERT_NE(topo_, nullptr) << error;
  }
  std::unique_ptr<Topology> topo_;
};

TEST_F(TopologyTest, LoadFindsCores) {
  const std::vector<int>& cores = topo_->cores();
  ASSERT_FALSE(cores.empty());
  EXPECT_TRUE(std::is_sorted(cores.begin(), cores.end()));
  EXPECT_EQ(std::adjacent_find(cores.begin(), cores.end()), cores.end()) << "duplicate cores";
  for (int c : cores) {
    EXPECT_GE(c, 0);
    EXPECT_TRUE(topo_->has_core(c));
  }
  EXPECT_GE(topo_->numa_nodes(), 1);
}

TEST_F(TopologyTest, LoadWithNullError) {
  auto t = Topology::load(nullptr);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->cores(), topo_->cores());
}

// Every CPU in this thread's affinity mask is a core of the topology. (The
// converse need not hold: under taskset the mask is narrower than the cores
// the process may pin itself to.)
TEST_F(TopologyTest, AffinityMaskIsWithinCores) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  int in_mask = 0;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    ++in_mask;
    EXPECT_TRUE(topo_->has_core(c)) << "cpu " << c << " is in the affinity mask";
  }
  EXPECT_GE(in_mask, 1);
}

TEST_F(TopologyTest, HasCoreRejectsMissingCores) {
  EXPECT_FALSE(topo_->has_core(-1));
  EXPECT_FALSE(topo_->has_core(9999));
  EXPECT_FALSE(topo_->has_core(topo_->cores().back() + 1));
}

TEST_F(TopologyTest, NumaNodeOfEveryCoreIsInRange) {
  for (int c : topo_->cores()) {
    EXPECT_GE(topo_->numa_node_of(c), 0);
    EXPECT_LT(topo_->numa_node_of(c), topo_->numa_nodes());
  }
  EXPECT_EQ(topo_->numa_node_of(9999), 0);
}

TEST_F(TopologyTest, DescribeCoresMatchesFormatAndParsesBack) {
  const std::string text = topo_->describe_cores();
  EXPECT_EQ(text, format_core_list(topo_->cores()));
  std::vector<int> back;
  std::string error;
  ASSERT_TRUE(parse_core_list(text, &back, &error)) << error;
  EXPECT_EQ(back, topo_->cores());
}

TEST_F(TopologyTest, CheckCoresAcceptsExistingCores) {
  std::string error;
  EXPECT_TRUE(topo_->check_cores(topo_->cores(), &error)) << error;
  EXPECT_TRUE(topo_->check_cores({topo_->cores().front()}, &error)) << error;
  EXPECT_TRUE(topo_->check_cores({}, &error)) << error;
}

TEST_F(TopologyTest, CheckCoresRejectsMissingCore) {
  std::string error;
  EXPECT_FALSE(topo_->check_cores({topo_->cores().front(), 9999}, &error));
  EXPECT_NE(error.find("does not exist"), std::string::npos) << error;
  EXPECT_NE(error.find("9999"), std::string::npos) << error;
  // The message lists what the machine does have.
  EXPECT_NE(error.find(topo_->describe_cores()), std::string::npos) << error;
  EXPECT_FALSE(topo_->check_cores({9999}, nullptr));
}

TEST_F(TopologyTest, PinCurrentThreadToFirstCore) {
  const int core = topo_->cores().front();
  bool ok = false;
  std::string error;
  int ran_on = -1;
  int allowed = -1;
  bool only_core = false;
  std::thread t([&] {
    ok = topo_->pin_current_thread(core, &error);
    if (!ok) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) == 0) {
      allowed = CPU_COUNT(&set);
      only_core = CPU_ISSET(core, &set);
    }
    ran_on = sched_getcpu();
  });
  t.join();
  ASSERT_TRUE(ok) << error;
  EXPECT_EQ(allowed, 1);
  EXPECT_TRUE(only_core);
  EXPECT_EQ(ran_on, core);
}

TEST_F(TopologyTest, PinToEveryCore) {
  const std::vector<int>& cores = topo_->cores();
  const std::size_t n = std::min<std::size_t>(cores.size(), 8);
  for (std::size_t i = 0; i < n; ++i) {
    const int core = cores[i];
    bool ok = false;
    int ran_on = -1;
    std::string error;
    std::thread t([&] {
      ok = topo_->pin_current_thread(core, &error);
      ran_on = sched_getcpu();
    });
    t.join();
    EXPECT_TRUE(ok) << "core " << core << ": " << error;
    EXPECT_EQ(ran_on, core);
  }
}

TEST_F(TopologyTest, PinToMissingCoreFails) {
  bool ok = true;
  std::string error;
  std::thread t([&] { ok = topo_->pin_current_thread(9999, &error); });
  t.join();
  EXPECT_FALSE(ok);
  EXPECT_NE(error.find("does not exist"), std::string::npos) << error;
  EXPECT_NE(error.find("9999"), std::string::npos) << error;
}

}  // namespace
}  // namespace ustack
