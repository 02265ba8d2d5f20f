# SPDX-License-Identifier: LGPL-2.1-or-later
"""The TCP header of a packet."""
from __future__ import annotations

from .header import FlagField, IntField, PayloadMixin, PortMixin


class TCPHeader(PortMixin, PayloadMixin):
    """The TCP header; fields as RFC 9293 names them."""

    __match_args__ = ("src_port", "dst_port", "payload")
    __repr_fields__ = ("src_port", "dst_port", "seq_num", "ack_num", "header_len", "syn", "ack",
                       "fin", "rst", "psh", "urg", "window_size", "cksum", "payload")

    seq_num = IntField("I", 4, doc="The sequence number.")
    ack_num = IntField("I", 8, doc="The acknowledgement number.")
    _data_offset = IntField("B", 12, 0xF0, 4)
    reserved = IntField("B", 12, 0x0E, 1, doc="The reserved bits.")
    control_bits = IntField("H", 12, 0x01FF, 0, doc="NS and the eight flags, as one number.")
    ns = FlagField(12, 0, doc="ECN nonce.")
    cwr = FlagField(13, 7, doc="Congestion window reduced.")
    ece = FlagField(13, 6, doc="ECN echo.")
    urg = FlagField(13, 5, doc="Urgent pointer significant.")
    ack = FlagField(13, 4, doc="Acknowledgement number significant.")
    psh = FlagField(13, 3, doc="Push.")
    rst = FlagField(13, 2, doc="Reset the connection.")
    syn = FlagField(13, 1, doc="Synchronise sequence numbers.")
    fin = FlagField(13, 0, doc="No more data from the sender.")
    window_size = IntField("H", 14, doc="The receive window in bytes.")
    cksum = IntField("H", 16, doc="The checksum.")
    urg_ptr = IntField("H", 18, doc="The urgent pointer.")

    @property
    def data_offset(self) -> int:
        """The header length in 32-bit words."""
        return self._data_offset

    @data_offset.setter
    def data_offset(self, val: int) -> None:
        if not 5 <= val <= 15:
            raise ValueError("a TCP header is 5 to 15 words long, not %r" % (val,))
        self._data_offset = val

    @property
    def header_len(self) -> int:
        """The header length in bytes, options included."""
        return self.data_offset * 4

    @property
    def options(self) -> bytes:
        """The options: the header's bytes after the first 20."""
        return self.raw[20:self.header_len].tobytes()
