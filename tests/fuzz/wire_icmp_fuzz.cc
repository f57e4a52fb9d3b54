// ICMP (RFC 792): the header Repr round trip, and the datagram quoted by an
// error type stays inside the message.
#include <vector>

#include "fuzz/wire_checks.h"
#include "proto/wire/icmp.h"

using namespace ustack;
using namespace ustack::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const auto v = wire::IcmpView::parse(bytes);
  if (!v) return 0;
  check_within(v->payload(), bytes, "data outside the message");
  if (const auto q = v->quoted_ipv4()) {
    check(wire::icmp_is_error(v->type()), "a quote from a non-error type");
    check_within(q->bytes(), v->payload(), "quote outside the message");
  }
  const wire::IcmpRepr r = wire::IcmpRepr::parse(*v);
  std::vector<std::byte> out(bytes.begin(), bytes.end());
  check(r.emit(out), "emit");
  const auto again = wire::IcmpView::parse(std::span<const std::byte>(out));
  check(again.has_value() && wire::IcmpRepr::parse(*again) == r, "round trip changed the header");
  check(again->checksum_ok(), "emitted checksum");
  return 0;
}
