#!/usr/bin/env python3
"""Kernel-side UDP echo server for ustack's kernel-peer tests.

usage: udp_echo_server.py ADDR PORT COUNT TIMEOUT_S  (ADDR IPv4 or IPv6)
Echoes COUNT datagrams (or stops after TIMEOUT_S seconds without one).
"""
import socket
import sys

addr, port, count, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((addr, port))
s.settimeout(timeout)
for _ in range(count):
    try:
        data, peer = s.recvfrom(65535)
    except socket.timeout:
        sys.exit(1)
    s.sendto(data, peer)
