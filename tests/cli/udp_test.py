#!/usr/bin/env python3
"""ustack udpserver and udpclient as a user runs them: usage errors, and, as
root in namespaces this script creates and removes, against the Linux
stack: the server echoing for several kernel clients at once (sizes up to
65507 bytes, fragmented both ways), discard and sink, the client against a
kernel echo server and against ustack's own server, and a closed port.

usage: udp_test.py USTACK_BINARY PEERS_DIR
"""
import os
import re
import subprocess
import sys
import time

USTACK, PEERS = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import PY, Netns, case, expect, finish, run, stop  # noqa: E402


def usage_error(args, needle):
    clitest.usage_error(USTACK, args, needle)


@case("udpserver, udpclient: help and usage errors")
def _():
    for cmd in ("udpserver", "udpclient"):
        r = run([USTACK, cmd, "--help"])
        expect(r.returncode == 0 and f"usage: ustack {cmd}" in r.stdout, r.stdout + r.stderr)
    r = run([USTACK, "help"])
    expect("\n  udpserver " in r.stdout and "\n  udpclient " in r.stdout, r.stdout)
    usage_error(["udpserver", "-i", "lo", "--mode", "loud"], "--mode is echo, discard or sink")
    usage_error(["udpserver", "-i", "lo", "--port", "70000"], "--port")
    usage_error(["udpclient", "-i", "lo", "--ip", "10.0.0.1/24"], "-addr")
    usage_error(["udpclient", "-i", "lo", "-addr", "10.0.0.2", "-s", "7"], "--size")
    usage_error(["udpclient", "-i", "lo", "-addr", "10.0.0.2", "-s", "65508"], "--size")
    usage_error(["udpclient", "-i", "lo", "-addr", "10.0.0.2", "--rate", "0"], "--rate")
    usage_error(["udpclient", "-i", "lo", "-addr", "some.host"], "-addr")


def wait_udp_echo(n, port=7):
    """Polls (bounded) until the server in A echoes a datagram."""
    for _ in range(30):
        r = run(n.B([PY, "-c", "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM);"
                     f"s.settimeout(0.3); s.sendto(b'hello', ('10.0.0.1', {port}));"
                     "print(s.recvfrom(100)[0])"]), timeout=10)
        if r.returncode == 0:
            return
    raise AssertionError("udpserver never echoed")


def server(n, *extra):
    return subprocess.Popen(n.A([USTACK, "udpserver", "-i", n.ifa, "--ip", "10.0.0.1/24",
                                 "--port", "7"] + list(extra)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


if os.geteuid() == 0:
    @case("udpserver echo: 4 kernel clients at once, 1 to 65507 bytes, totals on Ctrl-C")
    def _():
        with Netns("u") as n:
            srv = server(n)
            try:
                wait_udp_echo(n)
                sizes = ["1", "8", "1472", "1473", "9000", "30000", "65507"]
                clients = [subprocess.Popen(n.B([PY, f"{PEERS}/udp_echo_client.py", "10.0.0.1",
                                                 "7"] + sizes), stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True) for _ in range(4)]
                for c in clients:
                    out, err = c.communicate(timeout=60)
                    expect(c.returncode == 0, out + err)
            finally:
                out, err = stop(srv)
            expect(srv.returncode == 0, f"exit {srv.returncode}: {err}")
            expect("udpserver: echo on 10.0.0.1:7" in out, out)
            m = re.search(r"udpserver: (\d+) datagrams, (\d+) bytes from (\d+) peers", out)
            expect(m, out)
            # 4 clients plus the probes; every datagram echoed.
            expect(int(m.group(3)) >= 5, out)
            total = sum(int(s) for s in sizes) * 4
            expect(int(m.group(2)) >= total, f"{m.group(2)} < {total}: {out}")
            e = re.search(r"echoed (\d+) datagrams, (\d+) bytes; 0 send failures", out)
            expect(e and e.group(1) == m.group(1) and e.group(2) == m.group(2), out)
            expect(len(re.findall(r"^10\.0\.0\.2:\d+: \d+ datagrams", out, re.M)) >= 5, out)

    @case("udpserver discard and sink: counted, never answered; --count ends it")
    def _():
        with Netns("v") as n:
            for mode in ("discard", "sink"):
                srv = server(n, "--mode", mode, "--count", "50")
                try:
                    time.sleep(0.5)
                    # A kernel client sends 50 datagrams of 1000 bytes and hears nothing back.
                    r = run(n.B([PY, "-c",
                                 "import socket,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                                 "s.settimeout(0.5)\n"
                                 "for i in range(50):\n"
                                 "  s.sendto(bytes(1000), ('10.0.0.1', 7)); time.sleep(0.03)\n"
                                 "try:\n  s.recvfrom(100); print('answered')\nexcept OSError: print('silent')"]))
                    expect(r.returncode == 0 and "silent" in r.stdout, r.stdout + r.stderr)
                    out, err = stop(srv, sig=None, timeout=15)
                finally:
                    stop(srv)
                expect(srv.returncode == 0, f"{mode}: exit {srv.returncode}: {err}")
                expect(re.search(r"udpserver: 50 datagrams, 50000 bytes from 1 peers", out), out)
                expect("echoed 0 datagrams" in out, out)
                if mode == "sink":
                    expect(re.search(r"\d+ datagrams/s, [\d.]+ Mbps", out), out)

    @case("udpclient against a kernel echo server: 64 and 65507 bytes, loss and rtt p50/p99")
    def _():
        with Netns("w") as n:
            for size, count in (("64", "200"), ("65507", "20")):
                echo = subprocess.Popen(n.B([PY, f"{PEERS}/udp_echo_server.py", "10.0.0.2", "9000",
                                             count, "20"]))
                try:
                    time.sleep(0.3)
                    r = run(n.A([USTACK, "udpclient", "-i", n.ifa, "--ip", "10.0.0.1/24", "-addr",
                                 "10.0.0.2", "-port", "9000", "-c", count, "-s", size, "--rate",
                                 "500"]))
                finally:
                    stop(echo, sig=None, timeout=30)
                expect(r.returncode == 0, r.stdout + r.stderr)
                expect(f"{count} sent, {count} received, 0.0% loss, 0 corrupt, 0 duplicate"
                       in r.stdout, r.stdout)
                m = re.search(r"rtt min/p50/p99/max = ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms",
                              r.stdout)
                expect(m and 0 < float(m.group(1)) <= float(m.group(2)) <= float(m.group(3))
                       <= float(m.group(4)), r.stdout)

    @case("udpclient against ustack udpserver (two ustack stacks over veth)")
    def _():
        with Netns("x") as n:
            srv = server(n)
            try:
                time.sleep(0.5)
                r = run(n.B([USTACK, "udpclient", "-i", n.ifb, "--ip", "10.0.0.3/24", "-addr",
                             "10.0.0.1", "-c", "100", "-s", "3000", "--rate", "1000"]))
            finally:
                out, err = stop(srv)
            expect(r.returncode == 0, r.stdout + r.stderr)
            expect("100 sent, 100 received, 0.0% loss, 0 corrupt" in r.stdout, r.stdout)
            expect("udpserver: 100 datagrams, 300000 bytes from 1 peers" in out, out)

    @case("udpclient to a closed port: ICMP port unreachable, 100% loss, status 1; --timeout")
    def _():
        with Netns("y") as n:
            r = run(n.A([USTACK, "udpclient", "-i", n.ifa, "--ip", "10.0.0.1/24", "-addr",
                         "10.0.0.2", "-port", "9", "-c", "3", "--rate", "20", "-W", "0.5"]))
            expect(r.returncode == 1, r.stdout + r.stderr)
            expect("3 sent, 0 received, 100.0% loss" in r.stdout, r.stdout)
            expect("ICMP errors" in r.stdout, r.stdout)
            # --timeout bounds the sending whatever the count.
            t = time.monotonic()
            r = run(n.A([USTACK, "udpclient", "-i", n.ifa, "--ip", "10.0.0.1/24", "-addr",
                         "10.0.0.2", "-port", "9", "-c", "100000", "--rate", "10", "--timeout",
                         "0.5", "-W", "0.2"]))
            m = re.search(r"^(\d+) sent, 0 received", r.stdout, re.M)
            expect(m and 1 <= int(m.group(1)) <= 7, r.stdout)
            expect(time.monotonic() - t < 10, "took too long")

finish()
