// Large, page-aligned memory regions for pools and rings: 2 MB huge pages
// when the system has them reserved, normal pages otherwise (said once).
#pragma once

#include <cstddef>
#include <utility>

namespace ustack {

class MemoryRegion {
 public:
  MemoryRegion() = default;
  // Maps at least `size` bytes, zeroed. Tries MAP_HUGETLB first when
  // `try_huge`; falls back to normal pages with transparent huge pages
  // advised. Returns an empty region when the mapping fails.
  static MemoryRegion map(std::size_t size, bool try_huge);

  MemoryRegion(MemoryRegion&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)), huge_(o.huge_) {}
  MemoryRegion& operator=(MemoryRegion&& o) noexcept;
  MemoryRegion(const MemoryRegion&) = delete;
  MemoryRegion& operator=(const MemoryRegion&) = delete;
  ~MemoryRegion();

  void* addr() const { return addr_; }
  std::size_t size() const { return size_; }
  bool huge() const { return huge_; }
  explicit operator bool() const { return addr_ != nullptr; }

 private:
  void* addr_ = nullptr;
  std::size_t size_ = 0;
  bool huge_ = false;
};

inline constexpr std::size_t kHugePageSize = std::size_t{2} << 20;

}  // namespace ustack
