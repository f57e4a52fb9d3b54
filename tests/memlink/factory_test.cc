// Opening ports by driver name.
#include "drivers/factory.h"

#include <gtest/gtest.h>

#include "unit/test_pool.h"

namespace ustack {
namespace {

TEST(Factory, MemlinkEndsByNameShareOneLink) {
  VirtualClock clock;
  std::string err;
  auto a = open_port({.driver = "memlink", .iface = "f1", .end = "a"}, clock, &err);
  auto b = open_port({.driver = "memlink", .iface = "f1", .end = "b"}, clock, &err);
  ASSERT_TRUE(a && b) << err;
  auto pool = testing::make_pool(8);
  Mbuf* m = testing::make_frame(*pool, 60);
  ASSERT_EQ(a->tx_burst(0, &m, 1), 1);
  Mbuf* got = nullptr;
  ASSERT_EQ(b->rx_burst(0, &got, 1), 1);
  EXPECT_EQ(got, m);
  mbuf_free(got);
}

TEST(Factory, UnknownDriverAndBadOptionsSayWhatIsWrong) {
  VirtualClock clock;
  std::string err;
  EXPECT_EQ(open_port({.driver = "e1000"}, clock, &err), nullptr);
  EXPECT_NE(err.find("unknown driver 'e1000'"), std::string::npos) << err;
  EXPECT_NE(err.find("memlink"), std::string::npos) << "lists the drivers it has";
  EXPECT_EQ(open_port({.driver = "memlink", .iface = "x", .end = "c"}, clock, &err), nullptr);
  EXPECT_NE(err.find("end must be"), std::string::npos) << err;
}

}  // namespace
}  // namespace ustack
