// The sender's SACK scoreboard: merging blocks, D-SACK detection, and RFC
// 6675 §4's IsLost, SetPipe and NextSeg over it.
#include "proto/tcp/sack_scoreboard.h"

#include <gtest/gtest.h>

#include <vector>

namespace ustack {
namespace {

constexpr std::uint32_t kBase = 0x7ffff000u;  // across the signed midpoint
constexpr std::uint32_t kMss = 1000;

SeqNum at(std::uint32_t rel) {
  return SeqNum(kBase + rel);
}
SeqRange r(std::uint32_t a, std::uint32_t b) {
  return SeqRange{at(a), at(b)};
}

struct Board : ::testing::Test {
  SackScoreboard::Update sack(std::vector<SeqRange> blocks, std::uint32_t una = 0,
                              std::uint32_t max = 10'000, bool* dsack = nullptr) {
    bool d = false;
    auto u = sb.update(blocks, at(una), at(max), &d);
    if (dsack != nullptr) *dsack = d;
    return u;
  }
  SackScoreboard sb;
};

TEST_F(Board, BlocksMergeAndCount) {
  EXPECT_EQ(sack({r(1000, 2000)}), SackScoreboard::Update::kNew);
  EXPECT_EQ(sack({r(3000, 4000), r(1000, 2000)}), SackScoreboard::Update::kNew);
  EXPECT_EQ(sack({r(3000, 4000), r(1000, 2000)}), SackScoreboard::Update::kNothing);
  EXPECT_EQ(sb.ranges(), 2u);
  EXPECT_EQ(sb.sacked_bytes(), 2000u);
  sack({r(2000, 3000)});
  EXPECT_EQ(sb.ranges(), 1u);
  EXPECT_EQ(sb.sacked_bytes(), 3000u);
  EXPECT_EQ(sb.highest(), at(4000));
}

TEST_F(Board, BlocksOutsideTheFlightAreIgnored) {
  EXPECT_EQ(sack({r(9000, 11'000)}), SackScoreboard::Update::kNothing) << "past SND.MAX";
  EXPECT_EQ(sack({r(2000, 1000)}), SackScoreboard::Update::kNothing) << "reversed";
  EXPECT_EQ(sack({r(0, 500)}, 1000), SackScoreboard::Update::kNothing) << "below SND.UNA";
  EXPECT_TRUE(sb.empty());
}

TEST_F(Board, DsackIsRecognisedAndNotCounted) {
  bool dsack = false;
  // RFC 2883 §4: first block below the cumulative ACK.
  sack({r(0, 500), r(2000, 3000)}, 1000, 10'000, &dsack);
  EXPECT_TRUE(dsack);
  EXPECT_EQ(sb.sacked_bytes(), 1000u);
  // First block inside the second.
  sack({r(2000, 2500), r(2000, 3000)}, 1000, 10'000, &dsack);
  EXPECT_TRUE(dsack);
  EXPECT_EQ(sb.sacked_bytes(), 1000u);
  sack({r(4000, 5000), r(2000, 3000)}, 1000, 10'000, &dsack);
  EXPECT_FALSE(dsack);
}

TEST_F(Board, AdvanceForgetsWhatIsAcked) {
  sack({r(1000, 2000), r(3000, 4000)});
  sb.advance(at(1500));
  EXPECT_EQ(sb.sacked_bytes(), 1500u);
  sb.advance(at(4000));
  EXPECT_TRUE(sb.empty());
  EXPECT_EQ(sb.sacked_bytes(), 0u);
}

// RFC 6675 §4 IsLost: "DupThresh discontiguous SACKed sequences" above, or
// "more than (DupThresh - 1) * SMSS bytes with sequence numbers greater".
TEST_F(Board, IsLost) {
  sack({r(1000, 2000)});
  EXPECT_FALSE(sb.is_lost(at(0), kMss));
  sack({r(2000, 3000)});
  EXPECT_FALSE(sb.is_lost(at(0), kMss)) << "exactly 2 SMSS is not more than 2 SMSS";
  sack({r(3000, 3001)});
  EXPECT_TRUE(sb.is_lost(at(0), kMss));
  sb.clear();
  sack({r(1000, 1100), r(1200, 1300), r(1400, 1500)});
  EXPECT_TRUE(sb.is_lost(at(0), kMss)) << "three discontiguous ranges";
  EXPECT_FALSE(sb.is_lost(at(1100), kMss)) << "two above";
}

// RFC 6675 §4 SetPipe.
TEST_F(Board, Pipe) {
  // Flight 0..10000, nothing SACKed: all of it.
  EXPECT_EQ(sb.pipe(at(0), at(10'000), at(0), kMss), 10'000u);
  // 1000..4000 SACKed (3000 bytes above 0..1000: lost); 4000..10000 is not
  // lost (nothing above it).
  sack({r(1000, 4000)});
  EXPECT_EQ(sb.pipe(at(0), at(10'000), at(0), kMss), 6000u);
  // The lost hole retransmitted: counts again.
  EXPECT_EQ(sb.pipe(at(0), at(10'000), at(1000), kMss), 7000u);
  // A hole with little above it is still in flight.
  sb.clear();
  sack({r(8000, 9000)});
  EXPECT_EQ(sb.pipe(at(0), at(10'000), at(0), kMss), 9000u);
}

// RFC 6675 §4 NextSeg rules (1) and (3).
TEST_F(Board, NextHole) {
  sack({r(1000, 2000), r(3000, 4000), r(5000, 6000), r(7000, 8000)});
  auto h = sb.next_hole(at(0), at(0), kMss, true);
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, r(0, 1000));
  h = sb.next_hole(at(500), at(0), kMss, true);
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, r(500, 1000));
  h = sb.next_hole(at(1000), at(0), kMss, true);
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, r(2000, 3000));
  // 4000..5000 has two ranges, 2000 bytes, above: not lost (not more than
  // 2 SMSS), nor is anything after it.
  EXPECT_FALSE(sb.next_hole(at(3000), at(0), kMss, true));
  h = sb.next_hole(at(3000), at(0), kMss, false);
  ASSERT_TRUE(h) << "rule 3 takes it all the same";
  EXPECT_EQ(*h, r(4000, 5000));
  h = sb.next_hole(at(5000), at(0), kMss, false);
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, r(6000, 7000));
  EXPECT_FALSE(sb.next_hole(at(8000), at(0), kMss, false)) << "nothing SACKed above";
}

TEST_F(Board, RangesAreCapped) {
  for (std::uint32_t i = 0; i < 200; ++i) sack({r(20 * i + 10, 20 * i + 15)}, 0, 10'000);
  EXPECT_EQ(sb.ranges(), SackScoreboard::kMaxRanges);
  EXPECT_EQ(sb.sacked_bytes(), 5 * SackScoreboard::kMaxRanges);
  EXPECT_EQ(sb.highest(), at(20 * (SackScoreboard::kMaxRanges - 1) + 15)) << "the lowest kept";
}

}  // namespace
}  // namespace ustack
