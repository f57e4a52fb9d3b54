#!/usr/bin/env python3
"""Kernel-side TCP client for ustack's kernel-peer tests.

usage: tcp_client.py ADDR PORT MODE BYTES [TIMEOUT_S]
  echo: send BYTES random bytes, read them back, compare byte for byte
        (the seed's 20 KB test: the echo may come while still sending).
  send: send BYTES pseudo-random bytes, then print their SHA-256.
  recv: read until the peer closes, print the byte count and SHA-256.
Exit 0 on success.
"""
import hashlib
import os
import socket
import sys
import threading

addr, port, mode, nbytes = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 30.0
s = socket.create_connection((addr, port), timeout=timeout)
s.settimeout(timeout)

if mode == "echo":
    data = os.urandom(nbytes)
    got = bytearray()

    def reader():
        while len(got) < nbytes:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            got.extend(chunk)

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    t.join(timeout)
    s.close()
    if bytes(got) != data:
        print(f"echo differs: sent {nbytes}, got {len(got)}")
        sys.exit(1)
    print(f"echo of {nbytes} bytes intact")
elif mode == "send":
    h = hashlib.sha256()
    block = bytes((i * 131) & 0xFF for i in range(1 << 16))
    left = nbytes
    while left > 0:
        piece = block[: min(left, len(block))]
        s.sendall(piece)
        h.update(piece)
        left -= len(piece)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # wait for the peer's close
    s.close()
    print(f"sent {nbytes} sha256 {h.hexdigest()}")
elif mode == "recv":
    h = hashlib.sha256()
    total = 0
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        total += len(chunk)
    s.close()
    print(f"received {total} sha256 {h.hexdigest()}")
    sys.exit(0 if total == nbytes else 1)
else:
    sys.exit(2)
