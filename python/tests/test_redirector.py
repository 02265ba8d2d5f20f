# SPDX-License-Identifier: LGPL-2.1-or-later
"""Redirector end to end, in namespace A of tests/netns/test_python.sh (root):
traffic from A to its veth peer B passes, is changed or dropped by a Python
loop; packets are injected; errors, closing and the verdict deadline behave
as documented."""
import errno
import os
import re
import signal
import socket
import struct
import time
from typing import List

import ipredir
from support import IF_A, WAIT, NetnsCase, udp_packet

TCP_BYTES = 2 * 1024 * 1024
ECHO_REPLY = {4: "icmp[icmptype] == icmp-echoreply", 6: "icmp6[icmp6type] == icmp6-echoreply"}
ECHO_REQUEST = {4: "icmp[icmptype] == icmp-echo", 6: "icmp6[icmp6type] == icmp6-echo"}


class Alarm(Exception):
    pass


def on_alarm(signum, frame):
    raise Alarm()


class Traffic(NetnsCase):
    """Packets through a Python loop: passed, modified, dropped, injected."""

    def transfer(self, version, port, verdict=ipredir.Redirector.accept, size=TCP_BYTES,
                 **options):
        """A TCP transfer from A to B, every packet given verdict(r, pkt) by a
        Python loop; the bytes must arrive intact. Returns the packets' (layer,
        device, uid) and the handle's counters."""
        seen = []

        def decide(pkt):
            seen.append((pkt.layer, pkt.in_interface or pkt.out_interface, pkt.uid))
            verdict(r, pkt)
        with ipredir.Redirector("tcp port %d" % port, layers=("in", "out"), **options) as r:
            recv = self.peer("tcp-recv", str(port))
            send = self.local("tcp-send", self.addr("B", version), str(port), str(size))
            self.serve(r, decide, [send, recv])
            stats = r.stats()
        sent, got = self.output_of(send).strip(), self.output_of(recv).strip()
        self.assertTrue(sent.startswith("sent bytes=%d " % size), sent)
        self.assertEqual(sent.split()[1:], got.split()[1:], "B received other bytes")
        self.assertEqual({("in", IF_A), ("out", IF_A)}, {entry[:2] for entry in seen})
        self.assertIn(("out", IF_A, os.getuid()), seen, "no packet of the sender's socket")
        self.assertEqual(stats.received, len(seen))
        return seen, stats

    def test_passthru_tcp_v4(self):
        seen, stats = self.transfer(4, 5301)
        self.assertEqual(stats.accepted, len(seen))

    def test_passthru_tcp_v6(self):
        seen, stats = self.transfer(6, 5302)
        self.assertEqual(stats.accepted, len(seen))

    def test_rewrite_every_tcp_packet(self):
        def new_ttl(r, pkt):
            pkt.ttl = 50  # every packet's bytes are replaced
            r.accept(pkt)
        seen, stats = self.transfer(4, 5303, new_ttl)
        self.assertEqual(stats.modified, len(seen))

    def test_bypass_after_three_packets(self):
        size, count = 8 * TCP_BYTES, [0]

        def offload(r, pkt):
            count[0] += 1
            (r.accept_bypass if count[0] >= 3 else r.accept)(pkt)
        seen, stats = self.transfer(4, 5304, offload, size, bypass=True)
        self.assertGreaterEqual(stats.bypassed, 1)
        # The whole transfer takes at least one packet per 64 KiB (the largest GSO packet).
        self.assertLess(len(seen), size // 65536, "the flow was not offloaded")

    def rewrite_ttl(self, version):
        def set_ttl(pkt):
            pkt.ttl = 33
            r.accept(pkt)
        with ipredir.Redirector(ECHO_REPLY[version], layers="in") as r:
            ping = self.ping(version)
            self.serve(r, set_ttl, [ping])
            modified = r.stats().modified
        out = self.output_of(ping)
        self.assertEqual(len(re.findall(r" ttl=33 ", out)), 2, out)
        self.assertEqual(modified, 2)

    def test_modify_ttl_v4(self):
        self.rewrite_ttl(4)

    def test_modify_ttl_v6(self):
        self.rewrite_ttl(6)

    def rewrite_payload(self, version, port):
        def rewrite(pkt):
            if pkt.payload == b"hello":
                pkt.payload = b"HELLO from Python"  # longer: the lengths follow
            r.accept(pkt)
        with ipredir.Redirector("udp dst port %d" % port, layers="out") as r:
            recv = self.peer("udp-recv", str(port))
            self.udp_to_peer(version, port, [b"hello"] * 3)
            self.serve(r, rewrite, [recv])
            modified = r.stats().modified
        self.assertEqual(self.output_of(recv).splitlines(), ["got HELLO from Python"] * 3)
        self.assertEqual(modified, 3)

    def test_modify_payload_v4(self):
        self.rewrite_payload(4, 7001)

    def test_modify_payload_v6(self):
        self.rewrite_payload(6, 7002)

    def test_drop(self):
        def drop_some(pkt):
            if pkt.payload.startswith(b"drop"):
                r.drop(pkt)
            else:
                r.accept(pkt)
        with ipredir.Redirector("udp dst port 7003", layers="out") as r:
            recv = self.peer("udp-recv", "7003")
            self.udp_to_peer(4, 7003, [b"keep-%d" % i if i % 2 else b"drop-%d" % i
                                       for i in range(6)])
            self.serve(r, drop_some, [recv])
            stats = r.stats()
        self.assertEqual(self.output_of(recv).splitlines(),
                         ["got keep-1", "got keep-3", "got keep-5"])
        self.assertEqual((stats.dropped, stats.accepted), (3, 4))

    def inject_out(self, version, port):
        with ipredir.Redirector("udp dst port %d" % port, layers="out") as r:
            recv = self.peer("udp-recv", str(port))
            pkt = udp_packet(self.addr("A", version), self.addr("B", version), 4000, port,
                             b"injected")
            r.send(ipredir.checksum_fill(pkt), "out")
            self.udp_to_peer(version, port, [])
            self.serve(r, r.accept, [recv])
            received = r.stats().received
        self.assertEqual(self.output_of(recv).splitlines(), ["got injected"])
        self.assertEqual(received, 1, "the handle captured its own injection")

    def test_send_out_v4(self):
        self.inject_out(4, 7004)

    def test_send_out_v6(self):
        self.inject_out(6, 7005)

    def test_send_in(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, \
                ipredir.Redirector("udp port 9") as r:
            sock.bind((self.addr("A", 4), 7006))
            sock.settimeout(5)
            pkt = udp_packet(self.addr("B", 4), self.addr("A", 4), 4000, 7006, b"from B")
            r.send(ipredir.checksum_fill(pkt), "in")
            data, source = sock.recvfrom(100)
        self.assertEqual((data, source), (b"from B", (self.addr("B", 4), 4000)))

    def test_send_refuses_malformed(self):
        with ipredir.Redirector("udp port 9") as r:
            pkt = udp_packet(self.addr("A", 4), self.addr("B", 4), 1, 2, b"x")
            with self.assertRaises(ipredir.Error) as caught:
                r.send(pkt[:-4], "out")  # shorter than its total length says
        self.assertEqual(caught.exception.errno, errno.EINVAL)
        self.assertIn("total length", str(caught.exception))

    def test_iterate(self):
        """Iteration blocks in the library; a signal handler's exception ends it."""
        taken = []
        previous = signal.signal(signal.SIGALRM, on_alarm)
        try:
            with ipredir.Redirector(ECHO_REQUEST[4], layers="out") as r:
                ping = self.ping(4, count=3)
                signal.alarm(WAIT)
                for pkt in r:
                    taken.append(pkt)
                    r.accept(pkt)
                    if len(taken) == 3:
                        break
                signal.alarm(0)
                r.flush()  # the last verdict would wait for the next receive
                self.assertIn(" 3 received", self.output_of(ping))
                with self.assertRaises(Alarm):  # a blocking receive with nothing to come
                    signal.setitimer(signal.ITIMER_REAL, 0.3)
                    next(iter(r))
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        # Their bytes outlived the receive buffer's reuse: echo sequence numbers 1, 2, 3.
        self.assertEqual([struct.unpack_from("!BxxxxxH", p.original, 20) for p in taken],
                         [(8, 1), (8, 2), (8, 3)])


class Handle(NetnsCase):
    """Opening, closing, errors, and packets left without a verdict."""

    def test_bad_filter(self):
        with self.assertRaises(ipredir.Error) as caught:
            ipredir.Redirector("tcp port nonsense")
        self.assertEqual(caught.exception.errno, errno.EINVAL)
        self.assertIsInstance(caught.exception, OSError)
        self.assertIn("nonsense", str(caught.exception))
        self.assertEqual(self.tables(), [])

    def test_bad_option(self):
        with self.assertRaises(ipredir.Error) as caught:
            ipredir.Redirector(priority=40000)
        self.assertEqual(caught.exception.errno, errno.EINVAL)
        self.assertIn("priority 40000", str(caught.exception))
        with self.assertRaises(ValueError):
            ipredir.Redirector(layers="sideways")

    def test_context_manager_cleanup(self):
        with ipredir.Redirector("icmp") as r:
            table = r.info().table
            self.assertEqual(self.tables(), [table])
            mine = [e for e in ipredir.list_redirectors() if e.table == table]
            self.assertEqual([(e.pid, e.filter) for e in mine], [(os.getpid(), "icmp")])
        self.assertEqual(self.tables(), [])
        self.assertTrue(r.closed)
        with self.assertRaises(ipredir.Error) as caught:
            r.recv()
        self.assertEqual(caught.exception.errno, errno.EBADF)

    def held_request(self, r, version=4, size=56):
        """Start one ping from A to B and receive its echo request (undecided)."""
        ping = self.ping(version, count=1, size=size)
        pkts = r.recv(1, timeout=WAIT)
        self.assertEqual([p.icmp_type for p in pkts], [8], "no echo request arrived")
        return ping, pkts[0]

    def test_close_accepts_held_packets(self):
        r = ipredir.Redirector(ECHO_REQUEST[4], layers="out")
        ping, _ = self.held_request(r)
        r.close()
        self.assertIn(" 1 received", self.output_of(ping))

    def test_deadline_accepts_forgotten_packets(self):
        messages = []
        ipredir.set_log(lambda level, msg: messages.append((level, msg)), ipredir.LOG_WARN)
        self.addCleanup(ipredir.set_log, None)
        with ipredir.Redirector(ECHO_REQUEST[4], layers="out", deadline_ms=200) as r:
            ping, pkt = self.held_request(r)
            end = time.monotonic() + WAIT
            while r.stats().expired == 0 and time.monotonic() < end:
                r.recv(1, timeout=0.1)
            self.assertEqual(r.stats().expired, 1)
            with self.assertRaises(ipredir.Error) as caught:
                r.accept(pkt)
            self.assertEqual(caught.exception.errno, errno.ESTALE)
        self.assertIn(" 1 received", self.output_of(ping))
        self.assertTrue(any(level == ipredir.LOG_WARN and "no verdict" in msg
                            for level, msg in messages), messages)

    def test_one_verdict_per_packet(self):
        with ipredir.Redirector(ECHO_REQUEST[4], layers="out") as r:
            ping, pkt = self.held_request(r)
            r.accept(pkt)
            with self.assertRaises(ipredir.Error) as caught:
                r.drop(pkt)
            self.assertEqual(caught.exception.errno, errno.EALREADY)
            self.assertTrue(pkt.decided)
        self.assertIn(" 1 received", self.output_of(ping))

    def test_truncated_copy_cannot_be_modified(self):
        with ipredir.Redirector(ECHO_REQUEST[4], layers="out", snaplen=64) as r:
            ping, pkt = self.held_request(r, size=500)
            self.assertTrue(pkt.is_truncated)
            self.assertEqual((pkt.caplen, pkt.length), (64, 528))
            pkt.ttl = 5
            with self.assertRaises(ipredir.Error) as caught:
                r.accept(pkt)
            self.assertEqual(caught.exception.errno, errno.EINVAL)
            self.assertIn("truncated", str(caught.exception))
            pkt.raw = pkt.original  # unchanged again: a plain accept
            r.accept(pkt)
        self.assertIn(" 1 received", self.output_of(ping))

    def test_monitor_holds_nothing(self):
        with ipredir.Redirector("icmp", monitor=True) as r:
            ping = self.ping(4, count=2)
            self.assertIn(" 2 received", self.output_of(ping))  # nobody gave a verdict
            seen: List[ipredir.Packet] = []
            while len(seen) < 4:
                pkts = r.recv(8, timeout=WAIT)
                self.assertTrue(pkts, "the monitor saw %d of 4 packets" % len(seen))
                seen += pkts
            r.accept(seen[0])  # does nothing, fails nothing
        self.assertEqual(sorted(p.icmp_type for p in seen), [0, 0, 8, 8])


if __name__ == "__main__":
    import unittest
    unittest.main()
