// The sender's SACK scoreboard (RFC 6675 §3): which bytes in flight the
// receiver has reported holding (RFC 2018), kept as sorted, disjoint
// ranges between SND.UNA and SND.MAX, with the helpers RFC 6675 §4 defines
// over it: IsLost, SetPipe and NextSeg's hole search.
//
// Cost: an ACK's blocks (at most 4) merge in by binary search; the queries
// walk the ranges, at most `kMaxRanges` of them, never the bytes or the
// segments in flight, so a large window costs what a small one does.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "proto/tcp/ooo_queue.h"
#include "proto/tcp/seq.h"

namespace ustack {

class SackScoreboard {
 public:
  // RFC 6675 §2: DupThresh. The queries take the connection's own, which
  // grows when reordering proved a recovery spurious (tcp_input.cc).
  static constexpr std::uint32_t kDupThresh = 3;
  // Ranges tracked at most; a peer reporting more holes loses the highest
  // ranges' information (harmless: those bytes count as in flight, and are
  // resent only if found lost later).
  static constexpr std::size_t kMaxRanges = 64;

  enum class Update : std::uint8_t {
    kNothing,  // no block told anything new
    kNew,      // new bytes SACKed
  };
  // Merges an ACK's SACK blocks. Blocks outside (snd_una, snd_max] are
  // ignored (RFC 2883: a D-SACK block lies below SND.UNA or inside
  // another block; RFC 6675 §5.1 ignores blocks past what was sent).
  // *dsack is set when the first block reports a duplicate (RFC 2883 §4).
  Update update(std::span<const SeqRange> blocks, SeqNum snd_una, SeqNum snd_max, bool* dsack);
  // The cumulative ACK reached snd_una: forget what lies below it.
  void advance(SeqNum snd_una);
  void clear();

  bool empty() const { return ranges_.empty(); }
  std::uint32_t sacked_bytes() const { return sacked_; }
  // One past the highest SACKed byte (valid when !empty()).
  SeqNum highest() const { return ranges_.back().end; }
  // The first SACKed range that ends after seq (it may hold seq), if any.
  std::optional<SeqRange> first_after(SeqNum seq) const;

  // RFC 6675 §4 IsLost(seq): DupThresh discontiguous SACKed ranges above
  // seq, or more than (DupThresh - 1) * SMSS bytes SACKed above it.
  bool is_lost(SeqNum seq, std::uint32_t mss, std::uint32_t dupthresh = kDupThresh) const;
  // RFC 6675 §4 SetPipe: bytes in flight from SND.UNA to SND.MAX, not
  // counting SACKed bytes or unSACKed bytes deemed lost, and counting
  // again those retransmitted (below high_rxt).
  std::uint32_t pipe(SeqNum snd_una, SeqNum snd_max, SeqNum high_rxt, std::uint32_t mss,
                     std::uint32_t dupthresh = kDupThresh) const;
  // RFC 6675 §4 NextSeg rules (1) and (3): the first unSACKed range at or
  // after `from` and below the highest SACKed byte, whose bytes are lost
  // (`lost_only`) or merely unSACKed.
  std::optional<SeqRange> next_hole(SeqNum from, SeqNum snd_una, std::uint32_t mss, bool lost_only,
                                    std::uint32_t dupthresh = kDupThresh) const;

  std::size_t ranges() const { return ranges_.size(); }

 private:
  void add(SeqRange r);

  std::vector<SeqRange> ranges_;  // sorted, disjoint, not touching
  std::uint32_t sacked_ = 0;
};

}  // namespace ustack
