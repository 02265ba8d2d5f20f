#!/usr/bin/env python3
"""Helpers of test_inject.sh: where an injected datagram arrived, what reached a link.

  inject_helper.py udp-recv PORT COUNT     print "got PAYLOAD from ADDR on IFNAME" per
                                           datagram (IFNAME: the input interface, read
                                           at once, while the device still exists);
                                           exit after COUNT datagrams (1 after 30 s)
  inject_helper.py sniff IFNAME MARKER     count the IP packets arriving on IFNAME
                                           (ICMPv6 and hop-by-hop, i.e. neighbour
                                           discovery and MLD, not counted) until one
                                           carries MARKER; print "seen N" (1 after 30 s)
  inject_helper.py udp-hex SRC DST PORT TEXT
                                           print a well-formed IPv4 or IPv6 UDP packet
                                           as hex, for a test to break one field of

Receivers print "listening" when ready.
"""
import ipaddress
import socket
import struct
import sys

from nettool import csum  # the Internet checksum, one copy

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
ETH_HLEN = 14
NOT_COUNTED_V6 = (0, 58)  # hop-by-hop (MLD) and ICMPv6 (neighbour discovery)


def say(line):
    print(line, flush=True)


def plain(addr):
    """An IPv4-mapped IPv6 address as the IPv4 address it carries."""
    return addr[7:] if addr.startswith("::ffff:") and "." in addr else addr


def input_interface(ancillary):
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
            index = struct.unpack("16sI", data[:20])[1]
            try:
                return socket.if_indextoname(index)
            except OSError:
                return "ifindex%d" % index
    return "?"


def udp_recv(port, count):
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    sock.bind(("::", int(port)))
    sock.settimeout(30)
    say("listening")
    for _ in range(int(count)):
        try:
            data, ancillary, _, addr = sock.recvmsg(65535, 256)
        except socket.timeout:
            say("timeout")
            sys.exit(1)
        say("got %s from %s on %s" % (data.decode(errors="replace"), plain(addr[0]),
                                     input_interface(ancillary)))


def counted(frame):
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == 0x0800:
        return True
    return ethertype == 0x86DD and len(frame) > ETH_HLEN + 6 and \
        frame[ETH_HLEN + 6] not in NOT_COUNTED_V6


def sniff(ifname, marker):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((ifname, 0))
    sock.settimeout(30)
    say("listening")
    seen = 0
    try:
        while True:
            frame, addr = sock.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            if marker.encode() in frame:
                break
            seen += counted(frame)
    except socket.timeout:
        say("timeout seen %d" % seen)
        sys.exit(1)
    say("seen %d" % seen)


def udp_hex(src, dst, port, text):
    src, dst, payload = ipaddress.ip_address(src), ipaddress.ip_address(dst), text.encode()
    length = 8 + len(payload)
    if src.version == 4:
        pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, 17, length)
        header = struct.pack("!BBHHHBBH", 0x45, 0, 20 + length, 0, 0x4000, 64, 17, 0)
        header += src.packed + dst.packed
        header = header[:10] + struct.pack("!H", csum(header)) + header[12:]
    else:
        pseudo = src.packed + dst.packed + struct.pack("!I3xB", length, 17)
        header = struct.pack("!IHBB", 0x60000000, length, 17, 64) + src.packed + dst.packed
    udp = struct.pack("!HHHH", 4000, int(port), length, 0) + payload
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    say((header + udp).hex())


COMMANDS = {"udp-recv": udp_recv, "sniff": sniff, "udp-hex": udp_hex}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
