# SPDX-License-Identifier: LGPL-2.1-or-later
"""pydivert.util: the helpers scripts written for pydivert import from it."""
import unittest

import pydivert
from pydivert import util


class Util(unittest.TestCase):
    def test_fromhex(self):
        self.assertEqual(util.fromhex("4500 0014"), b"\x45\x00\x00\x14")
        self.assertEqual(util.fromhex(""), b"")
        with self.assertRaises(ValueError):
            util.fromhex("4g")

    def test_a_packet_from_hex(self):
        p = pydivert.Packet(util.fromhex("4500001c00004000401100000000000000000000"
                                         "1f9000350008 0000"))
        self.assertEqual((p.protocol[0], p.src_port, p.dst_port, p.payload), (17, 8080, 53, b""))

    def test_the_rest(self):
        self.assertEqual((util.indexbyte(65), util.indexbyte(b"A")), (65, 65))
        self.assertEqual((util.PY2, util.PY34), (False, False))

        class Counted:
            calls = 0

            @util.cached_property
            def value(self):
                Counted.calls += 1
                return 42

        thing = Counted()
        self.assertEqual((thing.value, thing.value, Counted.calls), (42, 42, 1))
