#!/usr/bin/python3
"""Hostile input against a running ustack (suite kernel, root): `ustack
serve` on af_packet in one namespace, and in the other the attacker, Debian's
scapy (tests/kernel/peers/hostile_peer.py), which sends every class of
malformed and malicious frame and checks the drop counters, the echo server
and the mbufs in use through `ustack stats`. Then ustack must stop cleanly
on SIGTERM (exit 0): it kept running through all of it.

usage: hostile_test.py USTACK CLITEST_DIR"""
import os
import sys
import tempfile

USTACK, CLITEST = sys.argv[1], sys.argv[2]
sys.path.insert(0, CLITEST)
from clitest import PY, Netns, case, echo_serve, expect, finish, run, stop  # noqa: E402

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers", "hostile_peer.py")
INSTANCE = f"hostile{os.getpid()}"

if os.geteuid() != 0:
    print("hostile_test: needs root (namespaces, raw sockets); skipped")
    sys.exit(77)

with Netns("h", ipv6=True) as n, tempfile.TemporaryDirectory() as tmp:
    serve, mac = echo_serve(USTACK, n, tmp, INSTANCE, 20, interface_extra='ip6 = "fd00::1/64"\n')
    try:
        peer = run(n.B([PY, PEER, USTACK, INSTANCE, n.ifb, mac, CLITEST]), timeout=400)
        print(peer.stdout, end="")
        if peer.stderr.strip():
            print(peer.stderr, end="", file=sys.stderr)

        @case("the attacker's cases all passed")
        def _():
            expect(peer.returncode == 0, f"hostile_peer.py exit {peer.returncode}")
    finally:
        out, err = stop(serve, sig=15)

    @case("ustack serve kept running through the attack and stopped cleanly (exit 0)")
    def _():
        expect(serve.returncode == 0, f"serve exit {serve.returncode}: {err.strip()[-2000:]}")
        expect("serve: stopped" in out, out[-2000:])

finish()
