#!/usr/bin/env python3
"""ustack http as a user runs it: usage errors, and, as root in namespaces
this script creates and removes, against a kernel server (Python's
http.server, tests/cli/http_peer.py) and against ustack's own httpd: GET
with Content-Length, chunked and close-delimited bodies, keep-alive over
several URLs, POST with Content-Length and chunked bodies, --headers, and
truncated or malformed responses (one line, status 1).

usage: http_test.py USTACK_BINARY
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


def pattern(n):
    return bytes((i * 7 + 3) & 0xFF for i in range(n))



@case("http: help and usage errors")
def _():
    r = run([USTACK, "http", "--help"])
    expect(r.returncode == 0 and "usage: ustack http" in r.stdout and "--chunked" in r.stdout,
           r.stdout)
    expect("\n  http " in run([USTACK, "help"]).stdout, "not in help")
    clitest.usage_error(USTACK, ["http", "-i", "lo", "--ip", "10.0.0.1/24"], "give the URL")
    clitest.usage_error(USTACK, ["http", "-i", "lo", "ftp://x/"], "the scheme is not http")
    clitest.usage_error(USTACK, ["http", "-i", "lo", "http://10.0.0.2:0/"], "the port")
    clitest.usage_error(USTACK, ["http", "-i", "lo", "http://10.0.0.2/", "http://10.0.0.3/"],
                        "the same server")
    clitest.usage_error(USTACK, ["http", "-i", "lo", "http://web.test/"], "--dns")


def http(n, *args):
    r = subprocess.run(n.A([USTACK, "http", "-i", n.ifa, "--ip", "10.0.0.1/24"] + list(args)),
                       capture_output=True, timeout=60)
    return r.returncode, r.stdout, r.stderr.decode()


if os.geteuid() == 0:
    with Netns("h") as n:
        peer = subprocess.Popen(n.B([PY, os.path.join(HERE, "http_peer.py"), "10.0.0.2", "8000"]),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(50):  # bounded wait for the listening socket
                if "10.0.0.2:8000" in run(n.B(["ss", "-ltn"])).stdout:
                    break
                time.sleep(0.1)
            U = "http://10.0.0.2:8000"

            @case("http: GET with Content-Length, chunked and close-delimited bodies")
            def _():
                for path in ("/bytes/100000", "/chunked/100000", "/close/100000"):
                    rc, out, err = http(n, U + path)
                    expect(rc == 0, f"{path}: {rc} {err}")
                    status, _, body = out.partition(b"\n")
                    expect(status == b"HTTP/1.1 200 OK" or status == b"HTTP/1.0 200 OK", status)
                    expect(body == pattern(100000), f"{path}: body of {len(body)} bytes differs")

            @case("http: keep-alive: three URLs on one connection, --headers")
            def _():
                rc, out, err = http(n, "--headers", U + "/bytes/10", U + "/chunked/2500",
                                    U + "/bytes/0")
                expect(rc == 0, err)
                expect(out.count(b"HTTP/1.1 200 OK\n") == 3, out[:300])
                expect(b"Transfer-Encoding: chunked\n" in out and b"Content-Length: 10\n" in out,
                       out[:300])
                expect("3 responses, 2510 body bytes, 1 connection," in err, err)

            @case("http: a server that closes after each response gets a new connection")
            def _():
                rc, out, err = http(n, U + "/close/5", U + "/close/6")
                expect(rc == 0, err)
                expect("2 responses, 11 body bytes, 2 connections" in err, err)

            @case("http: POST 200 KB with Content-Length and chunked")
            def _():
                data = os.path.join("/tmp", f"ustk-http-{os.getpid()}")
                with open(data, "wb") as f:
                    f.write(pattern(200000))
                try:
                    for chunked in (False, True):
                        args = ["--headers", "--data-file", data, U + "/echo"]
                        rc, out, err = http(n, *(args + (["--chunked"] if chunked else [])))
                        expect(rc == 0, err)
                        head, _, body = out.partition(b"\n\n")
                        expect(body == pattern(200000), f"echo of {len(body)} bytes differs")
                        want = b"X-Request-Chunked: " + (b"yes" if chunked else b"no")
                        expect(want in head, head)
                finally:
                    os.unlink(data)

            @case("http: truncated and malformed responses: one line, status 1")
            def _():
                rc, out, err = http(n, U + "/truncated")
                expect(rc == 1, f"{rc} {err}")
                expect(error_lines(err) == ["ustack http: 10.0.0.2:8000: bad response: the connection "
                                       "closed in the middle of a response (truncated)"], err)
                rc, out, err = http(n, U + "/garbage")
                expect(rc == 1, f"{rc} {err}")
                expect(len(error_lines(err)) == 1 and "malformed status line" in err, err)

            @case("http: a closed port is refused: one line, status 1")
            def _():
                rc, out, err = http(n, "http://10.0.0.2:8001/")
                expect(rc == 1 and len(error_lines(err)) == 1 and "refused" in err, err)
        finally:
            stop(peer, sig=15)

    @case("http against ustack httpd: GET, keep-alive, POST /echo chunked")
    def _():
        with Netns("i") as n:
            srv = subprocess.Popen(n.A([USTACK, "httpd", "-i", n.ifa, "--ip", "10.0.0.1/24"]),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                time.sleep(0.5)
                cli = ["http", "-i", n.ifb, "--ip", "10.0.0.3/24"]
                r = subprocess.run(n.B([USTACK] + cli + ["http://10.0.0.1:8080/",
                                                          "http://10.0.0.1:8080/stats"]),
                                   capture_output=True, timeout=60)
                expect(r.returncode == 0, r.stderr)
                expect(r.stdout.count(b"HTTP/1.1 200 OK\n") == 2, r.stdout[:300])
                expect(b"2 responses" in r.stderr and b"1 connection," in r.stderr, r.stderr)
                r = subprocess.run(n.B([USTACK] + cli + ["--chunked", "-d", "x" * 50000,
                                                          "http://10.0.0.1:8080/echo"]),
                                   capture_output=True, timeout=60)
                expect(r.returncode == 0, r.stderr)
                expect(r.stdout == b"HTTP/1.1 200 OK\n" + b"x" * 50000, r.stdout[:200])
            finally:
                stop(srv)

finish()
