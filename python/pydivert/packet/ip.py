# SPDX-License-Identifier: LGPL-2.1-or-later
"""The IPv4 and IPv6 headers of a packet."""
from __future__ import annotations

import socket
import struct
from typing import Optional

from .header import FlagField, Header, IntField


def no_setter(name: str) -> str:
    """What setting name on the generic IPHeader says (as Python says it of a
    read-only attribute): only IPv4Header and IPv6Header know where the field is."""
    return ("can't set attribute %r of IPHeader: it is set on the IPv4Header or "
            "IPv6Header of a packet (packet.ipv4, packet.ipv6, packet.ip)" % name)


class IPHeader(Header):
    """What IPv4 and IPv6 headers have in common: addresses and the total length."""

    _af = socket.AF_INET
    _src = slice(0, 0)
    _dst = slice(0, 0)

    def _address(self, where: slice) -> Optional[str]:
        try:
            return socket.inet_ntop(self._af, self.raw[where].tobytes())
        except (ValueError, OSError):
            return None  # the packet ends before the address does

    def _set_address(self, where: slice, val: str) -> None:
        self.raw[where] = socket.inet_pton(self._af, val)  # OSError for another family

    @property
    def src_addr(self) -> Optional[str]:
        """The source address as text; None if the packet is cut short of it."""
        return self._address(self._src)

    @src_addr.setter
    def src_addr(self, val: str) -> None:
        self._set_address(self._src, val)

    @property
    def dst_addr(self) -> Optional[str]:
        """The destination address as text; None if the packet is cut short of it."""
        return self._address(self._dst)

    @dst_addr.setter
    def dst_addr(self, val: str) -> None:
        self._set_address(self._dst, val)

    @property
    def packet_len(self) -> int:
        """The whole packet's length as the header gives it."""
        raise NotImplementedError

    @packet_len.setter
    def packet_len(self, val: int) -> None:
        raise AttributeError(no_setter("packet_len"))

    @property
    def ttl(self) -> int:
        """The time to live (IPv4) or hop limit (IPv6)."""
        raise NotImplementedError

    @ttl.setter
    def ttl(self, val: int) -> None:
        raise AttributeError(no_setter("ttl"))


class IPv4Header(IPHeader):
    """The IPv4 header; fields as RFC 791 names them."""

    __match_args__ = ("src_addr", "dst_addr", "protocol", "ttl")
    __repr_fields__ = ("src_addr", "dst_addr", "packet_len", "hdr_len", "tos", "ident", "flags",
                       "frag_offset", "ttl", "protocol", "cksum")
    _af = socket.AF_INET
    _src = slice(12, 16)
    _dst = slice(16, 20)

    tos = IntField("B", 1, doc="Type of service: dscp and ecn together.")
    dscp = IntField("B", 1, 0xFC, 2, doc="The differentiated services code point.")
    diff_serv = dscp
    ecn = IntField("B", 1, 0x03, 0, doc="Explicit congestion notification.")
    ident = IntField("H", 4, doc="The identification field.")
    flags = IntField("H", 6, 0xE000, 13, doc="The three flag bits: reserved, DF, MF.")
    frag_offset = IntField("H", 6, 0x1FFF, 0, doc="The fragment offset in 8-byte units.")
    evil = FlagField(6, 7, doc="The reserved flag (RFC 3514's evil bit).")
    reserved = evil
    evil_bit = evil
    df = FlagField(6, 6, doc="Don't fragment.")
    mf = FlagField(6, 5, doc="More fragments.")
    protocol = IntField("B", 9, doc="The protocol of what follows the header.")
    cksum = IntField("H", 10, doc="The header checksum.")

    _ttl = IntField("B", 8)

    @property
    def ttl(self) -> int:
        """The time to live."""
        return self._ttl

    @ttl.setter
    def ttl(self, val: int) -> None:
        self._ttl = val

    @property
    def hdr_len(self) -> int:
        """The header length in 32-bit words (IHL)."""
        return self.raw[0] & 0x0F

    @hdr_len.setter
    def hdr_len(self, val: int) -> None:
        if not 5 <= val <= 15:
            raise ValueError("an IPv4 header is 5 to 15 words long, not %r" % (val,))
        self.raw[0] = 0x40 | val

    @property
    def header_len(self) -> int:
        """The header length in bytes."""
        return self.hdr_len * 4

    @property
    def packet_len(self) -> int:
        """The total length field."""
        value: int = struct.unpack_from("!H", self.raw, 2)[0]
        return value

    @packet_len.setter
    def packet_len(self, val: int) -> None:
        struct.pack_into("!H", self.raw, 2, val)


class IPv6Header(IPHeader):
    """The IPv6 header; fields as RFC 8200 names them."""

    __match_args__ = ("src_addr", "dst_addr", "next_hdr", "hop_limit")
    __repr_fields__ = ("src_addr", "dst_addr", "packet_len", "traffic_class", "flow_label",
                       "next_hdr", "hop_limit")
    _af = socket.AF_INET6
    _src = slice(8, 24)
    _dst = slice(24, 40)

    traffic_class = IntField("I", 0, 0x0FF00000, 20, doc="The traffic class.")
    diff_serv = IntField("I", 0, 0x0FC00000, 22, doc="The differentiated services code point.")
    dscp = diff_serv
    ecn = IntField("I", 0, 0x00300000, 20, doc="Explicit congestion notification.")
    flow_label = IntField("I", 0, 0x000FFFFF, 0, doc="The flow label.")
    payload_len = IntField("H", 4, doc="The payload length: bytes after this header.")
    next_hdr = IntField("B", 6, doc="The type of the header that follows.")
    protocol = next_hdr
    hop_limit = IntField("B", 7, doc="The hop limit.")

    @property
    def ttl(self) -> int:
        """The hop limit, by IPv4's name."""
        return self.hop_limit

    @ttl.setter
    def ttl(self, val: int) -> None:
        self.hop_limit = val

    @property
    def header_len(self) -> int:
        """The fixed header's length in bytes."""
        return 40

    @property
    def packet_len(self) -> int:
        """The payload length plus the 40 bytes of this header."""
        return self.payload_len + 40

    @packet_len.setter
    def packet_len(self, val: int) -> None:
        self.payload_len = val - 40
