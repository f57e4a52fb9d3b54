#!/usr/bin/env bash
# iperf3 throughput, in one run: the stock iperf3 client in one namespace
# against (a) `ustack iperf3` (af_packet) and (b) the kernel's `iperf3 -s`
# in the other, over a veth pair with segmentation offloads off at both
# ends, forward and reverse (-R). Root; creates and removes its own
# uniquely named namespaces.
#
# usage: bench/iperf3_compare.sh [USTACK_BINARY] [SECONDS] [RING]
#   USTACK_BINARY  default build/release/apps/ustack (an optimized build)
#   SECONDS        per test, default 5
#   RING           af_packet ring for ustack: 2 (default) or 3
set -euo pipefail

USTACK=$(realpath "${1:-build/release/apps/ustack}")
SECS=${2:-5}
RING=${3:-2}
[ "$(id -u)" -eq 0 ] || { echo "iperf3_compare: run as root" >&2; exit 2; }
[ -x "$USTACK" ] || { echo "iperf3_compare: no ustack binary at $USTACK" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "iperf3_compare: iperf3 is not installed" >&2; exit 2; }

TAG="ipc$$"
CL="${TAG}c" SV="${TAG}s"   # namespaces: client, server
IFC="${TAG}c0" IFS_="${TAG}s0"
SRV_PID=""
cleanup() {
  [ -n "$SRV_PID" ] && kill -INT "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null || true
  ip netns del "$CL" 2>/dev/null || true
  ip netns del "$SV" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

ip netns add "$CL"
ip netns add "$SV"
ip link add "$IFC" netns "$CL" type veth peer name "$IFS_" netns "$SV"
for ns in "$CL" "$SV"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
# Offloads off at both ends: 1500-byte frames on the wire, for both servers
# alike (ustack reads frames, it does not take 64 KB GSO super-frames).
ip netns exec "$CL" ethtool -K "$IFC" tso off gso off gro off >/dev/null
ip netns exec "$SV" ethtool -K "$IFS_" tso off gso off gro off >/dev/null
ip -n "$CL" addr add 10.0.0.2/24 dev "$IFC"
ip -n "$CL" link set "$IFC" up
ip -n "$SV" link set "$IFS_" up

# Gbps the client saw at the receiving end: "end.sum_received.bits_per_second".
client() {
  ip netns exec "$CL" iperf3 -c 10.0.0.1 -t "$SECS" --json "$@" |
    /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin)
if "error" in j: sys.exit("iperf3: " + j["error"])
e=j["end"]; print("%.2f %d" % (e["sum_received"]["bits_per_second"] / 1e9, e["sum_sent"].get("retransmits", 0)))'
}

wait_port() {
  for _ in $(seq 50); do
    ip netns exec "$CL" /usr/bin/python3 -c \
      "import socket; socket.create_connection(('10.0.0.1', 5201), timeout=0.2)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "iperf3_compare: the server did not come up" >&2
  exit 1
}

declare -A R
run_against() {
  local name=$1
  wait_port
  read -r R["$name,fwd"] R["$name,fwd_rtx"] < <(client)
  read -r R["$name,rev"] R["$name,rev_rtx"] < <(client -R)
  read -r R["$name,p4"] R["$name,p4_rtx"] < <(client -P 4)
}

# (a) ustack: no kernel address on its side.
ip netns exec "$SV" "$USTACK" iperf3 -i "$IFS_" --ip 10.0.0.1/24 --ring "$RING" >/tmp/"$TAG".ustack 2>&1 &
SRV_PID=$!
run_against ustack
kill -INT "$SRV_PID"; wait "$SRV_PID" || true; SRV_PID=""

# (b) the kernel's iperf3 -s on the same veth end.
ip -n "$SV" addr add 10.0.0.1/24 dev "$IFS_"
ip netns exec "$SV" iperf3 -s >/dev/null 2>&1 &
SRV_PID=$!
run_against linux
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""

echo "iperf3 -c over veth (offloads off), -t $SECS, Gbps at the receiver (retransmits):"
printf "%-28s %16s %16s\n" "" "ustack iperf3" "Linux iperf3 -s"
printf "%-28s %10s (%4s) %10s (%4s)\n" "forward (client sends)" "${R[ustack,fwd]}" "${R[ustack,fwd_rtx]}" "${R[linux,fwd]}" "${R[linux,fwd_rtx]}"
printf "%-28s %10s (%4s) %10s (%4s)\n" "reverse -R (server sends)" "${R[ustack,rev]}" "${R[ustack,rev_rtx]}" "${R[linux,rev]}" "${R[linux,rev_rtx]}"
printf "%-28s %10s (%4s) %10s (%4s)\n" "forward -P 4" "${R[ustack,p4]}" "${R[ustack,p4_rtx]}" "${R[linux,p4]}" "${R[linux,p4_rtx]}"
echo "ustack's own summary:"
grep -E "^test " /tmp/"$TAG".ustack || true
rm -f /tmp/"$TAG".ustack
