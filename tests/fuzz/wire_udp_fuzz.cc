// UDP (RFC 768): the view is exactly the length field's bytes, and a
// datagram re-emitted from its Repr with a computed checksum verifies.
#include <vector>

#include "fuzz/wire_checks.h"
#include "proto/wire/udp.h"

using namespace ustack;
using namespace ustack::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  const Ipv4Addr src = Ipv4Addr::from_u32(in.u32());
  const Ipv4Addr dst = Ipv4Addr::from_u32(in.u32());
  const std::span<const std::byte> bytes = in.rest();
  const auto v = wire::UdpView::parse(bytes);
  if (!v) return 0;
  check(v->bytes().size() == v->length(), "view is not the length field");
  check_within(v->bytes(), bytes, "view outside the input");
  (void)v->checksum_ok(src, dst);
  const wire::UdpRepr r = wire::UdpRepr::parse(*v);
  std::vector<std::byte> out(v->bytes().begin(), v->bytes().end());
  check(r.emit(out, src, dst), "emit");
  const auto again = wire::UdpView::parse(std::span<const std::byte>(out));
  check(again.has_value() && wire::UdpRepr::parse(*again) == r, "round trip changed the header");
  check(again->has_checksum() && again->checksum_ok(src, dst), "emitted checksum");
  return 0;
}
