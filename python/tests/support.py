# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the binding's tests share: canned packets, the namespaces that
tests/netns/test_python.sh made, and the traffic ends of tests/netns/nettool.py."""
import asyncio
import ipaddress
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NETTOOL = os.path.join(ROOT, "tests", "netns", "nettool.py")
sys.path.insert(0, os.path.dirname(NETTOOL))
from nettool import csum  # noqa: E402  the Internet checksum of the test tools, one copy

# Set by tests/netns/test_python.sh: this process runs in A; B is its veth peer.
PEER_NS = os.environ.get("IPR_TEST_NS_B")
ADDRS = {("A", 4): os.environ.get("IPR_TEST_A4"), ("A", 6): os.environ.get("IPR_TEST_A6"),
         ("B", 4): os.environ.get("IPR_TEST_B4"), ("B", 6): os.environ.get("IPR_TEST_B6")}
IF_A = os.environ.get("IPR_TEST_IF_A")  # A's end of the veth pair
WAIT = 10  # seconds any one step may take before the test fails


def ip_header(version, src, dst, proto, payload_len, ttl=64):
    """An IPv4 (checksum 0) or IPv6 header."""
    src, dst = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    if version == 4:
        return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 1, 0x4000, ttl, proto,
                           0, src, dst)
    return struct.pack("!IHBB16s16s", 0x60000000, payload_len, proto, ttl, src, dst)


def udp_packet(src, dst, sport, dport, payload, ttl=64):
    """A UDP packet with its checksums left at 0 (a bytearray)."""
    version = ipaddress.ip_address(src).version
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return bytearray(ip_header(version, src, dst, 17, len(udp), ttl) + udp)


def tcp_packet(src, dst, sport, dport, payload, ttl=64):
    """A TCP packet (ACK, no options) with its checksums left at 0."""
    version = ipaddress.ip_address(src).version
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 5 << 4, 0x10, 65535, 0, 0) + payload
    return bytearray(ip_header(version, src, dst, 6, len(tcp), ttl) + tcp)


def icmp_echo(src, dst, ident, payload=b"ping"):
    """An ICMP (IPv4) echo request, checksums left at 0."""
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + payload
    return bytearray(ip_header(4, src, dst, 1, len(icmp)) + icmp)


def reference_udp_checksum(packet):
    """The UDP checksum a correct packet carries, from the pseudo-header (any IP version)."""
    version = packet[0] >> 4
    hdr, alen, saddr = (20, 4, 12) if version == 4 else (40, 16, 8)
    udp = bytes(packet[hdr:])
    udp = udp[:6] + b"\0\0" + udp[8:]
    pseudo = bytes(packet[saddr:saddr + 2 * alen]) + struct.pack("!IxxxB", len(udp), 17)
    return csum(pseudo + udp) or 0xFFFF


def c_program_output(test, source):
    """The output lines of C source compiled against include/ (the case skips without cc)."""
    cc = os.environ.get("CC", "cc")
    if not shutil.which(cc):
        test.skipTest("no C compiler (%s)" % cc)
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "layout.c"), os.path.join(tmp, "layout")
        with open(src, "w") as f:
            f.write(source)
        subprocess.run([cc, "-std=gnu11", "-Wall", "-Werror", "-I", os.path.join(ROOT, "include"),
                        "-o", exe, src], check=True)
        return subprocess.run([exe], check=True, stdout=subprocess.PIPE,
                              universal_newlines=True).stdout.splitlines()


class NetnsCase(unittest.TestCase):
    """A case that runs in namespace A of tests/netns/test_python.sh, as root."""

    @classmethod
    def setUpClass(cls):
        if not PEER_NS:
            raise unittest.SkipTest("run by tests/netns/test_python.sh (namespaces, root)")

    def addr(self, host, version):
        return ADDRS[(host, version)]

    def peer(self, *args):
        """nettool.py ARGS in B; returns once it listens (stopped after the case)."""
        proc = self.spawn(["ip", "netns", "exec", PEER_NS, sys.executable, NETTOOL] +
                          list(args))
        self.assertEqual(self.line_of(proc), "listening", "the receiver in B did not listen")
        return proc

    def local(self, *args):
        """nettool.py ARGS here, in A."""
        return self.spawn([sys.executable, NETTOOL] + list(args))

    def spawn(self, argv):
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True)
        self.addCleanup(stop, proc)
        return proc

    def line_of(self, proc, wait=WAIT):
        """The next output line of proc, "" if none within wait seconds."""
        ready, _, _ = select.select([proc.stdout], [], [], wait)
        return proc.stdout.readline().strip() if ready else ""

    def output_of(self, proc, wait=WAIT):
        """All of proc's output once it has ended (at most wait seconds)."""
        try:
            return proc.communicate(timeout=wait)[0]
        except subprocess.TimeoutExpired:
            stop(proc)
            self.fail("%s did not finish in %d s" % (" ".join(proc.args), wait))

    def serve(self, r, decide, procs, wait=30):
        """Give every packet of r its verdict with decide(pkt) until all procs ended."""
        end = time.monotonic() + wait
        while any(p.poll() is None for p in procs):
            self.assertLess(time.monotonic(), end, "traffic did not end in %d s" % wait)
            for pkt in r.recv(64, timeout=0.05):
                decide(pkt)

    def udp_to_peer(self, version, port, payloads):
        """Send each payload, then nettool's end datagram, from A to B:port."""
        with socket.socket(socket.AF_INET if version == 4 else socket.AF_INET6,
                           socket.SOCK_DGRAM) as sock:
            for payload in payloads + [b"end."]:
                sock.sendto(payload, (self.addr("B", version), port))

    def tables(self):
        """Names of the ipredir tables nft lists in this namespace."""
        out = subprocess.run(["nft", "list", "tables"], stdout=subprocess.PIPE,
                             universal_newlines=True, check=True).stdout
        return [line.split()[-1] for line in out.splitlines() if "ipredir" in line]

    def ping(self, version, count=2, size=56):
        """Start count pings from A to B; the process (see output_of)."""
        return self.spawn(["ping", "-n", "-%d" % version, "-c", str(count), "-i", "0.2",
                           "-W", "2", "-s", str(size), self.addr("B", version)])


class AsyncNetnsCase(NetnsCase, unittest.IsolatedAsyncioTestCase):
    """A NetnsCase whose test_* methods may be coroutines, each run in a loop of its own."""

    async def asyncSetUp(self):
        # The loop runs in debug mode, which reports steps longer than 0.1 s: opening an
        # Events handle (loading BPF programs) is one, and expected.
        asyncio.get_running_loop().slow_callback_duration = 1.0


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    proc.stdout.close()

