#!/usr/bin/env python3
"""Kernel-side TCP echo server: echoes each connection until the peer
closes, for COUNT connections, giving up after TIMEOUT_S of silence.

usage: tcp_echo_server.py ADDR PORT COUNT TIMEOUT_S  (ADDR IPv4 or IPv6)
"""
import socket
import sys

addr, port, count, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ls = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(16)
ls.settimeout(timeout)
for _ in range(count):
    try:
        c, _ = ls.accept()
    except socket.timeout:
        sys.exit(1)
    c.settimeout(timeout)
    while True:
        data = c.recv(1 << 16)
        if not data:
            break
        c.sendall(data)
    c.close()
