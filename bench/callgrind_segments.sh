#!/bin/sh
# Instructions per TCP data segment and per ICMP echo, counted by callgrind.
#
# Runs build/bench/tcp_segment_cost and build/bench/icmp_echo_cost (it
# builds nothing: ninja -C build bench/tcp_segment_cost bench/icmp_echo_cost
# first) under valgrind --tool=callgrind with
# instrumentation off at start; the program switches it on only around
# host B's receive path (the data segments, its application taking and
# freeing them, the ACKs it sends) and then only around host A's send path
# (the ACKs it receives, its application refilling, the segments it sends),
# and dumps each phase. Twice: with software checksums (memlink as it is)
# and with a checksum-offloading NIC in front of memlink (--offload).
# Then icmp_echo_cost: instrumentation only around the worker of the host
# answering echo requests (56 data bytes, bursts of 32; software checksums).
#
# Prints instructions (Ir) per received and per sent data segment and per
# ICMP echo, the top costs of each phase from callgrind_annotate (self
# cost, then inclusive), and a summary of the three at the end.
# Deterministic: virtual clock, fixed traffic.
#
# usage: bench/callgrind_segments.sh [BUILD_DIR] [SEGMENTS]
#   TOP=n  how many callgrind_annotate lines to show (default 15)
#   KEEP=1 keep the callgrind files (their directory is printed)
set -eu

build=${1:-build}
segments=${2:-10000}
top=${TOP:-15}
prog=$build/bench/tcp_segment_cost
icmp_prog=$build/bench/icmp_echo_cost

for p in "$prog" "$icmp_prog"; do
  if [ ! -x "$p" ]; then
    echo "$0: $p is missing; build it first: ninja -C $build bench/tcp_segment_cost bench/icmp_echo_cost" >&2
    exit 1
  fi
done
if ! command -v valgrind >/dev/null 2>&1; then
  echo "$0: valgrind is missing (Debian: apt-get install valgrind)" >&2
  exit 1
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/callgrind_segments.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$out"' EXIT

# The dump of a phase ("recv" or "send") of one run.
dump_of() {
  grep -l "^desc: Trigger: Client Request: $2\$" "$out/$1".out.* 2>/dev/null | head -n 1
}
# key=value from the program's output.
value_of() {
  sed -n "s/.*\\b$2=\\([0-9]*\\).*/\\1/p" "$out/$1.txt" | head -n 1
}
# callgrind_annotate's function lines as Ir per segment or echo ($1; the
# unit's name in $unit), paths and
# signatures shortened. Code inlined from a header is listed under the
# header's name: per function, self costs are summed and the largest
# inclusive cost is kept ($2: self or inclusive).
annotate() {
  per=$1
  kind=$2
  shift 2
  callgrind_annotate --auto=no --threshold=100 --inclusive="$([ "$kind" = inclusive ] && echo yes || echo no)" \
    "$@" 2>/dev/null |
    awk '/^-+$/ { dashes++; next } dashes >= 4 && NF > 1 && !/PROGRAM TOTALS/ && !/file:function/' |
    sed -e 's| \[[^]]*\]$||' -e 's|([^()]*)||g' -e 's|([^()]*)||g' -e 's| const$||' \
      -e 's|[^ ]*/\.\./||' -e 's|\./string/\.\./sysdeps/[^:]*:||' |
    awk -v per="$per" -v kind="$kind" -v unit="${unit:-seg}" '{
      ir = $1; gsub(",", "", ir); ir += 0; fn = $NF; sub(/^[^:]*:/, "", fn)
      if (!(fn in cost)) label[fn] = $NF
      if (kind == "inclusive") { if (ir > cost[fn]) cost[fn] = ir } else cost[fn] += ir
    } END { for (fn in cost) printf "%8.0f Ir/%s  %s\n", cost[fn] / per, unit, label[fn] }' |
    sort -rn | cut -c1-150 | head -n "$top"
}

summary=
for mode in sw offload; do
  flag=
  [ "$mode" = offload ] && flag=--offload
  # shellcheck disable=SC2086
  if ! valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/$mode.out" \
      "$prog" --segments "$segments" $flag >"$out/$mode.txt" 2>"$out/$mode.log"; then
    cat "$out/$mode.txt" "$out/$mode.log" >&2
    echo "$0: $prog failed" >&2
    exit 1
  fi
  recv_file=$(dump_of "$mode" recv)
  send_file=$(dump_of "$mode" send)
  recv_ir=$(sed -n 's/^totals: //p' "$recv_file")
  send_ir=$(sed -n 's/^totals: //p' "$send_file")
  recv_n=$(value_of "$mode" recv_segments)
  recv_acks=$(value_of "$mode" recv_acks_sent)
  send_n=$(value_of "$mode" send_segments)
  send_acks=$(value_of "$mode" send_acks_received)

  echo "==== checksums: $([ "$mode" = sw ] && echo software || echo offloaded to the NIC)"
  cat "$out/$mode.txt"
  summary="$summary$(awk -v m="$mode" -v r="$recv_ir" -v rn="$recv_n" -v s="$send_ir" -v sn="$send_n" 'BEGIN {
    printf "%-26s %10.0f %10.0f\n", (m == "sw" ? "TCP, software checksums" : "TCP, checksum offload"), r / rn, s / sn }')
"
  awk -v ir="$recv_ir" -v n="$recv_n" -v acks="$recv_acks" 'BEGIN {
    printf "receive: %d Ir for %d data segments (and %d ACKs sent): %.0f Ir per received segment incl. its ACKs\n",
      ir, n, acks, ir / n }'
  awk -v ir="$send_ir" -v n="$send_n" -v acks="$send_acks" 'BEGIN {
    printf "send:    %d Ir for %d data segments (and %d ACKs received): %.0f Ir per sent segment incl. its ACKs\n",
      ir, n, acks, ir / n }'
  echo "-- receive path, self cost:"
  annotate "$recv_n" self "$recv_file"
  echo "-- receive path, inclusive:"
  annotate "$recv_n" inclusive "$recv_file"
  echo "-- send path, self cost:"
  annotate "$send_n" self "$send_file"
  echo "-- send path, inclusive:"
  annotate "$send_n" inclusive "$send_file"
  echo
done

if ! valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/icmp.out" \
    "$icmp_prog" --echoes "$segments" >"$out/icmp.txt" 2>"$out/icmp.log"; then
  cat "$out/icmp.txt" "$out/icmp.log" >&2
  echo "$0: $icmp_prog failed" >&2
  exit 1
fi
icmp_file=$(dump_of icmp icmp)
icmp_ir=$(sed -n 's/^totals: //p' "$icmp_file")
icmp_n=$(value_of icmp icmp_echoes)
echo "==== ICMP echo (56 data bytes, bursts of 32, software checksums)"
cat "$out/icmp.txt"
icmp_per=$(awk -v ir="$icmp_ir" -v n="$icmp_n" 'BEGIN { printf "%.0f", ir / n }')
echo "icmp:    $icmp_ir Ir for $icmp_n echo requests answered: $icmp_per Ir per echo"
unit=echo
echo "-- echo path, self cost:"
annotate "$icmp_n" self "$icmp_file"
echo "-- echo path, inclusive:"
annotate "$icmp_n" inclusive "$icmp_file"
echo

echo "==== summary: instructions (Ir) per unit"
printf '%-26s %10s %10s\n' "" "recv seg" "sent seg"
printf '%s' "$summary"
printf '%-26s %10s\n' "ICMP echo, per request" "$icmp_per"
[ "${KEEP:-0}" = 1 ] && echo "callgrind files: $out"
exit 0
