// ARP (RFC 826, Ethernet/IPv4 only): a packet that parses re-emits to the
// same 28 bytes.
#include <cstring>

#include "fuzz/wire_checks.h"
#include "proto/wire/arp.h"

using namespace ustack;
using namespace ustack::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const auto v = wire::ArpView::parse(bytes);
  if (!v) return 0;
  check(v->bytes().size() == wire::ArpView::kLen, "view length");
  const auto r = wire::ArpRepr::parse(*v);
  EmitBuffer buf{};
  check(r.emit(buf), "emit");
  check(std::memcmp(buf.data(), bytes.data(), wire::ArpView::kLen) == 0, "emitted bytes differ");
  return 0;
}
