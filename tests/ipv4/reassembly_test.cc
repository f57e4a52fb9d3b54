// Tests of IPv4 fragment reassembly (proto/ipv4_reassembly.h): in order,
// reversed and shuffled arrival, duplicates, overlaps, tiny and zero-length
// fragments, the 65515-byte payload limit, inconsistent ends, the timeout,
// the memory, fragment and table caps, many concurrent datagrams, churn of
// the lookup table against a model, and multi-segment fragments. Every
// payload byte is a known function of its position in the datagram and every
// reassembled chain is checked byte for byte; every test ends with the pool
// empty (nothing leaked).

#include "proto/ipv4_reassembly.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/counters.h"
#include "core/mbuf.h"
#include "core/mbuf_pool.h"
#include "core/random.h"
#include "core/timer_wheel.h"
#include "proto/ip_addr.h"
#include "unit/test_pool.h"

namespace ustack {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::uint16_t kDataRoom = 2048;

// The byte at `pos` of datagram `seed`. Not periodic in 256, so fragments
// linked in the wrong order are caught.
std::byte pattern(std::uint32_t pos, std::uint8_t seed) {
  return std::byte(static_cast<std::uint8_t>(pos * 31 + (pos >> 8) * 7 + seed * 101u));
}

struct Frag {
  std::uint32_t off;
  std::uint32_t len;
  bool mf;
};

// A datagram of `total` bytes cut into fragments of `size` (a multiple of 8).
std::vector<Frag> split(std::uint32_t total, std::uint32_t size) {
  std::vector<Frag> out;
  for (std::uint32_t off = 0; off < total; off += size) {
    const std::uint32_t len = std::min(size, total - off);
    out.push_back({off, len, off + len < total});
  }
  return out;
}

FragmentKey key_of(std::uint32_t n) {
  return {IpAddr::v4(Ipv4Addr::from_u32(0x0a000000u + (n >> 16))),
          IpAddr::v4(Ipv4Addr::from_u32(0x0a010002u)), static_cast<std::uint16_t>(n), 17};
}

class ReassemblyTest : public ::testing::Test {
 protected:
  void SetUp() override { make(ReassemblyConfig{}); }

  void TearDown() override {
    reasm_.reset();
    EXPECT_EQ(wheel_.size(), 0u) << "a timer outlived its datagram";
    EXPECT_EQ(pool_->in_use(), 0u) << "mbufs leaked";
  }

  void make(const ReassemblyConfig& cfg) {
    reasm_.reset();
    ReassemblyConfig c = cfg;
    if (c.hash_seed == 0) c.hash_seed = 0x5eed;
    reasm_ = std::make_unique<Ipv4Reassembler>(c, wheel_, counters_);
  }

  // A fragment's payload: bytes [off, off + len) of datagram `seed`, cut into
  // segments of at most `seg` bytes.
  Mbuf* fragment(std::uint32_t off, std::uint32_t len, std::uint8_t seed,
                 std::uint32_t seg = kDataRoom) {
    Mbuf* head = nullptr;
    std::uint32_t done = 0;
    do {
      Mbuf* m = pool_->alloc();
      EXPECT_NE(m, nullptr) << "test pool exhausted";
      if (m == nullptr) break;
      const auto n = static_cast<std::uint16_t>(std::min(seg, len - done));
      std::byte* p = m->append(n);
      for (std::uint16_t i = 0; i < n; ++i) p[i] = pattern(off + done + i, seed);
      done += n;
      if (head == nullptr) {
        head = m;
      } else {
        head->chain(m);
      }
    } while (done < len);
    return head;
  }

  Mbuf* add(const FragmentKey& k, std::uint32_t off, std::uint32_t len, bool mf,
            std::uint8_t seed = 0, std::uint32_t seg = kDataRoom) {
    return reasm_->add(k, off, mf, fragment(off, len, seed, seg), clock_.now());
  }
  Mbuf* add(const FragmentKey& k, const Frag& f, std::uint8_t seed = 0) {
    return add(k, f.off, f.len, f.mf, seed);
  }

  // Adds every fragment in order; all but the last must return nullptr.
  MbufPtr add_all(const FragmentKey& k, const std::vector<Frag>& frags, std::uint8_t seed = 0) {
    for (std::size_t i = 0; i + 1 < frags.size(); ++i) {
      Mbuf* m = add(k, frags[i], seed);
      EXPECT_EQ(m, nullptr) << "completed early at fragment " << i;
      if (m != nullptr) mbuf_free(m);
    }
    return MbufPtr(add(k, frags.back(), seed));
  }

  // Checks a reassembled chain: lengths, segment count, every byte.
  static void expect_datagram(const Mbuf* m, std::uint32_t total, std::uint8_t seed) {
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->pkt_len, total);
    std::uint32_t segs = 0;
    std::uint32_t bytes = 0;
    for (const Mbuf* s = m; s != nullptr; s = s->next) {
      ++segs;
      bytes += s->data_len;
    }
    EXPECT_EQ(segs, m->nb_segs);
    EXPECT_EQ(bytes, total);
    std::vector<std::byte> buf(total);
    ASSERT_EQ(mbuf_read(m, 0, buf), total);
    for (std::uint32_t i = 0; i < total; ++i) {
      if (buf[i] != pattern(i, seed)) {
        ADD_FAILURE() << "byte " << i << " of " << total << " differs";
        return;
      }
    }
  }

  void advance(Duration d) {
    clock_.advance(d);
    wheel_.advance(clock_.now());
  }

  std::uint64_t count(const char* name) const { return counters_.value(name); }
  std::uint32_t buf_len() const { return pool_->headroom() + pool_->data_room(); }

  VirtualClock clock_;
  TimerWheel wheel_{clock_.now()};
  CounterSet counters_;
  std::unique_ptr<MbufPool> pool_ = testing::make_pool(4096, kDataRoom, "reasm");
  std::unique_ptr<Ipv4Reassembler> reasm_;
};

// ---------------------------------------------------------------------------
// Arrival orders.

TEST_F(ReassemblyTest, CountersRegisteredAtConstruction) {
  std::vector<std::string> names;
  counters_.for_each([&](const std::string& n, std::uint64_t) { names.push_back(n); });
  for (const char* n : {Ipv4Reassembler::kCounterOk, Ipv4Reassembler::kCounterTimeout,
                        Ipv4Reassembler::kCounterOverlap, Ipv4Reassembler::kCounterTooBig,
                        Ipv4Reassembler::kCounterBadEnd, Ipv4Reassembler::kCounterTooManyFrags,
                        Ipv4Reassembler::kCounterMemCap, Ipv4Reassembler::kCounterTableFull,
                        Ipv4Reassembler::kCounterDuplicate, Ipv4Reassembler::kCounterBadLength}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
}

TEST_F(ReassemblyTest, InOrder) {
  const auto frags = split(5000, 1480);
  ASSERT_EQ(frags.size(), 4u);
  MbufPtr m = add_all(key_of(1), frags, 3);
  expect_datagram(m.get(), 5000, 3);
  EXPECT_EQ(m->nb_segs, 4);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterOk), 1u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(reasm_->bytes_held(), 0u);
  EXPECT_EQ(wheel_.size(), 0u) << "timer cancelled on completion";
}

TEST_F(ReassemblyTest, Reversed) {
  auto frags = split(7000, 1480);
  std::reverse(frags.begin(), frags.end());
  MbufPtr m = add_all(key_of(1), frags, 9);
  expect_datagram(m.get(), 7000, 9);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(reasm_->bytes_held(), 0u);
}

TEST_F(ReassemblyTest, HeldBytesAreBufferBytes) {
  EXPECT_EQ(add(key_of(1), 0, 64, true), nullptr);
  EXPECT_EQ(reasm_->bytes_held(), buf_len()) << "a 64-byte fragment pins a whole buffer";
  EXPECT_EQ(add(key_of(1), 128, 8, true), nullptr);
  EXPECT_EQ(reasm_->bytes_held(), 2u * buf_len());
  EXPECT_EQ(reasm_->datagrams(), 1u);
  EXPECT_EQ(pool_->in_use(), 2u);
}

TEST_F(ReassemblyTest, RandomOrderSeeded) {
  Rng rng(20240611);
  for (int trial = 0; trial < 300; ++trial) {
    const auto total = static_cast<std::uint32_t>(1 + rng.below(20000));
    // At most 64 fragments (the default cap), each but the last a multiple
    // of 8 bytes.
    const auto pieces = static_cast<std::uint32_t>(1 + rng.below(64));
    const std::uint32_t size =
        std::max<std::uint32_t>(8, ((total + pieces - 1) / pieces + 7) / 8 * 8);
    auto frags = split(total, size);
    ASSERT_LE(frags.size(), 64u);
    for (std::size_t i = frags.size(); i > 1; --i) std::swap(frags[i - 1], frags[rng.below(i)]);
    const auto seed = static_cast<std::uint8_t>(trial);
    MbufPtr m = add_all(key_of(static_cast<std::uint32_t>(trial)), frags, seed);
    expect_datagram(m.get(), total, seed);
    ASSERT_EQ(reasm_->datagrams(), 0u) << "trial " << trial;
  }
  EXPECT_EQ(count(Ipv4Reassembler::kCounterOk), 300u);
  EXPECT_EQ(reasm_->bytes_held(), 0u);
}

TEST_F(ReassemblyTest, MultiSegmentFragments) {
  // Fragments that are chains themselves (as from a receive path with small
  // buffers): 3 fragments of 3000 bytes in 700-byte segments.
  const FragmentKey k = key_of(5);
  EXPECT_EQ(add(k, 6000, 1000, false, 4, 700), nullptr);
  EXPECT_EQ(add(k, 0, 3000, true, 4, 700), nullptr);
  EXPECT_EQ(reasm_->bytes_held(), 7u * buf_len()) << "every segment's buffer counts";
  MbufPtr m(add(k, 3000, 3000, true, 4, 700));
  expect_datagram(m.get(), 7000, 4);
  EXPECT_EQ(m->nb_segs, 5 + 5 + 2);
}

TEST_F(ReassemblyTest, ReassembledHeadLosesL4ChecksumFlags) {
  const FragmentKey k = key_of(1);
  Mbuf* first = fragment(0, 1480, 0);
  first->ol_flags = ol::kRxIpCksumGood | ol::kRxL4CksumGood;
  EXPECT_EQ(add(k, 1480, 100, false), nullptr);
  MbufPtr m(reasm_->add(k, 0, true, first, clock_.now()));
  ASSERT_EQ(m.get(), first) << "fragment zero's first segment heads the result";
  EXPECT_EQ(m->ol_flags, ol::kRxIpCksumGood);
  expect_datagram(m.get(), 1580, 0);
}

TEST_F(ReassemblyTest, WholeDatagramPassesThrough) {
  Mbuf* in = fragment(0, 300, 2);
  in->ol_flags = ol::kRxL4CksumGood;
  MbufPtr m(reasm_->add(key_of(1), 0, false, in, clock_.now()));
  ASSERT_EQ(m.get(), in);
  EXPECT_EQ(m->ol_flags, ol::kRxL4CksumGood) << "a whole datagram keeps the NIC's verdict";
  expect_datagram(m.get(), 300, 2);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(wheel_.size(), 0u);
}

// ---------------------------------------------------------------------------
// Duplicates and overlaps.

TEST_F(ReassemblyTest, DuplicatedFragments) {
  const FragmentKey k = key_of(1);
  const auto f = split(3000, 1000);  // [0,1000) [1000,2000) [2000,3000)
  // Before completion: every copy of the first and the last, twice each.
  EXPECT_EQ(add(k, f[0]), nullptr);
  EXPECT_EQ(add(k, f[0]), nullptr);
  EXPECT_EQ(add(k, f[2]), nullptr);
  EXPECT_EQ(add(k, f[2]), nullptr);
  EXPECT_EQ(add(k, f[0]), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterDuplicate), 3u);
  EXPECT_EQ(pool_->in_use(), 2u) << "duplicates are freed at once";
  MbufPtr m(add(k, f[1]));
  expect_datagram(m.get(), 3000, 0);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterOverlap), 0u);
  m.reset();

  // A copy arriving after completion starts a new record, which times out.
  EXPECT_EQ(add(k, f[1]), nullptr);
  EXPECT_EQ(reasm_->datagrams(), 1u);
  advance(seconds(30));
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTimeout), 1u);
}

TEST_F(ReassemblyTest, DuplicateWithOtherContentKeepsTheFirstCopy) {
  const FragmentKey k = key_of(1);
  EXPECT_EQ(add(k, 0, 1000, true, 6), nullptr);
  EXPECT_EQ(add(k, 0, 1000, true, 99), nullptr);  // same place, other bytes
  EXPECT_EQ(count(Ipv4Reassembler::kCounterDuplicate), 1u);
  MbufPtr m(add(k, 1000, 10, false, 6));
  expect_datagram(m.get(), 1010, 6);
}

TEST_F(ReassemblyTest, ContainedExactDuplicateIsReassembled) {
  // A fragment contained in what is held, and equal to a held fragment, is
  // a duplicate: the datagram is answered.
  const FragmentKey k = key_of(1);
  EXPECT_EQ(add(k, 0, 8, true), nullptr);
  EXPECT_EQ(add(k, 8, 8, true), nullptr);
  EXPECT_EQ(add(k, 16, 8, true), nullptr);
  EXPECT_EQ(add(k, 8, 8, true), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterDuplicate), 1u);
  MbufPtr m(add(k, 24, 5, false));
  expect_datagram(m.get(), 29, 0);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterOk), 1u);
}

TEST_F(ReassemblyTest, StrictlyContainedFragmentDiscardsDatagram) {
  const FragmentKey k = key_of(1);
  EXPECT_EQ(add(k, 0, 1480, true), nullptr);
  EXPECT_EQ(add(k, 2960, 100, false), nullptr);
  EXPECT_EQ(add(k, 8, 16, true), nullptr);  // inside [0, 1480)
  EXPECT_EQ(count(Ipv4Reassembler::kCounterOverlap), 1u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(reasm_->bytes_held(), 0u);
  EXPECT_EQ(pool_->in_use(), 0u) << "the datagram and the fragment are freed";
  EXPECT_EQ(wheel_.size(), 0u);
}

TEST_F(ReassemblyTest, PartialOverlapDiscardsDatagram) {
  struct Case {
    Frag held;
    Frag next;
  };
  const Case cases[] = {
      {{0, 1480, true}, {1472, 528, false}},      // overlaps the end of what is held
      {{1480, 520, false}, {0, 1488, true}},      // overlaps the start of what is held
      {{0, 1480, true}, {0, 1000, true}},         // same offset, shorter
      {{0, 1000, true}, {0, 1480, true}},         // same offset, longer
      {{800, 200, false}, {0, 1600, true}},       // covers what is held
      {{1000, 1000, true}, {1000, 1000, false}},  // same place, other MF: not a duplicate
  };
  std::uint64_t expected = 0;
  for (const Case& c : cases) {
    const FragmentKey k = key_of(static_cast<std::uint32_t>(expected));
    EXPECT_EQ(add(k, c.held), nullptr);
    EXPECT_EQ(add(k, c.next), nullptr);
    ++expected;
    EXPECT_EQ(count(Ipv4Reassembler::kCounterOverlap), expected);
    EXPECT_EQ(reasm_->datagrams(), 0u);
    EXPECT_EQ(pool_->in_use(), 0u);
  }
  EXPECT_EQ(count(Ipv4Reassembler::kCounterDuplicate), 0u);

  // Later fragments of a discarded datagram start a new record that can
  // only time out.
  const FragmentKey k = key_of(100);
  EXPECT_EQ(add(k, 0, 1480, true), nullptr);
  EXPECT_EQ(add(k, 1400, 80, true), nullptr);
  EXPECT_EQ(add(k, 1480, 100, false), nullptr);
  EXPECT_EQ(reasm_->datagrams(), 1u);
  advance(seconds(30));
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTimeout), 1u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
}

TEST_F(ReassemblyTest, InconsistentEndsDiscardDatagram) {
  // A second last fragment with another end.
  EXPECT_EQ(add(key_of(1), 1480, 100, false), nullptr);
  EXPECT_EQ(add(key_of(1), 2960, 100, false), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterBadEnd), 1u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  // Data past the end fixed by the last fragment.
  EXPECT_EQ(add(key_of(2), 1480, 100, false), nullptr);
  EXPECT_EQ(add(key_of(2), 1584, 8, true), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterBadEnd), 2u);
  // A last fragment ending before data already held.
  EXPECT_EQ(add(key_of(3), 2960, 800, true), nullptr);
  EXPECT_EQ(add(key_of(3), 1480, 100, false), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterBadEnd), 3u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(pool_->in_use(), 0u);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterOverlap), 0u);
}

// ---------------------------------------------------------------------------
// Lengths and limits.

TEST_F(ReassemblyTest, TinyFragments) {
  // 8-byte fragments, 64 of them (the default cap), in a shuffled order.
  auto frags = split(64 * 8, 8);
  ASSERT_EQ(frags.size(), 64u);
  Rng rng(7);
  for (std::size_t i = frags.size(); i > 1; --i) std::swap(frags[i - 1], frags[rng.below(i)]);
  MbufPtr m = add_all(key_of(1), frags, 11);
  expect_datagram(m.get(), 512, 11);
  EXPECT_EQ(m->nb_segs, 64);
  // And a 1-byte last fragment after 8-byte ones.
  auto odd = split(17, 8);
  ASSERT_EQ(odd.back().len, 1u);
  MbufPtr m2 = add_all(key_of(2), odd, 12);
  expect_datagram(m2.get(), 17, 12);
}

TEST_F(ReassemblyTest, ZeroLengthAndMisalignedFragmentsAreDroppedAlone) {
  const FragmentKey k = key_of(1);
  EXPECT_EQ(add(k, 0, 1000, true), nullptr);
  EXPECT_EQ(add(k, 1000, 0, true), nullptr);    // zero-length, not last
  EXPECT_EQ(add(k, 1500, 0, false), nullptr);   // zero-length last
  EXPECT_EQ(add(k, 1000, 0, false), nullptr);   // zero-length last at the true end
  EXPECT_EQ(add(k, 1000, 100, true), nullptr);  // not last, length not a multiple of 8
  EXPECT_EQ(reasm_->add(k, 1004, true, fragment(1004, 8, 0), clock_.now()), nullptr);  // offset
  EXPECT_EQ(count(Ipv4Reassembler::kCounterBadLength), 5u);
  EXPECT_EQ(reasm_->datagrams(), 1u) << "the datagram survives";
  EXPECT_EQ(pool_->in_use(), 1u);
  MbufPtr m(add(k, 1000, 500, false));
  expect_datagram(m.get(), 1500, 0);
  // A zero-length fragment of an unknown datagram opens nothing.
  EXPECT_EQ(add(key_of(2), 0, 0, true), nullptr);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterBadLength), 6u);
}

TEST_F(ReassemblyTest, LargestDatagramIsReassembled) {
  // 65515 = 65535 - 20: the largest payload of a datagram, in 1480-byte
  // fragments (45 of them), the last one ending exactly at the limit.
  auto frags = split(Ipv4Reassembler::kMaxPayload, 1480);
  std::reverse(frags.begin(), frags.end());
  MbufPtr m = add_all(key_of(1), frags, 5);
  expect_datagram(m.get(), 65515, 5);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTooBig), 0u);
}

TEST_F(ReassemblyTest, BeyondLargestPayloadIsRefused) {
  // Alone: the 8 bytes at offset 65512 end at 65520 ("ping of death").
  EXPECT_EQ(add(key_of(1), 65512, 8, false), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTooBig), 1u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  // One byte over, after other fragments: the whole datagram goes.
  const FragmentKey k = key_of(2);
  EXPECT_EQ(add(k, 0, 1480, true), nullptr);
  EXPECT_EQ(add(k, 1480, 1480, true), nullptr);
  EXPECT_EQ(add(k, 64040, 1476, false), nullptr);  // ends at 65516
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTooBig), 2u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(pool_->in_use(), 0u);
  // The largest offset the header can carry (8191 * 8), not last.
  EXPECT_EQ(add(key_of(3), 8191 * 8, 8, true), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTooBig), 3u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
}

// ---------------------------------------------------------------------------
// Time.

TEST_F(ReassemblyTest, MissingLastFragmentTimesOut) {
  const FragmentKey k = key_of(1);
  const auto frags = split(4000, 1000);
  for (std::size_t i = 0; i + 1 < frags.size(); ++i) EXPECT_EQ(add(k, frags[i]), nullptr);
  EXPECT_EQ(pool_->in_use(), 3u);
  EXPECT_EQ(wheel_.size(), 1u) << "one timer per datagram, not per fragment";
  advance(seconds(30) - milliseconds(1));
  EXPECT_EQ(reasm_->datagrams(), 1u) << "not before 30 s";
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTimeout), 0u);
  advance(milliseconds(1));
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(reasm_->bytes_held(), 0u);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTimeout), 1u);
  EXPECT_EQ(pool_->in_use(), 0u) << "the timeout frees every fragment";
  // The missing fragment now starts a new datagram.
  EXPECT_EQ(add(k, frags.back()), nullptr);
  EXPECT_EQ(reasm_->datagrams(), 1u);
  advance(seconds(30));
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTimeout), 2u);
}

TEST_F(ReassemblyTest, TimeoutRunsFromTheFirstFragment) {
  // RFC 1122 §3.3.2: a fixed timeout, not restarted by later fragments.
  const FragmentKey k = key_of(1);
  EXPECT_EQ(add(k, 0, 1000, true), nullptr);
  advance(seconds(20));
  EXPECT_EQ(add(k, 2000, 1000, false), nullptr);
  advance(seconds(10));
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTimeout), 1u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
}

TEST_F(ReassemblyTest, CompletesJustBeforeTimeout) {
  const FragmentKey k = key_of(1);
  EXPECT_EQ(add(k, 1000, 1000, false, 8), nullptr);
  advance(seconds(30) - milliseconds(1));
  MbufPtr m(add(k, 0, 1000, true, 8));
  expect_datagram(m.get(), 2000, 8);
  advance(seconds(60));
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTimeout), 0u);
}

TEST_F(ReassemblyTest, CustomTimeout) {
  ReassemblyConfig cfg;
  cfg.timeout = seconds(2);
  make(cfg);
  EXPECT_EQ(add(key_of(1), 0, 1000, true), nullptr);
  advance(seconds(1));
  EXPECT_EQ(reasm_->datagrams(), 1u);
  advance(seconds(1));
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTimeout), 1u);
}

// ---------------------------------------------------------------------------
// Caps.

TEST_F(ReassemblyTest, MemoryCapEvictsOldestDatagram) {
  ReassemblyConfig cfg;
  cfg.max_bytes = 3 * std::size_t{buf_len()};
  make(cfg);
  // Three datagrams hold one buffer each: the cap is reached.
  for (std::uint32_t d = 1; d <= 3; ++d) {
    EXPECT_EQ(add(key_of(d), 0, 1000, true, static_cast<std::uint8_t>(d)), nullptr);
    advance(seconds(1));
  }
  EXPECT_EQ(reasm_->bytes_held(), 3u * buf_len());
  // A fragment that completes its datagram is not held, so it evicts nothing.
  MbufPtr m2(add(key_of(2), 1000, 10, false, 2));
  expect_datagram(m2.get(), 1010, 2);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterMemCap), 0u);
  m2.reset();
  EXPECT_EQ(add(key_of(4), 0, 1000, true, 4), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterMemCap), 0u);
  // A fourth held buffer: the oldest datagram (1) makes way.
  EXPECT_EQ(add(key_of(5), 0, 1000, true, 5), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterMemCap), 1u);
  EXPECT_EQ(reasm_->datagrams(), 3u);
  EXPECT_EQ(reasm_->bytes_held(), 3u * buf_len());
  EXPECT_EQ(pool_->in_use(), 3u);
  // Datagram 1's last fragment now opens a new record instead of completing.
  EXPECT_EQ(add(key_of(1), 1000, 10, false, 1), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterMemCap), 2u) << "datagram 3 was the oldest";
  // The survivors still complete.
  MbufPtr m4(add(key_of(4), 1000, 10, false, 4));
  expect_datagram(m4.get(), 1010, 4);
  MbufPtr m5(add(key_of(5), 1000, 10, false, 5));
  expect_datagram(m5.get(), 1010, 5);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterOk), 3u);
  EXPECT_EQ(reasm_->datagrams(), 1u);
}

TEST_F(ReassemblyTest, MemoryCapDiscardsADatagramTooLargeForIt) {
  ReassemblyConfig cfg;
  cfg.max_bytes = 3 * std::size_t{buf_len()};
  make(cfg);
  const FragmentKey k = key_of(1);
  for (std::uint32_t i = 0; i < 3; ++i) EXPECT_EQ(add(k, i * 1000, 1000, true), nullptr);
  EXPECT_EQ(add(k, 3000, 1000, true), nullptr);  // would hold 4 buffers
  EXPECT_EQ(count(Ipv4Reassembler::kCounterMemCap), 1u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(reasm_->bytes_held(), 0u);
  EXPECT_EQ(pool_->in_use(), 0u);
  // A fragment larger than the whole cap is refused outright.
  EXPECT_EQ(add(key_of(2), 0, 4000, true, 0, 1000), nullptr);  // 4 segments
  EXPECT_EQ(count(Ipv4Reassembler::kCounterMemCap), 2u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
}

TEST_F(ReassemblyTest, FragmentCap) {
  ReassemblyConfig cfg;
  cfg.max_fragments_per_datagram = 4;
  make(cfg);
  // Exactly 4 fragments: fine.
  MbufPtr m = add_all(key_of(1), split(32, 8), 1);
  expect_datagram(m.get(), 32, 1);
  m.reset();
  // 5 fragments: the fifth discards the datagram, even if it would complete it.
  const auto frags = split(40, 8);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(add(key_of(2), frags[i]), nullptr);
  EXPECT_EQ(add(key_of(2), frags[4]), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTooManyFrags), 1u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(pool_->in_use(), 0u);
  // A duplicate at the cap is still just a duplicate.
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(add(key_of(3), frags[i]), nullptr);
  EXPECT_EQ(add(key_of(3), frags[2]), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterDuplicate), 1u);
  EXPECT_EQ(reasm_->datagrams(), 1u);
}

TEST_F(ReassemblyTest, ManyConcurrentDatagrams) {
  ReassemblyConfig cfg;
  cfg.max_bytes = std::size_t{64} << 20;  // the datagram cap binds, not memory
  make(cfg);
  constexpr std::uint32_t kDatagrams = 1024;  // the default max_datagrams
  // Every datagram's first two fragments, interleaved...
  struct Pending {
    std::uint32_t d;
    Frag f;
  };
  std::vector<Pending> firsts;
  std::vector<Pending> lasts;
  for (std::uint32_t d = 0; d < kDatagrams; ++d) {
    const std::uint32_t total = 1000 + (d % 7) * 200;
    const auto frags = split(total, 496);  // 3 to 5 fragments
    for (std::size_t i = 0; i + 1 < frags.size(); ++i) firsts.push_back({d, frags[i]});
    lasts.push_back({d, frags.back()});
  }
  Rng rng(99);
  for (std::size_t i = firsts.size(); i > 1; --i) std::swap(firsts[i - 1], firsts[rng.below(i)]);
  for (std::size_t i = lasts.size(); i > 1; --i) std::swap(lasts[i - 1], lasts[rng.below(i)]);
  for (const Pending& p : firsts) {
    ASSERT_EQ(add(key_of(p.d * 7919), p.f, static_cast<std::uint8_t>(p.d)), nullptr);
  }
  EXPECT_EQ(reasm_->datagrams(), kDatagrams);
  EXPECT_EQ(wheel_.size(), kDatagrams);
  EXPECT_EQ(reasm_->bytes_held(), std::size_t{pool_->in_use()} * buf_len());
  // ...then the last ones, in another order: each completes its datagram.
  for (const Pending& p : lasts) {
    MbufPtr m(add(key_of(p.d * 7919), p.f, static_cast<std::uint8_t>(p.d)));
    expect_datagram(m.get(), p.f.off + p.f.len, static_cast<std::uint8_t>(p.d));
  }
  EXPECT_EQ(count(Ipv4Reassembler::kCounterOk), kDatagrams);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTableFull), 0u);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterMemCap), 0u);
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(reasm_->bytes_held(), 0u);
}

TEST_F(ReassemblyTest, TableFullEvictsOldest) {
  ReassemblyConfig cfg;
  cfg.max_datagrams = 4;
  make(cfg);
  for (std::uint32_t d = 0; d < 4; ++d) {
    EXPECT_EQ(add(key_of(d), 0, 800, true, static_cast<std::uint8_t>(d)), nullptr);
  }
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTableFull), 0u);
  EXPECT_EQ(add(key_of(4), 0, 800, true, 4), nullptr);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTableFull), 1u);
  EXPECT_EQ(reasm_->datagrams(), 4u);
  EXPECT_EQ(pool_->in_use(), 4u);
  EXPECT_EQ(wheel_.size(), 4u);
  // Datagram 0 went; 1..4 complete.
  for (std::uint32_t d = 1; d <= 4; ++d) {
    MbufPtr m(add(key_of(d), 800, 8, false, static_cast<std::uint8_t>(d)));
    expect_datagram(m.get(), 808, static_cast<std::uint8_t>(d));
  }
  EXPECT_EQ(reasm_->datagrams(), 0u);
}

TEST_F(ReassemblyTest, LookupTableChurnMatchesModel) {
  // Random opens, completions, duplicates, overlaps and timeouts over a small
  // table, checked against a model; exercises probing and backward-shift
  // deletion with colliding keys.
  ReassemblyConfig cfg;
  cfg.max_datagrams = 64;  // 128 slots
  cfg.timeout = seconds(5);
  make(cfg);
  Rng rng(4242);
  // For each key: which fragment is held, [0,8) MF, [8,16) last or the
  // overlapping [0,16) MF, and when its record was opened.
  struct State {
    int held;  // 0, 1 or 2
    Instant opened;
  };
  std::map<std::uint32_t, State> model;
  std::uint64_t ok = 0;
  std::uint64_t dup = 0;
  std::uint64_t overlap = 0;
  std::uint64_t timeouts = 0;
  for (int step = 0; step < 50000; ++step) {
    if (rng.below(100) == 0) {
      advance(milliseconds(static_cast<std::int64_t>(rng.below(3000))));
      for (auto it = model.begin(); it != model.end();) {
        if (clock_.now() - it->second.opened >= seconds(5)) {
          ++timeouts;
          it = model.erase(it);
        } else {
          ++it;
        }
      }
      ASSERT_EQ(count(Ipv4Reassembler::kCounterTimeout), timeouts);
      continue;
    }
    const auto k = static_cast<std::uint32_t>(rng.below(60));
    const auto which = static_cast<int>(rng.below(3));  // 2: an overlapping fragment
    const FragmentKey key = key_of(k);
    Mbuf* out = nullptr;
    if (which == 2) {
      out = add(key, 0, 16, true, static_cast<std::uint8_t>(k));
    } else {
      out = add(key, static_cast<std::uint32_t>(which) * 8, 8, which == 0,
                static_cast<std::uint8_t>(k));
    }
    auto it = model.find(k);
    if (it == model.end()) {
      ASSERT_EQ(out, nullptr);
      model[k] = {which, clock_.now()};
    } else if (it->second.held == which) {
      ASSERT_EQ(out, nullptr);
      ++dup;
    } else if (which == 2 || it->second.held == 2) {
      ASSERT_EQ(out, nullptr);
      ++overlap;
      model.erase(it);
    } else {
      ASSERT_NE(out, nullptr) << "step " << step;
      expect_datagram(out, 16, static_cast<std::uint8_t>(k));
      mbuf_free(out);
      ++ok;
      model.erase(it);
    }
    ASSERT_EQ(reasm_->datagrams(), model.size());
  }
  EXPECT_EQ(count(Ipv4Reassembler::kCounterOk), ok);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterDuplicate), dup);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterOverlap), overlap);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTableFull), 0u);
  EXPECT_GT(ok, 1000u);
  EXPECT_GT(overlap, 1000u);
  EXPECT_GT(timeouts, 10u);
}

TEST_F(ReassemblyTest, ClearFreesEverything) {
  for (std::uint32_t d = 0; d < 10; ++d) EXPECT_EQ(add(key_of(d), 0, 1000, true), nullptr);
  EXPECT_EQ(pool_->in_use(), 10u);
  reasm_->clear();
  EXPECT_EQ(reasm_->datagrams(), 0u);
  EXPECT_EQ(reasm_->bytes_held(), 0u);
  EXPECT_EQ(pool_->in_use(), 0u);
  EXPECT_EQ(wheel_.size(), 0u);
  EXPECT_EQ(count(Ipv4Reassembler::kCounterTimeout), 0u);
  // Usable again.
  MbufPtr m = add_all(key_of(1), split(3000, 1480), 1);
  expect_datagram(m.get(), 3000, 1);
}

TEST_F(ReassemblyTest, DestructionFreesWhatIsHeld) {
  for (std::uint32_t d = 0; d < 10; ++d) EXPECT_EQ(add(key_of(d), 8, 1000, false), nullptr);
  EXPECT_EQ(pool_->in_use(), 10u);
  reasm_.reset();
  EXPECT_EQ(pool_->in_use(), 0u);
  EXPECT_EQ(wheel_.size(), 0u);
}

}  // namespace
}  // namespace ustack
