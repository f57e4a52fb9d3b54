#!/usr/bin/env python3
"""ustack wsd as a user runs it: usage errors, and, as root in namespaces this
script creates and removes, a real WebSocket client (Debian's
python3-websockets, tests/cli/ws_peer.py) and raw sockets against it: text,
binary, 1 MiB and fragmented echo, ping, close codes, every kind of bad
frame, refused handshakes, then the summary lines after Ctrl-C.

usage: wsd_test.py USTACK_BINARY
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import PY, Netns, case, expect, finish, run, stop  # noqa: E402

USTACK = os.path.abspath(sys.argv[1])
PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ws_peer.py")


def usage_error(args, needle):
    clitest.usage_error(USTACK, args, needle)


@case("wsd --help")
def _():
    r = run([USTACK, "wsd", "--help"])
    expect(r.returncode == 0 and "usage: ustack wsd" in r.stdout, r.stdout + r.stderr)
    expect("--max-message" in r.stdout, r.stdout)


@case("wsd is listed by ustack help")
def _():
    r = run([USTACK, "help"])
    expect(r.returncode == 0 and "\n  wsd " in r.stdout, r.stdout)


@case("wsd usage errors")
def _():
    usage_error(["wsd"], "no interface given")
    usage_error(["wsd", "-i", "lo", "--port", "0"], "--port")
    usage_error(["wsd", "-i", "lo", "--max-message", "x"], "--max-message")
    usage_error(["wsd", "-i", "lo", "--bogus"], "--bogus")


if os.geteuid() == 0:
    with Netns("w") as n:
        URL = "ws://10.0.0.1:8080/"
        wsd = subprocess.Popen(n.A([USTACK, "wsd", "-i", n.ifa, "--ip", "10.0.0.1/24",
                                    "--max-message", str(2 << 20)]),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Wait (bounded) for the listening line's effect: a TCP connect works.
            for _ in range(50):
                r = run(n.B([PY, "-c", "import socket; socket.create_connection("
                             "('10.0.0.1', 8080), timeout=0.5).close()"]), timeout=10)
                if r.returncode == 0:
                    break
                time.sleep(0.1)

            def peer(scenario):
                r = run(n.B([PY, PEER, URL, scenario]), timeout=120)
                expect(r.returncode == 0, f"{scenario}: exit {r.returncode}\n{r.stdout}{r.stderr}")
                return r.stdout

            @case("wsd: text, binary, 1 MiB, fragmented, ping, pipelined, close 4321")
            def _():
                out = peer("echo")
                for what in ("ok text", "ok binary", "ok 1MiB", "ok fragmented", "ok ping",
                             "ok pipelined", "ok close 4321"):
                    expect(what in out, f"no {what!r} in {out}")

            @case("wsd: a message over --max-message gets close 1009")
            def _():
                peer("too_big")

            @case("wsd: unmasked client frame gets close 1002, then TCP close")
            def _():
                peer("unmasked")

            @case("wsd: text that is not UTF-8 gets close 1007")
            def _():
                peer("bad_utf8")

            @case("wsd: reserved bits and a 126-byte ping get close 1002")
            def _():
                peer("reserved_bits")
                peer("big_ping")

            @case("wsd: frames arriving a byte per segment")
            def _():
                peer("split_frames")

            @case("wsd: plain HTTP, wrong version, no key, garbage: 426/426/400/400")
            def _():
                peer("refused")
        finally:
            out, err = stop(wsd)

        @case("wsd: one summary line per connection, totals, exit 0 after Ctrl-C")
        def _():
            expect(wsd.returncode == 0, f"exit {wsd.returncode}: {out}{err}")
            lines = out.splitlines()
            # The echo client: 29 messages back (text, binary, 1 MiB, two
            # fragmented, 24 pipelined), its close code echoed.
            echo = [l for l in lines if "close 4321 by peer" in l]
            expect(len(echo) == 1, f"no summary with close 4321: {out}")
            m = re.search(r": (\d+) messages \((\d+) bytes\), close 4321 by peer, received (\d+) "
                          r"bytes, sent (\d+) bytes in [\d.]+ ms \(", echo[0])
            expect(m is not None, echo[0])
            msgs, payload, received, sent = map(int, m.groups())
            expect(msgs == 29, f"{msgs} messages, want 29: {echo[0]}")
            expect(payload > (1 << 20) + 24 * 256 * 1024, echo[0])
            expect(received > payload and sent > payload, echo[0])
            for code, count in (("1009", 1), ("1002", 3), ("1007", 1)):
                got = len([l for l in lines if f"close {code} by us" in l])
                expect(got == count, f"{got} connections closed with {code} by us, want {count}")
            expect(len([l for l in lines if "handshake refused with 426" in l]) == 2, out)
            expect(len([l for l in lines if "handshake refused with 400" in l]) == 2, out)
            expect(any("1 messages (150 bytes), close 1005 by peer" in l for l in lines), out)
            expect("wsd: interrupted" in out, out)
            expect(re.search(r"wsd: \d+ connections, 0 failed", out) is not None, out)
            expect("wsd: 4 handshakes refused, 5 connections failed for bad frames" in out, out)

finish()
