# SPDX-License-Identifier: LGPL-2.1-or-later
"""Packets and the packet helpers: parse, checksums, TTL (pure functions, no I/O)."""
import ctypes
import errno
import socket
import struct
from typing import (Any, Callable, Generic, NamedTuple, Optional, Tuple, TypeVar, Union,
                    overload)

from . import _lib
from ._lib import lib
from .errors import Error, check
from .process import Process

LAYER_NAMES = {_lib.LAYER_IN: "in", _lib.LAYER_OUT: "out", _lib.LAYER_FORWARD: "forward"}
PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
PORT_PROTOCOLS = (6, 17)
ICMP_PROTOCOLS = (1, 58)

# What the helpers read: bytes or a buffer; what they change in place: a writable buffer.
Buffer = Union[bytes, bytearray, memoryview]
Writable = Union[bytearray, memoryview]
WritableT = TypeVar("WritableT", bytearray, memoryview)
T = TypeVar("T")
S = TypeVar("S")


class Parsed(NamedTuple):
    """The headers of one IP packet, as ipr_parse() sees them.

version 4 or 6; protocol the transport protocol number after IPv6 extension
headers; ttl the TTL or hop limit; src_addr/dst_addr strings; src_port/dst_port
for TCP and UDP (else None); icmp_type/icmp_code for ICMP and ICMPv6 (else
None); offsets are from the start of the packet (l4_offset and payload_offset
None when there is no such part: another protocol, a later fragment, a capture
cut short); ip_len is the IP length from the header (0 if unknown);
fragment and truncated are booleans."""
    version: int
    protocol: int
    ttl: int
    src_addr: str
    dst_addr: str
    src_port: Optional[int]
    dst_port: Optional[int]
    icmp_type: Optional[int]
    icmp_code: Optional[int]
    ip_len: int
    l3_len: int
    l3_hdr_len: int
    l4_offset: Optional[int]
    l4_hdr_len: int
    l4_len: int
    payload_offset: Optional[int]
    payload_len: int
    fragment: bool
    truncated: bool


def _readable(data: Buffer) -> Union[bytes, "ctypes.Array[ctypes.c_char]"]:
    """Something ctypes passes as a const pointer to data's bytes, without copying."""
    if isinstance(data, bytes):
        return data
    try:
        return (ctypes.c_char * len(data)).from_buffer(data)
    except TypeError:  # a read-only buffer other than bytes
        return bytes(data)


def _writable(data: Writable) -> "ctypes.Array[ctypes.c_char]":
    """A pointer to data's bytes that the C helpers may change in place."""
    try:
        return (ctypes.c_char * len(data)).from_buffer(data)
    except TypeError:
        raise TypeError("the packet must be writable (a bytearray), not %s"
                        % type(data).__name__) from None


def _format(addr: _lib.Addr) -> str:
    text = ctypes.create_string_buffer(_lib.ADDR_STRLEN)
    check(lib.ipr_addr_format(ctypes.byref(addr), text, len(text)), "formatting an address")
    return text.value.decode()


def _offset(pointer: Optional[int], base: int) -> Optional[int]:
    return None if pointer is None else pointer - base


def _ports(p: _lib.Parsed) -> Tuple[Optional[int], Optional[int], Optional[int],
                                 Optional[int]]:
    """(src_port, dst_port, icmp_type, icmp_code) of a parsed packet."""
    if p.l4 is None:
        return None, None, None, None
    if p.proto in PORT_PROTOCOLS:
        return p.sport, p.dport, None, None
    if p.proto in ICMP_PROTOCOLS:
        return None, None, p.sport >> 8, p.sport & 0xFF
    return None, None, None, None


def parse(data: Buffer) -> Parsed:
    """Parse the IPv4 or IPv6 packet in data (bytes-like) into a Parsed tuple.

    Raises Error (EINVAL for a malformed header, EMSGSIZE when data is too
    short for the IP header). A capture that ends inside the transport header
    is no error: truncated is then True and there is no transport part.
    """
    buf, p = _readable(data), _lib.Parsed()
    src, dst = _lib.Addr(), _lib.Addr()
    check(lib.ipr_parse(buf, len(data), ctypes.byref(p)), "cannot parse the packet")
    check(lib.ipr_packet_addrs(ctypes.byref(p), ctypes.byref(src), ctypes.byref(dst)),
          "cannot read the addresses")
    return Parsed(p.version, p.proto, p.ttl, _format(src), _format(dst), *_ports(p),
                  p.ip_len, p.l3_len, p.l3_hdr_len, _offset(p.l4, p.l3), p.l4_hdr_len,
                  p.l4_len, _offset(p.payload, p.l3), p.payload_len, bool(p.fragment),
                  bool(p.truncated))


def checksum_fill(packet: WritableT) -> WritableT:
    """Recompute the IPv4 header and TCP/UDP/ICMP/ICMPv6 checksums of a whole
    packet (a bytearray, changed in place) and return it. Raises Error: EINVAL
    if malformed, EMSGSIZE if shorter than its IP length."""
    check(lib.ipr_checksum_fill(_writable(packet), len(packet)), "cannot fill in checksums")
    return packet


def checksum_verify(data: Buffer) -> bool:
    """True if the IPv4 header and transport checksums of a whole packet are
    right, False if one is wrong; Error if the packet is malformed."""
    rc = lib.ipr_checksum_verify(_readable(data), len(data))
    if rc == -errno.EBADMSG:
        return False
    check(rc, "cannot verify checksums")
    return True


def decrement_ttl(packet: Writable) -> Optional[int]:
    """Decrement the TTL or hop limit of a packet (bytearray, in place; the IPv4
    header checksum is updated) and return the new value; None, with the packet
    unchanged, when it was already 0 or 1 (the packet should expire)."""
    rc = lib.ipr_decrement_ttl(_writable(packet), len(packet))
    if rc == -errno.ETIMEDOUT:
        return None
    return check(rc, "cannot decrement the TTL")


def set_ttl(packet: Writable, ttl: int) -> None:
    """Set the TTL or hop limit of a packet (bytearray, in place; the IPv4 header
    checksum is updated). Raises Error for a malformed packet."""
    if not 0 <= ttl <= 255:
        raise ValueError("TTL %d: allowed 0 to 255" % ttl)
    check(lib.ipr_set_ttl(_writable(packet), len(packet), ttl), "cannot set the TTL")


class _Field(Generic[T]):
    """A read-only property of Packet made by get(packet): as property(), but the type
    checker knows the value's type (a property made by a call reads as Any)."""

    def __init__(self, get: Callable[["Packet"], T], doc: str) -> None:
        self._get = get
        self.__doc__ = doc

    @overload
    def __get__(self, pkt: None, owner: Any) -> "_Field[T]": ...

    @overload
    def __get__(self, pkt: "Packet", owner: Any) -> T: ...

    def __get__(self, pkt: Optional["Packet"], owner: Any) -> Union["_Field[T]", T]:
        return self if pkt is None else self._get(pkt)


class _Settable(_Field[T], Generic[T, S]):
    """A _Field that may be set: set(packet, value) writes the packet's bytes."""

    def __init__(self, get: Callable[["Packet"], T], doc: str,
                 set: Callable[["Packet", S], None]) -> None:
        super().__init__(get, doc)
        self._set = set

    def __set__(self, pkt: "Packet", value: S) -> None:
        self._set(pkt, value)


def _meta(name: str, doc: str) -> _Field[int]:
    """A read-only property for a field of the packet's metadata."""
    return _Field(lambda pkt: int(getattr(pkt.meta, name)), doc)


def _flag(bit: int, doc: str) -> _Field[bool]:
    return _Field(lambda pkt: bool(pkt.meta.flags & bit), doc)


def _interface_name(index: int) -> Optional[str]:
    if not index:
        return None
    try:
        return socket.if_indextoname(index)
    except OSError:
        return None  # the interface is gone


class Packet:
    """One received packet: its bytes, its metadata, its parsed headers.

    raw is a bytearray copy of the packet from its IP header on; change it (or
    use the setters ttl, src_addr, dst_addr, src_port, dst_port, payload) and
    Redirector.accept() sends the new bytes. The parsed properties (version,
    src_addr, protocol, ...) always describe the current bytes.

    Reading a packet copies nothing: its bytes stay in the handle's receive
    buffer until the next receive, which first copies out those of packets
    still referenced; raw is made on first use.
    """
    __slots__ = ("meta", "process", "_original", "_raw", "_parsed", "__weakref__")

    def __init__(self, meta: _lib.RawPacket, original: Union[bytes, memoryview],
                 process: Optional[Process] = None) -> None:
        self.meta = meta  # its struct ipr_packet (a copy); the library marks verdicts in it
        # The Process of its local socket (Redirector(process=True) or a process filter),
        # else None: forwarded, no local socket, or not looked up.
        self.process = process
        self._original = original  # bytes, or a view into the handle's receive buffer
        self._raw: Optional[bytearray] = None  # made on first use: one only read is not copied
        self._parsed: Optional[Parsed] = None  # parse of the original bytes

    id = _meta("id", "Kernel packet id.")
    hook = _meta("hook", "Netfilter hook number.")
    queue = _meta("queue", "NFQUEUE the packet came from.")
    mark = _meta("mark", "Packet mark.")
    flags = _meta("flags", "PKT_* flag bits.")
    length = _meta("len", "Length of the whole packet (caplen or more).")
    caplen = _meta("caplen", "Bytes captured (len(raw) unless changed).")
    ifindex_in = _meta("ifindex_in", "Input interface index, 0 if none.")
    ifindex_out = _meta("ifindex_out", "Output interface index, 0 if none.")
    is_ipv6 = _flag(_lib.PKT_IPV6, "True for IPv6.")
    is_gso = _flag(_lib.PKT_GSO, "True for a GSO super-packet (up to 64 KiB).")
    is_truncated = _flag(_lib.PKT_TRUNCATED, "True if copied truncated: cannot be modified.")
    checksum_not_ready = _flag(_lib.PKT_CSUM_NOT_READY,
                               "True if the kernel has not filled in the L4 checksum yet.")
    decided = _flag(_lib.PKT_DECIDED, "True once the packet has its verdict.")

    @property
    def layer(self) -> str:
        """"in", "out" or "forward"."""
        return LAYER_NAMES.get(self.meta.layer, str(self.meta.layer))

    @property
    def uid(self) -> Optional[int]:
        """Owner of the local socket, None if the kernel did not say."""
        return self.meta.uid if self.meta.flags & _lib.PKT_HAS_UID else None

    @property
    def gid(self) -> Optional[int]:
        """Group of the local socket, None if the kernel did not say."""
        return self.meta.gid if self.meta.flags & _lib.PKT_HAS_GID else None

    @property
    def pid(self) -> Optional[int]:
        """Process ID of the local socket's process, None if not known (see process)."""
        return self.meta.pid if self.meta.flags & _lib.PKT_HAS_PROCESS else None

    @property
    def timestamp(self) -> float:
        """Receive time, seconds since the epoch (float)."""
        return float(self.meta.ts_sec + self.meta.ts_nsec / 1e9)

    @property
    def in_interface(self) -> Optional[str]:
        """Name of the input interface, None if none."""
        return _interface_name(self.meta.ifindex_in)

    @property
    def out_interface(self) -> Optional[str]:
        """Name of the output interface, None if none."""
        return _interface_name(self.meta.ifindex_out)

    def own_bytes(self) -> None:
        """Copy the received bytes out of the handle's receive buffer, which the
        next receive reuses (the handle calls this for packets still in use)."""
        if isinstance(self._original, memoryview):
            self._original = self._original.tobytes()

    @property
    def original(self) -> bytes:
        """The bytes as received (bytes)."""
        self.own_bytes()
        return self._original

    @property
    def raw(self) -> bytearray:
        """The packet's bytes (a bytearray the program may change)."""
        if self._raw is None:
            self._raw = bytearray(self._original)
        return self._raw

    @raw.setter
    def raw(self, data: Buffer) -> None:
        self._raw = bytearray(data)

    @property
    def modified(self) -> bool:
        """True if the bytes differ from the ones received."""
        return self._raw is not None and self._raw != self._original

    @property
    def parsed(self) -> Parsed:
        """The headers of the current bytes (a Parsed tuple); raises Error if malformed."""
        if self._raw is not None:
            return parse(self._raw)
        if self._parsed is None:
            self._parsed = parse(self._original)
        return self._parsed

    version = _Field(lambda pkt: pkt.parsed.version, "4 or 6.")
    protocol = _Field(lambda pkt: pkt.parsed.protocol, "Transport protocol number.")
    icmp_type = _Field(lambda pkt: pkt.parsed.icmp_type, "ICMP or ICMPv6 type, else None.")
    icmp_code = _Field(lambda pkt: pkt.parsed.icmp_code, "ICMP or ICMPv6 code, else None.")

    @property
    def ttl(self) -> int:
        """TTL or hop limit; setting it updates the IPv4 header checksum."""
        return self.parsed.ttl

    @ttl.setter
    def ttl(self, value: int) -> None:
        set_ttl(self.raw, value)

    def _set_addr(self, index: int, text: str) -> None:
        addr, version = _lib.Addr(), self.parsed.version
        check(lib.ipr_addr_parse(str(text).encode(), ctypes.byref(addr)),
              "not an IP address: %r" % str(text))
        size = 4 if version == 4 else 16
        if (addr.family == socket.AF_INET) != (version == 4):
            raise Error(errno.EINVAL, "%s is not an IPv%d address" % (text, version))
        start = (12 if version == 4 else 8) + index * size
        self.raw[start:start + size] = bytes(addr.bytes[:size])

    src_addr: _Settable[str, str] = _Settable(
        lambda pkt: pkt.parsed.src_addr, "Source address (str); may be set (same family).",
        lambda pkt, text: pkt._set_addr(0, text))
    dst_addr: _Settable[str, str] = _Settable(
        lambda pkt: pkt.parsed.dst_addr, "Destination address (str); may be set (same family).",
        lambda pkt, text: pkt._set_addr(1, text))

    def _set_port(self, index: int, port: int) -> None:
        p = self.parsed
        if p.protocol not in PORT_PROTOCOLS or p.l4_offset is None:
            raise Error(errno.EINVAL, "packet has no TCP or UDP header to set a port in")
        struct.pack_into("!H", self.raw, p.l4_offset + 2 * index, port)

    src_port: _Settable[Optional[int], int] = _Settable(
        lambda pkt: pkt.parsed.src_port, "TCP/UDP source port, else None; may be set.",
        lambda pkt, port: pkt._set_port(0, port))
    dst_port: _Settable[Optional[int], int] = _Settable(
        lambda pkt: pkt.parsed.dst_port, "TCP/UDP destination port, else None; may be set.",
        lambda pkt, port: pkt._set_port(1, port))

    @property
    def payload(self) -> Optional[bytes]:
        """Transport payload (bytes), None if there is no transport header.

        Setting it replaces the payload (its length may change): the IP length
        fields and the UDP length follow; checksums are recomputed on accept.
        TCP sequence numbers are left alone, so change TCP lengths with care.
        """
        p = self.parsed
        if p.l4_offset is None:
            return None
        start = p.l4_offset + p.l4_hdr_len
        data = self._original if self._raw is None else self._raw
        return bytes(data[start:start + p.payload_len])

    @payload.setter
    def payload(self, data: Buffer) -> None:
        p = self.parsed
        if p.l4_offset is None or self.is_truncated or p.truncated or not p.ip_len:
            raise Error(errno.EINVAL, "packet %d has no whole transport part to replace"
                        % self.id)
        new = self.raw[:p.l4_offset + p.l4_hdr_len] + bytes(data)
        if p.version == 4:
            struct.pack_into("!H", new, 2, len(new))
        else:
            struct.pack_into("!H", new, 4, len(new) - 40)
        if p.protocol == 17:
            struct.pack_into("!H", new, p.l4_offset + 4, len(new) - p.l4_offset)
        self._raw = new

    def recalculate_checksums(self) -> None:
        """Recompute the packet's checksums in place (see checksum_fill)."""
        checksum_fill(self.raw)

    def __repr__(self) -> str:
        try:
            p = self.parsed
            what = "v%d %s %s%s -> %s%s" % (
                p.version, PROTOCOL_NAMES.get(p.protocol, p.protocol), p.src_addr,
                "" if p.src_port is None else ":%d" % p.src_port, p.dst_addr,
                "" if p.dst_port is None else ":%d" % p.dst_port)
        except Error:
            what = "malformed"
        return "<Packet id=%d %s %s len=%d>" % (self.id, self.layer, what, self.length)
