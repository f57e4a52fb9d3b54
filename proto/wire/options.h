// The option list shared by IPv4 and TCP headers.
//
// Both use the same encoding (RFC 791 §3.1 "Options", RFC 9293 §3.1
// "Options"): a kind byte; kind 0 (End of Option List) ends the list and
// what follows is padding; kind 1 (No-Operation) is one byte; every other
// kind is followed by a length byte that counts the kind and length bytes
// themselves, so a valid length is at least 2 and the option must end inside
// the header.
//
// options_valid() walks a list once; an OptionIter over a list that passed
// it cannot read outside the list, so views validate in parse() and hand out
// iterators afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>

#include "proto/wire/bytes.h"

namespace ustack::wire {

inline constexpr std::uint8_t kOptEnd = 0;
inline constexpr std::uint8_t kOptNop = 1;

// True when every option up to End of Option List (or the end of `opts`)
// has a length byte >= 2 that keeps it inside `opts`.
inline bool options_valid(std::span<const std::byte> opts) {
  std::size_t i = 0;
  while (i < opts.size()) {
    const std::uint8_t kind = load_u8(&opts[i]);
    if (kind == kOptEnd) return true;
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    if (opts.size() - i < 2) return false;  // no room for the length byte
    const std::uint8_t len = load_u8(&opts[i + 1]);
    // Length 0 would loop forever and 1 would point into the option itself;
    // RFC 9293 §3.2 (MUST-7) asks receivers to be ready for exactly this.
    if (len < 2 || len > opts.size() - i) return false;
    i += len;
  }
  return true;
}

// One option of a list: its kind and the bytes after the length byte.
// NOPs are skipped by the iterator and End of Option List stops it.
struct RawOption {
  std::uint8_t kind;
  std::span<const std::byte> data;
};

// Forward iterator over an option list that passed options_valid().
class OptionIter {
 public:
  using value_type = RawOption;
  using difference_type = std::ptrdiff_t;

  OptionIter() = default;
  explicit OptionIter(std::span<const std::byte> opts) : opts_(opts) { skip_nops(); }

  RawOption operator*() const {
    const std::uint8_t len = load_u8(&opts_[1]);
    return {load_u8(&opts_[0]), opts_.subspan(2, len - 2u)};
  }
  OptionIter& operator++() {
    opts_ = opts_.subspan(load_u8(&opts_[1]));
    skip_nops();
    return *this;
  }
  OptionIter operator++(int) {
    OptionIter old = *this;
    ++*this;
    return old;
  }
  // Equal to the default-constructed iterator once the list is done.
  friend bool operator==(const OptionIter& a, const OptionIter& b) {
    return a.opts_.size() == b.opts_.size();
  }

 private:
  void skip_nops() {
    while (!opts_.empty() && load_u8(&opts_[0]) == kOptNop) opts_ = opts_.subspan(1);
    if (!opts_.empty() && load_u8(&opts_[0]) == kOptEnd) opts_ = {};
  }
  std::span<const std::byte> opts_;
};

// A range over a validated option list, for range-for.
class OptionList {
 public:
  OptionList() = default;
  explicit OptionList(std::span<const std::byte> opts) : opts_(opts) {}
  OptionIter begin() const { return OptionIter(opts_); }
  OptionIter end() const { return OptionIter(); }
  std::span<const std::byte> bytes() const { return opts_; }

 private:
  std::span<const std::byte> opts_;
};

}  // namespace ustack::wire
