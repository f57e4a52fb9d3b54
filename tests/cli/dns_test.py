#!/usr/bin/env python3
"""The DNS stub resolver behind --dns, as a user runs it: usage errors, and,
as root in namespaces this script creates and removes, names looked up in
dnsmasq (hosts file, --address, a chain of --cname) by ping, tcpclient,
udpclient, http and ws; NXDOMAIN; a silent server; and a server that misbehaves on
purpose (tests/cli/dns_peer.py): lost queries retried from new ports with
new IDs, forged answers ignored, malformed answers refused in one line.
IPv6 (RFC 3596): with --ip6 AAAA is asked first and A when there is none,
-4/-6 choose one, and the DNS server may be an IPv6 address.

usage: dns_test.py USTACK_BINARY PEERS_DIR
"""
import os
import re
import subprocess
import sys
import tempfile
import time

USTACK, PEERS = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import clitest  # noqa: E402
from clitest import PY, Netns, case, error_lines, expect, finish, run, stop  # noqa: E402

DNS_PEER = os.path.join(HERE, "dns_peer.py")



@case("--dns usage errors")
def _():
    clitest.usage_error(USTACK, ["ping", "-i", "lo", "--ip", "10.0.0.1/24", "-dest", "web.test"],
                        "a name with --dns")
    clitest.usage_error(USTACK, ["ping", "-i", "lo", "--ip", "10.0.0.1/24", "-dest", "web.test",
                                 "--dns", "10.0.0.300"], "bad address '10.0.0.300' for --dns")
    clitest.usage_error(USTACK, ["tcpclient", "-i", "lo", "-addr", "web.test", "-port", "7"],
                        "-addr")
    r = run([USTACK, "udpclient", "--help"])
    expect("--dns ADDR" in r.stdout and "-6" in r.stdout, r.stdout)
    clitest.usage_error(USTACK, ["ping", "-i", "lo", "--ip", "10.0.0.1/24", "-dest", "web.test",
                                 "--dns", "10.0.0.2", "-4", "-6"], "-4 and -6 cannot both")
    clitest.usage_error(USTACK, ["ping", "-i", "lo", "--ip", "10.0.0.1/24", "-dest", "web.test",
                                 "--dns", "ff02::1"], "bad address 'ff02::1' for --dns")
    clitest.usage_error(USTACK, ["ping", "-i", "lo", "--ip", "10.0.0.1/24", "-dest", "web.test",
                                 "--dns", "10.0.0.2", "-6"], "-6 needs an IPv6 address on ustack")
    clitest.usage_error(USTACK, ["ping", "-i", "lo", "--ip", "10.0.0.1/24", "-dest", "web.test",
                                 "--dns", "fd00::2"], "--dns fd00::2 needs an IPv6 address")


V6 = ["--ip6", "fd00::1/64"]


def ping(n, name, dns="10.0.0.2", extra=()):
    return run(n.A([USTACK, "ping", "-i", n.ifa, "--ip", "10.0.0.1/24", "-dest", name, "--dns", dns,
                    "-c", "1", "-W", "1"] + list(extra)), timeout=30)


if os.geteuid() == 0:
    with Netns("d", ipv6=True) as n, tempfile.TemporaryDirectory() as tmp:
        hosts = os.path.join(tmp, "hosts")
        with open(hosts, "w") as f:
            f.write("10.0.0.2 web.test\nfd00::2 web6.test\n10.0.0.2 dual.test\nfd00::2 dual.test\n")
        dnsmasq = subprocess.Popen(n.B([
            "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            f"--addn-hosts={hosts}", "--listen-address=10.0.0.2,fd00::2", "--bind-interfaces",
            "--local=/test/", "--address=/addr.test/10.0.0.2", "--cname=alias.test,web.test",
            "--cname=alias2.test,alias.test", f"--pid-file={tmp}/pid", "--user=root",
            "--group=root", "--log-queries"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(50):  # bounded wait for dnsmasq's socket
                ss = run(n.B(["ss", "-lun", "sport", "=", ":53"])).stdout
                if "10.0.0.2:53" in ss and "[fd00::2]:53" in ss:
                    break
                time.sleep(0.1)

            @case("dns: ping a name from dnsmasq's hosts file and one from --address")
            def _():
                for name in ("web.test", "addr.test", "WEB.test."):
                    r = ping(n, name)
                    expect(r.returncode == 0, f"{name}: {r.stdout}{r.stderr}")
                    expect(f"PING {name} (10.0.0.2)" in r.stdout, r.stdout)
                    expect("1 packets transmitted, 1 received" in r.stdout, r.stdout)

            @case("dns: tcpclient through a CNAME chain (alias2 -> alias -> web)")
            def _():
                srv = subprocess.Popen(n.B([PY, f"{PEERS}/tcp_echo_server.py", "10.0.0.2", "8888",
                                            "1", "20"]))
                try:
                    time.sleep(0.3)
                    r = run(n.A([USTACK, "tcpclient", "-i", n.ifa, "--ip", "10.0.0.1/24", "-addr",
                                 "alias2.test", "-port", "8888", "--bytes", "20000", "--dns",
                                 "10.0.0.2"]))
                finally:
                    stop(srv, sig=None, timeout=20)
                expect(r.returncode == 0 and "echo verified" in r.stdout, r.stdout + r.stderr)

            @case("dns: udpclient to a CNAME")
            def _():
                echo = subprocess.Popen(n.B([PY, f"{PEERS}/udp_echo_server.py", "10.0.0.2", "9000",
                                             "5", "20"]))
                try:
                    time.sleep(0.3)
                    r = run(n.A([USTACK, "udpclient", "-i", n.ifa, "--ip", "10.0.0.1/24", "-addr",
                                 "alias.test", "-port", "9000", "-c", "5", "--dns", "10.0.0.2"]))
                finally:
                    stop(echo, sig=None, timeout=20)
                expect(r.returncode == 0 and "5 sent, 5 received" in r.stdout, r.stdout + r.stderr)

            @case("dns: http and ws clients take names (http://alias.test, ws://web.test)")
            def _():
                peers = [subprocess.Popen(n.B([PY, os.path.join(HERE, script), "10.0.0.2", port]),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                         for script, port in (("http_peer.py", "8000"),
                                              ("ws_server_peer.py", "8765"))]
                try:
                    for _ in range(50):  # bounded wait for both listeners
                        ss = run(n.B(["ss", "-ltn"])).stdout
                        if "10.0.0.2:8000" in ss and "10.0.0.2:8765" in ss:
                            break
                        time.sleep(0.1)
                    base = [USTACK, "-i", n.ifa, "--ip", "10.0.0.1/24", "--dns", "10.0.0.2"]
                    r = run(n.A([base[0], "http"] + base[1:] + ["http://alias.test:8000/bytes/5"]))
                    expect(r.returncode == 0 and r.stdout.startswith("HTTP/1.1 200 OK\n"),
                           r.stdout + r.stderr)
                    r = run(n.A([base[0], "ws"] + base[1:] + ["ws://web.test:8765/", "--text",
                                                              "by name"]))
                    expect(r.returncode == 0 and "< text: by name" in r.stdout, r.stdout + r.stderr)
                finally:
                    for p in peers:
                        stop(p, sig=15)

            @case("dns: with --ip6, AAAA first and A when there is none; -4 and -6 choose")
            def _():
                for name, want, extra in (("web6.test", "fd00::2", V6), ("dual.test", "fd00::2", V6),
                                          ("web.test", "10.0.0.2", V6),
                                          ("dual.test", "10.0.0.2", V6 + ["-4"]),
                                          ("dual.test", "fd00::2", V6 + ["-6"]),
                                          ("dual.test", "10.0.0.2", [])):
                    r = ping(n, name, extra=extra)
                    expect(r.returncode == 0, f"{name} {extra}: {r.stdout}{r.stderr}")
                    expect(f"PING {name} ({want})" in r.stdout, f"{name} {extra}: {r.stdout}")
                    expect("1 packets transmitted, 1 received" in r.stdout, r.stdout)

            @case("dns: -6 for a name with only an A record: one line, status 1")
            def _():
                r = ping(n, "web.test", extra=V6 + ["-6"])
                expect(r.returncode == 1, r.stdout + r.stderr)
                expect(error_lines(r.stderr) == ["ustack ping: 'web.test' has no IPv6 address (no "
                                                 "AAAA record from DNS server 10.0.0.2)"], r.stderr)

            @case("dns: an IPv6 DNS server (--dns fd00::2): tcpclient to web6.test over IPv6")
            def _():
                srv = subprocess.Popen(n.B([PY, f"{PEERS}/tcp_echo_server.py", "fd00::2", "8889",
                                            "1", "20"]))
                try:
                    time.sleep(0.3)
                    r = run(n.A([USTACK, "tcpclient", "-i", n.ifa, "--ip", "10.0.0.1/24"] + V6 +
                                ["-addr", "web6.test", "-port", "8889", "--bytes", "20000",
                                 "--dns", "fd00::2"]))
                finally:
                    stop(srv, sig=None, timeout=20)
                expect(r.returncode == 0 and "echo verified" in r.stdout, r.stdout + r.stderr)

            @case("dns: a name that does not exist: NXDOMAIN, one line, status 1")
            def _():
                r = ping(n, "nosuch.test")
                expect(r.returncode == 1, r.stdout + r.stderr)
                expect(error_lines(r.stderr) == ["ustack ping: 'nosuch.test' does not exist "
                                             "(NXDOMAIN from DNS server 10.0.0.2)"], r.stderr)

            @case("dns: a silent server: 3 queries, then one line, status 1")
            def _():
                t = time.monotonic()
                r = ping(n, "web.test", dns="10.0.0.9")
                expect(r.returncode == 1, r.stdout + r.stderr)
                expect("no answer from DNS server 10.0.0.9 for 'web.test' after 3 queries"
                       in r.stderr, r.stderr)
                expect(time.monotonic() - t < 10, "took too long")
        finally:
            stop(dnsmasq, sig=15)

    def with_peer(scenario, count, tag, server="10.0.0.2"):
        """Runs ping against dns_peer.py's SCENARIO at `server` (with --ip6 when
        it is an IPv6 address); returns (ping result, queries seen)."""
        v6 = ":" in server
        with Netns(tag, ipv6=v6) as n:
            peer = subprocess.Popen(n.B([PY, DNS_PEER, server, scenario, str(count), "8"]),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                time.sleep(0.3)
                r = ping(n, "host.test", dns=server, extra=V6 if v6 else ())
            finally:
                out, err = stop(peer, sig=15)
            queries = [l.split() for l in out.splitlines() if l.startswith("query ")]
            return r, queries, err

    @case("dns: lost queries are retried, each from a new random port with a new random ID")
    def _():
        r, q, err = with_peer("drop2", 3, "e")
        expect(r.returncode == 0 and "PING host.test (10.0.0.2)" in r.stdout,
               r.stdout + r.stderr + err)
        expect(len(q) == 3, f"queries {q}")
        expect(len({x[1] for x in q}) == 3 and len({x[2] for x in q}) == 3, f"IDs/ports {q}")
        expect(all(int(x[2]) >= 1024 for x in q), f"ports {q}")

    @case("dns: forged answers (wrong ID, port, question, QR) are ignored")
    def _():
        r, q, err = with_peer("spoof", 1, "f")
        expect(r.returncode == 0, r.stdout + r.stderr + err)
        expect("PING host.test (10.0.0.2)" in r.stdout and "10.0.0.66" not in r.stdout, r.stdout)

    @case("dns: a compression loop and a truncated answer: one line, status 1")
    def _():
        r, _, _ = with_peer("loop", 1, "g")
        expect(r.returncode == 1, r.stdout + r.stderr)
        expect(error_lines(r.stderr) == ["ustack ping: malformed answer from DNS server 10.0.0.2: a "
                                     "compression pointer points forward or loops"], r.stderr)
        r, _, _ = with_peer("truncated", 1, "h")
        expect(r.returncode == 1, r.stdout + r.stderr)
        expect("malformed answer from DNS server 10.0.0.2: an A record's data" in r.stderr
               or "past the end" in r.stderr, r.stderr)
        expect(len(error_lines(r.stderr)) == 1, r.stderr)

    @case("dns: over an IPv6 server, no AAAA record (NODATA): the A query follows")
    def _():
        r, q, err = with_peer("nodata6", 2, "i", server="fd00::2")
        expect(r.returncode == 0 and "PING host.test (10.0.0.2)" in r.stdout,
               r.stdout + r.stderr + err)
        expect([x[4] for x in q] == ["28", "1"], f"queries {q}")

    @case("dns: an AAAA record of 8 bytes: one line, status 1")
    def _():
        r, q, _ = with_peer("aaaa8", 1, "j", server="fd00::2")
        expect(r.returncode == 1, r.stdout + r.stderr)
        expect(error_lines(r.stderr) == ["ustack ping: malformed answer from DNS server fd00::2: "
                                         "an AAAA record's data is not 16 bytes"], r.stderr)
        expect(len(q) == 1, f"queries {q}")

finish()
