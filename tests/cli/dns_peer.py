#!/usr/bin/env python3
"""A DNS server that misbehaves on purpose, for the stub resolver's tests.
Answers A queries for any name with 10.0.0.2 and AAAA queries (RFC 3596)
with fd00::2 after doing what SCENARIO says, and prints one line per query
it saw: "query ID SPORT NAME QTYPE".

usage: dns_peer.py ADDR SCENARIO COUNT TIMEOUT_S   (ADDR IPv4 or IPv6)
SCENARIO:
  good       answer every query
  drop2      ignore the first two queries, answer the third
  spoof      first answers of 10.0.0.66 with the wrong ID, from port 5353,
             for another name, with QR clear; then the right answer
  loop       an answer whose name is a compression pointer to itself
  truncated  an answer cut in the middle of its record
  aaaa8      AAAA answers whose record holds 8 bytes, not 16
  nodata6    AAAA queries get an empty answer (NODATA), A queries 10.0.0.2
Stops after COUNT queries or TIMEOUT_S seconds without one.
"""
import socket
import struct
import sys

addr, scenario, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind((addr, 53))
s.settimeout(timeout)
other = socket.socket(family, socket.SOCK_DGRAM)
other.bind((addr, 5353))


def qname(msg):
    labels, i = [], 12
    while msg[i]:
        labels.append(msg[i + 1:i + 1 + msg[i]].decode())
        i += 1 + msg[i]
    return ".".join(labels), i + 5  # past the zero, QTYPE and QCLASS


def qtype(msg):
    end = qname(msg)[1]
    return struct.unpack(">H", msg[end - 4:end - 2])[0]


V4, V6 = socket.inet_pton(socket.AF_INET, "10.0.0.2"), socket.inet_pton(socket.AF_INET6, "fd00::2")


def answer(q, ident=None, flags=0x8180, question=None, rdata=None, name=b"\xc0\x0c", count=1):
    name_end = qname(q)[1]
    quest = question if question is not None else q[12:name_end]
    rtype = qtype(q)
    if rdata is None:
        rdata = V6 if rtype == 28 else V4
    head = struct.pack(">HHHHHH", ident if ident is not None else struct.unpack(">H", q[:2])[0],
                       flags, 1, count, 0, 0)
    if count == 0:
        return head + quest
    return head + quest + name + struct.pack(">HHIH", rtype, 1, 60, len(rdata)) + rdata


seen = 0
while seen < count:
    try:
        q, peer = s.recvfrom(512)
    except socket.timeout:
        break
    seen += 1
    ident = struct.unpack(">H", q[:2])[0]
    name, _ = qname(q)
    print(f"query {ident} {peer[1]} {name} {qtype(q)}", flush=True)
    if scenario == "drop2" and seen <= 2:
        continue
    if scenario == "spoof":  # each forged answer says 10.0.0.66
        bad = b"\x0a\x00\x00\x42"
        s.sendto(answer(q, ident=ident ^ 0x5555, rdata=bad), peer)
        other.sendto(answer(q, rdata=bad), peer)
        wrong = b"\x05other\x04test\x00\x00\x01\x00\x01"
        s.sendto(answer(q, question=wrong, rdata=bad), peer)
        s.sendto(answer(q, flags=0x0100, rdata=bad), peer)
    if scenario == "loop":
        here = len(q)  # the answer's name starts right after the question
        s.sendto(answer(q, name=struct.pack(">H", 0xC000 | here)), peer)
        continue
    if scenario == "aaaa8" and qtype(q) == 28:
        s.sendto(answer(q, rdata=V6[:8]), peer)
        continue
    if scenario == "nodata6" and qtype(q) == 28:
        s.sendto(answer(q, count=0), peer)
        continue
    if scenario == "truncated":
        s.sendto(answer(q)[:-3], peer)
        continue
    s.sendto(answer(q), peer)
