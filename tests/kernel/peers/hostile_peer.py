#!/usr/bin/python3
"""The attacker's side of tests/kernel/hostile_test.py, run inside the
kernel's namespace (B, 10.0.0.2) with Debian's scapy: hostile frames of
every class that broke published stacks (truncated headers, bad lengths
and checksums, bad TCP offsets and options, MSS 0 and 1, urgent pointers
past the data, overlapping, tiny, teardrop and oversized fragments, LAND,
martian sources, ARP replies claiming ustack's address, unhandled ICMP
types, RFC 5961 blind RST/SYN/data injection, SACK blocks outside the
window; over IPv6: extension header chains, routing type 0, unknown
options, overlapping fragments, bogus neighbor discovery) sent to a running
`ustack serve` (10.0.0.1 and fd00::1, TCP echo on 7007).

For each case: the drop is counted under its reason (read live with
`ustack stats --json`), and a normal kernel TCP connection to the echo
server works right after. At the end, ustack holds no more mbufs than
before the attack.

Live TCP cases use a connection scapy drives itself from 10.0.0.3 (an
address the kernel here does not own, so it neither answers nor resets
ustack's segments); scapy sees them on the veth.

usage: hostile_peer.py USTACK INSTANCE IFACE USTACK_MAC CLITEST_DIR
"""
import json
import os
import socket
import subprocess
import sys
import time

USTACK, INSTANCE, IFACE, U_MAC, CLITEST = sys.argv[1:6]
sys.path.insert(0, CLITEST)
from clitest import case, expect, finish, run  # noqa: E402
from scapy_conn import ECHO_PORT, FAKE_IP, K_IP, U_IP, ScapyConn, introduce  # noqa: E402

from scapy.all import (ARP, ICMP, IP, TCP, UDP, AsyncSniffer, Dot1Q, Ether,  # noqa: E402
                       Raw, conf, fragment, get_if_hwaddr, raw, sendp, srp1, IPv6,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting,
                       IPv6ExtHdrFragment, HBHOptUnknown, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, fragment6, ICMPv6ND_RA,
                       ICMPv6NDOptPrefixInfo, ICMPv6MLQuery2, RouterAlert)

conf.verb = 0
MY_MAC = get_if_hwaddr(IFACE)
E = Ether(src=MY_MAC, dst=U_MAC, type=0x0800)


def counters():
    r = run([USTACK, "stats", "--name", INSTANCE, "--json"], timeout=20)
    expect(r.returncode == 0, f"ustack stats: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)["workers"][0]["counters"]


def send(*frames):
    for f in frames:
        sendp(f, iface=IFACE)


def wait_counters(before, want, timeout=3.0):
    """Waits (bounded) until every counter in `want` grew by at least its
    value over `before`; fails naming those that did not."""
    deadline = time.time() + timeout
    while True:
        now = counters()
        short = {k: now.get(k, 0) - before.get(k, 0) for k, n in want.items()
                 if now.get(k, 0) - before.get(k, 0) < n}
        if not short:
            return now
        if time.time() > deadline:
            moved = {k: v - before.get(k, 0) for k, v in now.items() if v != before.get(k, 0)}
            raise AssertionError(f"counters did not grow as expected (grew by {short}, "
                                 f"wanted {want}; what moved: {moved})")
        time.sleep(0.05)


def kernel_echo_works(addr=U_IP):
    """A normal connection from the kernel right after: 20,000 bytes echoed
    (to `addr`: IPv4 or IPv6)."""
    data = os.urandom(20000)
    with socket.create_connection((addr, ECHO_PORT), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:  # bounded: 5 s per read, ends at EOF
            b = s.recv(65536)
            if not b:
                break
            got += b
    expect(got == data,
           f"echo to {addr} after the attack: {len(got)} of {len(data)} bytes came back")


def attack(frames, want):
    """Sends `frames`, checks the drop counters in `want`, then that a
    normal connection still works."""
    before = counters()
    send(*frames)
    wait_counters(before, want)
    kernel_echo_works()


def ip(**kw):
    return IP(src=K_IP, dst=U_IP, **kw)


introduce(IFACE, MY_MAC)
baseline = None


@case("before the attack: a kernel connection is echoed; ustack's mbufs in use noted")
def _():
    global baseline
    kernel_echo_works()
    time.sleep(0.3)
    baseline = counters()["mbuf.in_use"]


# (A frame shorter than its Ethernet header cannot be sent here: the kernel
# pads raw frames to 14 bytes, and drops a cut-short VLAN tag itself. The
# memlink tests in tests/proto/bad_input_test.cc cover those.)
@case("Ethernet: a bare header and an unknown ethertype are counted")
def _():
    attack([Ether(src=MY_MAC, dst=U_MAC, type=0x0800),
            Ether(src=MY_MAC, dst=U_MAC, type=0x88b5) / Raw(b"x" * 46)],
           {"ipv4.drop.malformed": 1, "eth.drop.unknown_ethertype": 1})


@case("IPv4: truncated header, IHL 3 and 4, total length past the frame and below the header")
def _():
    attack([E / Raw(b"\x45\x00\x00"),
            E / ip(ihl=4) / ICMP(), E / ip(ihl=3) / ICMP(),
            E / ip(len=400) / ICMP(), E / ip(len=12) / ICMP()],
           {"ipv4.drop.malformed": 5})


@case("IPv4: a total length below the frame's (link padding) is trimmed and answered")
def _():
    req = Ether(raw(E / ip() / ICMP(id=77, seq=1) / Raw(b"x" * 16)) + b"PADDING")
    r = srp1(req, iface=IFACE, timeout=3)
    expect(r is not None and ICMP in r and r[ICMP].type == 0, "no echo reply")
    expect(raw(r[ICMP].payload) == b"x" * 16, f"the reply carries {raw(r[ICMP].payload)!r}")


@case("bad checksums: IPv4 header, ICMP, UDP, TCP, each counted under its layer")
def _():
    attack([E / ip(chksum=0x1234) / ICMP(),
            E / ip() / ICMP(chksum=0x1234),
            E / ip() / UDP(sport=5000, dport=ECHO_PORT, chksum=0x1234) / Raw(b"u"),
            E / ip() / TCP(sport=5000, dport=ECHO_PORT, flags="S", chksum=0x1234)],
           {"ipv4.drop.bad_checksum": 1, "icmp.drop.bad_checksum": 1,
            "udp.drop.bad_checksum": 1, "tcp.drop.bad_checksum": 1})


@case("TCP: data offset 4 and past the segment; options of length 0, 1 and past the header")
def _():
    attack([E / ip() / TCP(sport=5001, dport=ECHO_PORT, flags="S", dataofs=4),
            E / ip() / TCP(sport=5002, dport=ECHO_PORT, flags="S", dataofs=15),
            E / ip() / TCP(sport=5003, dport=ECHO_PORT, flags="S", dataofs=6) /
            Raw(b"\x02\x00\x00\x00"),
            E / ip() / TCP(sport=5004, dport=ECHO_PORT, flags="S", dataofs=6) /
            Raw(b"\x02\x01\x00\x00"),
            E / ip() / TCP(sport=5005, dport=ECHO_PORT, flags="S", dataofs=6) /
            Raw(b"\x01\x01\x08\x0a")],
           {"tcp.drop.malformed": 5})


@case("TCP: MSS 0 and 1 in a SYN are clamped; the connection echoes in small segments")
def _():
    for port, mss in ((5010, 0), (5011, 1)):
        c = ScapyConn(IFACE, U_MAC, port, options=(("MSS", mss),))
        try:
            expect(c.echo(b"m" * 300) == b"m" * 300, "echo over the clamped MSS")
        finally:
            c.close()
    kernel_echo_works()


@case("RFC 5961: blind RST, SYN and data injection get challenge ACKs; the connection lives")
def _():
    c = ScapyConn(IFACE, U_MAC, 5020)
    try:
        expect(c.echo(b"first") == b"first", "echo before the injection")
        before = counters()
        c.segment("R", seq=c.seq + 1000)         # in the window, not RCV.NXT
        c.segment("S", seq=c.seq + 5)            # SYN on an established connection
        # Acknowledges data never sent: dropped with an ACK (§5.2), so the
        # peer's sequence number does not move.
        c.segment("PA", b"forged", seq=c.seq, ack=c.ack + 100000)
        wait_counters(before, {"tcp.tx.challenge_ack": 2})
        expect(c.echo(b"second") == b"second", "echo after the injection")
    finally:
        c.close()
    kernel_echo_works()


@case("TCP: SACK blocks outside the window and an urgent pointer past the data are harmless")
def _():
    c = ScapyConn(IFACE, U_MAC, 5030)
    try:
        expect(c.echo(b"a" * 100) == b"a" * 100, "echo")
        c.segment("A", options=[("NOP", None), ("NOP", None),
                                ("SAck", (c.ack + 100000, c.ack + 200000, 5, 9))])
        c.segment("A", options=[("NOP", None), ("NOP", None), ("SAck", (c.ack - 5000, c.ack - 10))])
        expect(c.echo(b"u" * 10, urgptr=60000) == b"u" * 10, "echo with a wild urgent pointer")
        expect(c.echo(b"after") == b"after", "echo after the SACK blocks")
    finally:
        c.close()
    kernel_echo_works()


@case("fragments: overlapping, teardrop, past 65535 bytes; tiny fragments still reassemble")
def _():
    ov = [E / ip(id=901, flags="MF", frag=0, proto=1) / Raw(b"A" * 64),
          E / ip(id=901, frag=4, proto=1) / Raw(b"B" * 64)]  # starts inside the first
    tear = [E / ip(id=902, flags="MF", frag=0, proto=17) / Raw(b"T" * 48),
            E / ip(id=902, frag=3, proto=17) / Raw(b"T" * 40)]
    big = [E / ip(id=903, frag=8189, proto=17) / Raw(b"O" * 64)]
    attack(ov + tear + big, {"ipv4.reasm.overlap": 2, "ipv4.drop.malformed": 1})
    echo = ip(id=904) / ICMP(id=78, seq=1) / Raw(b"t" * 64)
    pieces = [E / f for f in fragment(echo, fragsize=8)]
    sniff = AsyncSniffer(iface=IFACE, store=True, lfilter=lambda p: ICMP in p and
                         p[IP].src == U_IP and p[ICMP].type == 0 and p[ICMP].id == 78)
    sniff.start()
    time.sleep(0.2)
    send(*pieces)
    deadline = time.time() + 3
    while time.time() < deadline and not sniff.results:
        time.sleep(0.05)
    sniff.stop()
    expect(sniff.results, f"no reply to an echo in {len(pieces)} 8-byte fragments")


@case("LAND, broadcast and martian sources are counted and not answered")
def _():
    attack([E / IP(src=U_IP, dst=U_IP) / TCP(sport=ECHO_PORT, dport=ECHO_PORT, flags="S")],
           {"ipv4.drop.land": 1})
    attack([E / IP(src=s, dst=U_IP) / ICMP() for s in
            ("255.255.255.255", "127.0.0.1", "224.0.0.1", "0.0.0.0")],
           {"ipv4.drop.bad_source": 4})


@case("ARP: a reply claiming ustack's own address is counted a conflict; ustack still answers")
def _():
    attack([Ether(src=MY_MAC, dst=U_MAC) / ARP(op=2, hwsrc=MY_MAC, psrc=U_IP, hwdst=U_MAC,
                                                 pdst=U_IP)],
           {"arp.conflict": 1})
    r = srp1(Ether(src=MY_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MY_MAC, psrc=K_IP,
                                                               pdst=U_IP),
             iface=IFACE, timeout=3)
    expect(r is not None and ARP in r and r[ARP].hwsrc == U_MAC, "ustack's ARP reply")


@case("ICMP: types ustack does not handle are counted")
def _():
    attack([E / ip() / ICMP(type=42), E / ip() / ICMP(type=13)],
           {"icmp.drop.unhandled_type": 2})


U6, K6 = "fd00::1", "fd00::2"
E6 = Ether(src=MY_MAC, dst=U_MAC, type=0x86dd)
ALL_NODES = Ether(src=MY_MAC, dst="33:33:00:00:00:01", type=0x86dd)


def attack6(frames, want):
    before = counters()
    send(*frames)
    wait_counters(before, want)
    kernel_echo_works(U6)
    kernel_echo_works()


@case("IPv6: a kernel connection over IPv6 is echoed")
def _():
    kernel_echo_works(U6)


@case("IPv6: extension header chains: late hop-by-hop, routing type 0, unknown options, 9 headers")
def _():
    u = UDP(sport=5000, dport=ECHO_PORT) / Raw(b"x")
    ip6 = IPv6(src=K6, dst=U6)
    nine = ip6 / IPv6ExtHdrHopByHop()
    for _ in range(8):
        nine = nine / IPv6ExtHdrDestOpt()
    attack6([E6 / ip6 / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / u,
             E6 / ip6 / IPv6ExtHdrRouting(type=0, addresses=["fd00::3"], segleft=1) / u,
             E6 / ip6 / IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x5e, optdata=b"ab")]) / u,
             E6 / ip6 / IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x9e, optdata=b"")]) / u,
             E6 / nine / u],
            {"ipv6.drop.hop_by_hop_not_first": 1, "ipv6.drop.routing_header": 1,
             "ipv6.drop.bad_option": 2, "ipv6.drop.header_chain": 1})


@case("IPv6: overlapping fragments discard the datagram (RFC 5722); a too-long one is refused")
def _():
    ip6 = IPv6(src=K6, dst=U6)
    attack6([E6 / ip6 / IPv6ExtHdrFragment(offset=0, m=1, id=77, nh=17) / Raw(b"a" * 16),
             E6 / ip6 / IPv6ExtHdrFragment(offset=1, m=0, id=77, nh=17) / Raw(b"b" * 16),
             E6 / ip6 / IPv6ExtHdrFragment(offset=8189, m=0, id=78, nh=17) / Raw(b"c" * 32)],
            {"ipv6.reasm.overlap": 1, "ipv6.drop.fragment_too_big": 1})


@case("IPv6: headers behind a Fragment header are walked once reassembled; a router "
      "advertisement (serve without slaac) and an MLD query from a global source are counted")
def _():
    ip6 = IPv6(src=K6, dst=U6)
    u = UDP(sport=5000, dport=ECHO_PORT) / Raw(b"y" * 2000)
    bad = fragment6(ip6 / IPv6ExtHdrFragment(id=0x4321) /
                    IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x5e, optdata=b"ab")]) / u, 1280)
    hbh = fragment6(ip6 / IPv6ExtHdrFragment(id=0x4322) / IPv6ExtHdrHopByHop() / u, 1280)
    ra = (ALL_NODES / IPv6(src="fe80::99", dst="ff02::1", hlim=255) / ICMPv6ND_RA() /
          ICMPv6NDOptPrefixInfo(prefix="2001:db8:9::", prefixlen=64))
    mld = (ALL_NODES / IPv6(src=K6, dst="ff02::1", hlim=1) /
           IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6MLQuery2())
    attack6([E6 / f for f in bad] + [E6 / f for f in hbh] + [ra, mld],
            {"ipv6.drop.bad_option": 1, "ipv6.drop.hop_by_hop_not_first": 1,
             "nd.ra.drop.slaac_off": 1, "mld.drop.source_not_link_local": 1})


@case("IPv6: bogus neighbor discovery: a claim on ustack's address, unasked adverts, hop limit 64")
def _():
    attack6([ALL_NODES / IPv6(src=K6, dst="ff02::1", hlim=255) /
             ICMPv6ND_NA(tgt=U6, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=MY_MAC)] +
            [ALL_NODES / IPv6(src=f"fd00::{i:x}", dst="ff02::1", hlim=255) /
             ICMPv6ND_NA(tgt=f"fd00::{i:x}", R=0, S=0, O=1) /
             ICMPv6NDOptDstLLAddr(lladdr=MY_MAC) for i in range(0x100, 0x140)] +
            [E6 / IPv6(src=K6, dst=U6, hlim=64) / ICMPv6ND_NS(tgt=U6) /
             ICMPv6NDOptSrcLLAddr(lladdr=MY_MAC)],
            {"nd.conflict": 1, "nd.drop.advert_no_entry": 64, "nd.drop.hop_limit": 1})


@case("after the attack: ustack holds no more mbufs than before")
def _():
    expect(baseline is not None, "no baseline")
    deadline = time.time() + 5
    while True:
        now = counters()["mbuf.in_use"]
        if now <= baseline:
            break
        expect(time.time() < deadline, f"{now} mbufs in use, {baseline} before the attack")
        time.sleep(0.1)


finish()
