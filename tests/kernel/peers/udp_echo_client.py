#!/usr/bin/env python3
"""Kernel-side UDP client: sends datagrams of the given sizes to an echo
server and checks each echo byte for byte.

usage: udp_echo_client.py ADDR PORT SIZE [SIZE ...]
Exit 0 when every size came back intact, 1 otherwise. Each size is tried up
to 5 times, waiting 1 s for its echo.
"""
import socket
import sys

addr, port, sizes = sys.argv[1], int(sys.argv[2]), [int(x) for x in sys.argv[3:]]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.settimeout(1.0)
for n in sizes:
    data = bytes((i * 7 + n) & 0xFF for i in range(n))
    for attempt in range(5):
        s.sendto(data, (addr, port))
        try:
            got, _ = s.recvfrom(65535)
        except socket.timeout:
            continue
        if got != data:
            print(f"size {n}: echo differs ({len(got)} bytes back)")
            sys.exit(1)
        break
    else:
        print(f"size {n}: no echo after 5 tries")
        sys.exit(1)
print(f"{len(sizes)} sizes echoed intact")
