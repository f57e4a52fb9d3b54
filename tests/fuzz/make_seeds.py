#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/) with
scapy: valid frames of every protocol ustack parses, plus the classic
hostile shapes, so that fuzzing starts deep instead of at random bytes.
Addresses are memlink's defaults: host A 10.0.0.1 at 02:00:00:00:00:0a,
host B (the stack under test) 10.0.0.2 at 02:00:00:00:00:0b.

Run it with Debian's python3 (python3-scapy) after changing it; the output
is committed. usage: make_seeds.py [OUTDIR]"""
import os
import struct
import sys

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, Raw, fragment,
                       raw, IPv6, ICMPv6EchoRequest, ICMPv6ND_NS, ICMPv6ND_NA,
                       ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, IPv6ExtHdrFragment, HBHOptUnknown,
                       PadN, fragment6, ICMPv6ND_RA, ICMPv6NDOptMTU, ICMPv6NDOptPrefixInfo,
                       ICMPv6MLQuery2, RouterAlert)

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
A_MAC, B_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
A_IP, B_IP = "10.0.0.1", "10.0.0.2"


def eth(p, dst=B_MAC):
    return Ether(dst=dst, src=A_MAC) / p


def write(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def addr_prefix():
    """The wire_udp and wire_tcp targets start with source and destination."""
    return bytes([10, 0, 0, 1, 10, 0, 0, 2])


ip = IP(src=A_IP, dst=B_IP)
tcp_opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1000, 0)), ("NOP", None), ("WScale", 7)]
frames = {
    "icmp_echo": eth(ip / ICMP(id=7, seq=1) / Raw(b"ping" * 8)),
    "icmp_unreach_quote": eth(ip / ICMP(type=3, code=4, nexthopmtu=576) /
                              IP(src=B_IP, dst=A_IP) / TCP(sport=7, dport=40000)),
    "icmp_unknown_type": eth(ip / ICMP(type=42)),
    "arp_request": eth(ARP(op=1, hwsrc=A_MAC, psrc=A_IP, pdst=B_IP), dst="ff:ff:ff:ff:ff:ff"),
    "arp_reply": eth(ARP(op=2, hwsrc=A_MAC, psrc=A_IP, hwdst=B_MAC, pdst=B_IP)),
    "arp_claims_ours": eth(ARP(op=2, hwsrc=A_MAC, psrc=B_IP, hwdst=B_MAC, pdst=B_IP)),
    "udp_echo": eth(ip / UDP(sport=5000, dport=7) / Raw(b"hello")),
    "udp_closed_port": eth(ip / UDP(sport=5000, dport=9) / Raw(b"x")),
    "udp_no_checksum": eth(ip / UDP(sport=5000, dport=7, chksum=0) / Raw(b"abc")),
    "tcp_syn": eth(ip / TCP(sport=40000, dport=7, flags="S", seq=1000, options=tcp_opts)),
    "tcp_syn_closed": eth(ip / TCP(sport=40000, dport=9, flags="S", seq=1000)),
    "tcp_ack_data": eth(ip / TCP(sport=40000, dport=7, flags="PA", seq=1001, ack=1) / Raw(b"d" * 64)),
    "tcp_rst": eth(ip / TCP(sport=40000, dport=7, flags="R", seq=1001)),
    "tcp_sack": eth(ip / TCP(sport=40000, dport=7, flags="A", seq=1001, ack=1,
                             options=[("NOP", None), ("NOP", None), ("SAck", (100, 200, 300, 400))])),
    "tcp_bad_options": eth(ip / TCP(sport=40000, dport=7, flags="S", options=[(2, b"")])),
    "tcp_urgent": eth(ip / TCP(sport=40000, dport=7, flags="AU", urgptr=5000) / Raw(b"u")),
    "ip_options": eth(IP(src=A_IP, dst=B_IP, options=b"\x07\x07\x04\x00\x00\x00\x00\x00") / ICMP()),
    "ip_unknown_proto": eth(IP(src=A_IP, dst=B_IP, proto=99) / Raw(b"z" * 8)),
    "vlan_icmp": eth(Dot1Q(vlan=0, prio=5) / ip / ICMP()),
    "land": eth(IP(src=B_IP, dst=B_IP) / TCP(sport=7, dport=7, flags="S")),
    "broadcast_src": eth(IP(src="255.255.255.255", dst=B_IP) / ICMP()),
}
big_udp = ip / UDP(sport=5000, dport=7) / Raw(b"F" * 3000)
frags = [eth(f) for f in fragment(big_udp, fragsize=1400)]
teardrop = [eth(IP(src=A_IP, dst=B_IP, id=99, flags="MF", frag=0, proto=17) / Raw(b"T" * 48)),
            eth(IP(src=A_IP, dst=B_IP, id=99, frag=3, proto=17) / Raw(b"T" * 40))]
over_64k = [eth(IP(src=A_IP, dst=B_IP, id=77, frag=8189, proto=17) / Raw(b"O" * 64))]


# IPv6 (B is fd00::2 with IPv6 on, no DAD, in the stack_frames harness).
A6, B6 = "fd00::1", "fd00::2"
ip6 = IPv6(src=A6, dst=B6)
frames6 = {
    "v6_echo": eth(ip6 / ICMPv6EchoRequest(id=7, seq=1, data=b"ping" * 8)),
    "v6_udp_echo": eth(ip6 / UDP(sport=5000, dport=7) / Raw(b"hello")),
    "v6_tcp_syn": eth(ip6 / TCP(sport=40000, dport=7, flags="S", seq=1000, options=tcp_opts)),
    "v6_ns": eth(IPv6(src=A6, dst="ff02::1:ff00:2", hlim=255) / ICMPv6ND_NS(tgt=B6) /
                 ICMPv6NDOptSrcLLAddr(lladdr=A_MAC), dst="33:33:ff:00:00:02"),
    "v6_dad_ns": eth(IPv6(src="::", dst="ff02::1:ff00:2", hlim=255) / ICMPv6ND_NS(tgt=B6),
                     dst="33:33:ff:00:00:02"),
    "v6_na": eth(IPv6(src=A6, dst=B6, hlim=255) / ICMPv6ND_NA(tgt=A6, S=1, O=1) /
                 ICMPv6NDOptDstLLAddr(lladdr=A_MAC)),
    "v6_ext_chain": eth(ip6 / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0" * 4)]) /
                        IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting(segleft=0) /
                        UDP(sport=5000, dport=7) / Raw(b"x")),
    "v6_bad_option": eth(ip6 / IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x9e, optdata=b"")]) /
                         UDP(sport=5000, dport=7)),
    "v6_routing0": eth(ip6 / IPv6ExtHdrRouting(type=0, addresses=["fd00::3"], segleft=1) /
                       UDP(sport=5000, dport=7)),
    "v6_atomic": eth(ip6 / IPv6ExtHdrFragment(offset=0, m=0, id=5) / UDP(sport=5000, dport=7)),
    # Router discovery and SLAAC (B has slaac on), an MLD query.
    "v6_router_advert": eth(IPv6(src="fe80::1", dst="ff02::1", hlim=255) /
                            ICMPv6ND_RA(chlim=64, routerlifetime=1800) /
                            ICMPv6NDOptSrcLLAddr(lladdr=A_MAC) / ICMPv6NDOptMTU(mtu=1400) /
                            ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::", prefixlen=64, L=1, A=1,
                                                  validlifetime=600, preferredlifetime=300),
                            dst="33:33:00:00:00:01"),
    "v6_mld_query": eth(IPv6(src="fe80::1", dst="ff02::1", hlim=1) /
                        IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6MLQuery2(mrd=100),
                        dst="33:33:00:00:00:01"),
}
frags6 = [eth(f) for f in fragment6(ip6 / IPv6ExtHdrFragment(id=0x1234) /
                                     UDP(sport=5000, dport=7) / Raw(b"0123456789" * 300), 1280)]
frags6_ext = [eth(f) for f in fragment6(ip6 / IPv6ExtHdrFragment(id=0x2345) /
                                         IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0" * 4)]) /
                                         UDP(sport=5000, dport=7) / Raw(b"0123456789" * 200),
                                         1280)]
overlap6 = [eth(ip6 / IPv6ExtHdrFragment(offset=0, m=1, id=7, nh=17) / Raw(b"a" * 16)),
            eth(ip6 / IPv6ExtHdrFragment(offset=1, m=0, id=7, nh=17) / Raw(b"b" * 16))]


def records(pkts, ctl=0x40):
    """stack_frames input: [control][length][frame] per frame."""
    b = b""
    for p in pkts:
        f = raw(p)
        b += bytes([ctl]) + struct.pack(">H", len(f)) + f
    return b


for name, f in frames.items():
    write("wire_ethernet", name, raw(f))
    write("stack_frames", name, records([f, f]))
    l3 = raw(f[Ether].payload)
    if f.haslayer(Dot1Q):
        l3 = raw(f[Dot1Q].payload)
    if f.haslayer(ARP):
        write("wire_arp", name, raw(f[ARP]))
        continue
    write("wire_ipv4", name, l3)
    if f.haslayer(ICMP):
        write("wire_icmp", name, raw(f[ICMP]))
    if f.haslayer(UDP):
        write("wire_udp", name, addr_prefix() + raw(f[UDP]))
    if f.haslayer(TCP):
        write("wire_tcp", name, addr_prefix() + raw(f[TCP]))
write("stack_frames", "udp_fragments", records(frags))
write("stack_frames", "udp_fragments_reversed", records(list(reversed(frags))))
write("stack_frames", "teardrop", records(teardrop))
write("stack_frames", "beyond_65535", records(over_64k))
write("stack_frames", "fragment_then_timeout", records(frags[:1]) + bytes([0x80]) + b"\x00\x00")
write("stack_frames", "raw_checksummed",
      records([frames["tcp_syn"], frames["icmp_echo"]], ctl=0x00))
for i, f in enumerate(frags):
    write("wire_ipv4", f"fragment_{i}", raw(f[IP]))
for name, f in frames6.items():
    write("wire_ethernet", name, raw(f))
    write("wire_ipv6", name, raw(f[IPv6]))
    write("stack_frames", name, records([f, f]))
write("stack_frames", "v6_udp_fragments", records(frags6))
write("stack_frames", "v6_udp_fragments_reversed", records(list(reversed(frags6))))
write("stack_frames", "v6_overlap", records(overlap6))
write("stack_frames", "v6_fragments_dest_opts", records(frags6_ext))
for i, f in enumerate(frags6):
    write("wire_ipv6", f"fragment_{i}", raw(f[IPv6]))
for i, f in enumerate(frags6_ext):
    write("wire_ipv6", f"fragment_dest_opts_{i}", raw(f[IPv6]))

# tcp_conn: SYN options byte, then 9-byte operations (see tcp_conn_fuzz.cc).
def op(kind, flags=0x10, dseq=0, dack=0, win=0xff, len8=0, sel=0):
    return struct.pack(">BBhhBBB", kind, flags, dseq, dack, win, len8, sel)

write("tcp_conn", "data_both_ways", bytes([0x63]) + op(0, 0x18, len8=100) + op(4, len8=50) +
      op(3, sel=10) + op(0, 0x10) + op(6, sel=1) + op(0, 0x11))
write("tcp_conn", "sack_recovery", bytes([0x63]) + op(4, len8=150) + op(4, len8=150) +
      op(0, 0x10, sel=0x0d) + op(0, 0x10, sel=0x0d) + op(0, 0x10, sel=0x0d) + op(7, sel=20))
write("tcp_conn", "zero_window", bytes([0x21]) + op(5, sel=0) + op(0, 0x18, len8=170) * 6 +
      op(0, 0x10, win=0) + op(4, len8=100) + op(7, sel=100) + op(5, sel=1))
write("tcp_conn", "out_of_window", bytes([0x03]) + op(1, 0x18, dseq=30000, len8=10) +
      op(2, 0x04, dseq=-5) + op(1, 0x02, dseq=3) + op(2, 0x10, dack=20000))
write("tcp_conn", "fin_and_close", bytes([0x41]) + op(0, 0x11) + op(6, sel=1) + op(3, sel=200))

# Application parsers.
write("http_parser", "get", b"\x20\x10\x00\x00\x10" +
      b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n")
write("http_parser", "post_chunked", b"\x20\x10\x00\x00\x30" +
      b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\nGET / HTTP/1.0\r\n\r\n")
write("http_parser", "content_length", b"\x20\x10\x00\x00\x08" +
      b"PUT /x HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc")
def ws_frame(op, payload, fin=True, mask=b"\x01\x02\x03\x04"):
    b0 = (0x80 if fin else 0) | op
    n = len(payload)
    hdr = bytes([b0])
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr += bytes([mbit | n])
    elif n < 65536:
        hdr += bytes([mbit | 126]) + struct.pack(">H", n)
    else:
        hdr += bytes([mbit | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        hdr += mask
    return hdr + payload

write("ws_frame", "server_text", b"\x00\x10\x00" + ws_frame(1, b"hello") +
      ws_frame(9, b"p") + ws_frame(8, struct.pack(">H", 1000) + b"bye"))
write("ws_frame", "server_fragmented", b"\x06\x10\x00" + ws_frame(2, b"ab", fin=False) +
      ws_frame(9, b"") + ws_frame(0, b"cd"))
write("ws_frame", "client_unmasked", b"\x01\x10\x00" + ws_frame(1, b"x" * 200, mask=None) +
      ws_frame(10, b"", mask=None))
write("json", "iperf3_params", b'{"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,'
      b'"parallel":1,"len":131072,"pacing_timer":1000,"client_version":"3.12"}')
write("json", "nested", b'[[[{"a":[1,2.5e3,-0.1,true,false,null,"\\u00e9\\n"]}]]]')
