// TCP header and options (RFC 9293 §3.1, RFC 7323, RFC 2018): the view and
// every option stay inside the segment; options that parse re-emit to a
// list that parses to the same values (SACK blocks beyond what fits are
// the only thing emit() may leave out); a Repr re-emitted with a checksum
// parses back to itself and verifies.
#include <vector>

#include "fuzz/wire_checks.h"
#include "proto/wire/tcp.h"

using namespace ustack;
using namespace ustack::fuzz;

namespace {

// emit() then parse(): what a peer would read back from us.
wire::TcpOptions reencode(const wire::TcpOptions& o) {
  std::array<std::byte, wire::TcpOptions::kMaxLen> buf{};
  const std::size_t n = o.emit(buf);
  check(n == o.encoded_len() && n % 4 == 0 && n <= buf.size(), "encoded length");
  const auto back = wire::TcpOptions::parse(std::span<const std::byte>(buf.data(), n));
  check(back.has_value(), "emitted options do not parse");
  return *back;
}

void check_options(std::span<const std::byte> raw) {
  const auto o = wire::TcpOptions::parse(raw);
  check(o.has_value() == wire::options_valid(raw), "parse() and options_valid() disagree");
  if (!o) return;
  check(!o->window_scale || *o->window_scale <= wire::TcpOptions::kMaxWindowScale, "window scale");
  check(o->sack_count <= wire::TcpOptions::kMaxSackBlocks, "SACK block count");
  const wire::TcpOptions once = reencode(*o);
  check(once.mss == o->mss && once.window_scale == o->window_scale &&
            once.sack_permitted == o->sack_permitted && once.timestamps == o->timestamps,
        "options changed on the way back");
  check(once.sack_count <= o->sack_count, "SACK blocks appeared");
  for (std::size_t i = 0; i < once.sack_count; ++i)
    check(once.sack_blocks[i] == o->sack_blocks[i], "SACK blocks changed");
  check(reencode(once) == once, "a second round trip changed the options");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  const Ipv4Addr src = Ipv4Addr::from_u32(in.u32());
  const Ipv4Addr dst = Ipv4Addr::from_u32(in.u32());
  const std::span<const std::byte> bytes = in.rest();
  check_options(bytes.first(std::min<std::size_t>(bytes.size(), 40)));
  const auto v = wire::TcpView::parse(bytes);
  if (!v) return 0;
  check(v->header_len() >= 20 && v->header_len() <= 60, "header length");
  check_within(v->payload(), bytes, "payload outside the segment");
  for (const wire::RawOption o : v->raw_options())
    check_within(o.data, v->options_bytes(), "option outside the header");
  check_options(v->options_bytes());
  (void)v->checksum_ok(src, dst);
  wire::TcpRepr r = wire::TcpRepr::parse(*v);
  r.options = reencode(r.options);  // what emit() can carry
  std::vector<std::byte> out(r.header_len() + v->payload().size());
  std::copy(v->payload().begin(), v->payload().end(),
            out.begin() + static_cast<std::ptrdiff_t>(r.header_len()));
  check(r.emit(out, src, dst), "emit");
  const auto again = wire::TcpView::parse(std::span<const std::byte>(out));
  check(again.has_value(), "emitted segment does not parse");
  check(wire::TcpRepr::parse(*again) == r, "round trip changed the header");
  check(again->checksum_ok(src, dst), "emitted checksum");
  return 0;
}
