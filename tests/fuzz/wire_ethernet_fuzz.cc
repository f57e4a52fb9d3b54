// Ethernet (and 802.1Q) header parsing: the view stays inside the frame,
// and Repr -> emit -> parse gives the same Repr and the same header bytes.
#include <cstring>

#include "fuzz/wire_checks.h"
#include "proto/wire/ethernet.h"

using namespace ustack;
using namespace ustack::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> frame(reinterpret_cast<const std::byte*>(data), size);
  const auto v = wire::EthernetView::parse(frame);
  if (!v) return 0;
  check(v->header_len() == 14 || v->header_len() == 18, "header length");
  check_within(v->payload(), frame, "payload outside the frame");
  check(v->header_len() + v->payload().size() == frame.size(), "header + payload");
  const auto r = wire::EthernetRepr::parse(*v);
  EmitBuffer buf{};
  check(r.header_len() == v->header_len(), "repr header length");
  check(r.emit(buf), "emit");
  const auto again =
      wire::EthernetView::parse(std::span<const std::byte>(buf.data(), r.header_len()));
  check(again.has_value(), "emitted header does not parse");
  check(wire::EthernetRepr::parse(*again) == r, "round trip changed the header");
  check(std::memcmp(buf.data(), frame.data(), r.header_len()) == 0, "emitted bytes differ");
  return 0;
}
