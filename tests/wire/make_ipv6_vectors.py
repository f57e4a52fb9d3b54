#!/usr/bin/python3
"""Writes tests/wire/ipv6_vectors.h: IPv6, extension header chains, ICMPv6
and Neighbor Discovery messages built by Debian's scapy (python3-scapy), each
array preceded by the scapy expression that made it. Run it with Debian's
python3 after changing it; the output is committed.
usage: make_ipv6_vectors.py [OUT]"""
import os
import sys

from scapy.all import (IPv6, UDP, TCP, Raw, ICMPv6EchoRequest, ICMPv6EchoReply,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting,
                       IPv6ExtHdrFragment, ICMPv6ND_NS, ICMPv6ND_NA,
                       ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr, ICMPv6PacketTooBig,
                       ICMPv6ParamProblem, ICMPv6DestUnreach, PadN, HBHOptUnknown, raw,
                       fragment6, ICMPv6ND_RA, ICMPv6ND_RS, ICMPv6NDOptMTU,
                       ICMPv6NDOptPrefixInfo, ICMPv6Unknown, ICMPv6MLQuery, ICMPv6MLQuery2,
                       ICMPv6MLReport2, ICMPv6MLDMultAddrRec, RouterAlert)
from scapy.utils6 import in6_getnsma, in6_getnsmac, in6_mactoifaceid
from socket import AF_INET6, inet_pton, inet_ntop

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "ipv6_vectors.h")
A, B = "fd00::1", "fd00::2"
A_MAC = "02:00:00:00:00:0a"

# name: scapy expression (evaluated here; the text goes into the comment)
vectors = [
    ("kEchoRequest", 'IPv6(src="fd00::1", dst="fd00::2")/ICMPv6EchoRequest(id=0x1234, seq=7, data=b"abcdefgh")'),
    ("kEchoReply", 'IPv6(src="fd00::2", dst="fd00::1")/ICMPv6EchoReply(id=0x1234, seq=7, data=b"abcdefgh")'),
    ("kUdp", 'IPv6(src="fd00::1", dst="fd00::2", hlim=7, tc=0xb8, fl=0x12345)/UDP(sport=5000, dport=7)/Raw(b"hello")'),
    ("kUdpPadded", 'raw(IPv6(src="fd00::1", dst="fd00::2")/UDP(sport=5000, dport=7)/Raw(b"hi")) + b"\\0" * 6'),
    ("kTcpSynV6", 'IPv6(src="fd00::1", dst="fd00::2")/TCP(sport=40000, dport=80, flags="S", seq=1000, options=[("MSS", 1440)])'),
    ("kHbhPadN", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\\0" * 4)])/UDP(sport=5000, dport=7)'),
    ("kHbhSkip", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=0x1e, optdata=b"ab")])/UDP(sport=5000, dport=7)'),
    ("kHbhDiscard", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=0x5e, optdata=b"ab")])/UDP(sport=5000, dport=7)'),
    ("kDestOptIcmp", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\\0\\0"), HBHOptUnknown(otype=0x9e, optdata=b"")])/UDP(sport=5000, dport=7)'),
    ("kDestOptIcmpUnlessMcast", 'IPv6(src="fd00::1", dst="ff02::1")/IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0xde, optdata=b"abcd")])/UDP(sport=5000, dport=7)'),
    ("kHbhLate", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrDestOpt()/IPv6ExtHdrHopByHop()/UDP(sport=5000, dport=7)'),
    ("kRouting0Active", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrRouting(type=0, addresses=["fd00::3"], segleft=1)/UDP(sport=5000, dport=7)'),
    ("kRouting0Done", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrRouting(type=0, addresses=["fd00::3"], segleft=0)/UDP(sport=5000, dport=7)'),
    ("kFragment", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(offset=1, m=1, id=0xabcd, nh=17)/Raw(b"x" * 8)'),
    ("kAtomicFragment", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(offset=0, m=0, id=5)/UDP(sport=5000, dport=7)'),
    ("kChain", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrHopByHop()/IPv6ExtHdrDestOpt()/IPv6ExtHdrRouting(segleft=0)/IPv6ExtHdrDestOpt()/ICMPv6EchoRequest()'),
    ("kNineHeaders", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrHopByHop()' + '/IPv6ExtHdrDestOpt()' * 8 + '/UDP(sport=5000, dport=7)'),
    ("kNoNext", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrDestOpt(nh=59)/Raw(b"ignored!")'),
    ("kNeighborSolicit", 'IPv6(src="fd00::1", dst="ff02::1:ff00:2", hlim=255)/ICMPv6ND_NS(tgt="fd00::2")/ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:0a")'),
    ("kDadSolicit", 'IPv6(src="::", dst="ff02::1:ff00:2", hlim=255)/ICMPv6ND_NS(tgt="fd00::2")'),
    ("kNeighborAdvert", 'IPv6(src="fd00::2", dst="fd00::1", hlim=255)/ICMPv6ND_NA(tgt="fd00::2", R=0, S=1, O=1)/ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:0b")'),
    ("kNsZeroLengthOption", 'IPv6(src="fd00::1", dst="ff02::1:ff00:2", hlim=255)/ICMPv6ND_NS(tgt="fd00::2")/Raw(b"\\x0e\\x00" + b"\\0" * 6)'),
    ("kNsMulticastTarget", 'IPv6(src="fd00::1", dst="ff02::1:ff00:2", hlim=255)/ICMPv6ND_NS(tgt="ff02::1")'),
    ("kPacketTooBig", 'IPv6(src="fd00::9", dst="fd00::2")/ICMPv6PacketTooBig(mtu=1280)/IPv6(src="fd00::2", dst="fd00::1")/TCP(sport=80, dport=40000, flags="A")'),
    # Fragments (RFC 8200 §4.5): a 3008-byte UDP datagram in three pieces,
    # then hostile ones (identifications 7..10 each their own datagram).
    ("kFragUdp1", 'fragment6(IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(id=0x1234)/UDP(sport=5000, dport=7)/Raw(b"0123456789" * 300), 1280)[0]'),
    ("kFragUdp2", 'fragment6(IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(id=0x1234)/UDP(sport=5000, dport=7)/Raw(b"0123456789" * 300), 1280)[1]'),
    ("kFragUdp3", 'fragment6(IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(id=0x1234)/UDP(sport=5000, dport=7)/Raw(b"0123456789" * 300), 1280)[2]'),
    ("kFragOverlap1", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(offset=0, m=1, id=7, nh=17)/Raw(b"a" * 16)'),
    ("kFragOverlap2", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(offset=1, m=0, id=7, nh=17)/Raw(b"b" * 16)'),
    ("kFragBadLength", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(offset=0, m=1, id=8, nh=17)/Raw(b"c" * 12)'),
    ("kFragTooBig", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(offset=8189, m=0, id=9, nh=17)/Raw(b"d" * 32)'),
    ("kFragNoHeader", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(offset=0, m=1, id=10, nh=17)'),
    # Router discovery (RFC 4861 §4.1, §4.2, §6.1.2): a full advertisement,
    # then ones each check refuses.
    ("kRouterAdvert", 'IPv6(src="fe80::1", dst="ff02::1", hlim=255)/ICMPv6ND_RA(chlim=64, routerlifetime=1800)/ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:0a")/ICMPv6NDOptMTU(mtu=1400)/ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::", prefixlen=64, L=1, A=1, validlifetime=86400, preferredlifetime=14400)'),
    ("kRaManyOptions", 'IPv6(src="fe80::1", dst="ff02::1", hlim=255)/ICMPv6ND_RA(chlim=64, routerlifetime=1800)/ICMPv6NDOptPrefixInfo(prefix="2001:db8:2::", prefixlen=48, L=1, A=0, validlifetime=0xffffffff, preferredlifetime=0xffffffff)/ICMPv6NDOptPrefixInfo(prefix="2001:db8:3::", prefixlen=64, L=0, A=1, validlifetime=600, preferredlifetime=300)/ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:0a")/Raw(b"\\x63\\x01" + b"\\0" * 6)'),
    ("kRaFromGlobal", 'IPv6(src="fd00::1", dst="ff02::1", hlim=255)/ICMPv6ND_RA(chlim=64, routerlifetime=1800)'),
    ("kRaHopLimit64", 'IPv6(src="fe80::1", dst="ff02::1", hlim=64)/ICMPv6ND_RA(chlim=64, routerlifetime=1800)'),
    ("kRaCode1", 'IPv6(src="fe80::1", dst="ff02::1", hlim=255)/ICMPv6ND_RA(code=1, routerlifetime=1800)'),
    ("kRaShort", 'IPv6(src="fe80::1", dst="ff02::1", hlim=255)/ICMPv6Unknown(type=134, msgbody=b"\\0" * 4)'),
    ("kRaZeroLengthOption", 'IPv6(src="fe80::1", dst="ff02::1", hlim=255)/ICMPv6ND_RA(chlim=64, routerlifetime=1800)/Raw(b"\\x05\\x00" + b"\\0" * 6)'),
    ("kRaOptionPastEnd", 'IPv6(src="fe80::1", dst="ff02::1", hlim=255)/ICMPv6ND_RA(chlim=64, routerlifetime=1800)/Raw(b"\\x01\\x02" + b"\\0" * 6)'),
    ("kRaBadPrefixOptionLength", 'IPv6(src="fe80::1", dst="ff02::1", hlim=255)/ICMPv6ND_RA(chlim=64, routerlifetime=1800)/ICMPv6NDOptPrefixInfo(len=3, prefix="2001:db8:1::", prefixlen=64)'),
    ("kRaBadMtuOptionLength", 'IPv6(src="fe80::1", dst="ff02::1", hlim=255)/ICMPv6ND_RA(chlim=64, routerlifetime=1800)/Raw(b"\\x05\\x02" + b"\\0" * 14)'),
    ("kRouterSolicit", 'IPv6(src="fe80::1", dst="ff02::2", hlim=255)/ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:0a")'),
    ("kRouterSolicitUnspecified", 'IPv6(src="::", dst="ff02::2", hlim=255)/ICMPv6ND_RS()'),
    # MLD (RFC 3810 §5): queries, good and each check §6.2 makes failing,
    # and a report as a host sends it.
    ("kMldQuery", 'IPv6(src="fe80::1", dst="ff02::1", hlim=1)/IPv6ExtHdrHopByHop(options=[RouterAlert()])/ICMPv6MLQuery2(mrd=1000)'),
    ("kMldQueryV1", 'IPv6(src="fe80::1", dst="ff02::1", hlim=1)/IPv6ExtHdrHopByHop(options=[RouterAlert()])/ICMPv6MLQuery(mrd=500)'),
    ("kMldQueryGroup", 'IPv6(src="fe80::1", dst="ff02::1:ff00:2", hlim=1)/IPv6ExtHdrHopByHop(options=[RouterAlert()])/ICMPv6MLQuery2(mrd=2000, mladdr="ff02::1:ff00:2")'),
    ("kMldQueryOtherGroup", 'IPv6(src="fe80::1", dst="ff02::1", hlim=1)/IPv6ExtHdrHopByHop(options=[RouterAlert()])/ICMPv6MLQuery2(mrd=2000, mladdr="ff02::1:ff00:9")'),
    ("kMldQueryNoRouterAlert", 'IPv6(src="fe80::1", dst="ff02::1", hlim=1)/ICMPv6MLQuery2(mrd=1000)'),
    ("kMldQueryHopLimit255", 'IPv6(src="fe80::1", dst="ff02::1", hlim=255)/IPv6ExtHdrHopByHop(options=[RouterAlert()])/ICMPv6MLQuery2(mrd=1000)'),
    ("kMldQueryFromGlobal", 'IPv6(src="fd00::1", dst="ff02::1", hlim=1)/IPv6ExtHdrHopByHop(options=[RouterAlert()])/ICMPv6MLQuery2(mrd=1000)'),
    ("kMldQueryShortSources", 'IPv6(src="fe80::1", dst="ff02::1", hlim=1)/IPv6ExtHdrHopByHop(options=[RouterAlert()])/ICMPv6MLQuery2(mrd=1000, sources_number=2)'),
    ("kMldReport", 'IPv6(src="fe80::1", dst="ff02::16", hlim=1)/IPv6ExtHdrHopByHop(options=[RouterAlert()])/ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst="ff02::1:ff00:2"), ICMPv6MLDMultAddrRec(rtype=4, dst="ff02::1:ff00:a")])'),
    # Extension headers behind a Fragment header (RFC 8200 §4.5): in the
    # fragmentable part, walked once reassembled.
    ("kFragDestOpt1", 'fragment6(IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(id=0x2345)/IPv6ExtHdrDestOpt(options=[PadN(optdata=bytes(4))])/UDP(sport=5000, dport=7)/Raw(b"0123456789" * 200), 1280)[0]'),
    ("kFragDestOpt2", 'fragment6(IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(id=0x2345)/IPv6ExtHdrDestOpt(options=[PadN(optdata=bytes(4))])/UDP(sport=5000, dport=7)/Raw(b"0123456789" * 200), 1280)[1]'),
    ("kFragBadOption1", 'fragment6(IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(id=0x2346)/IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x5e, optdata=bytes(2))])/UDP(sport=5000, dport=7)/Raw(b"0123456789" * 200), 1280)[0]'),
    ("kFragBadOption2", 'fragment6(IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(id=0x2346)/IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x5e, optdata=bytes(2))])/UDP(sport=5000, dport=7)/Raw(b"0123456789" * 200), 1280)[1]'),
    ("kFragHopByHop1", 'fragment6(IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(id=0x2347)/IPv6ExtHdrHopByHop()/UDP(sport=5000, dport=7)/Raw(b"0123456789" * 200), 1280)[0]'),
    ("kFragHopByHop2", 'fragment6(IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(id=0x2347)/IPv6ExtHdrHopByHop()/UDP(sport=5000, dport=7)/Raw(b"0123456789" * 200), 1280)[1]'),
    ("kFragChainCut", 'IPv6(src="fd00::1", dst="fd00::2")/IPv6ExtHdrFragment(offset=0, m=1, id=12, nh=60)/Raw(b"\\x11\\x01" + bytes(6))'),
    ("kPortUnreachable", 'IPv6(src="fd00::1", dst="fd00::2")/ICMPv6DestUnreach(code=4)/IPv6(src="fd00::2", dst="fd00::1")/UDP(sport=5000, dport=9)/Raw(b"x")'),
]

extra = {
    "link_local": "fe80::" + in6_mactoifaceid(A_MAC),
    "solicited_node": inet_ntop(AF_INET6, in6_getnsma(inet_pton(AF_INET6, "fd00::12:3456"))),
    "multicast_mac": in6_getnsmac(in6_getnsma(inet_pton(AF_INET6, "fd00::12:3456"))),
}

with open(out, "w") as f:
    f.write("// Generated by tests/wire/make_ipv6_vectors.py (Debian's scapy %s); do not edit.\n"
            % __import__("scapy").VERSION)
    f.write("// Each array is bytes(<the scapy expression above it>), after\n")
    f.write("// `from scapy.all import *`.\n#pragma once\n\n#include <cstdint>\n\n")
    f.write("namespace ustack::wire::v6vectors {\n\n// clang-format off\n")
    for name, expr in vectors:
        b = raw(eval(expr)) if not expr.startswith("raw(") else eval(expr)
        f.write("// %s\n" % expr)
        f.write("inline constexpr std::uint8_t %s[] = {\n" % name)
        for i in range(0, len(b), 12):
            f.write("    " + " ".join("0x%02x," % x for x in b[i:i + 12]) + "\n")
        f.write("};\n")
    f.write("// scapy.utils6: \"fe80::\" + in6_mactoifaceid(\"%s\")\n" % A_MAC)
    f.write("inline constexpr const char* kLinkLocalOfA = \"%s\";\n" % extra["link_local"])
    f.write("// in6_getnsma(fd00::12:3456), in6_getnsmac of that\n")
    f.write("inline constexpr const char* kSolicitedNode = \"%s\";\n" % extra["solicited_node"])
    f.write("inline constexpr const char* kSolicitedNodeMac = \"%s\";\n" % extra["multicast_mac"])
    f.write("// clang-format on\n\n}  // namespace ustack::wire::v6vectors\n")
