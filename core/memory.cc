#include "core/memory.h"

#include <sys/mman.h>

#include "core/log.h"

namespace ustack {

MemoryRegion MemoryRegion::map(std::size_t size, bool try_huge) {
  MemoryRegion r;
  if (size == 0) return r;
  if (try_huge) {
    const std::size_t hsize = (size + kHugePageSize - 1) & ~(kHugePageSize - 1);
    void* p = mmap(nullptr, hsize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
    if (p != MAP_FAILED) {
      r.addr_ = p;
      r.size_ = hsize;
      r.huge_ = true;
      log_once(LogLevel::kInfo, "memory: buffer pools use 2 MB huge pages");
      return r;
    }
    log_once(LogLevel::kInfo,
             "memory: no 2 MB huge pages available; buffer pools use normal pages "
             "(reserve some with: echo 512 > /proc/sys/vm/nr_hugepages)");
  }
  const std::size_t psize = (size + 4095) & ~std::size_t{4095};
  void* p = mmap(nullptr, psize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return r;
  madvise(p, psize, MADV_HUGEPAGE);
  r.addr_ = p;
  r.size_ = psize;
  return r;
}

MemoryRegion& MemoryRegion::operator=(MemoryRegion&& o) noexcept {
  if (this != &o) {
    if (addr_ != nullptr) munmap(addr_, size_);
    addr_ = std::exchange(o.addr_, nullptr);
    size_ = std::exchange(o.size_, 0);
    huge_ = o.huge_;
  }
  return *this;
}

MemoryRegion::~MemoryRegion() {
  if (addr_ != nullptr) munmap(addr_, size_);
}

}  // namespace ustack
