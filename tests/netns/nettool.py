#!/usr/bin/env python3
"""Traffic ends for the netns tests: TCP transfers compared by sha256, UDP probes.

  nettool.py tcp-recv PORT                 accept one connection, read to EOF,
                                           print "received bytes=N sha256=H"
  nettool.py tcp-send HOST PORT BYTES [PACE]
                                           send BYTES random bytes (sleeping PACE
                                           seconds per 64 KiB), print "sent bytes=N sha256=H"
  nettool.py udp-recv PORT                 print "got PAYLOAD" per datagram until
                                           the end datagram (or 30 s of silence)
  nettool.py udp-send HOST PORT PAYLOAD COUNT [INTERVAL]
                                           COUNT datagrams, then the end datagram
  nettool.py udp-send-badsum HOST PORT PAYLOAD COUNT [INTERVAL]
                                           the same, but the COUNT datagrams go over a
                                           raw socket with a UDP checksum that is wrong
                                           by construction (the end datagram is correct)
  nettool.py tcp-connect HOST PORT         connect within 5 s, print "connected",
                                           "refused" (a reset came back), "timeout" or
                                           "blocked" (the call failed with EPERM)
  nettool.py udp-connect HOST PORT         connect a UDP socket (nothing is sent):
                                           print "connected" or "blocked" (EPERM)
  nettool.py udp-probe HOST PORT           send one datagram on a connected socket and
                                           wait 3 s: print "refused" (an ICMP port
                                           unreachable came back), "answer" or "silence"

Receivers listen on every IPv4 and IPv6 address and print "listening" when ready.
"""
import hashlib
import os
import socket
import struct
import sys
import time

CHUNK = 64 * 1024
END = b"end."  # last datagram of a sender; a tap may flip its last byte


def say(line):
    print(line, flush=True)


def listener(kind, port):
    sock = socket.socket(socket.AF_INET6, kind)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("::", port))
    return sock


def digest_line(verb, count, digest):
    return "%s bytes=%d sha256=%s" % (verb, count, digest.hexdigest())


def tcp_recv(port):
    server = listener(socket.SOCK_STREAM, int(port))
    server.listen(1)
    say("listening")
    conn, _ = server.accept()
    digest, count = hashlib.sha256(), 0
    while True:
        data = conn.recv(CHUNK)
        if not data:
            break
        digest.update(data)
        count += len(data)
    conn.close()
    say(digest_line("received", count, digest))


def tcp_send(host, port, nbytes, pace="0"):
    left, pause = int(nbytes), float(pace)
    conn = socket.create_connection((host, int(port)), timeout=30)
    digest, count = hashlib.sha256(), 0
    while left > 0:
        data = os.urandom(min(CHUNK, left))
        conn.sendall(data)
        digest.update(data)
        count += len(data)
        left -= len(data)
        if pause:
            time.sleep(pause)
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)  # the receiver closes once it has read everything
    conn.close()
    say(digest_line("sent", count, digest))


def udp_recv(port):
    sock = listener(socket.SOCK_DGRAM, int(port))
    sock.settimeout(30)
    say("listening")
    while True:
        data = sock.recv(CHUNK)
        if data.startswith(END[:-1]):
            break
        say("got " + data.decode(errors="replace"))


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def send_end(host, port):
    """The end datagram: it follows the others on the same path, so it comes last."""
    socket.socket(family_of(host), socket.SOCK_DGRAM).sendto(END, (host, int(port)))


def udp_send(host, port, payload, count, interval="0"):
    sock = socket.socket(family_of(host), socket.SOCK_DGRAM)
    for _ in range(int(count)):
        sock.sendto(payload.encode(), (host, int(port)))
        time.sleep(float(interval))
    send_end(host, port)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def bad_udp_datagram(family, host, port, payload):
    """UDP header + payload whose checksum is the correct one with bits flipped."""
    probe = socket.socket(family, socket.SOCK_DGRAM)
    probe.connect((host, port))  # only to learn the source address the kernel picks
    src = socket.inet_pton(family, probe.getsockname()[0])
    dst = socket.inet_pton(family, host)
    probe.close()
    sport, length = 40000, 8 + len(payload)
    header = struct.pack("!HHHH", sport, port, length, 0)
    if family == socket.AF_INET:
        pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_UDP, length)
    else:
        pseudo = src + dst + struct.pack("!I3xB", length, socket.IPPROTO_UDP)
    good = csum(pseudo + header + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, port, length, good ^ 0x0101) + payload


def udp_send_badsum(host, port, payload, count, interval="0"):
    sock = socket.socket(family_of(host), socket.SOCK_RAW, socket.IPPROTO_UDP)
    datagram = bad_udp_datagram(family_of(host), host, int(port), payload.encode())
    for _ in range(int(count)):
        sock.sendto(datagram, (host, 0))
        time.sleep(float(interval))
    send_end(host, port)


def tcp_connect(host, port):
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        say("connected")
    except ConnectionRefusedError:
        say("refused")
    except socket.timeout:
        say("timeout")
    except PermissionError:
        say("blocked")


def udp_connect(host, port):
    sock = socket.socket(family_of(host), socket.SOCK_DGRAM)
    try:
        sock.connect((host, int(port)))
        say("connected")
    except PermissionError:
        say("blocked")
    sock.close()


def udp_probe(host, port):
    sock = socket.socket(family_of(host), socket.SOCK_DGRAM)
    sock.connect((host, int(port)))
    sock.settimeout(3)
    sock.send(b"probe")
    try:
        sock.recv(CHUNK)
        say("answer")
    except ConnectionRefusedError:
        say("refused")
    except socket.timeout:
        say("silence")


COMMANDS = {"tcp-recv": tcp_recv, "tcp-send": tcp_send, "udp-recv": udp_recv,
            "udp-send": udp_send, "udp-send-badsum": udp_send_badsum,
            "tcp-connect": tcp_connect, "udp-connect": udp_connect, "udp-probe": udp_probe}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
