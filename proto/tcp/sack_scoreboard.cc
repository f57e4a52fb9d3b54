#include "proto/tcp/sack_scoreboard.h"

#include <algorithm>

namespace ustack {
namespace {

std::uint32_t dist(SeqNum a, SeqNum b) {  // b - a, b >= a
  return static_cast<std::uint32_t>(b - a);
}

// Bytes of [lo, hi) below `limit`.
std::uint32_t below(SeqNum lo, SeqNum hi, SeqNum limit) {
  if (limit <= lo) return 0;
  return dist(lo, seq_min(hi, limit));
}

}  // namespace

void SackScoreboard::add(SeqRange r) {
  // The first range that ends at or after r.start (touching merges).
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), r.start,
                             [](const SeqRange& x, SeqNum s) { return x.end < s; });
  auto last = it;
  while (last != ranges_.end() && last->start <= r.end) {
    r.start = seq_min(r.start, last->start);
    r.end = seq_max(r.end, last->end);
    sacked_ -= last->len();
    ++last;
  }
  it = ranges_.erase(it, last);
  if (ranges_.size() >= kMaxRanges) {
    // Full: keep the lowest ranges, which decide what is resent first.
    if (it == ranges_.end()) return;
    sacked_ -= ranges_.back().len();
    ranges_.pop_back();
  }
  ranges_.insert(it, r);
  sacked_ += r.len();
}

SackScoreboard::Update SackScoreboard::update(std::span<const SeqRange> blocks, SeqNum snd_una,
                                              SeqNum snd_max, bool* dsack) {
  *dsack = false;
  if (blocks.empty()) return Update::kNothing;
  // RFC 2883 §4: a first block below the cumulative ACK, or inside the
  // second block, reports a duplicate, not new data.
  const SeqRange& f = blocks[0];
  if (f.end <= snd_una ||
      (blocks.size() > 1 && blocks[1].start <= f.start && f.end <= blocks[1].end)) {
    *dsack = true;
  }
  const std::uint32_t before = sacked_;
  const std::size_t n_before = ranges_.size();
  for (std::size_t i = *dsack ? 1 : 0; i < blocks.size(); ++i) {
    SeqRange b = blocks[i];
    // Garbage or out of range (a lying or confused peer): ignored.
    if (!(b.start < b.end) || b.end <= snd_una || b.end > snd_max) continue;
    if (b.start < snd_una) b.start = snd_una;
    add(b);
  }
  return sacked_ != before || ranges_.size() != n_before ? Update::kNew : Update::kNothing;
}

void SackScoreboard::advance(SeqNum snd_una) {
  std::size_t drop = 0;
  while (drop < ranges_.size() && ranges_[drop].end <= snd_una) {
    sacked_ -= ranges_[drop].len();
    ++drop;
  }
  ranges_.erase(ranges_.begin(), ranges_.begin() + static_cast<std::ptrdiff_t>(drop));
  if (!ranges_.empty() && ranges_.front().start < snd_una) {
    sacked_ -= dist(ranges_.front().start, snd_una);
    ranges_.front().start = snd_una;
  }
}

void SackScoreboard::clear() {
  ranges_.clear();
  sacked_ = 0;
}

std::optional<SeqRange> SackScoreboard::first_after(SeqNum seq) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), seq,
                             [](SeqNum s, const SeqRange& x) { return s < x.end; });
  if (it != ranges_.end()) return *it;
  return std::nullopt;
}

bool SackScoreboard::is_lost(SeqNum seq, std::uint32_t mss, std::uint32_t dupthresh) const {
  std::uint32_t count = 0;
  std::uint32_t bytes = 0;
  for (auto it = ranges_.rbegin(); it != ranges_.rend() && it->start > seq; ++it) {
    ++count;
    bytes += it->len();
    if (count >= dupthresh || bytes > (dupthresh - 1) * mss) return true;
  }
  return false;
}

std::uint32_t SackScoreboard::pipe(SeqNum snd_una, SeqNum snd_max, SeqNum high_rxt,
                                   std::uint32_t mss, std::uint32_t dupthresh) const {
  std::uint32_t pipe = 0;
  std::uint32_t sacked_below = 0;
  SeqNum prev = snd_una;
  const std::size_t n = ranges_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const SeqRange& r = ranges_[i];
    if (prev < r.start) {
      // A hole: every byte in it has the same SACKed ranges above it.
      const std::uint32_t above = sacked_ - sacked_below;
      const bool lost = n - i >= dupthresh || above > (dupthresh - 1) * mss;
      if (!lost) pipe += dist(prev, r.start);
      pipe += below(prev, r.start, high_rxt);
    }
    sacked_below += r.len();
    prev = r.end;
  }
  if (prev < snd_max) {
    pipe += dist(prev, snd_max);  // nothing SACKed above: not lost
    pipe += below(prev, snd_max, high_rxt);
  }
  return pipe;
}

std::optional<SeqRange> SackScoreboard::next_hole(SeqNum from, SeqNum snd_una, std::uint32_t mss,
                                                  bool lost_only, std::uint32_t dupthresh) const {
  std::uint32_t sacked_below = 0;
  SeqNum prev = snd_una;
  const std::size_t n = ranges_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const SeqRange& r = ranges_[i];
    if (prev < r.start && from < r.start) {
      const std::uint32_t above = sacked_ - sacked_below;
      const bool lost = n - i >= dupthresh || above > (dupthresh - 1) * mss;
      if (lost || !lost_only) return SeqRange{seq_max(prev, from), r.start};
      return std::nullopt;  // the holes above have less SACKed above them
    }
    sacked_below += r.len();
    prev = r.end;
  }
  return std::nullopt;
}

}  // namespace ustack
