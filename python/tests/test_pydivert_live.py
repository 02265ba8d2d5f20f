# SPDX-License-Identifier: LGPL-2.1-or-later
"""pydivert handles on real traffic, as root in a namespace of their own
(tests/netns/test_pydivert.sh): opening and closing, errors, parameters; loopback
packets over 127.0.0.1 and ::1 taken once, outbound, with is_loopback set;
re-injected, changed (another length), dropped and new packets; batches;
asyncio; and the FLOW, SOCKET and REFLECT layers' events."""
import asyncio
import os
import socket
import time
from typing import List

import pydivert
from pydivert import Direction, Event, Flag, Layer, Param, RecvFlag
from pydivert_support import WAIT, LiveCase
from support import udp_packet

FAMILIES = (socket.AF_INET, socket.AF_INET6)
EVENTS = Flag.SNIFF | Flag.RECV_ONLY  # what WinDivert asks of the FLOW and REFLECT layers


def recv_within(w, wait=WAIT):
    """The next packet of w, or None after wait seconds."""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        packet = w.recv_ex(flags=RecvFlag.NO_BLOCK)
        if packet is not None:
            return packet
        time.sleep(0.01)
    return None


class Handles(LiveCase):
    def test_open_close(self):
        w = pydivert.WinDivert("false")
        w.open()
        self.assertTrue(w.is_open)
        self.assertIn('state="open"', repr(w))
        with pydivert.WinDivert("false") as other:
            self.assertTrue(other.is_open)
        with self.assertRaisesRegex(RuntimeError, "already open"):
            w.open()
        w.close()
        self.assertIn('state="closed"', repr(w))
        with self.assertRaisesRegex(RuntimeError, "not open"):
            w.close()
        w.open()  # a closed handle opens again
        w.close()

    def test_bad_arguments_raise_oserror(self):
        cases = {"filter": pydivert.WinDivert("tcp.DstPort == "),
                 "priority": pydivert.WinDivert("false", priority=40000),
                 "flags": pydivert.WinDivert("false", flags=Flag.SNIFF | Flag.DROP),
                 "layer flags": pydivert.WinDivert("true", Layer.REFLECT)}
        for name, w in cases.items():
            with self.subTest(name):
                with self.assertRaises(OSError) as caught:
                    w.open()
                self.assertEqual(getattr(caught.exception, "winerror"), 87)
                self.assertFalse(w.is_open)
        with self.assertRaisesRegex(OSError, "the filter 'tcp.DstPort == ': .* at character"):
            cases["filter"].open()

    def test_params(self):
        w = self.handle("false")
        for param, values in ((Param.QUEUE_TIME, (100, 512, 16000)),
                              (Param.QUEUE_LEN, (32, 4096, 16384)),
                              (Param.QUEUE_SIZE, (65535, 4194304, 33554432))):
            for value in values:
                self.assertIs(w.set_param(param, value), True)
                self.assertEqual(w.get_param(param), value)
        self.assertEqual((w.get_param(Param.VERSION_MAJOR), w.get_param(Param.VERSION_MINOR)),
                         (2, 2))
        for bad in (lambda: w.set_param(42, 43), lambda: w.get_param(42),
                    lambda: w.set_param(Param.QUEUE_TIME, 99)):
            with self.assertRaises(OSError):
                bad()

    def test_nothing_waits(self):
        w = self.handle("udp.DstPort == 9")
        self.assertIsNone(w.recv_ex(flags=RecvFlag.NO_BLOCK))
        self.assertEqual(w.fileno(), w.fileno())

    def test_recv_timeout(self):
        receiver, sender = self.udp_pair(socket.AF_INET)
        w = self.handle("udp.DstPort == %d" % self.port)
        for call in (lambda: w.recv(timeout=0.2), lambda: w.recv_batch(timeout=0.2)):
            start = time.monotonic()
            with self.assertRaises(TimeoutError):
                call()
            self.assertGreaterEqual(time.monotonic() - start, 0.19)
        with self.assertRaises(TimeoutError):
            w.recv(timeout=0)
        sender.sendto(b"in time", receiver.getsockname())
        packet = w.recv(timeout=WAIT)
        self.assertEqual(packet.payload, b"in time")
        w.send(packet)
        self.assertEqual(receiver.recv(100), b"in time")


class Loopback(LiveCase):
    def loopback_packet(self, family, payload=b"hello"):
        """A datagram over loopback taken by a handle: (handle, packet, receiver)."""
        receiver, sender = self.udp_pair(family)
        w = self.handle("udp.DstPort == %d" % self.port)
        sender.sendto(payload, receiver.getsockname()[:2])
        packet = recv_within(w)
        self.assertIsNotNone(packet, "the datagram was not taken")
        return w, packet, receiver

    def test_taken_once_outbound_and_sent_on(self):
        for family in FAMILIES:
            with self.subTest(family=family.name):
                w, packet, receiver = self.loopback_packet(family)
                self.assertTrue(packet.is_loopback)
                self.assertTrue(packet.is_outbound)
                self.assertEqual(packet.address_family, family)
                self.assertEqual(packet.dst_port, self.port)
                self.assertEqual(packet.payload, b"hello")
                self.assertEqual(packet.interface[0], 1)
                self.assertEqual(w.send(packet), len(packet.raw))
                self.assertEqual(receiver.recv(100), b"hello")
                self.assertIsNone(recv_within(w, 0.5), "the datagram was taken twice")

    def test_dropped_when_not_sent(self):
        for family in FAMILIES:
            with self.subTest(family=family.name):
                w, packet, receiver = self.loopback_packet(family)
                self.assertTrue(self.quiet(receiver), "a packet never sent arrived")

    def test_payload_of_another_length_arrives(self):
        for family in FAMILIES:
            with self.subTest(family=family.name):
                w, packet, receiver = self.loopback_packet(family, b"the secret is 42")
                packet.payload = packet.payload.replace(b"secret", b"[redacted]")
                w.send(packet)
                self.assertEqual(receiver.recv(100), b"the [redacted] is 42")

    def test_changed_packet_leaves_with_right_checksums(self):
        """send() fills in the checksums of a changed packet: a lower-priority sniffer sees
        it valid (loopback never checks them on the way in)."""
        for family in FAMILIES:
            with self.subTest(family=family.name):
                w, packet, receiver = self.loopback_packet(family, b"abc")
                sniffer = self.handle("udp.DstPort == %d" % self.port, priority=-1,
                                      flags=Flag.SNIFF)
                packet.payload = b"uvwxyz"  # the IP and UDP lengths change too
                w.send(packet)
                seen = recv_within(sniffer)
                self.assertIsNotNone(seen, "the sniffer below saw nothing")
                self.assertEqual(seen.payload, b"uvwxyz")
                self.assertTrue(seen.is_checksum_valid)
                self.assertEqual(receiver.recv(100), b"uvwxyz")

    def test_new_packet_is_injected(self):
        receiver = self.udp_socket(socket.AF_INET)
        port = receiver.getsockname()[1]
        w = self.handle("false", flags=Flag.SEND_ONLY)
        packet = pydivert.Packet(udp_packet("127.0.0.1", "127.0.0.1", 4000, port, b"new"),
                                 (1, 0), Direction.OUTBOUND, loopback=True)
        w.send(packet)
        self.assertEqual(receiver.recvfrom(100), (b"new", ("127.0.0.1", 4000)))

    def test_batches(self):
        receiver, sender = self.udp_pair(socket.AF_INET)
        w = self.handle("udp.DstPort == %d" % self.port)
        for i in range(5):
            sender.sendto(b"batch %d" % i, receiver.getsockname())
        packets: List[pydivert.Packet] = []
        end = time.monotonic() + WAIT
        while len(packets) < 5 and time.monotonic() < end:
            packets += w.recv_batch(flags=RecvFlag.NO_BLOCK)
        self.assertEqual([p.payload for p in packets], [b"batch %d" % i for i in range(5)])
        self.assertEqual(w.send_ex(packets), sum(len(p.raw) for p in packets))
        self.assertEqual([receiver.recv(100) for _ in range(5)],
                         [b"batch %d" % i for i in range(5)])

    def test_sniffed_copies(self):
        receiver, sender = self.udp_pair(socket.AF_INET6)
        w = self.handle("udp.DstPort == %d" % self.port, flags=Flag.SNIFF)
        sender.sendto(b"copy", receiver.getsockname()[:2])
        self.assertEqual(receiver.recv(100), b"copy")  # it went on by itself
        packet = recv_within(w)
        self.assertTrue(packet.is_sniffed and packet.is_loopback)


class Asyncio(LiveCase):
    def test_recv_async_leaves_the_loop_free(self):
        receiver, sender = self.udp_pair(socket.AF_INET)
        ticks = []

        async def ticker():
            while True:
                ticks.append(1)
                await asyncio.sleep(0.01)

        async def scenario():
            async with pydivert.WinDivert("udp.DstPort == %d" % self.port) as w:
                task = asyncio.create_task(ticker())
                asyncio.get_running_loop().call_later(0.3, sender.sendto, b"later",
                                                      receiver.getsockname())
                packet = await asyncio.wait_for(w.recv_async(), WAIT)
                task.cancel()
                await w.send_async(packet)
            return packet

        packet = asyncio.run(scenario())
        self.assertEqual(packet.payload, b"later")
        self.assertGreater(len(ticks), 10, "the loop stood still while a receive waited")
        self.assertEqual(receiver.recv(100), b"later")

    def test_async_for_ends_at_shutdown(self):
        receiver, sender = self.udp_pair(socket.AF_INET6)

        async def scenario():
            seen = []
            async with pydivert.WinDivert("udp.DstPort == %d" % self.port) as w:
                for i in range(3):
                    sender.sendto(b"n%d" % i, receiver.getsockname()[:2])
                async for packet in w:
                    seen.append(packet.payload)
                    await w.send_async(packet)
                    if len(seen) == 3:
                        w.shutdown(pydivert.Shutdown.RECV)
            return seen

        self.assertEqual(asyncio.run(asyncio.wait_for(scenario(), WAIT)), [b"n0", b"n1", b"n2"])
        self.assertEqual([receiver.recv(100) for _ in range(3)], [b"n0", b"n1", b"n2"])

    def test_recv_async_timeout(self):
        receiver, sender = self.udp_pair(socket.AF_INET)

        async def scenario():
            async with pydivert.WinDivert("udp.DstPort == %d" % self.port) as w:
                with self.assertRaises(TimeoutError):
                    await w.recv_async(timeout=0.2)
                with self.assertRaises(TimeoutError):
                    await w.recv_batch_async(timeout=0.1)
                asyncio.get_running_loop().call_later(0.1, sender.sendto, b"after",
                                                      receiver.getsockname())
                packet = await w.recv_async(timeout=WAIT)  # a timed-out wait left no harm
                await w.send_async(packet)
            return packet

        self.assertEqual(asyncio.run(scenario()).payload, b"after")
        self.assertEqual(receiver.recv(100), b"after")

    def test_recv_batch_async(self):
        receiver, sender = self.udp_pair(socket.AF_INET6)

        async def scenario():
            async with pydivert.WinDivert("udp.DstPort == %d" % self.port) as w:
                for i in range(3):
                    sender.sendto(b"b%d" % i, receiver.getsockname()[:2])
                packets: List[pydivert.Packet] = []
                while len(packets) < 3:
                    packets += await w.recv_batch_async(count=3 - len(packets), timeout=WAIT)
                w.send_ex(packets)
            return [p.payload for p in packets]

        self.assertEqual(asyncio.run(scenario()), [b"b0", b"b1", b"b2"])
        self.assertEqual([receiver.recv(100) for _ in range(3)], [b"b0", b"b1", b"b2"])

    def test_close_wakes_a_waiting_receive(self):
        async def scenario():
            w = pydivert.WinDivert("udp.DstPort == 9")
            w.open()
            asyncio.get_running_loop().call_later(0.1, w.close)
            await w.recv_async()

        with self.assertRaisesRegex(RuntimeError, "not open"):
            asyncio.run(asyncio.wait_for(scenario(), WAIT))


class EventLayers(LiveCase):
    def next_event(self, w, wanted):
        """The first event of w that is wanted (an Event)."""
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            packet = recv_within(w, max(end - time.monotonic(), 0.01))
            if packet is not None and packet.event == wanted:
                return packet
        self.fail("no %s event" % wanted.name)

    def test_flow_established(self):
        w = self.handle("tcp and localPort == 0 or remotePort == 5690", Layer.FLOW, flags=EVENTS)
        server = socket.create_server(("127.0.0.1", 5690))
        self.addCleanup(server.close)
        client = socket.create_connection(("127.0.0.1", 5690), WAIT)
        self.addCleanup(client.close)
        event = self.next_event(w, Event.FLOW_ESTABLISHED)
        self.assertEqual((event.layer, event.process_id), (Layer.FLOW, os.getpid()))
        self.assertEqual((event.flow.remote_addr, event.flow.RemotePort), ("127.0.0.1", 5690))
        self.assertEqual(event.flow.LocalPort, client.getsockname()[1])
        self.assertNotEqual(event.flow.EndpointId, 0)

    def test_socket_bind(self):
        w = self.handle("event == BIND and localPort == 5691", Layer.SOCKET, flags=EVENTS)
        sock = self.udp_socket(socket.AF_INET6, 5691)
        event = self.next_event(w, Event.SOCKET_BIND)
        self.assertEqual((event.process_id, event.socket.LocalPort), (os.getpid(), 5691))
        self.assertEqual(event.socket.local_addr, sock.getsockname()[0])

    def test_reflect_open(self):
        w = self.handle("true", Layer.REFLECT, flags=EVENTS)
        self.handle("udp.DstPort == 5692", priority=7)
        event = self.next_event(w, Event.REFLECT_OPEN)
        self.assertEqual((event.reflect.ProcessId, event.reflect.Priority, event.reflect.Layer),
                         (os.getpid(), 7, Layer.NETWORK))
        self.assertTrue(event.raw.tobytes().endswith(b"\0"))  # the filter, as an object
