# SPDX-License-Identifier: LGPL-2.1-or-later
"""The packet helpers and Packet's setters over canned packets (no network, no root)."""
import errno
import struct
import unittest

import ipredir
from ipredir import _lib
from support import icmp_echo, reference_udp_checksum, tcp_packet, udp_packet


def packet_of(data, flags=0):
    """A Packet as a receive would make it, around canned bytes."""
    meta = _lib.RawPacket(caplen=len(data), len=len(data), id=7, flags=flags,
                          layer=_lib.LAYER_OUT)
    return ipredir.Packet(meta, bytes(data))


class Parse(unittest.TestCase):
    def test_udp4(self):
        p = ipredir.parse(udp_packet("10.1.2.3", "10.4.5.6", 4000, 53, b"hello"))
        self.assertEqual((p.version, p.protocol, p.ttl), (4, 17, 64))
        self.assertEqual((p.src_addr, p.dst_addr, p.src_port, p.dst_port),
                         ("10.1.2.3", "10.4.5.6", 4000, 53))
        self.assertEqual((p.l3_hdr_len, p.l4_offset, p.payload_offset, p.payload_len),
                         (20, 20, 28, 5))
        self.assertEqual((p.icmp_type, p.ip_len, p.truncated), (None, 33, False))

    def test_tcp6(self):
        p = ipredir.parse(tcp_packet("fd00::1", "fd00::2", 40000, 80, b"GET /"))
        self.assertEqual((p.version, p.protocol, p.src_addr, p.dst_addr), (6, 6, "fd00::1",
                                                                           "fd00::2"))
        self.assertEqual((p.src_port, p.dst_port, p.l4_offset, p.l4_hdr_len), (40000, 80, 40, 20))
        self.assertEqual((p.payload_offset, p.payload_len), (60, 5))

    def test_icmp(self):
        p = ipredir.parse(icmp_echo("10.0.0.1", "10.0.0.2", 99))
        self.assertEqual((p.protocol, p.icmp_type, p.icmp_code), (1, 8, 0))
        self.assertEqual((p.src_port, p.dst_port), (None, None))

    def test_cut_in_transport_header(self):
        p = ipredir.parse(bytes(udp_packet("10.0.0.1", "10.0.0.2", 1, 2, b"xyz"))[:24])
        self.assertTrue(p.truncated)
        self.assertIsNone(p.l4_offset)

    def test_malformed(self):
        with self.assertRaises(ipredir.Error) as caught:
            ipredir.parse(b"\x75" + bytes(39))
        self.assertEqual(caught.exception.errno, errno.EINVAL)
        self.assertIn("cannot parse", str(caught.exception))
        with self.assertRaises(ipredir.Error) as caught:
            ipredir.parse(b"\x45\x00")
        self.assertEqual(caught.exception.errno, errno.EMSGSIZE)


class Checksums(unittest.TestCase):
    def check_fill(self, src, dst):
        pkt = udp_packet(src, dst, 5000, 6000, b"checksum me")
        self.assertFalse(ipredir.checksum_verify(pkt))
        self.assertIs(ipredir.checksum_fill(pkt), pkt)
        self.assertTrue(ipredir.checksum_verify(pkt))
        udp = 20 if src.count(".") else 40
        self.assertEqual(struct.unpack_from("!H", pkt, udp + 6)[0], reference_udp_checksum(pkt))
        pkt[-1] ^= 1
        self.assertFalse(ipredir.checksum_verify(pkt))

    def test_fill_and_verify_v4(self):
        self.check_fill("192.0.2.1", "198.51.100.7")

    def test_fill_and_verify_v6(self):
        self.check_fill("2001:db8::1", "2001:db8::ff")

    def test_fill_needs_a_writable_buffer(self):
        with self.assertRaises(TypeError):
            ipredir.checksum_fill(  # type: ignore[type-var]  # the wrong type on purpose
                bytes(udp_packet("10.0.0.1", "10.0.0.2", 1, 2, b"")))

    def test_fill_refuses_a_short_packet(self):
        with self.assertRaises(ipredir.Error) as caught:
            ipredir.checksum_fill(udp_packet("10.0.0.1", "10.0.0.2", 1, 2, b"abcd")[:-2])
        self.assertEqual(caught.exception.errno, errno.EMSGSIZE)


class Ttl(unittest.TestCase):
    def test_decrement_ttl(self):
        pkt = ipredir.checksum_fill(udp_packet("10.0.0.1", "10.0.0.2", 1, 2, b"x", ttl=2))
        self.assertEqual(ipredir.decrement_ttl(pkt), 1)
        self.assertTrue(ipredir.checksum_verify(pkt))  # the header checksum followed
        self.assertIsNone(ipredir.decrement_ttl(pkt))
        self.assertEqual(pkt[8], 1)

    def test_set_ttl(self):
        pkt = ipredir.checksum_fill(udp_packet("fd00::1", "fd00::2", 1, 2, b"x"))
        ipredir.set_ttl(pkt, 200)
        self.assertEqual(ipredir.parse(pkt).ttl, 200)
        with self.assertRaises(ValueError):
            ipredir.set_ttl(pkt, 256)


class PacketSetters(unittest.TestCase):
    def test_read_only_packet_is_not_modified(self):
        pkt = packet_of(udp_packet("10.0.0.1", "10.0.0.2", 1, 2, b"abc"))
        self.assertEqual((pkt.src_port, pkt.payload, pkt.layer), (1, b"abc", "out"))
        self.assertFalse(pkt.modified)
        pkt.raw[0:1] = b"\x45"  # the same byte again
        self.assertFalse(pkt.modified)

    def test_payload_of_another_length(self):
        for src, dst in (("10.0.0.1", "10.0.0.2"), ("fd00::1", "fd00::2")):
            pkt = packet_of(ipredir.checksum_fill(udp_packet(src, dst, 1000, 2000, b"short")))
            pkt.payload = b"a longer payload"
            pkt.recalculate_checksums()
            p = ipredir.parse(pkt.raw)
            self.assertEqual((pkt.payload, p.ip_len, p.l4_len), (b"a longer payload",
                                                                 len(pkt.raw), 24))
            self.assertTrue(pkt.modified)
            self.assertTrue(ipredir.checksum_verify(pkt.raw))

    def test_addresses_and_ports(self):
        pkt = packet_of(tcp_packet("10.0.0.1", "10.0.0.2", 1000, 80, b""))
        pkt.dst_addr, pkt.src_port, pkt.ttl = "192.0.2.9", 1234, 9
        self.assertEqual((pkt.dst_addr, pkt.src_port, pkt.ttl), ("192.0.2.9", 1234, 9))
        with self.assertRaises(ipredir.Error):
            pkt.src_addr = "fd00::1"
        with self.assertRaises(ipredir.Error):
            pkt.src_addr = "not an address"

    def test_ports_need_tcp_or_udp(self):
        pkt = packet_of(icmp_echo("10.0.0.1", "10.0.0.2", 5))
        with self.assertRaises(ipredir.Error) as caught:
            pkt.dst_port = 80
        self.assertEqual(caught.exception.errno, errno.EINVAL)

    def test_truncated_payload_cannot_change(self):
        pkt = packet_of(udp_packet("10.0.0.1", "10.0.0.2", 1, 2, b"abc"), _lib.PKT_TRUNCATED)
        with self.assertRaises(ipredir.Error):
            pkt.payload = b"new"


if __name__ == "__main__":
    unittest.main()
