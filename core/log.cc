#include "core/log.h"

#include <atomic>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <set>

namespace ustack {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

void vlog(LogLevel level, const char* fmt, va_list ap) {
  char line[1024];
  const int n = std::vsnprintf(line, sizeof line, fmt, ap);
  if (n < 0) return;
  std::fprintf(stderr, "ustack %s: %s\n", level_name(level), line);
}

}  // namespace

void set_log_level(LogLevel level) {
  g_level.store(static_cast<int>(level));
}
LogLevel log_level() {
  return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed));
}

void log(LogLevel level, const char* fmt, ...) {
  if (!log_enabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(level, fmt, ap);
  va_end(ap);
}

void log_once(LogLevel level, const char* fmt, ...) {
  // Drivers call this on drop paths that can run per packet: a format seen
  // before is recognised from a small lock-free table without the mutex.
  static constexpr std::size_t kSlots = 64;
  static std::atomic<const char*> recent[kSlots];
  const std::size_t home = (reinterpret_cast<std::uintptr_t>(fmt) >> 3) % kSlots;
  for (std::size_t i = 0; i < kSlots; ++i) {
    const char* seen_fmt = recent[(home + i) % kSlots].load(std::memory_order_acquire);
    if (seen_fmt == fmt) return;
    if (seen_fmt == nullptr) break;
  }
  static std::mutex mu;
  static std::set<const char*> seen;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!seen.insert(fmt).second) return;
    for (std::size_t i = 0; i < kSlots; ++i) {
      auto& slot = recent[(home + i) % kSlots];
      if (slot.load(std::memory_order_relaxed) == nullptr) {
        slot.store(fmt, std::memory_order_release);
        break;
      }
    }
  }
  if (!log_enabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(level, fmt, ap);
  va_end(ap);
}

}  // namespace ustack
