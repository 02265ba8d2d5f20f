# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the header classes share: a view into the packet's bytes at an offset,
typed field descriptors, and the port and payload parts of transport headers."""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar, Union, overload

if TYPE_CHECKING:
    from . import Packet

Bytes = Union[bytes, bytearray, memoryview]
T = TypeVar("T")


class Header:
    """A header of packet that starts start bytes into it; raw runs to the packet's end."""

    __repr_fields__: tuple[str, ...] = ()

    def __init__(self, packet: Packet, start: int = 0) -> None:
        self._packet = packet
        self._start = start

    @property
    def raw(self) -> memoryview:
        """This header and what follows it in the packet."""
        return self._packet._raw[self._start:]

    @raw.setter
    def raw(self, val: Bytes) -> None:
        self._set_raw(val)

    def _set_raw(self, val: Bytes) -> None:
        if len(val) == len(self.raw):
            self.raw[:] = val
            return
        # A new length: the packet gets new bytes, and the IP header the new total.
        # (Not through Packet.raw's setter: what is parsed stays where it was.)
        packet = self._packet
        packet._raw = memoryview(bytearray(packet._raw[:self._start].tobytes() + bytes(val)))
        if packet.ip is not None:
            packet.ip.packet_len = len(packet._raw)

    def __repr__(self) -> str:
        fields = ", ".join("%s=%r" % (name, getattr(self, name)) for name in self.__repr_fields__)
        return "%s(%s)" % (type(self).__name__, fields)


class Field(Generic[T]):
    """An integer field of a header: struct format fmt at offset, optionally
    masked (mask) and shifted (shift) within it; as_type converts what is read."""

    def __init__(self, fmt: str, offset: int, mask: int = 0, shift: int = 0,
                 doc: str = "") -> None:
        self.fmt, self.offset, self.mask, self.shift = "!" + fmt, offset, mask, shift
        self.__doc__ = doc

    def read(self, obj: Header) -> int:
        value: int = struct.unpack_from(self.fmt, obj.raw, self.offset)[0]
        return (value & self.mask) >> self.shift if self.mask else value

    def write(self, obj: Header, val: int) -> None:
        if self.mask:
            whole: int = struct.unpack_from(self.fmt, obj.raw, self.offset)[0]
            val = (whole & ~self.mask) | ((val << self.shift) & self.mask)
        # Packed apart first: struct.pack_into() zeroes the field before it finds that
        # val is no integer (or out of range), and the old value must stay.
        data = struct.pack(self.fmt, val)
        if len(obj.raw) < self.offset + len(data):
            raise struct.error("the header is cut short: %d bytes, the field needs %d" % (
                len(obj.raw), self.offset + len(data)))
        obj.raw[self.offset:self.offset + len(data)] = data


class IntField(Field[int]):
    """A numeric field: reads and writes int."""

    @overload
    def __get__(self, obj: None, owner: Any) -> IntField: ...
    @overload
    def __get__(self, obj: Header, owner: Any) -> int: ...

    def __get__(self, obj: Optional[Header], owner: Any) -> Union[IntField, int]:
        return self if obj is None else self.read(obj)

    def __set__(self, obj: Header, val: int) -> None:
        self.write(obj, val)


class FlagField(Field[bool]):
    """A one-bit field: reads and writes bool."""

    def __init__(self, offset: int, bit: int, doc: str = "") -> None:
        super().__init__("B", offset, 1 << bit, bit, doc)

    @overload
    def __get__(self, obj: None, owner: Any) -> FlagField: ...
    @overload
    def __get__(self, obj: Header, owner: Any) -> bool: ...

    def __get__(self, obj: Optional[Header], owner: Any) -> Union[FlagField, bool]:
        return self if obj is None else bool(self.read(obj))

    def __set__(self, obj: Header, val: bool) -> None:
        self.write(obj, 1 if val else 0)


class PayloadMixin(Header):
    """A header with a payload after header_len bytes."""

    @property
    def header_len(self) -> int:
        raise NotImplementedError

    @property
    def payload(self) -> bytes:
        """The bytes after the header."""
        return self.raw[self.header_len:].tobytes()

    @payload.setter
    def payload(self, val: Bytes) -> None:
        if not isinstance(val, (bytes, bytearray, memoryview)):
            raise TypeError("payload must be bytes, not %s" % type(val).__name__)
        if len(val) == len(self.raw) - self.header_len:
            self.raw[self.header_len:] = val
        else:
            self._set_raw(self.raw[:self.header_len].tobytes() + bytes(val))
        self._payload_set(len(val))

    def _payload_set(self, length: int) -> None:
        """What a header with a length of its own updates for a payload of length bytes."""


class PortMixin(Header):
    """A header that starts with the source and destination ports."""

    src_port = IntField("H", 0, doc="The source port.")
    dst_port = IntField("H", 2, doc="The destination port.")
