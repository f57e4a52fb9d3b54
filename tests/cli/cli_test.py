#!/usr/bin/env python3
"""The ustack command driven as a user would: usage errors (exit 2, one line
on stderr), runtime failures (exit 1), the in-memory benchmark, and, as root
in namespaces this script creates and removes, the seed's invocations
against the Linux stack.

usage: cli_test.py USTACK_BINARY PEERS_DIR
"""
import os
import re
import subprocess
import sys
import tempfile
import time

USTACK, PEERS = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import PY, Netns, case, expect, finish, run  # noqa: E402


def usage_error(args, needle):
    r = run([USTACK] + args)
    expect(r.returncode == 2, f"{args}: exit {r.returncode}, want 2; stderr={r.stderr!r}")
    expect(needle in r.stderr, f"{args}: stderr {r.stderr!r} lacks {needle!r}")
    expect(len([l for l in r.stderr.splitlines() if "ustack" in l and "info" not in l]) >= 1,
           "no message")


@case("no command")
def _():
    usage_error([], "usage: ustack")


@case("unknown command")
def _():
    usage_error(["frobnicate"], "unknown command 'frobnicate'")


@case("help")
def _():
    r = run([USTACK, "help"])
    expect(r.returncode == 0 and "tcpclient" in r.stdout, r.stdout)
    for cmd in ("ping", "tcpclient", "tcpserver", "bench", "httpd"):
        r = run([USTACK, cmd, "--help"])
        expect(r.returncode == 0 and "usage: ustack " + cmd in r.stdout, f"{cmd} --help: {r.stdout}")


@case("missing interface")
def _():
    usage_error(["ping", "-dest", "10.0.0.2"], "no interface given")


@case("unknown interface")
def _():
    usage_error(["ping", "-i", "nosuchif0", "--ip", "10.9.0.1/24", "-dest", "10.9.0.2"],
                "interface 'nosuchif0' does not exist")


@case("bad address")
def _():
    usage_error(["ping", "-i", "lo", "--ip", "10.0.0.300/24", "-dest", "10.0.0.2"], "bad address")
    usage_error(["ping", "-i", "lo", "--ip", "10.0.0.1/24", "-dest", "nowhere"], "-dest")


@case("missing core")
def _():
    usage_error(["ping", "-i", "lo", "--ip", "10.0.0.1/24", "-dest", "10.0.0.2", "--cores", "99"],
                "core 99 does not exist")


@case("unknown option")
def _():
    usage_error(["tcpclient", "--frob"], "unknown option '--frob'")


@case("bad mode")
def _():
    usage_error(["bench", "--mode", "fast"], "--mode is bulk, rr, crr or soak")


@case("tcpclient without data file")
def _():
    with tempfile.TemporaryDirectory() as d:
        r = run([USTACK, "tcpclient", "-i", "lo", "--ip", "10.0.0.1/24", "-addr", "10.0.0.2",
                 "-port", "8888"], cwd=d)
        expect(r.returncode == 2, f"exit {r.returncode}")
        expect("data/random-data" in r.stderr and "--bytes" in r.stderr, r.stderr)


@case("no permission")
def _():
    # As an unprivileged user the packet socket is refused: one clear line.
    r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", USTACK, "ping", "-i",
             "lo", "--ip", "10.0.0.1/24", "-dest", "10.0.0.2", "-c", "1"])
    expect(r.returncode == 2, f"exit {r.returncode}: {r.stderr}")
    expect("no permission" in r.stderr and "CAP_NET_RAW" in r.stderr, r.stderr)


@case("bench bulk, rr, crr")
def _():
    r = run([USTACK, "bench", "--mode", "bulk", "--seconds", "0.5", "--cores", "0"])
    expect(r.returncode == 0 and "intact" in r.stdout, r.stdout + r.stderr)
    r = run([USTACK, "bench", "--mode", "rr", "--seconds", "0.5", "--json", "--cores", "0"])
    expect(r.returncode == 0 and '"mode":"rr"' in r.stdout, r.stdout + r.stderr)
    r = run([USTACK, "bench", "--mode", "crr", "--seconds", "0.5", "--cores", "0"])
    expect(r.returncode == 0 and "connections" in r.stdout, r.stdout + r.stderr)


@case("bench under loss")
def _():
    r = run([USTACK, "bench", "--mode", "bulk", "--bytes", "20000000", "--loss", "0.01",
             "--reorder", "0.02", "--dup", "0.01", "--seed", "3", "--cores", "0"])
    expect(r.returncode == 0 and "intact" in r.stdout, r.stdout + r.stderr)


@case("httpd with a missing --root")
def _():
    usage_error(["httpd", "-i", "lo", "--ip", "10.0.0.1/24", "--root", "/nonexistent/dir"],
                "--root '/nonexistent/dir' is not a directory")


if os.geteuid() == 0:
    @case("seed: ustack ping -i IF -dest ADDR (borrowed address)")
    def _():
        with Netns() as n:
            # The seed ran on an interface with an address and borrowed it.
            subprocess.run(n.A(["ip", "addr", "add", "10.0.0.1/24", "dev", n.ifa]), check=True)
            r = run(n.A([USTACK, "ping", "-i", n.ifa, "-dest", "10.0.0.2", "-c", "3",
                         "--interval", "0.2"]))
            expect(r.returncode == 0, r.stdout + r.stderr)
            expect("64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=" in r.stdout, r.stdout)
            expect("3 packets transmitted, 3 received, 0% packet loss" in r.stdout, r.stdout)
            expect("rtt min/avg/max/mdev" in r.stdout, r.stdout)
            expect("borrowing 10.0.0.1/24" in r.stderr, r.stderr)

    @case("ping to a silent address fails with status 1")
    def _():
        with Netns() as n:
            r = run(n.A([USTACK, "ping", "-i", n.ifa, "--ip", "10.0.0.1/24", "-dest", "10.0.0.9",
                         "-c", "2", "--interval", "0.2", "-W", "0.5"]))
            expect(r.returncode == 1, f"exit {r.returncode}: {r.stdout}")
            expect("2 packets transmitted, 0 received, 100% packet loss" in r.stdout, r.stdout)

    @case("seed: ustack tcpclient -i IF -addr ADDR -port P -debug, 20 KB from ./data")
    def _():
        with Netns() as n, tempfile.TemporaryDirectory() as d:
            os.makedirs(f"{d}/data")
            with open(f"{d}/data/random-data", "wb") as f:
                f.write(os.urandom(20000))
            srv = subprocess.Popen(n.B([PY, f"{PEERS}/tcp_echo_server.py", "10.0.0.2", "8888", "1",
                                        "20"]))
            time.sleep(0.5)
            r = run(n.A([USTACK, "tcpclient", "-debug", "-i", n.ifa, "--ip", "10.0.0.1/24",
                         "-addr", "10.0.0.2", "-port", "8888"]), cwd=d)
            srv.wait(timeout=30)
            expect(r.returncode == 0, r.stdout + r.stderr)
            expect("sent 20000 bytes, received 20000 bytes, echo verified" in r.stdout, r.stdout)
            expect("[ESTABLISHED]" in r.stdout, "no -debug trace")

    @case("tcpclient to a closed port: refused, status 1")
    def _():
        with Netns() as n:
            r = run(n.A([USTACK, "tcpclient", "-i", n.ifa, "--ip", "10.0.0.1/24", "-addr",
                         "10.0.0.2", "-port", "9", "--bytes", "10"]))
            expect(r.returncode == 1, f"exit {r.returncode}: {r.stdout}{r.stderr}")
            expect("connection refused" in r.stdout + r.stderr, r.stdout + r.stderr)

    @case("seed: ustack tcpserver -i IF -port P, kernel client 20 KB echo")
    def _():
        with Netns() as n:
            srv = subprocess.Popen(n.A([USTACK, "tcpserver", "-i", n.ifa, "--ip", "10.0.0.1/24",
                                        "-port", "8888", "--count", "1"]),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            r = run(n.B([PY, f"{PEERS}/tcp_client.py", "10.0.0.1", "8888", "echo", "20000"]))
            out, err = srv.communicate(timeout=30)
            expect(r.returncode == 0, r.stdout + r.stderr)
            expect(srv.returncode == 0, out + err)
            expect("received 20000 bytes, sent 20000 bytes" in out, out)

    @case("tcpserver --cores 0,1: a worker per core, 100 kernel connections, --count ends it")
    def _():
        if (os.cpu_count() or 1) < 2:
            return
        with Netns() as n:
            srv = subprocess.Popen(n.A([USTACK, "tcpserver", "-i", n.ifa, "--ip", "10.0.0.1/24",
                                        "-port", "8888", "--cores", "0,1", "--count", "100"]),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            r = run(n.B([PY, f"{PEERS}/many_tcp.py", "client", "10.0.0.1", "8888", "100", "2000",
                         "16", "60"]), timeout=90)
            out, err = srv.communicate(timeout=30)
            expect(r.returncode == 0 and "100 done, 0 failed" in r.stdout, r.stdout + r.stderr)
            expect(srv.returncode == 0, f"exit {srv.returncode}: {out}{err}")
            expect("tcpserver: 2 workers on cores 0,1" in out, out[:400])
            totals = [int(x) for x in re.findall(r"^tcpserver: (\d+) connections, 0 failed$",
                                                 out, re.M)]
            expect(len(totals) == 2 and sum(totals) >= 100 and min(totals) > 0,
                   f"per worker {totals}: {out[-600:]}")

    @case("ping and tcpclient run one worker: several --cores is a usage error")
    def _():
        for cmd in (["ping", "-i", "lo", "--ip", "10.0.0.1/24", "-dest", "10.0.0.2"],
                    ["tcpclient", "-i", "lo", "--ip", "10.0.0.1/24", "-addr", "10.0.0.2",
                     "-port", "9", "--bytes", "10"]):
            r = run([USTACK] + cmd + ["--cores", "0,1"])
            expect(r.returncode == 2, f"{cmd[0]}: exit {r.returncode}: {r.stderr}")
            expect("this command runs one worker: give one core with --cores" in r.stderr,
                   r.stderr)

    @case("tcpserver with a port out of range")
    def _():
        usage_error(["tcpserver", "-i", "lo", "--ip", "10.0.0.1/24", "-port", "70000"],
                    "bad value '70000'")

    @case("Ctrl-C stops tcpserver cleanly")
    def _():
        with Netns() as n:
            srv = subprocess.Popen(n.A([USTACK, "tcpserver", "-i", n.ifa, "--ip", "10.0.0.1/24",
                                        "-port", "8888"]),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            srv.send_signal(2)
            out, err = srv.communicate(timeout=10)
            expect(srv.returncode == 0, f"exit {srv.returncode}: {out}{err}")
            expect("interrupted" in out and "0 connections" in out, out)

if os.geteuid() == 0:
    @case("dump: one line per frame and a pcap file tcpdump can read")
    def _():
        with Netns() as n, tempfile.TemporaryDirectory() as d:
            # The kernel in A answers here: dump watches both directions.
            subprocess.run(n.A(["ip", "addr", "add", "10.0.0.1/24", "dev", n.ifa]), check=True)
            dump = subprocess.Popen(n.A([USTACK, "dump", "-i", n.ifa, "-c", "4", "--proto", "icmp",
                                         "-w", f"{d}/x.pcap"]),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            run(n.B(["ping", "-c", "2", "-i", "0.2", "10.0.0.1"]))
            out, err = dump.communicate(timeout=20)
            expect(dump.returncode == 0, out + err)
            expect("IP 10.0.0.2 > 10.0.0.1: ICMP echo request, id" in out, out)
            expect("IP 10.0.0.1 > 10.0.0.2: ICMP echo reply" in out, out)
            expect(len(out.splitlines()) == 4, out)
            import struct
            data = open(f"{d}/x.pcap", "rb").read()
            magic, major, minor, _, _, _, link = struct.unpack("<IHHiIII", data[:24])
            expect((magic, major, minor, link) == (0xA1B2C3D4, 2, 4, 1), "pcap header")
            off, records = 24, 0
            while off < len(data):
                _, _, caplen, _ = struct.unpack("<IIII", data[off:off + 16])
                off += 16 + caplen
                records += 1
            expect(records == 4 and off == len(data), f"{records} pcap records")

    @case("dump: IPv6 lines (neighbor discovery, ICMPv6 echo, TCP) and --host with an IPv6 address")
    def _():
        with Netns("6", kernel_ipv6_a=True) as n:
            dump = subprocess.Popen(n.A([USTACK, "dump", "-i", n.ifa, "-c", "6", "--host",
                                         "fd00::2"]),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            run(n.B(["ping", "-6", "-c", "1", "fd00::1"]))
            # A closed port: the kernel in A resets the SYN.
            conn = ("import socket\n"
                    "s=socket.socket(socket.AF_INET6); s.settimeout(2)\n"
                    "try: s.connect(('fd00::1', 9))\n"
                    "except OSError: pass\n")
            run(n.B([PY, "-c", conn]))
            out, err = dump.communicate(timeout=20)
            expect(dump.returncode == 0, out + err)
            expect(re.search(r"IP6 fd00::2 > ff02::1:ff00:1: ICMP6, neighbor solicitation, who has "
                             r"fd00::1, length 32", out), out)
            expect("IP6 fd00::1 > fd00::2: ICMP6, neighbor advertisement, tgt is fd00::1" in out, out)
            expect(re.search(r"IP6 fd00::2 > fd00::1: ICMP6, echo request, id \d+, seq 1, length 64",
                             out), out)
            expect("IP6 fd00::1 > fd00::2: ICMP6, echo reply" in out, out)
            expect(re.search(r"IP6 fd00::2\.\d+ > fd00::1\.9: Flags \[S\], seq \d+, win \d+, "
                             r"options \[mss 1440,", out), out)
            expect(re.search(r"IP6 fd00::1\.9 > fd00::2\.\d+: Flags \[R\.\]", out), out)

    @case("dump: unknown interface")
    def _():
        usage_error(["dump", "-i", "nosuchif0"], "interface 'nosuchif0' does not exist")

# A raw HTTP exchange from namespace B: send the bytes, read until the server closes.
RAW_HTTP = """
import socket, sys
s = socket.create_connection(("10.0.0.1", 8080), timeout=10)
s.sendall(sys.argv[1].encode().decode("unicode_escape").encode("latin-1"))
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.write(data.decode("latin-1"))
"""

if os.geteuid() == 0:
    with Netns() as n, tempfile.TemporaryDirectory() as d:
        root = f"{d}/root"
        os.makedirs(root)
        blob = os.urandom(100_000)
        with open(f"{root}/blob.bin", "wb") as f:
            f.write(blob)
        with open(f"{root}/hello.txt", "w") as f:
            f.write("hello\n")
        with open(f"{d}/secret.txt", "w") as f:  # outside the root
            f.write("do not serve\n")
        body = os.urandom(1 << 20)
        with open(f"{d}/body.bin", "wb") as f:
            f.write(body)
        URL = "http://10.0.0.1:8080"
        httpd = subprocess.Popen(n.A([USTACK, "httpd", "-i", n.ifa, "--ip", "10.0.0.1/24",
                                      "--root", root]),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)

        def curl(args, binary=False):
            return subprocess.run(n.B(["curl", "-sS", "-m", "20", "--connect-timeout", "5"] + args),
                                  capture_output=True, text=not binary, timeout=60)

        @case("httpd: GET / with curl")
        def _():
            r = curl(["-i", URL + "/"])
            expect(r.returncode == 0, r.stderr)
            expect(r.stdout.startswith("HTTP/1.1 200 OK"), r.stdout)
            expect("Server: ustack" in r.stdout and "Content-Length: " in r.stdout, r.stdout)
            # (text mode reads CR LF as \n)
            expect("ustack" in r.stdout.split("\n\n", 1)[-1], r.stdout)

        @case("httpd: keep-alive, three URLs on one connection")
        def _():
            r = curl(["-w", "%{num_connects}\\n", "-o", "/dev/null", "-o", "/dev/null", "-o",
                      "/dev/null", URL + "/", URL + "/stats", URL + "/hello.txt"])
            expect(r.returncode == 0, r.stderr)
            expect(r.stdout.split() == ["1", "0", "0"], f"num_connects {r.stdout!r}")

        @case("httpd: GET /stats lists counters")
        def _():
            r = curl([URL + "/stats"])
            expect(r.returncode == 0 and "eth.rx.frames " in r.stdout, r.stdout + r.stderr)

        @case("httpd: static file of 100 KB, byte for byte; HEAD")
        def _():
            r = curl([URL + "/blob.bin"], binary=True)
            expect(r.returncode == 0, r.stderr)
            expect(r.stdout == blob, f"got {len(r.stdout)} bytes, want {len(blob)} identical")
            r = curl(["-I", URL + "/hello.txt"])
            expect(r.returncode == 0 and "Content-Length: 6" in r.stdout, r.stdout + r.stderr)
            expect("Content-Type: text/plain" in r.stdout, r.stdout)

        @case("httpd: 404 for a missing file")
        def _():
            r = curl(["-o", "/dev/null", "-w", "%{http_code}", URL + "/missing.html"])
            expect(r.stdout == "404", r.stdout + r.stderr)

        @case("httpd: path traversal refused")
        def _():
            for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/a/../../secret.txt"):
                r = curl(["--path-as-is", "-w", "\\n%{http_code}", URL + path])
                expect(r.stdout.endswith("\n403"), f"{path}: {r.stdout!r}")
                expect("do not serve" not in r.stdout, path)

        @case("httpd: POST /echo 1 MB with Content-Length and chunked")
        def _():
            for extra in ([], ["-H", "Transfer-Encoding: chunked"]):
                r = curl(["--data-binary", f"@{d}/body.bin", "-H",
                          "Content-Type: application/octet-stream"] + extra + [URL + "/echo"],
                         binary=True)
                expect(r.returncode == 0, f"{extra}: {r.stderr!r}")
                expect(r.stdout == body, f"{extra}: got {len(r.stdout)} bytes back")

        @case("httpd: malformed request gets 400 and close; pipelined requests in order")
        def _():
            r = run(n.B([PY, "-c", RAW_HTTP, "BROKEN\\r\\n\\r\\n"]))
            expect(r.returncode == 0, r.stderr)
            expect(r.stdout.startswith("HTTP/1.1 400 Bad Request\n"), r.stdout)
            expect("Connection: close" in r.stdout, r.stdout)
            r = run(n.B([PY, "-c", RAW_HTTP,
                         "GET /hello.txt HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n"
                         "POST /echo HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 4\\r\\n\\r\\nping"
                         "GET /nothere HTTP/1.1\\r\\nHost: a\\r\\nConnection: close\\r\\n\\r\\n"]))
            expect(r.returncode == 0, r.stderr)
            statuses = re.findall(r"HTTP/1\.1 (\d{3}) ", r.stdout)
            expect(statuses == ["200", "200", "404"], r.stdout)
            expect("hello\n" in r.stdout and "\n\nping" in r.stdout, r.stdout)
            r = run(n.B([PY, "-c", RAW_HTTP, "GET / HTTP/2.0\\r\\nHost: a\\r\\n\\r\\n"]))
            expect(r.stdout.startswith("HTTP/1.1 505 "), r.stdout)

        @case("httpd: wrk, 8 connections keep-alive for 2 s, no errors")
        def _():
            r = subprocess.run(n.B(["wrk", "-t", "1", "-c", "8", "-d", "2s", "--timeout", "2s",
                                    URL + "/hello.txt"]),
                               capture_output=True, text=True, timeout=60)
            expect(r.returncode == 0, r.stdout + r.stderr)
            m = re.search(r"(\d+) requests in", r.stdout)
            expect(m is not None and int(m.group(1)) > 1000, r.stdout)
            expect("Socket errors" not in r.stdout, r.stdout)
            expect("Non-2xx" not in r.stdout, r.stdout)
            print(f"    wrk: {r.stdout.strip().splitlines()[-2].strip()}")

        httpd.send_signal(2)
        out, err = httpd.communicate(timeout=10)

        @case("httpd: summary lines, Ctrl-C drains")
        def _():
            expect(httpd.returncode == 0, f"exit {httpd.returncode}: {out}{err}")
            expect("interrupted" in out, out)
            expect(any(": 3 requests, " in l for l in out.splitlines()),
                   f"no connection with 3 requests: {out}")

def scan_script(addr):
    """Python that tries 40 closed ports of `addr` (IPv4 or IPv6) in well
    under a second: a port scan to ids."""
    family = "socket.AF_INET6" if ":" in addr else "socket.AF_INET"
    return ("import socket\n"
            "for p in range(2000, 2040):\n"
            f"  s=socket.socket({family}); s.settimeout(0.2)\n"
            f"  try: s.connect(('{addr}', p))\n"
            "  except OSError: pass\n"
            "  s.close()\n")


if os.geteuid() == 0:
    @case("ids: new flows, a port scan and an ARP conflict are reported")
    def _():
        with Netns() as n:
            subprocess.run(n.A(["ip", "addr", "add", "10.0.0.1/24", "dev", n.ifa]), check=True)
            ids = subprocess.Popen(n.A([USTACK, "ids", "-i", n.ifa, "--seconds", "4"]),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            # A scan: 40 closed ports in well under a second (the kernel resets each).
            run(n.B([PY, "-c", scan_script("10.0.0.1")]))
            # An ARP reply giving 10.0.0.2 another MAC (raw frame from B).
            arp = ("import socket,struct\n"
                   f"s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('{n.ifb}', 0))\n"
                   "src=bytes.fromhex('02aabbccddee'); ip=bytes([10,0,0,2]); dst=bytes([10,0,0,1])\n"
                   "eth=b'\\xff'*6+src+b'\\x08\\x06'\n"
                   "a=struct.pack('!HHBBH',1,0x0800,6,4,2)+src+ip+b'\\xff'*6+dst\n"
                   "s.send(eth+a)\n")
            r = run(n.B([PY, "-c", arp]))
            expect(r.returncode == 0, r.stderr)
            out, err = ids.communicate(timeout=20)
            expect(ids.returncode == 0, out + err)
            expect("flow tcp 10.0.0.2:" in out, out)
            expect("ALERT port scan: 10.0.0.2 tried" in out, out)
            expect("ALERT arp conflict: 10.0.0.2 moved from" in out and "02:aa:bb:cc:dd:ee" in out, out)

    @case("ids: IPv6 flows and a port scan over IPv6 are reported as IPv4 ones")
    def _():
        with Netns("6i", kernel_ipv6_a=True) as n:
            ids = subprocess.Popen(n.A([USTACK, "ids", "-i", n.ifa, "--seconds", "4"]),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            run(n.B([PY, "-c", scan_script("fd00::1")]))
            run(n.B(["ping", "-6", "-c", "1", "fd00::1"]))
            out, err = ids.communicate(timeout=20)
            expect(ids.returncode == 0, out + err)
            expect(re.search(r"flow tcp \[fd00::2\]:\d+ > \[fd00::1\]:2000", out), out)
            expect("flow icmp6 [fd00::2]:0 > [fd00::1]:0" in out, out)
            expect("ALERT port scan: fd00::2 tried" in out and "ports of fd00::1" in out, out)
            expect("ALERT malformed" not in out, out)

finish()
