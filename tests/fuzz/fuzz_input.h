// Reading a fuzzer's input as a sequence of values: each read takes the
// next bytes, and once the input runs out every read returns zeros (and
// empty spans), so a target never reads past the buffer and short inputs
// still mean something.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ustack::fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  std::size_t remaining() const { return size_ - pos_; }

  std::uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u16()) << 16 | u16(); }
  // The next `n` bytes, or fewer when the input ends first.
  std::span<const std::byte> bytes(std::size_t n) {
    n = std::min(n, remaining());
    const auto* p = reinterpret_cast<const std::byte*>(data_ + pos_);
    pos_ += n;
    return {p, n};
  }
  std::span<const std::byte> rest() { return bytes(remaining()); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// A failed property: aborts, so libFuzzer (or the replay driver, under the
// sanitizers) reports the input that broke it.
[[noreturn]] void fail(const char* what);
inline void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

}  // namespace ustack::fuzz

// libFuzzer's entry point, defined by each target.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
