// Writes frames to a classic pcap file (tcpdump and Wireshark read it):
// microsecond timestamps, LINKTYPE_ETHERNET.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/mbuf.h"

namespace ustack::app {

class PcapWriter {
 public:
  PcapWriter() = default;
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();

  // false and *error when the file cannot be created.
  bool open(const std::string& path, std::string* error);
  // Appends one frame (the whole chain) with the given wall-clock time.
  bool write(const Mbuf& frame, std::int64_t unix_ns);
  bool is_open() const { return f_ != nullptr; }

 private:
  std::FILE* f_ = nullptr;
};

}  // namespace ustack::app
