#!/usr/bin/env python3
"""ustack ws as a user runs it: usage errors, and, as root in namespaces
this script creates and removes, against a kernel WebSocket server
(Debian's python3-websockets, tests/cli/ws_server_peer.py) and against
ustack's own wsd: text, binary, fragmented and 1 MiB messages, pings both
ways, the close handshake either side begins, and bad servers (oversized,
masked or huge frames, a wrong accept key, a dropped connection): one
line, status 1.

usage: ws_test.py USTACK_BINARY
"""
import os
import subprocess
import sys
import time

USTACK = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import clitest  # noqa: E402
from clitest import PY, Netns, case, error_lines, expect, finish, run, stop  # noqa: E402



@case("ws: help and usage errors")
def _():
    r = run([USTACK, "ws", "--help"])
    expect(r.returncode == 0 and "usage: ustack ws" in r.stdout and "--fragment" in r.stdout,
           r.stdout)
    expect("\n  ws " in run([USTACK, "help"]).stdout, "not in help")
    clitest.usage_error(USTACK, ["ws", "-i", "lo"], "give one URL")
    clitest.usage_error(USTACK, ["ws", "-i", "lo", "http://10.0.0.2/"], "the scheme is not ws")
    clitest.usage_error(USTACK, ["ws", "-i", "lo", "ws://10.0.0.2/", "--close-code", "1005"],
                        "may not be sent")
    clitest.usage_error(USTACK, ["ws", "-i", "lo", "ws://10.0.0.2/", "--fragment", "0"],
                        "--fragment")


def ws(n, url, *args):
    return run(n.A([USTACK, "ws", "-i", n.ifa, "--ip", "10.0.0.1/24", url] + list(args)),
               timeout=60)


if os.geteuid() == 0:
    with Netns("k") as n:
        peer = subprocess.Popen(n.B([PY, os.path.join(HERE, "ws_server_peer.py"), "10.0.0.2",
                                     "8765"]),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(50):  # bounded wait for both listening sockets
                ss = run(n.B(["ss", "-ltn"])).stdout
                if "10.0.0.2:8765" in ss and "10.0.0.2:8766" in ss:
                    break
                time.sleep(0.1)
            U = "ws://10.0.0.2:8765"
            RAW = "ws://10.0.0.2:8766"

            @case("ws: text messages, our ping, the server's ping, close 1000")
            def _():
                r = ws(n, U + "/", "--text", "héllo ustack", "-c", "3", "--ping")
                expect(r.returncode == 0, r.stdout + r.stderr)
                expect(r.stdout.count("< text: héllo ustack") == 3 and "< pong" in r.stdout,
                       r.stdout)
                expect("ws: 3 messages sent, 3 echoed" in r.stdout and "close 1000 by us"
                       in r.stdout, r.stdout)

            @case("ws: 1 MiB binary in 1000-byte fragments, and close 4001")
            def _():
                r = ws(n, U + "/", "--binary", str(1 << 20), "--fragment", "1000",
                       "--close-code", "4001")
                expect(r.returncode == 0, r.stdout + r.stderr)
                expect("< binary: 1048576 bytes" in r.stdout and "close 4001 by us" in r.stdout,
                       r.stdout)

            @case("ws: the server begins the close (4000): one line, status 1")
            def _():
                r = ws(n, U + "/close4000")
                expect(r.returncode == 1, r.stdout + r.stderr)
                expect(error_lines(r.stderr) == ["ustack ws: 10.0.0.2:8765: the server closed with "
                                            "4000 (go away)"], r.stderr)

            @case("ws: bad servers: oversized, masked, huge frames, wrong accept, dropped")
            def _():
                for url, args, needle in (
                        (U + "/big", ["--max-message", "1000000"], "message over 1000000 bytes"),
                        (RAW + "/masked", [], "masked frame from the server"),
                        (RAW + "/huge", ["--max-message", "1000000"], "over 1000000 bytes"),
                        (RAW + "/badaccept", [], "Sec-WebSocket-Accept does not match"),
                        (RAW + "/drop", [], "without a close frame (1006)")):
                    t = time.monotonic()
                    r = ws(n, url, *args)
                    expect(r.returncode == 1, f"{url}: {r.returncode} {r.stdout}{r.stderr}")
                    e = error_lines(r.stderr)
                    expect(len(e) == 1 and needle in e[0], f"{url}: {r.stderr}")
                    expect(time.monotonic() - t < 10, f"{url}: took too long")
        finally:
            out, _ = stop(peer, sig=15)
        pongs = out.count("pong ok")

        @case("ws: the server's pings were answered with pongs")
        def _():
            expect(pongs >= 2 and "no pong" not in out, out)
            expect("message str 12" in out and "close 1000" in out and "close 4001" in out, out)

    @case("ws against ustack wsd: text, fragments, ping, close")
    def _():
        with Netns("l") as n:
            srv = subprocess.Popen(n.A([USTACK, "wsd", "-i", n.ifa, "--ip", "10.0.0.1/24"]),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                time.sleep(0.5)
                r = run(n.B([USTACK, "ws", "-i", n.ifb, "--ip", "10.0.0.3/24",
                             "ws://10.0.0.1:8080/", "--text", "x" * 70000, "--fragment", "4096",
                             "-c", "2", "--ping"]), timeout=60)
                expect(r.returncode == 0, r.stdout + r.stderr)
                expect(r.stdout.count("< text: 70000 bytes") == 2 and "< pong" in r.stdout,
                       r.stdout)
                expect("close 1000 by us" in r.stdout, r.stdout)
            finally:
                out, _ = stop(srv)
            expect("messages" in out and "1000" in out, out)

finish()
