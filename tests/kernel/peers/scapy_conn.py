"""A TCP connection that scapy drives itself, from FAKE_IP (an address the
kernel in the attacker's namespace does not own, so it neither answers nor
resets ustack's segments; scapy sees them on the veth), to the echo server
of a running `ustack serve` (10.0.0.1, port 7007). Used by the hostile-input
and flood tests, which need a live connection whose numbers they know."""
import time

from scapy.all import (ARP, IP, TCP, AsyncSniffer, Ether, Raw, get_if_hwaddr,
                       raw, sendp)

U_IP, K_IP, FAKE_IP = "10.0.0.1", "10.0.0.2", "10.0.0.3"
ECHO_PORT = 7007


def introduce(iface, mac):
    """Teaches ustack that FAKE_IP is at `mac` (RFC 826: it merges the
    sender of a request for its own address)."""
    sendp(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc=FAKE_IP, pdst=U_IP),
          iface=iface)


class ScapyConn:
    """A TCP connection to the echo server that scapy drives from FAKE_IP."""

    def __init__(self, iface, u_mac, sport, options=(("MSS", 1460), ("SAckOK", b"")),
                 window=65535):
        self.iface, self.sport, self.window = iface, sport, window
        self.mac = get_if_hwaddr(iface)
        self.E = Ether(src=self.mac, dst=u_mac, type=0x0800)
        self.got = []
        self.sniffer = AsyncSniffer(
            iface=iface, store=False,
            lfilter=lambda p: TCP in p and p[IP].src == U_IP and p[IP].dst == FAKE_IP
            and p[TCP].dport == sport,
            prn=self.got.append)
        self.sniffer.start()
        time.sleep(0.2)  # the sniffer's socket is open before anything is sent
        syn = self.E / IP(src=FAKE_IP, dst=U_IP) / TCP(sport=sport, dport=ECHO_PORT, flags="S",
                                                  seq=1000, window=65535, options=list(options))
        sendp(syn, iface=iface)
        synack = self.wait(lambda p: p[TCP].flags.S and p[TCP].flags.A)
        self.mss_seen = dict((o[0], o[1]) for o in synack[TCP].options).get("MSS")
        self.seq, self.ack = 1001, synack[TCP].seq + 1
        self.segment("A")

    def wait(self, pred, timeout=3.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for p in list(self.got):
                if pred(p):
                    self.got.remove(p)
                    return p
            time.sleep(0.01)
        raise AssertionError("no answer from ustack on the scapy connection")

    def segment(self, flags, data=b"", seq=None, ack=None, **kw):
        s = self.seq if seq is None else seq
        a = self.ack if ack is None else ack
        sendp(self.frame(flags, data, s, a, **kw), iface=self.iface)
        if seq is None:
            self.seq += len(data)

    def frame(self, flags, data, seq, ack, **kw):
        return (self.E / IP(src=FAKE_IP, dst=U_IP) /
                TCP(sport=self.sport, dport=ECHO_PORT, flags=flags, seq=seq, ack=ack,
                    window=kw.pop("window", self.window), **kw) / Raw(data))

    def echo(self, data, **kw):
        """Sends data and reads the echo back (ACKing it); returns it."""
        self.segment("PA", data, **kw)
        got = b""
        while len(got) < len(data):
            p = self.wait(lambda p: len(p[TCP].payload) > 0 and p[TCP].seq == self.ack)
            got += raw(p[TCP].payload)
            self.ack += len(p[TCP].payload)
            self.segment("A")
        return got

    def close(self):
        self.segment("R")
        self.sniffer.stop()


