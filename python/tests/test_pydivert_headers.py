# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every field of pydivert's header classes reads what is in the bytes and
writes only its own bits."""
import struct
import unittest

import pydivert
from pydivert.packet import IPHeader, TCPHeader, UDPHeader
from pydivert_support import icmp4, tcp4, udp4, udp6


class IPv4Fields(unittest.TestCase):
    def test_flags_offset_and_tos(self):
        ip = icmp4().ipv4
        self.assertTrue(ip.df)  # support.ip_header sets DF
        ip.flags = 0
        self.assertFalse(ip.df)
        ip.df = True
        self.assertEqual((ip.df, ip.flags, ip.frag_offset), (True, 2, 0))
        ip.flags = 3
        self.assertEqual((ip.mf, ip.df), (True, True))
        ip.frag_offset = 65
        ip.flags = 7
        self.assertEqual((ip.frag_offset, ip.evil, ip.reserved, ip.evil_bit), (65, True, True,
                                                                               True))
        ip.evil = False
        self.assertEqual(ip.flags, 3)
        ip.mf = False
        self.assertEqual((ip.flags, ip.frag_offset), (2, 65))
        ip.ecn, ip.dscp = 3, 18
        self.assertEqual((ip.tos, ip.diff_serv, ip.ecn), (75, 18, 3))
        ip.tos = 1
        self.assertEqual((ip.dscp, ip.ecn), (0, 1))

    def test_numbers_and_lengths(self):
        ip = tcp4().ipv4
        ip.ident, ip.ttl, ip.cksum, ip.protocol = 257, 4, 514, 44
        self.assertEqual((ip.ident, ip.ttl, ip.cksum, ip.protocol), (257, 4, 514, 44))
        self.assertEqual((ip.hdr_len, ip.header_len), (5, 20))
        ip.hdr_len = 6
        self.assertEqual((ip.hdr_len, ip.header_len), (6, 24))
        for bad in (4, 16):
            with self.assertRaises(ValueError):
                ip.hdr_len = bad
        ip.packet_len = 1000
        self.assertEqual(struct.unpack_from("!H", ip.raw, 2)[0], 1000)


class IPv6Fields(unittest.TestCase):
    def test_class_and_label_share_a_word(self):
        ip = udp6().ipv6
        ip.traffic_class = 0xAA
        ip.flow_label = 0xF1234
        self.assertEqual((ip.traffic_class, ip.flow_label), (0xAA, 0xF1234))
        ip.traffic_class = 0x55
        self.assertEqual(ip.flow_label, 0xF1234)
        self.assertEqual(struct.unpack_from("!I", ip.raw, 0)[0], 0x655F1234)
        self.assertEqual((ip.diff_serv, ip.dscp, ip.ecn), (0x15, 0x15, 1))
        ip.diff_serv, ip.ecn = 0x3F, 3
        self.assertEqual((ip.traffic_class, ip.flow_label), (0xFF, 0xF1234))

    def test_hop_limit_and_lengths(self):
        ip = udp6().ipv6
        ip.hop_limit = 7
        self.assertEqual((ip.hop_limit, ip.ttl), (7, 7))
        ip.ttl = 9
        self.assertEqual(ip.hop_limit, 9)
        self.assertEqual((ip.next_hdr, ip.protocol, ip.header_len), (17, 17, 40))
        self.assertEqual(ip.packet_len, ip.payload_len + 40)
        ip.packet_len = 140
        self.assertEqual(ip.payload_len, 100)


class TCPFields(unittest.TestCase):
    def test_flags(self):
        tcp = tcp4().tcp
        for name in ("fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"):
            with self.subTest(name):
                setattr(tcp, name, True)
                self.assertIs(getattr(tcp, name), True)
                setattr(tcp, name, False)
                self.assertIs(getattr(tcp, name), False)
        tcp.control_bits = 0x01F0
        self.assertEqual((tcp.fin, tcp.syn, tcp.ece, tcp.ns), (False, False, True, True))
        tcp.ns = False
        self.assertEqual(tcp.control_bits, 0x00F0)

    def test_offset_reserved_and_numbers(self):
        tcp = tcp4().tcp
        self.assertEqual((tcp.reserved, tcp.data_offset, tcp.header_len), (0, 5, 20))
        tcp.reserved, tcp.ns = 7, True
        self.assertEqual((tcp.reserved, tcp.ns, tcp.data_offset), (7, True, 5))
        for bad in (4, 16):
            with self.assertRaises(ValueError):
                tcp.data_offset = bad
        tcp.seq_num, tcp.ack_num, tcp.window_size = 2**32 - 1, 7, 1024
        tcp.cksum, tcp.urg_ptr = 11, 12
        self.assertEqual((tcp.seq_num, tcp.ack_num, tcp.window_size, tcp.cksum, tcp.urg_ptr),
                         (2**32 - 1, 7, 1024, 11, 12))
        self.assertEqual(tcp.options, b"")
        self.assertEqual(TCPHeader.syn.__doc__, "Synchronise sequence numbers.")


class UDPAndICMPFields(unittest.TestCase):
    def test_udp(self):
        udp = udp4().udp
        udp.cksum = 0xAAAA
        self.assertEqual((udp.cksum, udp.header_len), (0xAAAA, 8))
        udp.payload_len = 3
        self.assertEqual(udp.length, 11)

    def test_icmp(self):
        icmp = icmp4().icmp
        icmp.type, icmp.code, icmp.cksum = 42, 43, 11
        self.assertEqual((icmp.type, icmp.code, icmp.cksum, icmp.header_len), (42, 43, 11, 4))
        with self.assertRaises(Exception):
            icmp.type = "echo"


if __name__ == "__main__":
    unittest.main()


class FailedAssignments(unittest.TestCase):
    """A value a field cannot hold raises as struct does (TypeError or struct.error for
    a value of the wrong type, struct.error for one out of range), and the field and
    the bytes around it keep what they had."""

    def assert_kept(self, header, name, bad):
        before, raw = getattr(header, name), bytes(header.raw)
        with self.assertRaises((TypeError, struct.error)):
            setattr(header, name, bad)
        self.assertEqual(getattr(header, name), before, name)
        self.assertEqual(bytes(header.raw), raw, name)

    def test_every_kind_of_field(self):
        p = tcp4()
        p.src_port, p.tcp.seq_num, p.ipv4.ttl = 42, 7, 9
        for header, name in ((p.tcp, "src_port"), (p.tcp, "dst_port"), (p.tcp, "seq_num"),
                             (p.tcp, "window_size"), (p.ipv4, "ident"), (p.ipv4, "ttl"),
                             (p.ipv4, "cksum"), (p.ipv4, "protocol")):
            for bad in ("bogus", None, 1.5, -1, 1 << 32):
                self.assert_kept(header, name, bad)
        p = icmp4()
        p.icmp.type = 42
        for name in ("type", "code", "cksum"):
            self.assert_kept(p.icmp, name, "bogus")
            self.assert_kept(p.icmp, name, 1 << 16)
        self.assertEqual(p.icmp.type, 42)
        ip6 = udp6().ipv6
        for name in ("ttl", "hop_limit", "payload_len", "next_hdr"):
            self.assert_kept(ip6, name, "bogus")

    def test_through_the_packet(self):
        p = udp4()
        p.src_port = 42
        with self.assertRaises(struct.error):
            p.src_port = "bogus"
        with self.assertRaises(struct.error):
            p.dst_port = 65536
        self.assertEqual((p.src_port, p.dst_port), (42, 53))

    def test_ttl_out_of_range(self):
        ip = tcp4().ipv4
        ip.ttl = 255
        with self.assertRaises(struct.error):
            ip.ttl = 256
        self.assertEqual(ip.ttl, 255)

    def test_a_header_cut_short(self):
        p = pydivert.Packet(bytes(udp4().raw[:22]))
        header = UDPHeader(p, 20)  # only the source port is there
        header.src_port = 7
        with self.assertRaises(struct.error):
            header.dst_port = 8
        self.assertEqual(bytes(p.raw[20:]), b"\x00\x07")


class GenericIPHeader(unittest.TestCase):
    """IPHeader is what IPv4Header and IPv6Header share: the fields whose place depends
    on the version cannot be set on it, with AttributeError as for any read-only one."""

    def test_no_length_or_ttl(self):
        header = IPHeader(pydivert.Packet(bytes(tcp4().raw)))
        for name in ("packet_len", "ttl"):
            with self.assertRaisesRegex(AttributeError, "can't set attribute '%s'" % name):
                setattr(header, name, 100)
        self.assertEqual(header.raw, tcp4().raw)
