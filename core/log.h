// Logging for setup, errors and debug tracing. Never called per packet on
// the fast path unless debug tracing is switched on.
#pragma once

namespace ustack {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
inline bool log_enabled(LogLevel level) {
  return level >= log_level();
}

void log(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Logs the first time this format string (keyed by its address) is seen,
// then stays silent: for facts worth saying once per process.
void log_once(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace ustack
