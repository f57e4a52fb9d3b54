#!/usr/bin/env python3
"""ustack serve and ustack stats as a user runs them: every config mistake
(one line on stderr, exit 2), --check on the committed example, stats with
no instance or a stale one, and, as root in namespaces this script creates
and removes, one serve process running httpd, a tcpserver echo, wsd and
iperf3 on four ports of one stack: curl, a kernel TCP echo client, a
WebSocket client and the iperf3 client against it, `ustack stats --json` while it runs, then SIGTERM: FIN
to a connection still open, the summary lines, exit 0, the shm file gone.

usage: serve_test.py USTACK_BINARY EXAMPLE_CONFIG
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import PY, Netns, case, expect, finish, run, stop  # noqa: E402

USTACK, EXAMPLE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ws_peer.py")
TMP = tempfile.mkdtemp(prefix="ustack-serve-test-")
INSTANCE = f"ustk{os.getpid()}"  # unique, so a parallel run cannot collide
SHM = f"/dev/shm/ustack-{INSTANCE}.stats"
CORE = 1 if (os.cpu_count() or 1) > 1 else 0

IFACE = '[interface]\niface = "lo"\nip = "10.0.0.1/24"\n'
HTTPD = '[[server]]\nkind = "httpd"\nport = 8080\n'


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def config_error(text, needle, where=None):
    """serve (and serve --check) refuse `text` with one line naming `needle`."""
    path = write("bad.toml", text)
    for args in (["serve", path], ["serve", "--check", path], ["serve", "--config", path]):
        r = run([USTACK] + args, timeout=20)
        expect(r.returncode == 2, f"{args}: exit {r.returncode}, want 2; stderr={r.stderr!r}")
        lines = r.stderr.strip().splitlines()
        expect(len(lines) == 1, f"{args}: want one line on stderr, got {r.stderr!r}")
        expect(lines[0].startswith("ustack serve: "), lines[0])
        expect(needle in lines[0], f"{args}: {lines[0]!r} lacks {needle!r}")
        if where is not None:
            expect(f"{path}:{where}:" in lines[0], f"{lines[0]!r} does not point at {where}")
        expect(r.stdout == "", f"{args}: stdout {r.stdout!r}")


@case("serve --help, stats --help, both listed by ustack help")
def _():
    r = run([USTACK, "serve", "--help"])
    expect(r.returncode == 0 and "usage: ustack serve" in r.stdout and "--check" in r.stdout,
           r.stdout + r.stderr)
    r = run([USTACK, "stats", "--help"])
    expect(r.returncode == 0 and "--json" in r.stdout and "--name" in r.stdout, r.stdout)
    r = run([USTACK, "help"])
    expect("\n  serve " in r.stdout and "\n  stats " in r.stdout, r.stdout)


@case("serve --check accepts the committed example config")
def _():
    r = run([USTACK, "serve", "--check", EXAMPLE])
    expect(r.returncode == 0, f"exit {r.returncode}: {r.stdout}{r.stderr}")
    for what in ("is valid", "httpd on port 8080", "wsd on port 8081", "tcpserver on port 7",
                 "iperf3 on port 5201", "core 1"):
        expect(what in r.stdout, f"{what!r} not in {r.stdout!r}")


@case("serve: no file, missing file, two files")
def _():
    r = run([USTACK, "serve"])
    expect(r.returncode == 2 and "no config file given" in r.stderr, r.stderr)
    r = run([USTACK, "serve", os.path.join(TMP, "nonexistent.toml")])
    expect(r.returncode == 2 and "cannot read config" in r.stderr and
           "No such file or directory" in r.stderr, r.stderr)
    expect(len(r.stderr.strip().splitlines()) == 1, r.stderr)
    r = run([USTACK, "serve", EXAMPLE, "--config", EXAMPLE])
    expect(r.returncode == 2 and "give one config file" in r.stderr, r.stderr)


@case("serve: TOML syntax error with toml++'s line and column")
def _():
    config_error('name = "x"\ncores = [1\n', "TOML syntax error", where="2")
    config_error(IFACE + '[[server]]\nkind = "httpd"\nport = = 1\n', "TOML syntax error",
                 where="6")


@case("serve: unknown keys, at the top, in [interface] and in a server")
def _():
    config_error("bogus = 1\n" + IFACE + HTTPD, "unknown key 'bogus' at the top level", "1:1")
    config_error(IFACE + 'speed = 10\n' + HTTPD, "unknown key 'speed' in [interface]", "4:1")
    config_error(IFACE + '[[server]]\nkind = "httpd"\nprot = 80\n',
                 "unknown key 'prot' in [[server]] 1", "6:1")
    # A key of another kind is unknown too.
    config_error(IFACE + '[[server]]\nkind = "wsd"\nroot = "/"\n', "unknown key 'root'")


@case("serve: unknown server kind; no kind; no servers")
def _():
    config_error(IFACE + '[[server]]\nkind = "ftp"\nport = 21\n', "unknown server kind 'ftp'",
                 "5:1")
    config_error(IFACE + '[[server]]\nport = 21\n', "no kind in [[server]] 1")
    config_error(IFACE, "no [[server]] tables")


@case("serve: two servers on one port")
def _():
    config_error(IFACE + HTTPD + '[[server]]\nkind = "wsd"\nport = 8080\n',
                 "port 8080 is taken twice", "9:1")
    # httpd and wsd both default to 8080.
    config_error(IFACE + '[[server]]\nkind = "httpd"\n[[server]]\nkind = "wsd"\n',
                 "port 8080 is taken twice")


@case("serve: bad addresses, MAC, driver, ring, idle; no iface; no [interface]")
def _():
    config_error('[interface]\niface = "lo"\nip = "10.0.0.300/24"\n' + HTTPD,
                 "bad address '10.0.0.300/24' for ip", "3:1")
    config_error(IFACE + 'gw = "gateway"\n' + HTTPD, "bad address 'gateway' for gw", "4:1")
    config_error(IFACE + 'mac = "02:00"\n' + HTTPD, "bad MAC '02:00'")
    config_error(IFACE + 'driver = "e1000"\n' + HTTPD, "unknown driver 'e1000'")
    config_error(IFACE + 'ring = 4\n' + HTTPD, "ring is 2 or 3")
    config_error(IFACE + 'idle = "doze"\n' + HTTPD, "idle is spin or sleep, not 'doze'")
    config_error('[interface]\nip = "10.0.0.1/24"\n' + HTTPD, "no iface in [interface]")
    config_error(HTTPD, "no [interface] table")


@case("serve: cores listed twice or none; iperf3 and slaac on several cores are refused")
def _():
    config_error("cores = [0, 0]\n" + IFACE + HTTPD, "core 0 is listed twice", "1:1")
    config_error("cores = []\n" + IFACE + HTTPD, "cores is empty")
    path = write("iperf3multi.toml", "cores = [0, 1]\n" + IFACE +
                 '[[server]]\nkind = "iperf3"\nport = 5201\n')
    r = run([USTACK, "serve", path], timeout=20)
    expect(r.returncode == 2, f"exit {r.returncode}: {r.stderr}")
    expect("iperf3 runs on one core" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
           r.stderr)
    path = write("slaacmulti.toml", "cores = [0, 1]\n" + IFACE + "slaac = true\n" + HTTPD)
    r = run([USTACK, "serve", path], timeout=20)
    expect(r.returncode == 2, f"exit {r.returncode}: {r.stderr}")
    expect("slaac runs on one core" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
           r.stderr)


@case("serve: wrong types and ranges, bad names, missing root, bad mode")
def _():
    config_error(IFACE + '[[server]]\nkind = "httpd"\nport = "80"\n',
                 "port must be an integer, not a string", "6:1")
    config_error(IFACE + '[[server]]\nkind = "httpd"\nport = 70000\n', "port is 1..65535")
    config_error(IFACE + '[[server]]\nkind = "httpd"\nroot = "/nonexistent/dir"\n',
                 "root '/nonexistent/dir' is not a directory")
    config_error(IFACE + '[[server]]\nkind = "tcpserver"\nport = 7\nmode = "loud"\n',
                 "mode is echo, discard or source, not 'loud'")
    config_error(IFACE + '[[server]]\nkind = "tcpserver"\n', "no port in [[server]] 1")
    config_error('name = "a/b"\n' + IFACE + HTTPD, "bad instance name 'a/b'")
    config_error(IFACE + HTTPD + '[[server]]\nkind = "wsd"\nport = 81\nname = "httpd"\n',
                 "two servers are named 'httpd'")
    config_error(IFACE + '[server]\nkind = "httpd"\n', "write each as [[server]]")


@case("serve: a missing core or interface is found at start: exit 2, no stats file left")
def _():
    for text, needle in ((f'name = "{INSTANCE}"\ncores = [999]\n' + IFACE + HTTPD,
                          "core 999 does not exist"),
                         (f'name = "{INSTANCE}"\n[interface]\niface = "nosuch0"\n'
                          'ip = "10.9.0.1/24"\n' + HTTPD, "nosuch0")):
        r = run([USTACK, "serve", write("start.toml", text)], timeout=30)
        expect(r.returncode == 2 and needle in r.stderr, f"exit {r.returncode}: {r.stderr}")
        expect(not os.path.exists(SHM), f"{SHM} left behind")


@case("stats: no running instance is one line, exit 1; bad options exit 2")
def _():
    r = run([USTACK, "stats", "--name", INSTANCE + "none"])
    expect(r.returncode == 1, f"exit {r.returncode}: {r.stderr}")
    expect(r.stderr.strip().splitlines() == [f"ustack stats: no running instance '{INSTANCE}none' "
                                             f"(no /dev/shm/ustack-{INSTANCE}none.stats)"],
           r.stderr)
    for args, needle in ((["--name", "a/b"], "bad instance name"), (["--watch", "x"], "--watch"),
                         (["--bogus"], "--bogus")):
        r = run([USTACK, "stats"] + args)
        expect(r.returncode == 2 and needle in r.stderr, f"{args}: {r.returncode} {r.stderr}")


@case("stats: a file left by a process that is gone is no instance")
def _():
    name = INSTANCE + "stale"
    path = f"/dev/shm/ustack-{name}.stats"
    # A pid that is certainly gone: a child that has exited and been reaped.
    p = subprocess.Popen(["true"])
    p.wait()
    slot = 64 + 2048 * 64
    header = struct.pack("<8sIIIiQ64sQ", b"USTKSTAT", 1, slot, 2048, p.pid, 0,
                         name.encode(), 0)
    with open(path, "wb") as f:
        f.write(header.ljust(256, b"\0") + b"\0" * (2 * slot))
    try:
        r = run([USTACK, "stats", "--name", name])
        expect(r.returncode == 1 and "which is gone" in r.stderr, f"{r.returncode} {r.stderr}")
    finally:
        os.unlink(path)


def wait_port(n, port):
    """Bounded: a kernel TCP connect from B to ustack works."""
    for _ in range(50):
        r = run(n.B([PY, "-c", "import socket; socket.create_connection("
                     f"('10.0.0.1', {port}), timeout=0.5).close()"]), timeout=10)
        if r.returncode == 0:
            return True
        time.sleep(0.1)
    return False


def deployment(name, cores, iface, interface_extra=""):
    """A serve config: httpd on 8080 and a tcpserver echo on 7007 (its
    table last, so a caller may add keys to it or further servers)."""
    return f"""# the test's deployment
name = "{name}"
cores = {cores}
drain_ms = 3000
stats_interval_ms = 50

[interface]
iface = "{iface}"
ip = "10.0.0.1/24"
{interface_extra}

[[server]]
kind = "httpd"
port = 8080

[[server]]
kind = "tcpserver"
port = 7007
mode = "echo"
"""


def stats_json():
    r = run([USTACK, "stats", "--name", INSTANCE, "--json"], timeout=20)
    expect(r.returncode == 0, f"stats exit {r.returncode}: {r.stderr}")
    return json.loads(r.stdout)


ECHO_CLIENT = r"""
import os, socket, sys
data = os.urandom(20000)
s = socket.create_connection(("10.0.0.1", 7007), timeout=10)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = b""
while True:  # bounded: 10 s per read, ends at EOF
    b = s.recv(65536)
    if not b:
        break
    got += b
s.close()
print("echo ok" if got == data else f"echo MISMATCH {len(got)} bytes")
"""

# Holds a connection open until the server ends it; says how it ended.
HOLDER = r"""
import socket, sys
s = socket.create_connection(("10.0.0.1", 7007), timeout=30)
s.sendall(b"held")
print("connected", flush=True)
got = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            print("eof after", len(got), flush=True)
            break
        got += b
except ConnectionResetError:
    print("reset", flush=True)
except socket.timeout:
    print("timeout", flush=True)
"""

if os.geteuid() == 0:
    with Netns("s") as n:
        # The worker sleeps in the driver when idle here (--idle sleep), so
        # every exchange below also shows that a sleeping core wakes for it.
        cfg = write("serve.toml", deployment(INSTANCE, f"[{CORE}]", n.ifa, 'idle = "sleep"') + """

[[server]]
kind = "wsd"
port = 8081
max_message = 2097152

[[server]]
kind = "iperf3"
port = 5201
""")
        serve = subprocess.Popen(n.A([USTACK, "serve", cfg]), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        holder = None
        try:
            up = all(wait_port(n, p) for p in (8080, 7007, 8081))

            @case("serve: httpd, tcpserver, wsd and iperf3 listen in one process")
            def _():
                expect(up, "a port did not answer")
                expect(serve.poll() is None, "serve exited")
                expect(os.path.exists(SHM), f"no {SHM}")

            @case("serve: a second serve with the same name is refused before opening anything")
            def _():
                r = run(n.A([USTACK, "serve", cfg]), timeout=20)
                expect(r.returncode == 2, f"exit {r.returncode}: {r.stderr}")
                expect(f"instance '{INSTANCE}' is already running (pid" in r.stderr, r.stderr)
                expect(os.path.exists(SHM), "the running instance's file was removed")

            @case("serve: curl GET / from the kernel side")
            def _():
                r = run(n.B(["curl", "-sS", "--max-time", "10", "http://10.0.0.1:8080/"]))
                expect(r.returncode == 0 and "Served by ustack" in r.stdout, r.stdout + r.stderr)

            @case("serve: a kernel TCP client's 20000 bytes come back from tcpserver")
            def _():
                r = run(n.B([PY, "-c", ECHO_CLIENT]), timeout=30)
                expect(r.returncode == 0 and "echo ok" in r.stdout, r.stdout + r.stderr)

            @case("serve: a WebSocket client's messages come back from wsd")
            def _():
                r = run(n.B([PY, PEER, "ws://10.0.0.1:8081/", "echo"]), timeout=120)
                expect(r.returncode == 0, f"exit {r.returncode}: {r.stdout}{r.stderr}")
                for what in ("ok text", "ok binary", "ok 1MiB", "ok close 4321"):
                    expect(what in r.stdout, f"no {what!r} in {r.stdout}")

            @case("serve: the stock iperf3 client runs a test against the iperf3 server")
            def _():
                r = run(n.B(["iperf3", "-c", "10.0.0.1", "-p", "5201", "-t", "1", "--json"]),
                        timeout=60)
                expect(r.returncode == 0, r.stdout[-500:] + r.stderr)
                end = json.loads(r.stdout)["end"]
                expect(end["sum_received"]["bytes"] > 0, end)

            holder = subprocess.Popen(n.B([PY, "-c", HOLDER]), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
            held = holder.stdout.readline().strip()

            @case("stats --json while serve runs: counters moved, connections counted")
            def _():
                expect(held == "connected", f"holder: {held!r}")
                s = None
                for _ in range(40):  # bounded: until the held connection is published
                    s = stats_json()
                    if s["workers"][0]["servers"]["tcpserver"]["open"] >= 1:
                        break
                    time.sleep(0.05)
                expect(s["instance"] == INSTANCE and s["pid"] > 0, s)
                expect(len(s["workers"]) == 1, s)
                w = s["workers"][0]
                expect(w["worker"] == 0 and w["core"] == CORE, w)
                c = w["counters"]
                expect(c.get("tcp.rx", 0) > 0 and c.get("tcp.tx", 0) > 0, c)
                expect(c.get("tcp.passive_opens", 0) >= 8, c)
                expect(c.get("worker.idle_sleeps", 0) > 0, "idle = sleep: the worker never slept")
                srv = w["servers"]
                expect(set(srv) == {"httpd", "tcpserver", "wsd", "iperf3"}, srv)
                # wait_port probes connect once to each port as well.
                expect(srv["httpd"]["accepted"] >= 2 and srv["httpd"]["finished"] >= 2, srv)
                expect(srv["tcpserver"]["accepted"] >= 3, srv)
                expect(srv["tcpserver"]["open"] == 1, srv)  # the holder
                expect(srv["wsd"]["accepted"] >= 2 and srv["wsd"]["open"] == 0, srv)
                expect(all(v["failed"] == 0 for v in srv.values()), srv)
                expect(0 <= s["age_s"] < 5, s)

            @case("stats (text) while serve runs: grouped per worker and core")
            def _():
                r = run([USTACK, "stats", "--name", INSTANCE], timeout=20)
                expect(r.returncode == 0, r.stderr)
                expect(f"instance {INSTANCE}: pid {serve.pid}" in r.stdout or
                       f"instance {INSTANCE}: pid" in r.stdout, r.stdout)
                expect(f"worker 0 (core {CORE})" in r.stdout, r.stdout)
                expect(re.search(r"\n  tcpserver +\d+ +1 +\d+ +0\n", r.stdout), r.stdout)
                expect(re.search(r"\n  tcp\.rx +\d+\n", r.stdout), r.stdout)

            @case("stats --watch: reports again, bounded by --count")
            def _():
                r = run([USTACK, "stats", "--name", INSTANCE, "--json", "--watch", "0.1",
                         "--count", "3"], timeout=20)
                expect(r.returncode == 0, r.stderr)
                reports = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
                expect(len(reports) == 3, r.stdout)
                expect(reports[2]["uptime_s"] > reports[0]["uptime_s"], r.stdout)
        finally:
            out, err = stop(serve, signal.SIGTERM, timeout=20)
            hout = stop(holder, None, timeout=15)[0] if holder is not None else ""

        @case("serve: SIGTERM closes the open connection with FIN, summary lines, exit 0")
        def _():
            expect(serve.returncode == 0, f"exit {serve.returncode}: {out}{err}")
            expect(holder is not None and "eof after 4" in hout, f"holder: {hout!r}")
            for name in ("httpd", "tcpserver", "wsd"):
                expect(f"{name}: interrupted, closing open connections" in out, out)
                m = re.search(rf"^{name}: (\d+) connections, (\d+) failed$", out, re.M)
                expect(m is not None, f"no totals line for {name}: {out}")
                expect(int(m.group(2)) == 0, m.group(0))
            expect(re.search(r"^wsd: 0 handshakes refused, 0 connections failed for bad frames$",
                             out, re.M), out)
            expect("iperf3: interrupted, closing open connections" in out, out)
            expect(re.search(r"^iperf3: 1 tests, 0 failed, 0 refused$", out, re.M), out)
            expect(re.search(r"^test 1 from 10\.0\.0\.2:\d+: received \d+ bytes on 1 stream",
                             out, re.M), out)
            # Connection lines name their server.
            expect(re.search(r"^tcpserver: 10\.0\.0\.2:\d+: received 20000 bytes, sent 20000 "
                             r"bytes", out, re.M), out)
            expect(re.search(r"^tcpserver: 10\.0\.0\.2:\d+: received 4 bytes, sent 4 bytes.*"
                             r"\(closed\)", out, re.M), out)
            expect(out.rstrip().endswith("serve: stopped"), out[-300:])

        @case("serve: the shm file is gone after exit; stats says no instance")
        def _():
            expect(not os.path.exists(SHM), f"{SHM} still exists")
            r = run([USTACK, "stats", "--name", INSTANCE])
            expect(r.returncode == 1 and "no running instance" in r.stderr, r.stderr)


MANY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernel", "peers",
                    "many_tcp.py")

if os.geteuid() == 0 and (os.cpu_count() or 1) > 1:
    with Netns("m") as n:
        cfg = write("multi.toml", deployment(f"{INSTANCE}m", "[0, 1]", n.ifa) +
                    "log_connections = false\n")
        serve = subprocess.Popen(n.A([USTACK, "serve", cfg]), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            up = all(wait_port(n, p) for p in (8080, 7007))

            @case("serve on two cores: 200 kernel connections echoed, curl served")
            def _():
                expect(up, "a port did not answer")
                r = run(n.B([PY, MANY, "client", "10.0.0.1", "7007", "200", "2000", "32", "60"]),
                        timeout=90)
                expect(r.returncode == 0 and "200 done, 0 failed" in r.stdout,
                       r.stdout + r.stderr)
                r = run(n.B(["curl", "-sS", "--max-time", "10", "http://10.0.0.1:8080/"]))
                expect(r.returncode == 0 and "Served by ustack" in r.stdout, r.stdout + r.stderr)

            @case("stats on two cores: a worker per core, each took its share of the flows")
            def _():
                s = None
                for _ in range(40):  # bounded: until both workers published the flows
                    r = run([USTACK, "stats", "--name", f"{INSTANCE}m", "--json"], timeout=20)
                    s = json.loads(r.stdout) if r.returncode == 0 else None
                    if s and sum(w["servers"]["tcpserver"]["finished"]
                                 for w in s["workers"]) >= 200:
                        break
                    time.sleep(0.05)
                expect(s is not None and len(s["workers"]) == 2, s)
                expect(sorted(w["core"] for w in s["workers"]) == [0, 1], s)
                took = [w["servers"]["tcpserver"]["accepted"] for w in s["workers"]]
                expect(sum(took) >= 200 and min(took) >= 50, f"accepted per core: {took}")
                expect(all(w["servers"]["tcpserver"]["failed"] == 0 for w in s["workers"]), s)
        finally:
            out, err = stop(serve, signal.SIGTERM, timeout=20)

        @case("serve on two cores: SIGTERM drains both, totals per worker, exit 0")
        def _():
            expect(serve.returncode == 0, f"exit {serve.returncode}: {out}{err}")
            expect("serve: 2 workers on cores 0,1" in out or "2 workers on cores 0,1" in out,
                   out[:500])
            expect("serve: worker 0 (core 0):" in out and "serve: worker 1 (core 1):" in out,
                   out[-800:])
            totals = [int(m) for m in re.findall(r"^tcpserver: (\d+) connections, 0 failed$",
                                                  out, re.M)]
            expect(len(totals) == 2 and sum(totals) >= 200, f"{totals}: {out[-800:]}")
            expect(out.rstrip().endswith("serve: stopped"), out[-300:])

shutil.rmtree(TMP, ignore_errors=True)
finish()
