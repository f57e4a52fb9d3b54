#!/usr/bin/env python3
"""ustack iperf3 against the stock iperf3 client (Debian's), in two network
namespaces this script creates and removes: forward, -R, -P 4, --bidir, -n
(both ways), UDP (-u: forward, -R, --bidir, -P 2 with fragmented datagrams,
64-bit counters; loss and reordering counted from a raw client), a second
client while busy, a data connection with a wrong cookie, tests one after
another, --one-off; and the usage errors.

usage: iperf3_test.py USTACK_BINARY
"""
import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from clitest import stop  # noqa: E402

USTACK = os.path.abspath(sys.argv[1])
PY = "/usr/bin/python3"
results = []


def run(args, timeout=60, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def case(name):
    def wrap(fn):
        try:
            fn()
            results.append((name, None))
        except AssertionError as e:
            results.append((name, str(e) or "assertion failed"))
        except Exception as e:  # a crash of the test itself is a failure too
            results.append((name, f"{type(e).__name__}: {e}"))
        return fn
    return wrap


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


@case("iperf3: usage errors exit 2 with one line")
def _():
    for args, needle in ((["iperf3"], "no interface given"),
                         (["iperf3", "-i", "lo", "--ip", "10.0.0.1/24", "-p", "0"], "bad value '0'"),
                         (["iperf3", "-i", "lo", "--bogus"], "unknown option '--bogus'")):
        r = run([USTACK] + args)
        expect(r.returncode == 2, f"{args}: exit {r.returncode}: {r.stderr!r}")
        expect(needle in r.stderr, f"{args}: {r.stderr!r} lacks {needle!r}")
    r = run([USTACK, "iperf3", "--help"])
    expect(r.returncode == 0 and "--one-off" in r.stdout and "--port" in r.stdout, r.stdout)


class Netns(clitest.Netns):
    """A: ustack on a veth end without a kernel address; B: Linux, 10.0.0.2."""

    def __init__(self):
        super().__init__("i")


class Server:
    """ustack iperf3 --json in A; its stdout goes to a file read line by line."""

    def __init__(self, n, extra=()):
        self.out = open(f"/tmp/ustack-iperf3-{os.getpid()}-{time.monotonic_ns()}.out", "w+")
        self.p = subprocess.Popen(n.A([USTACK, "iperf3", "-i", n.ifa, "--ip", "10.0.0.1/24",
                                       "--json"] + list(extra)),
                                  stdout=self.out, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while time.time() < deadline and self.p.poll() is None:
            r = subprocess.run(n.B([PY, "-c", "import socket; socket.create_connection("
                                    "('10.0.0.1', 5201), timeout=0.3)"]), capture_output=True)
            if r.returncode == 0:  # a probe: ustack answers, turns it away or counts a failure
                break
            time.sleep(0.2)
        self.seen = 0

    def test(self, want_ok=True, timeout=10):
        """The next test's JSON line whose 'ok' is want_ok (bounded wait)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.out.seek(0)
            tests = [json.loads(l) for l in self.out.read().splitlines() if l.startswith("{")]
            for t in tests[self.seen:]:
                self.seen += 1
                if t["ok"] == want_ok:
                    return t
            time.sleep(0.1)
        raise AssertionError(f"no test line with ok={want_ok} from ustack within {timeout} s")

    def stop(self):
        _, err = stop(self.p)
        self.out.seek(0)
        out = self.out.read()
        self.out.close()
        os.unlink(self.out.name)
        return self.p.returncode, out, err


def client(n, args, timeout=30):
    """iperf3 -c 10.0.0.1 --json ARGS from B; (exit status, parsed JSON)."""
    r = run(n.B(["iperf3", "-c", "10.0.0.1", "--json"] + args), timeout=timeout)
    try:
        return r.returncode, json.loads(r.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"iperf3 {args}: exit {r.returncode}, not JSON: {r.stdout!r} {r.stderr!r}")


def ok_client(n, args):
    rc, j = client(n, args)
    expect(rc == 0 and "error" not in j, f"iperf3 {args}: exit {rc}, error {j.get('error')!r}")
    return j["end"]


# A raw client speaking the protocol (from B): control connection up to
# CREATE_STREAMS, then a data connection with a wrong cookie.
WRONG_COOKIE = r"""
import json, socket, struct, sys
def recv1(s):
    b = s.recv(1)
    if not b: sys.exit('closed')
    return struct.unpack('b', b)[0]
c = socket.create_connection(('10.0.0.1', 5201), timeout=5)
c.sendall(b'a' * 36 + b'\0')
assert recv1(c) == 9, 'no PARAM_EXCHANGE'
p = json.dumps({'tcp': True, 'omit': 0, 'time': 2, 'num': 0, 'blockcount': 0, 'parallel': 1,
                'len': 131072, 'client_version': 'raw'}).encode()
c.sendall(struct.pack('!I', len(p)) + p)
assert recv1(c) == 10, 'no CREATE_STREAMS'
d = socket.create_connection(('10.0.0.1', 5201), timeout=5)
d.sendall(b'b' * 36 + b'\0')
print('data', recv1(d))
c.sendall(struct.pack('b', 12))  # CLIENT_TERMINATE
"""

# A raw UDP test client (from B): the control protocol by hand, the UDP
# connect message, then datagrams 1..100 without 10..19 and with 50 after 51
# (10 lost, 1 out of order); prints the server's results for stream 1.
RAW_UDP = r"""
import json, socket, struct, sys, time
def recv1(s):
    b = s.recv(1)
    if not b: sys.exit('closed')
    return struct.unpack('b', b)[0]
def recv_json(s):
    n = struct.unpack('!I', s.recv(4, socket.MSG_WAITALL))[0]
    return json.loads(s.recv(n, socket.MSG_WAITALL))
c = socket.create_connection(('10.0.0.1', 5201), timeout=5)
c.sendall(b'u' * 36 + b'\0')
assert recv1(c) == 9, 'no PARAM_EXCHANGE'
p = json.dumps({'udp': True, 'omit': 0, 'time': 2, 'num': 0, 'blockcount': 0, 'parallel': 1,
                'len': 1000, 'bandwidth': 1000000, 'client_version': 'raw'}).encode()
c.sendall(struct.pack('!I', len(p)) + p)
assert recv1(c) == 10, 'no CREATE_STREAMS'
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(5)
u.connect(('10.0.0.1', 5201))
u.send(struct.pack('<I', 0x36373839))
reply = u.recv(16)
assert reply == struct.pack('<I', 0x39383736), f'connect reply {reply!r}'
assert recv1(c) == 1 and recv1(c) == 2, 'no TEST_START, TEST_RUNNING'
order = [i for i in range(1, 101) if not 10 <= i <= 19]
order[order.index(50)], order[order.index(51)] = 51, 50
for i in order:
    now = time.time()
    u.send(struct.pack('!III', int(now), int(now % 1 * 1e6), i) + bytes(988))
    time.sleep(0.001)
time.sleep(0.2)
c.sendall(struct.pack('b', 4))  # TEST_END
assert recv1(c) == 13, 'no EXCHANGE_RESULTS'
mine = {'cpu_util_total': 0, 'cpu_util_user': 0, 'cpu_util_system': 0, 'sender_has_retransmits': 0,
        'streams': [{'id': 1, 'bytes': 90000, 'retransmits': -1, 'jitter': 0, 'errors': 0,
                     'packets': 100, 'start_time': 0, 'end_time': 1}]}
m = json.dumps(mine).encode()
c.sendall(struct.pack('!I', len(m)) + m)
r = recv_json(c)
assert recv1(c) == 14, 'no DISPLAY_RESULTS'
c.sendall(struct.pack('b', 16))  # IPERF_DONE
print(json.dumps(r['streams'][0]))
"""

if os.geteuid() == 0:
    with Netns() as n:
        srv = Server(n)

        @case("iperf3: forward -t 2, iperf3's receiver bytes are ustack's")
        def _():
            end = ok_client(n, ["-t", "2"])
            t = srv.test()
            got = end["sum_received"]["bytes"]
            expect(got > 0 and end["sum_sent"]["bytes"] >= got, end["sum_received"])
            expect(t["mode"] == "forward" and t["received"]["streams"] == 1, t)
            expect(t["received"]["bytes"] == got, f"ustack {t['received']} vs iperf3 {got}")
            expect(t["received"]["client_sent"] == end["sum_sent"]["bytes"], t)
            expect(1.5 < t["received"]["seconds"] < 4, t)

        @case("iperf3: -R -t 2, ustack sends, iperf3 counts")
        def _():
            end = ok_client(n, ["-t", "2", "-R"])
            t = srv.test()
            got = end["sum_received"]["bytes"]
            expect(got > 0, end)
            expect(t["mode"] == "reverse" and t["sent"]["streams"] == 1, t)
            expect(t["sent"]["bytes"] == end["sum_sent"]["bytes"] >= got, f"{t['sent']} vs {got}")
            expect(t["sent"]["client_received"] == got, t)
            expect(t["received"]["streams"] == 0, t)

        @case("iperf3: -P 4, four streams each counted")
        def _():
            end = ok_client(n, ["-t", "2", "-P", "4"])
            t = srv.test()
            expect(len(end["streams"]) == 4, end["streams"])
            for s in end["streams"]:
                expect(s["receiver"]["bytes"] > 0, s)
            expect(t["received"]["streams"] == 4, t)
            expect(t["received"]["bytes"] == end["sum_received"]["bytes"], t)

        @case("iperf3: -u -b 20M forward: ustack's datagram count, loss and jitter are iperf3's")
        def _():
            end = ok_client(n, ["-u", "-t", "2", "-b", "20M"])
            t = srv.test()
            expect(t["protocol"] == "udp" and t["mode"] == "forward", t)
            rx, s = t["received"], end["sum"]
            expect(rx["bytes"] > 0 and rx["bytes"] == end["sum_received"]["bytes"], (rx, end))
            expect(rx["client_sent"] == end["sum_sent"]["bytes"], (rx, end))
            # iperf3's receiver figures are what ustack reported in the results.
            expect(s["packets"] == rx["datagrams"] and s["lost_packets"] == rx["lost"], (s, rx))
            expect(abs(s["jitter_ms"] - rx["jitter_ms"]) < 0.001, (s, rx))
            expect(rx["lost"] <= rx["datagrams"] // 100, rx)  # veth: next to no loss
            expect(1.5 < rx["seconds"] < 4 and 0.01 < rx["gbps"] < 0.03, rx)

        @case("iperf3: -u -R -b 20M: ustack sends at the rate, iperf3 counts loss and jitter")
        def _():
            end = ok_client(n, ["-u", "-t", "2", "-b", "20M", "-R"])
            t = srv.test()
            tx, s = t["sent"], end["sum"]
            expect(t["mode"] == "reverse" and tx["streams"] == 1, t)
            expect(tx["bytes"] == end["sum_sent"]["bytes"] and tx["client_received"] ==
                   end["sum_received"]["bytes"], (tx, end))
            expect(s["packets"] == tx["datagrams"], (s, tx))
            expect(tx["lost"] == s["lost_packets"] and tx["lost"] <= tx["datagrams"] // 100,
                   (tx, s))
            rate = end["sum_received"]["bits_per_second"]
            expect(16e6 < rate < 24e6, f"rate {rate}")

        @case("iperf3: -u --bidir, -u -P 2 -l 8000 (fragmented), --udp-counters-64bit")
        def _():
            end = ok_client(n, ["-u", "-t", "1", "-b", "5M", "--bidir"])
            t = srv.test()
            expect(t["received"]["streams"] == 1 and t["sent"]["streams"] == 1, t)
            expect(t["received"]["datagrams"] > 0 and t["sent"]["datagrams"] > 0, t)
            end = ok_client(n, ["-u", "-t", "1", "-b", "20M", "-P", "2", "-l", "8000"])
            t = srv.test()
            expect(t["received"]["streams"] == 2 and t["len"] == 8000, t)
            expect(t["received"]["bytes"] == end["sum_received"]["bytes"] > 0, (t, end))
            expect(t["received"]["datagrams"] == end["sum"]["packets"], (t, end["sum"]))
            end = ok_client(n, ["-u", "-t", "1", "--udp-counters-64bit", "-R"])
            t = srv.test()
            expect(end["sum"]["packets"] == t["sent"]["datagrams"] > 0, (t, end["sum"]))
            expect(end["sum"]["lost_packets"] == 0, end["sum"])

        @case("iperf3: UDP loss and reordering from a raw client: 10 lost of 100, 1 late")
        def _():
            r = run(n.B([PY, "-c", RAW_UDP]), timeout=30)
            expect(r.returncode == 0, r.stdout + r.stderr)
            st = json.loads(r.stdout)
            expect(st["errors"] == 10 and st["packets"] == 100 and st["bytes"] == 90000, st)
            t = srv.test()
            expect(t["received"]["lost"] == 10 and t["received"]["datagrams"] == 100, t)

        @case("iperf3: -n 20M forward, then -R -n 20M exact")
        def _():
            end = ok_client(n, ["-n", "20M"])
            t = srv.test()
            expect(end["sum_sent"]["bytes"] == 20 << 20, end["sum_sent"])
            expect(0 < t["received"]["bytes"] <= 20 << 20, t)
            expect(t["received"]["bytes"] == end["sum_received"]["bytes"], t)
            end = ok_client(n, ["-n", "20M", "-R"])
            t = srv.test()
            expect(t["sent"]["bytes"] == 20 << 20, t)
            expect(end["sum_received"]["bytes"] == 20 << 20, end["sum_received"])

        @case("iperf3: --bidir -t 2, both directions")
        def _():
            end = ok_client(n, ["-t", "2", "--bidir"])
            t = srv.test()
            expect(t["mode"] == "bidir", t)
            expect(t["received"]["streams"] == 1 and t["sent"]["streams"] == 1, t)
            expect(t["received"]["bytes"] > 0 and t["sent"]["bytes"] > 0, t)
            expect(end["sum_received"]["bytes"] == t["received"]["bytes"], (end["sum_received"], t))

        @case("iperf3: a second client while busy gets ACCESS_DENIED")
        def _():
            first = subprocess.Popen(n.B(["iperf3", "-c", "10.0.0.1", "--json", "-t", "3"]),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            rc, j = client(n, ["-t", "1"])
            expect("the server is busy" in j.get("error", ""), f"second: {rc} {j.get('error')}")
            out, _ = first.communicate(timeout=30)
            expect(first.returncode == 0 and "error" not in json.loads(out), out[-300:])
            t = srv.test()
            expect(t["received"]["bytes"] > 0, t)

        @case("iperf3: a data connection with a wrong cookie is turned away")
        def _():
            r = run(n.B([PY, "-c", WRONG_COOKIE]), timeout=30)
            expect(r.returncode == 0 and "data -1" in r.stdout, r.stdout + r.stderr)
            t = srv.test(want_ok=False)
            expect("client has terminated" in t["error"], t)
            end = ok_client(n, ["-t", "1"])  # and the next test runs
            expect(end["sum_received"]["bytes"] > 0, end)
            srv.test()

        rc, out, err = srv.stop()

        @case("iperf3: Ctrl-C stops the server with a summary")
        def _():
            expect(rc == 0, f"exit {rc}: {err}")
            expect("data connection with a wrong cookie refused" in err, err)
            expect("turned away" in err, err)
            expect("iperf3: 15 tests, 1 failed, 0 refused" in err, err)

        @case("iperf3: --one-off exits 0 after one test, text summary")
        def _():
            p = subprocess.Popen(n.A([USTACK, "iperf3", "-i", n.ifa, "--ip", "10.0.0.1/24",
                                      "-1", "-p", "5202"]),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                time.sleep(0.5)
                r = run(n.B(["iperf3", "-c", "10.0.0.1", "-p", "5202", "-t", "1", "-R"]))
                expect(r.returncode == 0, r.stdout + r.stderr)
                out, err = p.communicate(timeout=15)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.communicate()
            expect(p.returncode == 0, f"exit {p.returncode}: {out} {err}")
            expect("test 1 from 10.0.0.2:" in out and "sent " in out and "Gbps" in out, out)

failed = [(n, e) for n, e in results if e]
for n, e in results:
    print(("ok     " if not e else "FAILED ") + n + ("" if not e else f": {e}"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
