#!/usr/bin/python3
"""The Linux-side peer of the wsd test: one scenario against a WebSocket
server, with Debian's python3-websockets as the client or a raw socket for
what that client will not send. Prints what it checked; exits non-zero on
the first mismatch. Every wait is bounded.

usage: ws_peer.py URL SCENARIO
"""
import asyncio
import base64
import hashlib
import os
import socket
import struct
import sys
import time

import websockets

URL, SCENARIO = sys.argv[1], sys.argv[2]
HOST = URL.split("//")[1].split(":")[0]
PORT = int(URL.rsplit(":", 1)[1].split("/")[0])
T = 20  # seconds, any single wait


def check(cond, msg):
    if not cond:
        print(f"FAIL {SCENARIO}: {msg}", flush=True)
        sys.exit(1)


async def echo():
    async with websockets.connect(URL, max_size=None, open_timeout=T, close_timeout=T) as ws:
        await ws.send("hello, ustack \u00e9\u20ac\U0001d11e")
        got = await asyncio.wait_for(ws.recv(), T)
        check(got == "hello, ustack \u00e9\u20ac\U0001d11e", f"text echo {got!r}")
        print("ok text", flush=True)
        blob = bytes(range(256)) * 3
        await ws.send(blob)
        got = await asyncio.wait_for(ws.recv(), T)
        check(isinstance(got, bytes) and got == blob, "binary echo")
        print("ok binary", flush=True)
        big = os.urandom(1 << 20)  # a 64-bit length
        t = time.monotonic()
        await ws.send(big)
        got = await asyncio.wait_for(ws.recv(), T)
        check(got == big, f"1 MiB echo: {len(got)} bytes back")
        print(f"ok 1MiB {1000 * (time.monotonic() - t):.1f} ms", flush=True)
        await ws.send(["frag", "mented ", "text"])  # three frames, one message
        got = await asyncio.wait_for(ws.recv(), T)
        check(got == "fragmented text", f"fragmented {got!r}")
        await ws.send([b"\x00" * 70000, b"\x01" * 10])
        got = await asyncio.wait_for(ws.recv(), T)
        check(got == b"\x00" * 70000 + b"\x01" * 10, "fragmented binary")
        print("ok fragmented", flush=True)
        waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(waiter, T)
        print("ok ping", flush=True)
        # Many messages before reading any: the server stops reading while
        # its backlog is large and everything still comes back in order.
        msgs = [os.urandom(256 * 1024) for _ in range(24)]
        for m in msgs:
            await ws.send(m)
        for i, m in enumerate(msgs):
            got = await asyncio.wait_for(ws.recv(), T)
            check(got == m, f"pipelined message {i}")
        print("ok pipelined 6MiB", flush=True)
        await ws.close(code=4321, reason="test over")
        check(ws.close_code == 4321, f"close code back {ws.close_code}")
        print("ok close 4321", flush=True)


async def too_big():
    async with websockets.connect(URL, max_size=None, open_timeout=T, close_timeout=T) as ws:
        await ws.send(b"x" * (3 << 20))
        try:
            await asyncio.wait_for(ws.recv(), T)
            check(False, "a message over --max-message came back")
        except websockets.ConnectionClosed:
            pass
        check(ws.close_code == 1009, f"close code {ws.close_code}, want 1009")
        print("ok 1009", flush=True)


def raw_connect():
    s = socket.create_connection((HOST, PORT), timeout=T)
    s.settimeout(T)
    return s


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        check(chunk, f"EOF in the response head: {data!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def raw_upgrade():
    s = raw_connect()
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET / HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\n"
               f"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head, rest = read_head(s)
    check(head.startswith("HTTP/1.1 101 "), head)
    want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                         .encode()).digest()).decode()
    check(f"Sec-WebSocket-Accept: {want}" in head, head)
    return s, rest


def read_exactly(s, buf, n):
    while len(buf) < n:
        chunk = s.recv(65536)
        check(chunk, f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_frame(s, buf):
    """(opcode, payload, rest) of the next unmasked server frame."""
    buf = read_exactly(s, buf, 2)
    op, n = buf[0] & 0x0F, buf[1] & 0x7F
    check(buf[1] & 0x80 == 0, "server frame is masked")
    at = 2
    if n == 126:
        buf = read_exactly(s, buf, 4)
        n, at = struct.unpack("!H", buf[2:4])[0], 4
    elif n == 127:
        buf = read_exactly(s, buf, 10)
        n, at = struct.unpack("!Q", buf[2:10])[0], 10
    buf = read_exactly(s, buf, at + n)
    return op, buf[at:at + n], buf[at + n:]


def expect_eof(s, buf):
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            return
        buf += chunk
    check(False, f"the server did not close the connection; extra {buf!r}")


def masked(op, payload, fin=True):
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([(0x80 if fin else 0) | op])
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def raw_close_expected(frames, code):
    """Sends `frames` after the handshake; expects a close with `code`, then EOF."""
    s, buf = raw_upgrade()
    s.sendall(frames)
    op, payload, buf = read_frame(s, buf)
    while op in (0x1, 0x2):  # echoes of the valid messages before
        op, payload, buf = read_frame(s, buf)
    check(op == 0x8, f"opcode {op}, want close")
    got = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    check(got == code, f"close code {got}, want {code} ({payload[2:]!r})")
    s.sendall(masked(0x8, payload[:2]))  # finish the closing handshake
    expect_eof(s, buf)
    s.close()
    print(f"ok close {code}: {payload[2:].decode()}", flush=True)


def unmasked():
    # §5.1: a client frame without a mask: close 1002.
    raw_close_expected(b"\x81\x05hello", 1002)


def bad_utf8():
    raw_close_expected(masked(0x1, b"fine") + masked(0x1, b"bad \xff"), 1007)


def reserved_bits():
    frame = bytearray(masked(0x2, b"x"))
    frame[0] |= 0x40
    raw_close_expected(bytes(frame), 1002)


def big_ping():
    raw_close_expected(masked(0x9, b"p" * 126), 1002)


def split_frames():
    # A masked text message and a ping sent a byte at a time (one TCP
    # segment each, TCP_NODELAY), then the echo and pong read back.
    s, buf = raw_upgrade()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = masked(0x1, b"split" * 30) + masked(0x9, b"pp")
    for i in range(len(data)):
        s.send(data[i:i + 1])
        time.sleep(0.001)
    op, payload, buf = read_frame(s, buf)
    check(op == 0x1 and payload == b"split" * 30, f"echo {op} {payload!r}")
    op, payload, buf = read_frame(s, buf)
    check(op == 0xA and payload == b"pp", f"pong {op} {payload!r}")
    s.sendall(masked(0x8, b""))  # close without a code: an empty close back
    op, payload, buf = read_frame(s, buf)
    check(op == 0x8 and payload == b"", f"close {op} {payload!r}")
    expect_eof(s, buf)
    print("ok byte-by-byte frames", flush=True)


def refused():
    for req, status, needle in (
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 426, "Upgrade: websocket"),
        ("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
         426, "Sec-WebSocket-Version: 13"),
        ("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n", 400, "Sec-WebSocket-Key"),
        ("BROKEN\r\n\r\n", 400, "Bad Request"),
    ):
        s = raw_connect()
        s.sendall(req.encode())
        head, rest = read_head(s)
        check(head.startswith(f"HTTP/1.1 {status} "), f"{req!r}: {head}")
        check(needle in head + rest.decode(), f"{req!r}: no {needle!r} in {head}")
        expect_eof(s, rest)
        s.close()
    print("ok refusals", flush=True)


async def bench():
    """Not a test: round trips of small messages, then 1 MiB messages with
    four in flight; prints the rates (the client is Python: a lower bound)."""
    async with websockets.connect(URL, max_size=None, open_timeout=T, close_timeout=T) as ws:
        n, t = 2000, time.monotonic()
        for _ in range(n):
            await ws.send(b"x" * 32)
            await asyncio.wait_for(ws.recv(), T)
        dt = time.monotonic() - t
        print(f"32-byte round trips: {n / dt:.0f}/s ({1e6 * dt / n:.0f} us each)", flush=True)
        big, n, window = os.urandom(1 << 20), 64, 4
        t = time.monotonic()
        for i in range(n + window):
            if i < n:
                await ws.send(big)
            if i >= window:
                got = await asyncio.wait_for(ws.recv(), T)
                check(len(got) == len(big), "short echo")
        dt = time.monotonic() - t
        print(f"1 MiB messages, 4 in flight: {n / dt:.1f}/s, {8 * n / dt:.0f} Mbit/s each way",
              flush=True)
        await ws.close()


SCENARIOS = {
    "bench": lambda: asyncio.run(bench()),
    "echo": lambda: asyncio.run(echo()),
    "too_big": lambda: asyncio.run(too_big()),
    "unmasked": unmasked,
    "bad_utf8": bad_utf8,
    "reserved_bits": reserved_bits,
    "big_ping": big_ping,
    "split_frames": split_frames,
    "refused": refused,
}
SCENARIOS[SCENARIO]()
