#include "apps/pcap_writer.h"

#include <cerrno>
#include <cstring>

namespace ustack::app {

namespace {
constexpr std::uint32_t kMagic = 0xa1b2c3d4;  // microsecond resolution
constexpr std::uint32_t kSnapLen = 262144;
constexpr std::uint32_t kLinkTypeEthernet = 1;
}  // namespace

PcapWriter::~PcapWriter() {
  if (f_ != nullptr) std::fclose(f_);
}

bool PcapWriter::open(const std::string& path, std::string* error) {
  f_ = std::fopen(path.c_str(), "wb");
  if (f_ == nullptr) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  // Host byte order throughout; readers detect it from the magic number.
  const std::uint32_t hdr[6] = {kMagic, 2u | (4u << 16), 0, 0, kSnapLen, kLinkTypeEthernet};
  return std::fwrite(hdr, sizeof hdr, 1, f_) == 1;
}

bool PcapWriter::write(const Mbuf& frame, std::int64_t unix_ns) {
  if (f_ == nullptr) return false;
  const std::uint32_t rec[4] = {static_cast<std::uint32_t>(unix_ns / 1'000'000'000),
                                static_cast<std::uint32_t>(unix_ns % 1'000'000'000 / 1000),
                                frame.pkt_len, frame.pkt_len};
  if (std::fwrite(rec, sizeof rec, 1, f_) != 1) return false;
  for (const Mbuf* s = &frame; s != nullptr; s = s->next)
    if (s->data_len > 0 && std::fwrite(s->data(), s->data_len, 1, f_) != 1) return false;
  return true;
}

}  // namespace ustack::app
