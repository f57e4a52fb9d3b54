#!/usr/bin/env python3
"""Kernel-side peer for many TCP connections at once (multi-core tests).

usage: many_tcp.py client ADDR PORT COUNT BYTES CONCURRENCY TIMEOUT_S
         COUNT connections, CONCURRENCY open at a time, each sends BYTES
         random bytes and checks the echo byte for byte, then closes.
       many_tcp.py server ADDR PORT COUNT TIMEOUT_S
         echoes every connection until the peer closes; ends after COUNT.
Prints "N done, M failed"; exit 0 when all COUNT succeeded, 1 otherwise
(also when TIMEOUT_S passes).
"""
import os
import selectors
import socket
import sys
import time

R, W = selectors.EVENT_READ, selectors.EVENT_WRITE


def client(addr, port, count, nbytes, conc, deadline):
    sel = selectors.DefaultSelector()
    started = done = failed = 0

    def finish(st, ok):
        nonlocal done, failed
        sel.unregister(st["s"])
        st["s"].close()
        if ok:
            done += 1
        else:
            failed += 1

    while done + failed < count and time.time() < deadline:
        while started < count and started - done - failed < conc:
            s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
            s.setblocking(False)
            s.connect_ex((addr, port))
            sel.register(s, R | W, {"s": s, "data": os.urandom(nbytes), "sent": 0, "got": bytearray()})
            started += 1
        for key, ev in sel.select(timeout=0.5):
            st = key.data
            s = st["s"]
            try:
                if ev & W and st["sent"] < nbytes:
                    st["sent"] += s.send(st["data"][st["sent"]:])
                    if st["sent"] == nbytes:
                        sel.modify(s, R, st)
                if ev & R:
                    b = s.recv(1 << 16)
                    if not b:
                        finish(st, False)
                        continue
                    st["got"] += b
                    if len(st["got"]) >= nbytes:
                        finish(st, bytes(st["got"]) == st["data"])
            except BlockingIOError:
                pass
            except OSError:
                finish(st, False)
    return done, count - done


def server(addr, port, count, deadline):
    sel = selectors.DefaultSelector()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1024)
    ls.setblocking(False)
    sel.register(ls, R, None)
    done = 0
    while done < count and time.time() < deadline:
        for key, _ in sel.select(timeout=0.5):
            if key.data is None:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                sel.register(c, R, "c")
                continue
            c = key.fileobj
            try:
                b = c.recv(1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                b = b""
            if b:
                c.setblocking(True)  # echo whole: small transfers
                c.sendall(b)
                c.setblocking(False)
            else:
                sel.unregister(c)
                c.close()
                done += 1
    return done, count - done


if sys.argv[1] == "client":
    a = sys.argv[2:]
    ok, bad = client(a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4]), time.time() + float(a[5]))
else:
    a = sys.argv[2:]
    ok, bad = server(a[0], int(a[1]), int(a[2]), time.time() + float(a[3]))
print(f"{ok} done, {bad} failed")
sys.exit(0 if bad == 0 else 1)
