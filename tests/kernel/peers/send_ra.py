#!/usr/bin/python3
"""Sends one Router Advertisement (RFC 4861 §4.2) with Debian's scapy, as a
router on the link would: from SRC (a link-local address) to all nodes,
hop limit 255, with the sender's MAC as Source Link-Layer Address and a
Prefix Information option for PREFIX/64 with the L and A flags (valid one
day, preferred four hours).
usage: send_ra.py IFACE SRC PREFIX ROUTER_LIFETIME"""
import sys

from scapy.all import (Ether, IPv6, ICMPv6ND_RA, ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr,
                       conf, get_if_hwaddr, sendp)

conf.verb = 0
iface, src, prefix, lifetime = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
mac = get_if_hwaddr(iface)
sendp(Ether(src=mac, dst="33:33:00:00:00:01") /
      IPv6(src=src, dst="ff02::1", hlim=255) /
      ICMPv6ND_RA(chlim=64, routerlifetime=lifetime) /
      ICMPv6NDOptSrcLLAddr(lladdr=mac) /
      ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64, L=1, A=1, validlifetime=86400,
                            preferredlifetime=14400), iface=iface)
