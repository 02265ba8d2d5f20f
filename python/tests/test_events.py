# SPDX-License-Identifier: LGPL-2.1-or-later
"""Processes and events: block_rule() builds the tests the kernel runs; in
namespace A of tests/netns/test_python.sh (root), packets name the process of
their local socket (pid, comm, exe on request), a process filter takes only
its packets, Events reports this process's socket calls and flows, and a rule
refuses connects and binds with EPERM until the handle closes."""
import errno
import os
import socket
import sys
import time
import unittest

import ipredir
from ipredir import _lib
from support import WAIT, NetnsCase

MAPPED = 0xFFFF << 32  # ::ffff:0.0.0.0


class Rule(unittest.TestCase):
    """block_rule(): the decision graph of struct ipr_call_test."""

    def fields(self, tests):
        return [(t.field, t.cmp, t.yes, t.no) for t in tests]

    def value(self, test):
        return sum(word << (32 * i) for i, word in enumerate(test.value))

    def test_connect_to_network_and_port(self):
        tests = ipredir.block_rule(connect=[("10.0.0.0/8", 443)])
        self.assertEqual(self.fields(tests), [
            (ipredir.CALL_EVENT, ipredir.CMP_EQ, 1, ipredir.CALL_NO_MATCH),
            (ipredir.CALL_REMOTE_ADDR, ipredir.CMP_GE, 2, ipredir.CALL_NO_MATCH),
            (ipredir.CALL_REMOTE_ADDR, ipredir.CMP_LE, 3, ipredir.CALL_NO_MATCH),
            (ipredir.CALL_REMOTE_PORT, ipredir.CMP_EQ, ipredir.CALL_MATCH,
             ipredir.CALL_NO_MATCH)])
        self.assertEqual(self.value(tests[1]), MAPPED | 0x0A000000)
        self.assertEqual(self.value(tests[2]), MAPPED | 0x0AFFFFFF)
        self.assertEqual(self.value(tests[3]), 443)

    def test_ipv6_address_words(self):
        tests = ipredir.block_rule(connect=["2001:db8::1"])
        self.assertEqual(list(tests[1].value), [1, 0, 0, 0x20010DB8])

    def test_items_chain_and_pid(self):
        tests = ipredir.block_rule(connect=["*"], bind=[8080], pid=42)
        self.assertEqual(self.fields(tests), [
            (ipredir.CALL_PID, ipredir.CMP_EQ, 1, ipredir.CALL_NO_MATCH),
            (ipredir.CALL_EVENT, ipredir.CMP_EQ, ipredir.CALL_MATCH, 2),
            (ipredir.CALL_EVENT, ipredir.CMP_EQ, 3, ipredir.CALL_NO_MATCH),
            (ipredir.CALL_LOCAL_PORT, ipredir.CMP_EQ, ipredir.CALL_MATCH,
             ipredir.CALL_NO_MATCH)])
        self.assertEqual(self.value(tests[0]), 42)
        self.assertEqual(self.value(tests[2]), _lib.EVENT_SOCKET_BIND)

    def test_empty_and_too_many(self):
        self.assertEqual(ipredir.block_rule(pid=42), [])
        with self.assertRaises(ValueError):
            ipredir.block_rule(bind=range(1, 40))
        with self.assertRaises(ValueError):
            ipredir.block_rule(connect=["not-an-address"])


class Processes(NetnsCase):
    """Packets of a local socket name its process."""

    def sender_packets(self, port, **options):
        """Packets of a TCP transfer from A (a nettool.py process) to B, all accepted;
        returns them and the sender's pid."""
        seen = []
        with ipredir.Redirector("tcp port %d" % port, layers="out", **options) as r:
            recv = self.peer("tcp-recv", str(port))
            send = self.local("tcp-send", self.addr("B", 4), str(port), "100000")

            def decide(pkt):
                seen.append((pkt.pid, pkt.process, pkt.process and pkt.process.exe()))
                r.accept(pkt)
            self.serve(r, decide, [send, recv])
        return seen, send.pid

    def test_packet_names_its_process(self):
        seen, pid = self.sender_packets(5311, process=True)
        self.assertTrue(seen, "no packet")
        exe = os.path.realpath(sys.executable)
        wrong = [s for s in seen if s[0] != pid or s[1].pid != pid or s[1].comm != "python3"]
        self.assertEqual(wrong, [], "packets naming another process than %d" % pid)
        self.assertTrue(any(s[2] == exe for s in seen), "exe() never gave %s" % exe)

    def test_comm_filter_takes_none_of_others(self):
        seen, _ = self.sender_packets(5312, comm="no-such-comm")
        self.assertEqual(seen, [])

    def test_no_process_without_asking(self):
        seen, _ = self.sender_packets(5313)
        self.assertTrue(seen and all(s[:2] == (None, None) for s in seen))


class EventsCase(NetnsCase):
    """Events of this process's sockets; a rule refuses calls while it lives."""

    def events_until(self, events, want):
        """Events received until want(event) holds for one; fails after WAIT seconds."""
        got, end = [], time.monotonic() + WAIT
        while time.monotonic() < end:
            got += events.recv(64, timeout=0.2)
            if any(want(e) for e in got):
                return got
        self.fail("no such event among %d: %s" % (len(got), got[-5:]))

    def listener(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        self.addCleanup(s.close)
        return s, s.getsockname()[1]

    def test_connect_and_flow_name_this_process(self):
        with ipredir.Events() as events:
            server, port = self.listener()
            client = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
            client.close()
            got = self.events_until(events, lambda e: e.kind == "established" and
                                    e.remote_port == port)
            self.assertEqual(events.lost, 0)
        mine = [e for e in got if port in (e.local_port, e.remote_port)]
        self.assertIn("connect", [e.kind for e in mine])
        self.assertEqual({(e.pid, e.comm) for e in mine}, {(os.getpid(), "python3")})

    def connect_errno(self, port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()
            return 0
        except OSError as err:
            return err.errno

    def test_block_refuses_until_closed(self):
        _, blocked = self.listener()
        _, other = self.listener()
        with ipredir.Events(flows=False) as events:
            events.block(ipredir.block_rule(connect=[("127.0.0.1/8", blocked)]))
            self.assertEqual(self.connect_errno(blocked), errno.EPERM)
            self.assertEqual(self.connect_errno(other), 0)
            got = self.events_until(events, lambda e: e.blocked)
            self.assertIn(("connect", blocked), [(e.kind, e.remote_port) for e in got
                                                 if e.blocked])
        self.assertEqual(self.connect_errno(blocked), 0, "the block outlived its handle")


if __name__ == "__main__":
    unittest.main()
