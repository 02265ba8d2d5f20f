# SPDX-License-Identifier: LGPL-2.1-or-later
"""pydivert.Packet over canned packets: what it parses, what setting its fields
changes, checksums, filters, metadata, pattern matching, and bytes that are no
packet at all."""
import random
import socket
import unittest
from typing import Any, Callable, Tuple

import pydivert
from pydivert import CalcChecksumsOption as Opt, Direction, Protocol
from pydivert.packet import ICMPv4Header, IPv4Header, IPv6Header, TCPHeader, UDPHeader
from pydivert_support import (icmp4, icmp6_echo, ipv6_with_extensions, tcp4, tcp6, udp4, udp6)


class Parsing(unittest.TestCase):
    def test_ipv4_tcp(self):
        p = tcp4(b"payload!")
        self.assertEqual((p.address_family, p.protocol), (socket.AF_INET, (Protocol.TCP, 20)))
        self.assertEqual((p.src_addr, p.dst_addr, p.src_port, p.dst_port),
                         ("192.0.2.10", "198.51.100.20", 40001, 80))
        self.assertIsNotNone(p.ipv4)
        self.assertIs(p.ip, p.ipv4)
        self.assertIsNotNone(p.tcp)
        for absent in (p.ipv6, p.udp, p.icmp, p.icmpv4, p.icmpv6):
            self.assertIsNone(absent)
        self.assertEqual(p.payload, b"payload!")
        self.assertEqual(p.ip.packet_len, len(p.raw))

    def test_ipv6_tcp(self):
        p = tcp6()
        self.assertEqual(p.address_family, socket.AF_INET6)
        self.assertEqual((p.src_addr, p.dst_addr, p.dst_port), ("2001:db8::10", "2001:db8::20",
                                                                8080))
        self.assertIsNotNone(p.ipv6)
        self.assertIsNone(p.ipv4)
        self.assertEqual(p.ip.packet_len, len(p.raw))
        self.assertEqual(p.payload, b"hello")

    def test_udp_both_families(self):
        for p, payload in ((udp4(), b"query"), (udp6(), b"query6")):
            with self.subTest(family=p.address_family):
                self.assertEqual(p.protocol[0], Protocol.UDP)
                self.assertEqual((p.src_port, p.dst_port), (5353, 53))
                self.assertEqual(p.udp.payload_len, len(payload))
                self.assertEqual(p.payload, payload)

    def test_icmp_has_no_ports(self):
        p = icmp4()
        self.assertEqual(p.protocol[0], Protocol.ICMP)
        self.assertEqual((p.icmp.type, p.icmp.code), (8, 0))
        self.assertIs(p.icmp, p.icmpv4)
        self.assertIsNone(p.icmpv6)
        self.assertIsNone(p.src_port)
        self.assertIsNone(p.dst_port)
        self.assertEqual(p.payload[4:], b"ping-payload")  # after type, code, checksum: id, seq

    def test_icmpv6(self):
        p = icmp6_echo()
        self.assertEqual(p.protocol[0], Protocol.ICMPV6)
        self.assertEqual(p.icmpv6.type, 128)
        self.assertIsNone(p.icmpv4)

    def test_ipv6_extension_headers_are_skipped(self):
        cases = {"hop-by-hop": (0,), "routing": (43,), "destination": (60,), "fragment": (44,),
                 "AH": (51,), "all": (0, 43, 44, 51, 60)}
        for name, exts in cases.items():
            with self.subTest(name):
                p = ipv6_with_extensions(*exts)
                self.assertEqual(p.protocol[0], Protocol.UDP)
                self.assertEqual((p.src_port, p.dst_port), (1000, 2000))
                self.assertEqual(p.payload, b"abcd")

    def test_ipv6_unknown_next_header(self):
        p = ipv6_with_extensions(final=89, body=b"\0" * 20)
        self.assertEqual(p.protocol, (89, 40))
        self.assertIsNone(p.payload)

    def test_header_cut_short(self):
        raw = bytes(udp4().raw)[:24]  # 4 bytes of the 8 of the UDP header
        p = pydivert.Packet(raw)
        self.assertEqual(p.protocol, (None, None))
        self.assertIsNone(p.udp)
        self.assertEqual(p.src_addr, "192.0.2.10")

    def test_addresses_cut_short(self):
        self.assertIsNone(pydivert.Packet(b"\x45" + b"\0" * 9).src_addr)  # not even an IP header
        partial4 = pydivert.Packet(b"\x45" + b"\0" * 18)
        self.assertIsNone(partial4.address_family)
        self.assertEqual(IPv4Header(partial4).src_addr, "0.0.0.0")
        self.assertIsNone(IPv4Header(partial4).dst_addr)
        partial6 = pydivert.Packet(b"\x60" + b"\0" * 31)
        self.assertEqual(partial6.address_family, socket.AF_INET6)
        self.assertEqual(partial6.src_addr, "::")
        self.assertIsNone(partial6.dst_addr)

    def test_not_a_packet(self):
        p = pydivert.Packet(b"")
        p.src_addr, p.dst_addr, p.src_port, p.dst_port = "127.0.0.1", "127.0.0.1", 1, 2
        p.payload = b"x"
        for value in (p.src_addr, p.dst_addr, p.src_port, p.dst_port, p.payload, p.ip,
                      p.address_family):
            self.assertIsNone(value)
        with self.assertRaises(AttributeError):
            p.tcp.syn = True  # type: ignore[union-attr]  # the point: there is no TCP header
        self.assertEqual(p.recalculate_checksums(), 0)

    def test_any_bytes_parse_and_print(self):
        rng = random.Random(15)
        for prefix in (b"", bytes(udp4().raw)[:20], bytes(udp6().raw)[:40]):
            for size in range(0, 120, 3):
                raw = prefix + bytes(rng.randrange(256) for _ in range(size))
                p = pydivert.Packet(raw)
                self.assertTrue(repr(p))
                p.recalculate_checksums()


class Changing(unittest.TestCase):
    def test_addresses_and_ports(self):
        for p, src, wrong in ((tcp4(), "10.1.2.3", "::1"), (udp6(), "2001:db8::99", "10.0.0.1")):
            with self.subTest(src=src):
                p.src_addr, p.dst_addr = src, src
                self.assertEqual((p.src_addr, p.dst_addr), (src, src))
                with self.assertRaises(OSError):
                    p.src_addr = wrong  # an address of the other family
                with self.assertRaises(TypeError):
                    p.dst_addr = 42
                p.src_port, p.dst_port = 1, 65535
                self.assertEqual((p.src_port, p.dst_port), (1, 65535))
                with self.assertRaises(Exception):
                    p.src_port = "http"

    def test_payload_of_another_length(self):
        makers: Tuple[Callable[[], Any], ...] = (tcp4, tcp6, udp4, udp6, icmp4)
        for make in makers:
            with self.subTest(make.__name__):
                p = make()
                before = len(p.raw)
                p.payload = b"a much longer payload than before" * 3
                self.assertEqual(p.payload, b"a much longer payload than before" * 3)
                self.assertEqual(p.ip.packet_len, len(p.raw))
                self.assertGreater(len(p.raw), before)
                if p.udp:
                    self.assertEqual(p.udp.payload_len, len(p.payload))
                p.payload = b""
                self.assertEqual((p.payload, p.ip.packet_len), (b"", len(p.raw)))
                with self.assertRaises(TypeError):
                    p.payload = 42

    def test_same_length_raw_of_a_header(self):
        p = tcp4(b"test")
        p.tcp.raw = p.tcp.raw.tobytes().replace(b"test", b"abcd")
        self.assertEqual(p.payload, b"abcd")


class Raw(unittest.TestCase):
    def test_new_raw_is_parsed_afresh(self):
        p = tcp4(b"test")
        self.assertIsNotNone(p.tcp)
        p.raw = udp6(b"other").raw.tobytes()  # bytes: kept as a writable view of a copy
        self.assertIsInstance(p.raw, memoryview)
        self.assertFalse(p.raw.readonly)
        self.assertIsNone(p.ipv4)
        self.assertIsNone(p.tcp)
        self.assertEqual((p.address_family, p.udp.payload), (socket.AF_INET6, b"other"))
        p.raw = bytes(20)  # no IP packet at all
        self.assertIsNone(p.ip)
        self.assertIsNone(p.address_family)
        self.assertIn("Packet(", repr(p))

    def test_same_length_raw_of_another_kind(self):
        p = tcp4()
        p.raw = bytes([0x00]) + p.raw[1:].tobytes()
        self.assertIsNone(p.ipv4)

    def test_new_raw_clears_the_checksum_flags(self):
        p = tcp4(b"test")  # its checksums computed, so flagged right
        self.assertEqual((p.ip_checksum, p.tcp_checksum), (True, True))
        p.raw = bytearray(p.raw)
        self.assertEqual((p.ip_checksum, p.tcp_checksum, p.udp_checksum), (False,) * 3)


class Checksums(unittest.TestCase):
    def test_recalculating_sets_the_flags_of_those_computed(self):
        cases = ((tcp4(), 0, (True, True, False)), (udp4(), 0, (True, False, True)),
                 (udp6(), 0, (False, False, True)), (icmp4(), 0, (True, False, False)),
                 (tcp4(), Opt.NO_TCP_CHECKSUM, (True, False, False)),
                 (udp4(), Opt.NO_IP_CHECKSUM, (False, False, True)))
        for p, flags, expected in cases:
            with self.subTest(proto=p.protocol[0], flags=flags):
                p.ip_checksum = p.tcp_checksum = p.udp_checksum = False
                p.recalculate_checksums(flags)
                self.assertEqual((p.ip_checksum, p.tcp_checksum, p.udp_checksum), expected)

    def test_icmp_checksum(self):
        for p in (icmp4(), icmp6_echo()):
            with self.subTest(af=p.address_family):
                self.assertTrue(p.icmp_checksum)
                p.icmp.raw[2] ^= 0xFF
                self.assertFalse(p.icmp_checksum)
                p.recalculate_checksums()
                self.assertTrue(p.icmp_checksum)
        self.assertFalse(tcp4().icmp_checksum)  # no ICMP header

    def test_count_and_flags(self):
        cases = ((tcp4(), 2, Opt.NO_IP_CHECKSUM | Opt.NO_TCP_CHECKSUM),
                 (udp6(), 1, Opt.NO_UDP_CHECKSUM), (icmp4(), 2, Opt.NO_IP_CHECKSUM |
                                                     Opt.NO_ICMP_CHECKSUM),
                 (icmp6_echo(), 1, Opt.NO_ICMPV6_CHECKSUM))
        for p, count, all_off in cases:
            with self.subTest(proto=p.protocol[0]):
                self.assertTrue(p.is_checksum_valid)
                p.src_addr = p.dst_addr  # the checksums are wrong now
                self.assertFalse(p.is_checksum_valid)
                before = p.raw.tobytes()
                self.assertEqual(p.recalculate_checksums(all_off), 0)
                self.assertEqual(p.raw.tobytes(), before)
                self.assertEqual(p.recalculate_checksums(Opt.NO_REPLACE), count)
                self.assertTrue(p.is_checksum_valid)


class Filters(unittest.TestCase):
    def test_matches(self):
        p = udp4()
        self.assertTrue(p.matches("true"))
        self.assertTrue(p.matches("udp and outbound and udp.DstPort == 53"))
        self.assertFalse(p.matches("tcp"))
        self.assertFalse(p.matches("inbound"))
        p.direction = Direction.INBOUND
        self.assertTrue(p.matches("inbound and ip.SrcAddr == 192.0.2.10"))


class Metadata(unittest.TestCase):
    def test_direction_and_flags(self):
        out = pydivert.Packet(b"", (3, 1), Direction.OUTBOUND, loopback=True)
        self.assertEqual((out.is_outbound, out.is_inbound, out.is_loopback), (True, False, True))
        self.assertEqual(out.interface, (3, 1))
        inb = pydivert.Packet(b"", (2, 0), Direction.INBOUND)
        self.assertEqual((inb.is_outbound, inb.is_inbound, inb.is_loopback), (False, True, False))
        self.assertEqual(pydivert.Packet(b"").interface, (0, 0))

    def test_wd_addr(self):
        p = udp6()
        p.interface, p.direction, p.is_impostor, p.udp_checksum = (7, 0), Direction.INBOUND, \
            True, True
        a = p.wd_addr
        self.assertEqual((a.Network.IfIdx, a.Outbound, a.Impostor, a.IPv6, a.UDPChecksum),
                         (7, 0, 1, 1, 1))
        self.assertEqual((a.Layer, a.Event, a.Loopback, a.Sniffed), (0, 0, 0, 0))

    def test_flow_data_in_wd_addr(self):
        flow = pydivert.windivert_dll.WinDivertDataFlow(EndpointId=5, ProcessId=42,
                                                         LocalPort=80, Protocol=6)
        flow.LocalAddr[:] = [0x7F000001, 0xFFFF, 0, 0]
        p = pydivert.Packet(b"", layer=pydivert.Layer.FLOW, event=pydivert.Event.FLOW_DELETED,
                            flow=flow)
        a = p.wd_addr
        self.assertEqual((a.Layer, a.Event, a.Flow.ProcessId, a.Flow.EndpointId), (2, 2, 42, 5))
        self.assertEqual(flow.local_addr, "127.0.0.1")
        self.assertEqual(p.process_id, 42)
        self.assertIn("FLOW_DELETED", repr(p))


class Interface(unittest.TestCase):
    def test_an_index_alone_is_its_pair(self):
        p = udp4()
        p.interface = 5
        self.assertEqual(p.interface, (5, 0))
        self.assertEqual(pydivert.Packet(p.raw, interface=7).interface, (7, 0))
        p.interface = (3, 4)
        self.assertEqual(p.interface, (3, 4))
        addr = p.wd_addr
        self.assertEqual((addr.Network.IfIdx, addr.Network.SubIfIdx), (3, 4))


class PatternMatching(unittest.TestCase):
    def test_keywords(self):
        match tcp4():
            case pydivert.Packet(tcp=TCPHeader(dst_port=80), ipv4=IPv4Header(src_addr=src)):
                self.assertEqual(src, "192.0.2.10")
            case _:
                self.fail("a TCP packet to port 80 did not match")

    def test_positions(self):
        match udp6(b"dns?"):
            case pydivert.Packet(_, "2001:db8::53", _, 53, payload):
                self.assertEqual(payload, b"dns?")
            case _:
                self.fail("no match by position")
        match udp4().udp:
            case UDPHeader(5353, 53):
                pass
            case _:
                self.fail("UDPHeader did not match by position")
        match icmp4().icmp:
            case ICMPv4Header(8, 0):
                pass
            case _:
                self.fail("ICMPv4Header did not match by position")
        match tcp6().ip:
            case IPv6Header(_, "2001:db8::20", 6, 64):
                pass
            case _:
                self.fail("IPv6Header did not match by position")


if __name__ == "__main__":
    unittest.main()
