// IPv4 header parsing in its three forms (received, quoted in an ICMP
// error, first segment of a chain): every span stays inside the input, the
// forms agree where they overlap, options iterate inside the header, and
// an option-less Repr re-emits and parses back to itself.
#include <vector>

#include "fuzz/wire_checks.h"
#include "proto/wire/ipv4.h"

using namespace ustack;
using namespace ustack::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const auto full = wire::Ipv4View::parse(bytes);
  const auto quoted = wire::Ipv4View::parse_quoted(bytes);
  const auto header = wire::Ipv4View::parse_header(bytes);
  // Whatever parse() takes, the weaker forms take too.
  if (full) check(quoted.has_value() && header.has_value(), "parse() took what the others refused");
  for (const auto& v : {full, quoted, header}) {
    if (!v) continue;
    check(v->header_len() >= 20 && v->header_len() <= 60, "header length");
    check_within(v->bytes(), bytes, "view outside the input");
    check_within(v->payload(), bytes, "payload outside the input");
    std::size_t option_bytes = 0;
    for (const wire::RawOption o : v->options()) {
      check_within(o.data, v->options_bytes(), "option outside the header");
      option_bytes += o.data.size() + 2;
    }
    check(option_bytes <= v->options_bytes().size(), "options longer than the header");
  }
  if (!full) return 0;
  check(full->bytes().size() == full->total_length(), "view is not total length");
  const wire::Ipv4Repr r = wire::Ipv4Repr::parse(*full);
  std::vector<std::byte> out(wire::Ipv4Repr::header_len() + r.payload_len);
  check(r.emit(out), "emit");
  const auto again = wire::Ipv4View::parse(std::span<const std::byte>(out));
  check(again.has_value(), "emitted header does not parse");
  check(again->header_checksum_ok(), "emitted checksum");
  check(wire::Ipv4Repr::parse(*again) == r, "round trip changed the header");
  return 0;
}
