# SPDX-License-Identifier: LGPL-2.1-or-later
"""Packets and the packet helpers: parse, checksums, TTL (pure functions, no I/O)."""
import collections
import ctypes
import errno
import socket
import struct

from . import _lib
from ._lib import lib
from .errors import Error, check

LAYER_NAMES = {_lib.LAYER_IN: "in", _lib.LAYER_OUT: "out", _lib.LAYER_FORWARD: "forward"}
PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
PORT_PROTOCOLS = (6, 17)
ICMP_PROTOCOLS = (1, 58)

Parsed = collections.namedtuple("Parsed", [
    "version", "protocol", "ttl", "src_addr", "dst_addr", "src_port", "dst_port",
    "icmp_type", "icmp_code", "ip_len", "l3_len", "l3_hdr_len", "l4_offset", "l4_hdr_len",
    "l4_len", "payload_offset", "payload_len", "fragment", "truncated"])
Parsed.__doc__ = """The headers of one IP packet, as ipr_parse() sees them.

version 4 or 6; protocol the transport protocol number after IPv6 extension
headers; ttl the TTL or hop limit; src_addr/dst_addr strings; src_port/dst_port
for TCP and UDP (else None); icmp_type/icmp_code for ICMP and ICMPv6 (else
None); offsets are from the start of the packet (l4_offset and payload_offset
None when there is no such part: another protocol, a later fragment, a capture
cut short); ip_len is the IP length from the header (0 if unknown);
fragment and truncated are booleans."""


def _readable(data):
    """Something ctypes passes as a const pointer to data's bytes, without copying."""
    if isinstance(data, bytes):
        return data
    try:
        return (ctypes.c_char * len(data)).from_buffer(data)
    except TypeError:  # a read-only buffer other than bytes
        return bytes(data)


def _writable(data):
    """A pointer to data's bytes that the C helpers may change in place."""
    try:
        return (ctypes.c_char * len(data)).from_buffer(data)
    except TypeError:
        raise TypeError("the packet must be writable (a bytearray), not %s"
                        % type(data).__name__) from None


def _format(addr):
    text = ctypes.create_string_buffer(_lib.ADDR_STRLEN)
    check(lib.ipr_addr_format(ctypes.byref(addr), text, len(text)), "formatting an address")
    return text.value.decode()


def _offset(pointer, base):
    return None if pointer is None else pointer - base


def _ports(p):
    """(src_port, dst_port, icmp_type, icmp_code) of a parsed packet."""
    if p.l4 is None:
        return None, None, None, None
    if p.proto in PORT_PROTOCOLS:
        return p.sport, p.dport, None, None
    if p.proto in ICMP_PROTOCOLS:
        return None, None, p.sport >> 8, p.sport & 0xFF
    return None, None, None, None


def parse(data):
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


def checksum_fill(packet):
    """Recompute the IPv4 header and TCP/UDP/ICMP/ICMPv6 checksums of a whole
    packet (a bytearray, changed in place) and return it. Raises Error: EINVAL
    if malformed, EMSGSIZE if shorter than its IP length."""
    check(lib.ipr_checksum_fill(_writable(packet), len(packet)), "cannot fill in checksums")
    return packet


def checksum_verify(data):
    """True if the IPv4 header and transport checksums of a whole packet are
    right, False if one is wrong; Error if the packet is malformed."""
    rc = lib.ipr_checksum_verify(_readable(data), len(data))
    if rc == -errno.EBADMSG:
        return False
    check(rc, "cannot verify checksums")
    return True


def decrement_ttl(packet):
    """Decrement the TTL or hop limit of a packet (bytearray, in place; the IPv4
    header checksum is updated) and return the new value; None, with the packet
    unchanged, when it was already 0 or 1 (the packet should expire)."""
    rc = lib.ipr_decrement_ttl(_writable(packet), len(packet))
    if rc == -errno.ETIMEDOUT:
        return None
    return check(rc, "cannot decrement the TTL")


def set_ttl(packet, ttl):
    """Set the TTL or hop limit of a packet (bytearray, in place; the IPv4 header
    checksum is updated). Raises Error for a malformed packet."""
    if not 0 <= ttl <= 255:
        raise ValueError("TTL %d: allowed 0 to 255" % ttl)
    check(lib.ipr_set_ttl(_writable(packet), len(packet), ttl), "cannot set the TTL")


def _meta(name, doc):
    """A read-only property for a field of the packet's metadata."""
    return property(lambda self: getattr(self.meta, name), doc=doc)


def _flag(bit, doc):
    return property(lambda self: bool(self.meta.flags & bit), doc=doc)


def _header(name, doc, setter=None, index=0):
    """A property for a field of the parsed headers; setter(index, value) writes it."""
    def fset(self, value):
        getattr(self, setter)(index, value)
    return property(lambda self: getattr(self.parsed, name), setter and fset, doc=doc)


def _interface_name(index):
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

    def __init__(self, meta, original, process=None):
        self.meta = meta  # its struct ipr_packet (a copy); the library marks verdicts in it
        # The Process of its local socket (Redirector(process=True) or a process filter),
        # else None: forwarded, no local socket, or not looked up.
        self.process = process
        self._original = original  # bytes, or a view into the handle's receive buffer
        self._raw = None  # made on first use: a packet only read is never copied
        self._parsed = None  # parse of the original bytes

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
    def layer(self):
        """"in", "out" or "forward"."""
        return LAYER_NAMES.get(self.meta.layer, str(self.meta.layer))

    @property
    def uid(self):
        """Owner of the local socket, None if the kernel did not say."""
        return self.meta.uid if self.meta.flags & _lib.PKT_HAS_UID else None

    @property
    def gid(self):
        """Group of the local socket, None if the kernel did not say."""
        return self.meta.gid if self.meta.flags & _lib.PKT_HAS_GID else None

    @property
    def pid(self):
        """Process ID of the local socket's process, None if not known (see process)."""
        return self.meta.pid if self.meta.flags & _lib.PKT_HAS_PROCESS else None

    @property
    def timestamp(self):
        """Receive time, seconds since the epoch (float)."""
        return self.meta.ts_sec + self.meta.ts_nsec / 1e9

    @property
    def in_interface(self):
        """Name of the input interface, None if none."""
        return _interface_name(self.meta.ifindex_in)

    @property
    def out_interface(self):
        """Name of the output interface, None if none."""
        return _interface_name(self.meta.ifindex_out)

    def own_bytes(self):
        """Copy the received bytes out of the handle's receive buffer, which the
        next receive reuses (the handle calls this for packets still in use)."""
        if isinstance(self._original, memoryview):
            self._original = self._original.tobytes()

    @property
    def original(self):
        """The bytes as received (bytes)."""
        self.own_bytes()
        return self._original

    @property
    def raw(self):
        """The packet's bytes (a bytearray the program may change)."""
        if self._raw is None:
            self._raw = bytearray(self._original)
        return self._raw

    @raw.setter
    def raw(self, data):
        self._raw = bytearray(data)

    @property
    def modified(self):
        """True if the bytes differ from the ones received."""
        return self._raw is not None and self._raw != self._original

    @property
    def parsed(self):
        """The headers of the current bytes (a Parsed tuple); raises Error if malformed."""
        if self._raw is not None:
            return parse(self._raw)
        if self._parsed is None:
            self._parsed = parse(self._original)
        return self._parsed

    version = _header("version", "4 or 6.")
    protocol = _header("protocol", "Transport protocol number.")
    icmp_type = _header("icmp_type", "ICMP or ICMPv6 type, else None.")
    icmp_code = _header("icmp_code", "ICMP or ICMPv6 code, else None.")

    @property
    def ttl(self):
        """TTL or hop limit; setting it updates the IPv4 header checksum."""
        return self.parsed.ttl

    @ttl.setter
    def ttl(self, value):
        set_ttl(self.raw, value)

    def _set_addr(self, index, text):
        addr, version = _lib.Addr(), self.parsed.version
        check(lib.ipr_addr_parse(str(text).encode(), ctypes.byref(addr)),
              "not an IP address: %r" % str(text))
        size = 4 if version == 4 else 16
        if (addr.family == socket.AF_INET) != (version == 4):
            raise Error(errno.EINVAL, "%s is not an IPv%d address" % (text, version))
        start = (12 if version == 4 else 8) + index * size
        self.raw[start:start + size] = bytes(addr.bytes[:size])

    src_addr = _header("src_addr", "Source address (str); may be set (same family).",
                       "_set_addr", 0)
    dst_addr = _header("dst_addr", "Destination address (str); may be set (same family).",
                       "_set_addr", 1)

    def _set_port(self, index, port):
        p = self.parsed
        if p.protocol not in PORT_PROTOCOLS or p.l4_offset is None:
            raise Error(errno.EINVAL, "packet has no TCP or UDP header to set a port in")
        struct.pack_into("!H", self.raw, p.l4_offset + 2 * index, port)

    src_port = _header("src_port", "TCP/UDP source port, else None; may be set.",
                       "_set_port", 0)
    dst_port = _header("dst_port", "TCP/UDP destination port, else None; may be set.",
                       "_set_port", 1)

    @property
    def payload(self):
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
    def payload(self, data):
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

    def recalculate_checksums(self):
        """Recompute the packet's checksums in place (see checksum_fill)."""
        checksum_fill(self.raw)

    def __repr__(self):
        try:
            p = self.parsed
            what = "v%d %s %s%s -> %s%s" % (
                p.version, PROTOCOL_NAMES.get(p.protocol, p.protocol), p.src_addr,
                "" if p.src_port is None else ":%d" % p.src_port, p.dst_addr,
                "" if p.dst_port is None else ":%d" % p.dst_port)
        except Error:
            what = "malformed"
        return "<Packet id=%d %s %s len=%d>" % (self.id, self.layer, what, self.length)
