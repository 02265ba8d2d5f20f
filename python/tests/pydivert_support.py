# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the pydivert tests share: canned packets (built by support.py's
builders, checksums filled in), and live cases that run as root in the
network namespace tests/netns/test_pydivert.sh made."""
import os
import socket
import struct
import unittest

import pydivert
from support import icmp_echo, ip_header, tcp_packet, udp_packet

LIVE = os.environ.get("PYDIVERT_TEST_NETNS") == "1" and os.geteuid() == 0
WAIT = 10  # seconds any one step may take


def packet(raw, **meta):
    """A Packet of raw with its checksums computed (as a sender would have them)."""
    p = pydivert.Packet(bytes(raw), (0, 0), pydivert.Direction.OUTBOUND, **meta)
    p.recalculate_checksums()
    return p


def tcp4(payload=b"GET / HTTP/1.1\r\n\r\n"):
    return packet(tcp_packet("192.0.2.10", "198.51.100.20", 40001, 80, payload))


def tcp6(payload=b"hello"):
    return packet(tcp_packet("2001:db8::10", "2001:db8::20", 40002, 8080, payload))


def udp4(payload=b"query"):
    return packet(udp_packet("192.0.2.10", "198.51.100.53", 5353, 53, payload))


def udp6(payload=b"query6"):
    return packet(udp_packet("2001:db8::10", "2001:db8::53", 5353, 53, payload))


def icmp4():
    return packet(icmp_echo("192.0.2.10", "198.51.100.1", 0x1234, b"ping-payload"))


def icmp6_echo():
    body = struct.pack("!BBHHH", 128, 0, 0, 7, 1) + b"ping6"
    return packet(ip_header(6, "2001:db8::10", "2001:db8::1", 58, len(body)) + body)


def ipv6_with_extensions(*exts, final=17, body=None):
    """An IPv6 packet whose transport header (final) follows extension headers exts
    (each a protocol number: hop-by-hop, routing, destination options, fragment, AH)."""
    body = body if body is not None else struct.pack("!HHHH", 1000, 2000, 12, 0) + b"abcd"
    chain = list(exts) + [final]
    headers = b""
    for kind, nxt in zip(exts, chain[1:]):
        if kind == 44:      # fragment: 8 bytes, no length field
            headers += struct.pack("!BBHI", nxt, 0, 0, 99)
        elif kind == 51:    # AH: length in 4-byte units minus 2
            headers += struct.pack("!BBH", nxt, 2, 0) + b"\0" * 12
        else:               # others: length in 8-byte units minus 1
            headers += struct.pack("!BB", nxt, 0) + b"\0" * 6
    first = chain[0]
    return pydivert.Packet(ip_header(6, "2001:db8::1", "2001:db8::2", first,
                                     len(headers) + len(body)) + headers + body)


def close_if_open(w):
    """Closes w unless the case already did."""
    if w.is_open:
        w.close()


class LiveCase(unittest.TestCase):
    """A case that opens real handles: root, in a namespace of its own."""

    @classmethod
    def setUpClass(cls):
        if not LIVE:
            raise unittest.SkipTest("run by tests/netns/test_pydivert.sh (root, a namespace)")

    def handle(self, *args, **kwargs):
        """An open WinDivert, closed after the case."""
        w = pydivert.WinDivert(*args, **kwargs)
        w.open()
        self.addCleanup(close_if_open, w)
        return w

    def udp_socket(self, family, port=0):
        """A UDP socket bound to the loopback address of family (and port)."""
        sock = socket.socket(family, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(("127.0.0.1" if family == socket.AF_INET else "::1", port))
        sock.settimeout(WAIT)
        return sock

    def udp_pair(self, family):
        """(receiver, sender) over loopback; the receiver's port in self.port."""
        receiver, sender = self.udp_socket(family), self.udp_socket(family)
        self.port = receiver.getsockname()[1]
        return receiver, sender

    def quiet(self, sock, wait=0.5):
        """True if nothing arrives at sock within wait seconds."""
        sock.settimeout(wait)
        try:
            sock.recv(65535)
        except socket.timeout:
            return True
        finally:
            sock.settimeout(WAIT)
        return False
