#!/usr/bin/python3
"""Floods for tests/kernel/flood_test.py, run in the attacker's namespace.
Frames are built once (scapy for templates, byte patching for the many
variants) and sent from a raw packet socket as fast as this process can, for
a bounded time and count.

  flood_peer.py syn  IFACE USTACK_MAC SECONDS   spoofed SYNs to port 7007
  flood_peer.py frag IFACE USTACK_MAC SECONDS   first fragments that never complete
  flood_peer.py ooo  IFACE USTACK_MAC SECONDS   1-byte segments past a hole
                                                 (every one its own interval)
  flood_peer.py tiny IFACE USTACK_MAC SECONDS   1-byte in-order segments while
                                                 both ends' windows are closed
  flood_peer.py legit N SECONDS                  N kernel connections to the echo
                                                 server, spread over SECONDS

Prints one line: "sent N frames in T s (R/s)" or "legit: OK of N".
"""
import os
import socket
import struct
import sys
import time

MAX_FRAMES = 200_000_000  # the time bound ends a flood long before this
SOL_PACKET, PACKET_QDISC_BYPASS = 263, 20


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def blast(iface, frames, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
    s.bind((iface, 0))
    sent, start = 0, time.time()
    end = start + seconds
    while sent < MAX_FRAMES:
        for f in frames:
            try:
                s.send(f)
            except OSError:  # ENOBUFS: the ring is full; the frame is lost
                pass
        sent += len(frames)
        if time.time() >= end:
            break
    took = time.time() - start
    print(f"sent {sent} frames in {took:.1f} s ({sent / took:.0f}/s)", flush=True)


def spoofed_syns(eth, count):
    """SYNs from count distinct spoofed sources (172.16.0.0/12, off link:
    ustack answers through its gateway)."""
    frames = []
    for i in range(count):
        src = struct.pack("!I", 0xac100000 + i + 1)
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xffff, 0, 64, 6, 0, src,
                                   socket.inet_aton("10.0.0.1")))
        ip[10:12] = struct.pack("!H", checksum(bytes(ip)))
        tcp = bytearray(struct.pack("!HHIIBBHHH", 1024 + i % 60000, 7007, i * 7919, 0, 0x50, 0x02,
                                    64240, 0, 0))
        pseudo = src + socket.inet_aton("10.0.0.1") + struct.pack("!BBH", 0, 6, 20)
        tcp[16:18] = struct.pack("!H", checksum(pseudo + bytes(tcp)))
        frames.append(eth + bytes(ip) + bytes(tcp))
    return frames


def first_fragments(eth, count):
    """First fragments (MF set) of 1400 bytes whose rest never comes."""
    frames = []
    payload = b"F" * 1400
    for i in range(count):
        src = struct.pack("!I", 0xac100000 + i % 4096 + 1)
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), i & 0xffff,
                                   0x2000, 64, 17, 0, src, socket.inet_aton("10.0.0.1")))
        ip[10:12] = struct.pack("!H", checksum(bytes(ip)))
        frames.append(eth + bytes(ip) + payload)
    return frames


def connection_segments(conn, count, first, step, window):
    """1-byte segments on a live scapy connection at first, first+step, ..."""
    from scapy.all import raw
    template = bytearray(raw(conn.frame("A", b"x", 0, conn.ack, window=window)))
    frames = []
    for i in range(count):
        f = bytearray(template)
        f[38:42] = struct.pack("!I", (first + i * step) & 0xffffffff)  # TCP sequence number
        f[50:52] = b"\0\0"
        pseudo = f[26:34] + struct.pack("!BBH", 0, 6, len(f) - 34)
        f[50:52] = struct.pack("!H", checksum(bytes(pseudo) + bytes(f[34:])))
        frames.append(bytes(f))
    return frames


def legit(n, seconds):
    """n connections spread over `seconds`, each bounded by 5 s per step;
    prints how many echoed, and why the first few that failed did."""
    ok, why = 0, []
    gap = seconds / n
    start = time.time()
    for i in range(n):
        time.sleep(max(0.0, start + i * gap - time.time()))
        if i % 100 == 0:
            print(f"legit: {i} at {time.time() - start:.1f} s, {ok} ok", file=sys.stderr, flush=True)
        msg = b"legit%05d" % i
        try:
            with socket.create_connection(("10.0.0.1", 7007), timeout=5) as s:
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):  # bounded: 5 s per read
                    b = s.recv(64)
                    if not b:
                        break
                    got += b
                if got == msg:
                    ok += 1
                else:
                    why.append(f"#{i} at {time.time() - start:.1f} s: echo {got!r}")
        except OSError as e:
            why.append(f"#{i} at {time.time() - start:.1f} s: {e}")
    print(f"legit: {ok} of {n}" + ("; " + "; ".join(why[:5]) if why else ""), flush=True)


def main():
    kind = sys.argv[1]
    if kind == "legit":
        return legit(int(sys.argv[2]), float(sys.argv[3]))
    iface, u_mac, seconds = sys.argv[2], sys.argv[3], float(sys.argv[4])
    mine = open(f"/sys/class/net/{iface}/address").read().strip()
    eth = bytes.fromhex(u_mac.replace(":", "")) + bytes.fromhex(mine.replace(":", "")) + b"\x08\x00"
    if kind == "syn":
        return blast(iface, spoofed_syns(eth, 65536), seconds)
    if kind == "frag":
        return blast(iface, first_fragments(eth, 8192), seconds)
    from scapy.all import conf
    from scapy_conn import ScapyConn, introduce
    conf.verb = 0
    introduce(iface, mine)
    if kind == "ooo":
        c = ScapyConn(iface, u_mac, 6001)
        # A hole at c.seq; 1-byte segments at every other byte after it.
        frames = connection_segments(c, 30000, c.seq + 1, 2, 65535)
    else:  # tiny: we advertise a zero window, so the echo cannot answer
        c = ScapyConn(iface, u_mac, 6002, window=0)
        frames = connection_segments(c, 100000, c.seq, 1, 0)
    blast(iface, frames, seconds)
    c.close()


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
