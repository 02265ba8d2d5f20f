# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ICMP and ICMPv6 headers of a packet."""
from __future__ import annotations

from .header import IntField, PayloadMixin


class ICMPHeader(PayloadMixin):
    """Type, code and checksum; the payload is all that follows them (rest of header included)."""

    __match_args__ = ("type", "code")
    __repr_fields__ = ("type", "code", "cksum", "payload")

    type = IntField("B", 0, doc="The message type.")
    code = IntField("B", 1, doc="The message code.")
    cksum = IntField("H", 2, doc="The checksum.")

    @property
    def header_len(self) -> int:
        """4 bytes: type, code and checksum."""
        return 4


class ICMPv4Header(ICMPHeader):
    """The ICMP header over IPv4 (RFC 792)."""


class ICMPv6Header(ICMPHeader):
    """The ICMPv6 header (RFC 4443)."""
