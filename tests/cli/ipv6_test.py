#!/usr/bin/python3
"""IPv6 from the command line: --ip6 mistakes, `ustack ping` to the kernel's
IPv6 address, and the kernel's `ping -6` to a running ustack server (root,
in namespaces that are removed even on failure).
usage: ipv6_test.py USTACK PEERS_DIR"""
import json
import os
import re
import subprocess
import tempfile
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import (Netns, case, echo_serve, expect, finish, run, stop,  # noqa: E402
                     usage_error)

USTACK = sys.argv[1]
PEERS = sys.argv[2]
PY = "/usr/bin/python3"
V6 = ["--ip", "10.0.0.1/24", "--ip6", "fd00::1/64"]


def slaac_address(prefix, mac):
    """PREFIX (a /64 given as "fd00::") with the modified EUI-64 interface
    identifier of MAC (RFC 4291 Appendix A): what RFC 4862 §5.5.3 forms."""
    b = [int(x, 16) for x in mac.split(":")]
    iid = [b[0] ^ 2, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]]
    words = [f"{iid[i] << 8 | iid[i + 1]:x}" for i in range(0, 8, 2)]
    return prefix[:-1] + ":".join(words)  # PREFIX has its four groups: "fd00:0:0:7::"


def counters(name):
    r = run([USTACK, "stats", "--name", name, "--json"], timeout=20)
    expect(r.returncode == 0, f"ustack stats: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)["workers"][0]["counters"]


def serve(n, cmd, args):
    """Starts `ustack CMD` with IPv6 in namespace A and waits out DAD (one
    solicitation and a second of silence)."""
    proc = subprocess.Popen(n.A([USTACK, cmd, "-i", n.ifa] + V6 + args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    return proc


def usage(args, needle):
    usage_error(USTACK, args, needle)


@case("--ip6 and --gw6 refuse what is not a unicast IPv6 address")
def _():
    for bad in ("fd00::1", "fd00::1/129", "ff02::1/64", "::/64", "10.0.0.1/24"):
        usage(["ping", "-i", "lo", "--ip", "10.0.0.1/24", "--ip6", bad, "-dest", "fd00::2"],
              "bad address")
    usage(["ping", "-i", "lo", "--ip", "10.0.0.1/24", "--ip6", "fd00::1/64", "--gw6", "ff02::2",
           "-dest", "fd00::2"], "bad address")


if os.geteuid() == 0:
    @case("ping to an IPv6 address needs --ip6")
    def _():
        with Netns("6u") as n:
            r = run(n.A([USTACK, "ping", "-i", n.ifa, "--ip", "10.0.0.1/24", "-dest", "fd00::2",
                         "-c", "1"]))
            expect(r.returncode == 2 and "--ip6" in r.stderr, r.stdout + r.stderr)

    @case("ustack ping -dest fd00::2: neighbor discovery and echo with the kernel")
    def _():
        with Netns("6p", ipv6=True) as n:
            r = run(n.A([USTACK, "ping", "-i", n.ifa, "--ip", "10.0.0.1/24", "--ip6", "fd00::1/64",
                         "-dest", "fd00::2", "-c", "3", "--interval", "0.2"]))
            expect(r.returncode == 0, r.stdout + r.stderr)
            expect("PING fd00::2 (fd00::2) 56(104) bytes of data." in r.stdout, r.stdout)
            expect("64 bytes from fd00::2: icmp_seq=1 ttl=64 time=" in r.stdout, r.stdout)
            expect("3 packets transmitted, 3 received, 0% packet loss" in r.stdout, r.stdout)
            neigh = run(n.B(["ip", "-6", "neigh", "show", "dev", n.ifb])).stdout
            expect("fd00::1 lladdr" in neigh, neigh)

    @case("ustack ping to a silent IPv6 address fails with status 1")
    def _():
        with Netns("6s", ipv6=True) as n:
            r = run(n.A([USTACK, "ping", "-i", n.ifa, "--ip", "10.0.0.1/24", "--ip6", "fd00::1/64",
                         "-dest", "fd00::9", "-c", "2", "--interval", "0.2", "-W", "0.5"]))
            expect(r.returncode == 1, r.stdout + r.stderr)
            expect("2 packets transmitted, 0 received" in r.stdout, r.stdout)

    @case("kernel ping -6 to a running ustack udpserver")
    def _():
        with Netns("6k", ipv6=True) as n:
            srv = serve(n, "udpserver", ["-port", "7"])
            try:
                r = run(n.B(["ping", "-6", "-n", "-c", "3", "-i", "0.2", "-W", "2", "fd00::1"]))
                expect(r.returncode == 0 and "3 received" in r.stdout, r.stdout + r.stderr)
            finally:
                stop(srv)

    @case("tcpclient -addr fd00::2: 20 KB echo against the kernel")
    def _():
        with Netns("6t", ipv6=True) as n:
            srv = subprocess.Popen(n.B([PY, f"{PEERS}/tcp_echo_server.py", "fd00::2", "8888", "1",
                                        "20"]))
            try:
                time.sleep(0.5)
                r = run(n.A([USTACK, "tcpclient", "-i", n.ifa] + V6 +
                            ["-addr", "fd00::2", "-port", "8888", "--bytes", "20000"]))
                expect(r.returncode == 0, r.stdout + r.stderr)
                expect("sent 20000 bytes, received 20000 bytes, echo verified" in r.stdout,
                       r.stdout)
            finally:
                srv.wait(timeout=30)

    @case("tcpserver --ip6: kernel clients' 20 KB echo over IPv6 and IPv4")
    def _():
        with Netns("6v", ipv6=True) as n:
            srv = serve(n, "tcpserver", ["-port", "8888", "--count", "2"])
            try:
                for addr in ("fd00::1", "10.0.0.1"):
                    r = run(n.B([PY, f"{PEERS}/tcp_client.py", addr, "8888", "echo", "20000"]))
                    expect(r.returncode == 0, addr + ": " + r.stdout + r.stderr)
            finally:
                out, err = stop(srv, sig=None, timeout=30)
            expect(srv.returncode == 0, out + err)
            expect("[fd00::2]:" in out and "received 20000 bytes, sent 20000 bytes" in out, out)

    @case("udpserver --ip6 echoes the kernel's datagrams; udpclient -addr fd00::2")
    def _():
        with Netns("6d", ipv6=True) as n:
            srv = serve(n, "udpserver", ["-port", "7", "--count", "4"])
            try:
                r = run(n.B([PY, f"{PEERS}/udp_echo_client.py", "fd00::1", "7", "0", "1", "100",
                             "4000"]))
                expect(r.returncode == 0, r.stdout + r.stderr)
            finally:
                out, err = stop(srv, sig=None, timeout=30)
            expect("[fd00::2]:" in out, out + err)
            echo = subprocess.Popen(n.B([PY, f"{PEERS}/udp_echo_server.py", "fd00::2", "7007", "5",
                                         "20"]))
            try:
                time.sleep(0.5)
                r = run(n.A([USTACK, "udpclient", "-i", n.ifa] + V6 +
                            ["-addr", "fd00::2", "-port", "7007", "-c", "5", "-s", "1000"]))
                expect(r.returncode == 0, r.stdout + r.stderr)
                expect("[fd00::2]:7007" in r.stdout + r.stderr, r.stdout + r.stderr)
            finally:
                echo.wait(timeout=30)

    @case("tcpserver --cores 0,1 --ip6: IPv6 connections spread over both workers")
    def _():
        if (os.cpu_count() or 1) < 2:
            return
        with Netns("6m", ipv6=True) as n:
            srv = serve(n, "tcpserver", ["-port", "8888", "--cores", "0,1", "--count", "100"])
            try:
                r = run(n.B([PY, f"{PEERS}/many_tcp.py", "client", "fd00::1", "8888", "100",
                             "2000", "16", "60"]), timeout=90)
            finally:
                out, err = stop(srv, sig=None, timeout=30)
            expect(r.returncode == 0 and "100 done, 0 failed" in r.stdout, r.stdout + r.stderr)
            expect(srv.returncode == 0, f"exit {srv.returncode}: {out}{err}")
            # Both workers took IPv6 flows (before, every IPv6 flow was core 0's).
            totals = [int(x) for x in re.findall(r"^tcpserver: (\d+) connections, 0 failed$",
                                                 out, re.M)]
            expect(len(totals) == 2 and sum(totals) >= 100 and min(totals) > 0,
                   f"per worker {totals}: {out[-600:]}")

    @case("serve with ip6 in [interface]: a TCP echo over both families, ustack stats")
    def _():
        with Netns("6e", ipv6=True) as n, tempfile.TemporaryDirectory() as d:
            name = f"v6test{os.getpid()}"
            serve, _ = echo_serve(USTACK, n, d, name, 50, interface_extra='ip6 = "fd00::1/64"\n')
            try:
                time.sleep(1.5)  # DAD
                for addr in ("fd00::1", "10.0.0.1"):
                    r = run(n.B([PY, f"{PEERS}/tcp_client.py", addr, "7007", "echo", "20000"]))
                    expect(r.returncode == 0, addr + ": " + r.stdout + r.stderr)
                st = run([USTACK, "stats", "--name", name])
                expect("ipv6.rx" in st.stdout and "nd.tx.advert" in st.stdout, st.stdout)
            finally:
                out, err = stop(serve)
            expect(serve.returncode == 0, out + err)

    @case("serve with slaac: scapy's router advertisement from the kernel's namespace gives "
          "ustack an address the kernel pings and echoes over TCP; router lifetime 0 ends it")
    def _():
        with Netns("6r", ipv6=True) as n, tempfile.TemporaryDirectory() as d:
            name = f"ratest{os.getpid()}"
            serve, mac = echo_serve(USTACK, n, d, name, 50, interface_extra="slaac = true\n")
            try:
                time.sleep(1.5)  # the link-local address through DAD; the first solicitation
                c = counters(name)
                expect(c.get("nd.tx.router_solicit", 0) >= 1, str(c))
                src = "fe80::2"  # the kernel side's router address (scapy sends it as is)
                r = run(n.B([PY, f"{PEERS}/send_ra.py", n.ifb, src, "fd00:0:0:7::", "1800"]))
                expect(r.returncode == 0, r.stdout + r.stderr)
                time.sleep(1.5)  # DAD of the new address
                addr = slaac_address("fd00:0:0:7::", mac)
                c = counters(name)
                expect(c.get("ipv6.slaac.formed") == 1 and c.get("nd.ra.router_added") == 1,
                       str(c))
                # The kernel reaches it through the same prefix, on-link there.
                run(n.B(["ip", "-6", "addr", "add", "fd00:0:0:7::2/64", "dev", n.ifb, "nodad"]))
                r = run(n.B(["ping", "-6", "-n", "-c", "3", "-i", "0.2", "-W", "2", addr]))
                expect(r.returncode == 0 and "3 received" in r.stdout, addr + ": " + r.stdout +
                       r.stderr)
                r = run(n.B([PY, f"{PEERS}/tcp_client.py", addr, "7007", "echo", "20000"]))
                expect(r.returncode == 0, addr + ": " + r.stdout + r.stderr)
                r = run(n.B([PY, f"{PEERS}/send_ra.py", n.ifb, src, "fd00:0:0:7::", "0"]))
                expect(r.returncode == 0, r.stdout + r.stderr)
                time.sleep(0.3)
                c = counters(name)
                expect(c.get("nd.ra.router_expired") == 1, str(c))
                expect(c.get("nd.rx.router_advert") == 2, str(c))
            finally:
                out, err = stop(serve)
            expect(serve.returncode == 0, out + err)

finish()
