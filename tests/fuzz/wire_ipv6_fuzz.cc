// IPv6 parsing: the fixed header in its two forms (received, first segment
// of a chain), the extension header walk (also behind a Fragment header),
// ICMPv6, Neighbor Discovery, Router Advertisement and MLD messages. Every span and offset stays
// inside the input, the walk's answers are consistent with each other, and a Repr re-emits and
// parses back to itself.
#include <vector>

#include "fuzz/wire_checks.h"
#include "proto/wire/icmpv6.h"
#include "proto/wire/ipv6.h"
#include "proto/wire/ipv6_ext.h"
#include "proto/wire/mld.h"
#include "proto/wire/ndp.h"
#include "proto/wire/ndp_router.h"

using namespace ustack;
using namespace ustack::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const auto full = wire::Ipv6View::parse(bytes);
  const auto header = wire::Ipv6View::parse_header(bytes);
  if (full) check(header.has_value(), "parse() took what parse_header() refused");
  for (const auto& v : {full, header}) {
    if (!v) continue;
    check_within(v->bytes(), bytes, "view outside the input");
    check_within(v->payload(), bytes, "payload outside the input");
  }
  // The walk reads only what it is given.
  const wire::Ipv6Walk w = wire::walk_ipv6_headers(bytes);
  check(w.headers <= wire::kMaxExtHeaders, "more headers than the limit");
  if (w.status == wire::Ipv6WalkStatus::kUpper) {
    check(w.upper_offset <= size, "upper layer past the input");
    check(w.next_header_field < w.upper_offset, "next header field after the upper layer");
    check(!wire::ipv6_is_extension(w.upper), "an extension header as the upper layer");
  }
  if (w.status == wire::Ipv6WalkStatus::kFragment) {
    check(w.frag.data_offset == w.frag.header_offset + 8 && w.frag.data_offset <= size,
          "fragment header past the input");
    check(w.frag.offset_bytes % 8 == 0, "fragment offset not in units of 8");
    check(w.frag.offset_bytes != 0 || w.frag.more, "an atomic fragment reported as a fragment");
    // The headers behind it, walked as a first fragment's or a reassembled
    // part's are.
    const auto part = bytes.subspan(w.frag.data_offset);
    const wire::Ipv6Walk f = wire::walk_ipv6_fragmentable(part, w.frag.next_header, w.headers);
    check(f.headers <= wire::kMaxExtHeaders, "more headers than the limit behind a fragment");
    check(!f.send_param_problem, "a Parameter Problem about a fragmentable part");
    if (f.status == wire::Ipv6WalkStatus::kUpper)
      check(f.upper_offset <= part.size() && !wire::ipv6_is_extension(f.upper),
            "upper layer behind a fragment past the part");
  }
  if (w.status == wire::Ipv6WalkStatus::kUpper && w.upper == wire::kIpProtoIcmpv6) {
    const auto message = bytes.subspan(w.upper_offset);
    if (const auto ra = wire::RouterAdvert::parse(message)) {
      check(ra->prefix_count <= wire::RouterAdvert::kMaxPrefixes, "too many prefixes kept");
      std::vector<std::byte> out(ra->len());
      check(ra->emit(out, Ipv6Addr{}, Ipv6Addr::all_nodes()), "RA emit");
      const auto again = wire::RouterAdvert::parse(out);
      check(again.has_value() && again->router_lifetime == ra->router_lifetime &&
                again->prefix_count == ra->prefix_count && again->mtu == ra->mtu &&
                again->source_mac == ra->source_mac,
            "RA round trip");
    }
    if (const auto q = wire::MldQuery::parse(message)) {
      check(message.size() >= (q->v2 ? wire::MldQuery::kV2Len : wire::MldQuery::kV1Len),
            "MLD query shorter than its version");
      check(q->general() || q->group.is_multicast(), "MLD query for a unicast group");
    }
  }
  if (w.send_param_problem) check(w.param_pointer < size, "pointer past the input");
  if (!full) return 0;
  // ICMPv6 and ND on the payload, whatever the Next Header says.
  if (const auto icmp = wire::Icmpv6View::parse(full->payload())) {
    check_within(icmp->payload(), bytes, "ICMPv6 payload outside the input");
    if (const auto q = icmp->quoted_ipv6()) check_within(q->bytes(), bytes, "quote outside");
    if (const auto nd = wire::NdMessage::parse(icmp->bytes())) {
      check(!nd->target.is_multicast(), "multicast target accepted");
      std::vector<std::byte> out(nd->len());
      check(nd->emit(out, full->src(), full->dst()), "ND emit");
      const auto again = wire::NdMessage::parse(out);
      check(again.has_value() && again->target == nd->target && again->flags == nd->flags,
            "ND round trip");
      check(wire::Icmpv6View::parse(out)->checksum_ok(full->src(), full->dst()), "ND checksum");
    }
  }
  const wire::Ipv6Repr r = wire::Ipv6Repr::parse(*full);
  std::vector<std::byte> out(wire::Ipv6Repr::header_len() + r.payload_len);
  check(r.emit(out), "emit");
  const auto again = wire::Ipv6View::parse(std::span<const std::byte>(out));
  check(again.has_value() && wire::Ipv6Repr::parse(*again) == r, "round trip changed the header");
  return 0;
}
