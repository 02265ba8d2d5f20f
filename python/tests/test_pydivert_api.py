# SPDX-License-Identifier: LGPL-2.1-or-later
"""pydivert's public names: every constant and struct agrees with
include/windivert.h (a generated C program prints what C has), and a WinDivert
that is not open refuses what needs a handle, as pydivert does."""
import asyncio
import ctypes
import unittest
from typing import Callable, Dict, Optional

import pydivert
from pydivert import windivert_dll as dll
from pydivert.consts import BATCH_MAX, MTU_MAX
from support import c_program_output

# Python enum -> the C prefix of its members' names.
ENUMS = {pydivert.Layer: "WINDIVERT_LAYER_", pydivert.Flag: "WINDIVERT_FLAG_",
         pydivert.Event: "WINDIVERT_EVENT_", pydivert.Shutdown: "WINDIVERT_SHUTDOWN_",
         pydivert.CalcChecksumsOption: "WINDIVERT_HELPER_"}
C_NAMES: Dict[str, Optional[str]] = {"QUEUE_LEN": "QUEUE_LENGTH", "DEFAULT": None, "NO_REPLACE": None}
BITS = ("Sniffed", "Outbound", "Loopback", "Impostor", "IPv6", "IPChecksum", "TCPChecksum",
        "UDPChecksum")


def constants():
    """(Python name, value, C expression) of every constant with a C counterpart."""
    found = [("Param.%s" % m.name, m.value, "WINDIVERT_PARAM_%s" % C_NAMES.get(m.name, m.name))
             for m in pydivert.Param]
    for enum, prefix in ENUMS.items():
        for name, member in enum.__members__.items():
            c_name = C_NAMES.get(name, name)
            if c_name:
                found.append(("%s.%s" % (enum.__name__, name), member.value, prefix + c_name))
    return found + [("RecvFlag.NO_BLOCK", pydivert.RecvFlag.NO_BLOCK,
                     "WINDIVERT_RECV_FLAG_NO_BLOCK"), ("MTU_MAX", MTU_MAX, "WINDIVERT_MTU_MAX"),
                    ("BATCH_MAX", BATCH_MAX, "WINDIVERT_BATCH_MAX"),
                    ("PRIORITY_HIGHEST", dll.PRIORITY_HIGHEST, "WINDIVERT_PRIORITY_HIGHEST"),
                    ("PRIORITY_LOWEST", dll.PRIORITY_LOWEST, "WINDIVERT_PRIORITY_LOWEST")]


def plain_fields(struct):
    """The fields of a mirror that C can take offsetof() of (no bitfields, the union's
    members by their own names)."""
    for field in struct._fields_:
        if len(field) == 2 and field[0] == "u":
            yield from (name for name, _ in field[1]._fields_)
        elif len(field) == 2:
            yield field[0]


def c_source():
    lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <string.h>",
             "#include <windivert.h>", "int main(void)", "{", "\tWINDIVERT_ADDRESS a;",
             "\tUINT32 word;"]
    for name, _, c in constants():
        lines.append('\tprintf("%s %%lld\\n", (long long)%s);' % (name, c))
    for cname, struct in dll.C_STRUCTS.items():
        lines.append('\tprintf("%s %%zu\\n", sizeof(%s));' % (cname, cname))
        lines += ['\tprintf("%s.%s %%zu\\n", offsetof(%s, %s));' % (cname, f, cname, f)
                  for f in plain_fields(struct)]
    for bit in ("Layer", "Event") + BITS:
        lines += ["\tmemset(&a, 0, sizeof(a));", "\ta.%s = 1;" % bit,
                  "\tmemcpy(&word, (char *)&a + 8, 4);", '\tprintf("bit.%s %%u\\n", word);' % bit]
    return "\n".join(lines + ["\treturn 0;", "}", ""])


def python_view():
    lines = ["%s %d" % (name, value) for name, value, _ in constants()]
    for cname, struct in dll.C_STRUCTS.items():
        lines.append("%s %d" % (cname, ctypes.sizeof(struct)))
        lines += ["%s.%s %d" % (cname, f, getattr(struct, f).offset) for f in plain_fields(struct)]
    for bit in ("Layer", "Event") + BITS:
        a = dll.WinDivertAddress()
        setattr(a, bit, 1)
        lines.append("bit.%s %d" % (bit, int.from_bytes(bytes(a)[8:12], "little")))
    return lines


class Header(unittest.TestCase):
    def test_constants_and_structs_match_windivert_h(self):
        c, py = c_program_output(self, c_source()), python_view()
        wrong = ["C: %s, Python: %s" % pair for pair in zip(c, py) if pair[0] != pair[1]]
        self.assertEqual(len(c), len(py))
        if wrong:
            self.fail("pydivert disagrees with include/windivert.h: " + "; ".join(wrong))

    def test_direction_is_pydivert_s(self):
        self.assertEqual((pydivert.Direction.OUTBOUND, pydivert.Direction.INBOUND), (0, 1))


class PublicNames(unittest.TestCase):
    def test_all_names_resolve(self):
        for name in pydivert.__all__:
            self.assertTrue(hasattr(pydivert, name), name)
        self.assertTrue(pydivert.__version__)
        self.assertIs(pydivert.PyDivert, pydivert.WinDivert)
        self.assertIs(pydivert.Divert, pydivert.WinDivert)

    def test_driver_calls_are_accepted(self):
        pydivert.WinDivert.register()
        pydivert.WinDivert.unregister()
        self.assertTrue(pydivert.WinDivert.is_registered())


class CheckFilter(unittest.TestCase):
    def test_results(self):
        self.assertEqual(pydivert.WinDivert.check_filter("true")[:2], (True, 0))
        ok, pos, msg = pydivert.WinDivert.check_filter("something wrong here")
        self.assertEqual((ok, pos), (False, 0))
        self.assertTrue(msg)
        self.assertEqual(pydivert.WinDivert.check_filter("outbound and something wrong")[:2],
                         (False, 13))
        self.assertTrue(pydivert.WinDivert.check_filter("event == ESTABLISHED",
                                                        pydivert.Layer.FLOW)[0])
        self.assertFalse(pydivert.WinDivert.check_filter("tcp.DstPort == 80",
                                                         pydivert.Layer.REFLECT)[0])


class HandleSettings(unittest.TestCase):
    def test_read_only_properties(self):
        w = pydivert.WinDivert("udp", pydivert.Layer.NETWORK_FORWARD, 7, pydivert.Flag.SNIFF)
        self.assertEqual((w.filter, w.layer, w.priority, w.flags),
                         ("udp", pydivert.Layer.NETWORK_FORWARD, 7, pydivert.Flag.SNIFF))
        self.assertIsInstance(w.layer, pydivert.Layer)
        self.assertIsInstance(w.flags, pydivert.Flag)
        for name in ("filter", "layer", "priority", "flags"):
            with self.subTest(name), self.assertRaises(AttributeError):
                setattr(w, name, None)

    def test_filter_given_as_bytes(self):
        w = pydivert.WinDivert(b"tcp.DstPort == 80")
        self.assertEqual(w.filter, "tcp.DstPort == 80")
        self.assertIn('filter="tcp.DstPort == 80"', repr(w))
        self.assertEqual(pydivert.WinDivert.check_filter(b"true")[:2], (True, 0))
        self.assertFalse(pydivert.WinDivert.check_filter(b"tcp.DstPort ==")[0])


class ClosedHandle(unittest.TestCase):
    def setUp(self):
        self.w = pydivert.WinDivert("udp", flags=pydivert.Flag.SNIFF)

    def test_repr(self):
        self.assertEqual(repr(self.w), '<WinDivert state="closed" filter="udp" layer="NETWORK" '
                                       'priority="0" flags="1" />')
        self.assertFalse(self.w.is_open)

    def test_calls_need_an_open_handle(self):
        calls: Dict[str, Callable[[], object]] = {"recv": self.w.recv, "recv_ex": self.w.recv_ex, "close": self.w.close,
                 "shutdown": self.w.shutdown, "fileno": self.w.fileno,
                 "get_param": lambda: self.w.get_param(pydivert.Param.QUEUE_TIME),
                 "set_param": lambda: self.w.set_param(pydivert.Param.QUEUE_TIME, 500),
                 "send": lambda: self.w.send(pydivert.Packet(b"")),
                 "next": lambda: next(self.w),
                 "recv_async": lambda: asyncio.run(self.w.recv_async()),
                 "recv_batch_async": lambda: asyncio.run(self.w.recv_batch_async())}
        for name, call in calls.items():
            with self.subTest(name), self.assertRaisesRegex(RuntimeError, "not open"):
                call()

    def test_what_linux_does_not_take(self):
        with self.assertRaisesRegex(ValueError, "overlapped"):
            self.w.recv_ex(overlapped=object())  # type: ignore[arg-type]
        with self.assertRaises(ValueError):
            self.w.send_ex(pydivert.Packet(b""), flags=1)
        with self.assertRaises(ValueError):
            self.w.recv_batch(0)
        with self.assertRaises(ValueError):
            asyncio.run(self.w.recv_batch_async(256))


if __name__ == "__main__":
    unittest.main()
