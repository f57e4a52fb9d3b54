#!/usr/bin/python3
"""Floods against a running ustack (suite kernel, root): `ustack serve` (TCP
echo on 7007, af_packet) in one namespace; in the other, a raw-socket
flooder (tests/kernel/peers/flood_peer.py) and, at the same time, ordinary
kernel clients of the echo server.

The spoofed sources are off link, and ustack's gateway (10.0.0.254) does not
exist: its answers to them end in the ARP queue's counted drops, as they
would leave through a router to nowhere on a real network. (With the kernel
here as the gateway, hundreds of thousands of reflected SYN,ACKs a second
overflow its receive backlog, and the legitimate clients' ARP and SYN,ACKs
drown with them: a test of the kernel, not of ustack.)

- SYN flood from spoofed sources for FLOOD_SECONDS (60): SYN cookies take
  over past the backlog; at least 99 % of 1,000 legitimate connections made
  during the flood succeed; memory stays bounded (resident size, mbufs in
  use, connections).
- A flood of first fragments against the reassembly cap, of 1-byte
  segments past a hole against the out-of-order cap, and of 1-byte segments
  while both ends advertise a zero window (10 s each): the cap's counter
  moves, the stack keeps serving, mbufs stay bounded.

Each flood prints the rate sent and the rate ustack received, for the
record (not asserted: the machine decides those).

usage: flood_test.py USTACK CLITEST_DIR"""
import json
import os
import subprocess
import sys
import tempfile
import time

USTACK, CLITEST = sys.argv[1], sys.argv[2]
sys.path.insert(0, CLITEST)
from clitest import PY, Netns, case, echo_serve, expect, finish, run, stop  # noqa: E402

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers", "flood_peer.py")
INSTANCE = f"flood{os.getpid()}"
SYN_SECONDS = float(os.environ.get("FLOOD_SECONDS", "60"))
OTHER_SECONDS = 10
POOL_MBUFS = 32768  # the serve host's pool (apps/host.cc)

if os.geteuid() != 0:
    print("flood_test: needs root (namespaces, raw sockets); skipped")
    sys.exit(77)


def counters():
    r = run([USTACK, "stats", "--name", INSTANCE, "--json"], timeout=20)
    expect(r.returncode == 0, f"ustack stats: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)["workers"][0]["counters"]


def rss_kib(pid):
    """Resident size of the ustack process (the child of `ip netns exec`)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def flood(n, mac, kind, seconds, legit_n):
    """Runs a flood and legit clients at once; returns (flood line, legit
    count, counters before, counters after, peak mbufs in use, peak
    connections)."""
    before = counters()
    f = subprocess.Popen(n.B([PY, PEER, kind, n.ifb, mac, str(seconds)]),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    legit = subprocess.Popen(n.B([PY, PEER, "legit", str(legit_n), str(seconds)]),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_mbufs = peak_conns = 0
    deadline = time.time() + seconds + 120
    while (f.poll() is None or legit.poll() is None) and time.time() < deadline:
        c = counters()
        peak_mbufs = max(peak_mbufs, c.get("mbuf.in_use", 0))
        peak_conns = max(peak_conns, c.get("tcp.connections", 0))
        time.sleep(0.2)
    fout, ferr = stop(f, sig=None if f.poll() is not None else 9)
    lout, lerr = stop(legit, sig=None if legit.poll() is not None else 9)
    expect(f.returncode == 0, f"flood_peer {kind}: exit {f.returncode}: {ferr.strip()[-1500:]}")
    expect(legit.returncode == 0, f"legit clients: exit {legit.returncode}: {lerr.strip()[-1500:]}")
    ok = int(lout.split()[1])
    after = counters()
    rx = after.get("eth.rx.frames", 0) - before.get("eth.rx.frames", 0)
    print(f"  {kind}: {fout.strip()}; ustack received {rx} frames ({rx / seconds:.0f}/s); "
          f"legit {ok} of {legit_n}; peak {peak_mbufs} mbufs in use, {peak_conns} connections",
          flush=True)
    return ok, before, after, peak_mbufs, peak_conns


def grew(before, after, name):
    return after.get(name, 0) - before.get(name, 0)


with Netns("f") as n, tempfile.TemporaryDirectory() as tmp:
    serve, mac = echo_serve(USTACK, n, tmp, INSTANCE, 50, 'gw = "10.0.0.254"\n')
    try:
        # Serving before the floods: a few kernel connections are echoed.
        warm = run(n.B([PY, PEER, "legit", "5", "1"]), timeout=120)
        expect(warm.stdout.startswith("legit: 5 of 5"), f"before the floods: {warm.stdout}")
        pid = int(json.loads(run([USTACK, "stats", "--name", INSTANCE, "--json"]).stdout)["pid"])
        rss_start = rss_kib(pid)

        @case(f"SYN flood from spoofed sources, {SYN_SECONDS:.0f} s: SYN cookies answer, "
              "at least 99 % of 1,000 legitimate connections succeed, memory bounded")
        def _():
            ok, before, after, peak_mbufs, peak_conns = flood(n, mac, "syn", SYN_SECONDS, 1000)
            expect(ok >= 990, f"only {ok} of 1000 legitimate connections succeeded")
            expect(grew(before, after, "tcp.syncookies.sent") > 0, "no SYN cookie was sent")
            expect(grew(before, after, "tcp.syncookies.ok") > 0 or ok == 1000,
                   "no connection came back through a cookie")
            # The backlog (1,024 half-open) plus the legitimate ones in flight.
            expect(peak_conns <= 1024 + 64, f"{peak_conns} connections at the peak")
            expect(peak_mbufs < POOL_MBUFS // 2, f"{peak_mbufs} mbufs in use at the peak")
            rss = rss_kib(pid)
            expect(rss - rss_start < 64 * 1024,
                   f"resident size grew from {rss_start} to {rss} KiB during the flood")

        @case("fragment flood: the reassembly cap holds, the stack keeps serving")
        def _():
            ok, before, after, peak_mbufs, _ = flood(n, mac, "frag", OTHER_SECONDS, 100)
            expect(ok == 100, f"{ok} of 100 legitimate connections during the flood")
            evicted = sum(grew(before, after, k) for k in
                          ("ipv4.reasm.mem_cap", "ipv4.reasm.table_full", "ipv4.reasm.timeout"))
            expect(evicted > 0, "no fragment was evicted or refused: the cap never acted")
            expect(peak_mbufs < POOL_MBUFS // 2, f"{peak_mbufs} mbufs in use at the peak")

        @case("out-of-order flood (1-byte segments past a hole): the cap holds, serving goes on")
        def _():
            ok, before, after, peak_mbufs, _ = flood(n, mac, "ooo", OTHER_SECONDS, 100)
            expect(ok == 100, f"{ok} of 100 legitimate connections during the flood")
            expect(grew(before, after, "tcp.drop.ooo_full") > 0, "the out-of-order cap never acted")
            expect(peak_mbufs < POOL_MBUFS // 2, f"{peak_mbufs} mbufs in use at the peak")

        @case("1-byte segments with both windows closed: bounded, serving goes on")
        def _():
            ok, before, after, peak_mbufs, _ = flood(n, mac, "tiny", OTHER_SECONDS, 100)
            expect(ok == 100, f"{ok} of 100 legitimate connections during the flood")
            expect(grew(before, after, "tcp.drop.unacceptable") > 0,
                   "no segment beyond the closed window was refused")
            expect(peak_mbufs < POOL_MBUFS // 2, f"{peak_mbufs} mbufs in use at the peak")

        @case("after the floods: mbufs in use back near the start")
        def _():
            deadline = time.time() + 30
            while True:
                c = counters()
                if c["mbuf.in_use"] <= 64:
                    break
                expect(time.time() < deadline, f"{c['mbuf.in_use']} mbufs still in use")
                time.sleep(0.5)
    finally:
        out, err = stop(serve, sig=15)

    @case("ustack serve kept running through the floods and stopped cleanly (exit 0)")
    def _():
        expect(serve.returncode == 0, f"serve exit {serve.returncode}: {err.strip()[-2000:]}")

finish()
