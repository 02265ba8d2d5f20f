# SPDX-License-Identifier: LGPL-2.1-or-later
"""The UDP header of a packet."""
from __future__ import annotations

from .header import IntField, PayloadMixin, PortMixin


class UDPHeader(PortMixin, PayloadMixin):
    """The UDP header (RFC 768)."""

    __match_args__ = ("src_port", "dst_port", "payload")
    __repr_fields__ = ("src_port", "dst_port", "payload_len", "cksum", "payload")

    length = IntField("H", 4, doc="The length field: header and payload.")
    cksum = IntField("H", 6, doc="The checksum (0: none, IPv4 only).")

    @property
    def header_len(self) -> int:
        """8 bytes."""
        return 8

    @property
    def payload_len(self) -> int:
        """The payload's length as the length field gives it."""
        return self.length - 8

    @payload_len.setter
    def payload_len(self, val: int) -> None:
        self.length = val + 8

    def _payload_set(self, length: int) -> None:
        self.payload_len = length
