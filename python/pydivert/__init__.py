# SPDX-License-Identifier: LGPL-2.1-or-later
"""pydivert on Linux: pydivert's API over libwindivert (WinDivert 2.2's C API on
libipredir), in pure ctypes.

    import pydivert

    with pydivert.WinDivert("tcp.DstPort == 80 and tcp.PayloadLength > 0") as w:
        for packet in w:
            print(packet.src_addr, packet.dst_port, packet.payload[:20])
            w.send(packet)

Run as root. What differs from pydivert on Windows: docs/pydivert.md.
"""
from .consts import (CalcChecksumsOption, Direction, Event, Flag, Layer, Param, Protocol,
                     RecvFlag, Shutdown)
from .packet import Packet
from .windivert import WinDivert

PyDivert = WinDivert  # the name pydivert 3 also gives it
Divert = WinDivert  # and the name of pydivert 4's handle for any system

__version__ = "2.2.0"

__all__ = ["WinDivert", "PyDivert", "Divert", "Packet", "Layer", "Flag", "Param", "CalcChecksumsOption", "Direction",
           "Protocol", "RecvFlag", "Event", "Shutdown"]
