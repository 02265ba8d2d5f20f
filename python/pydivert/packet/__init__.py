# SPDX-License-Identifier: LGPL-2.1-or-later
"""A packet as pydivert shows it: raw bytes, parsed into headers on first use,
with the metadata of the WINDIVERT_ADDRESS it came with."""
from __future__ import annotations

import socket
from functools import cached_property
from typing import Any, Optional, Union

from .. import windivert_dll as dll
from ..consts import IPV6_EXT_HEADERS, CalcChecksumsOption, Direction, Event, Layer, Protocol
from .header import Bytes, Header, PayloadMixin, PortMixin
from .icmp import ICMPHeader, ICMPv4Header, ICMPv6Header
from .ip import IPHeader, IPv4Header, IPv6Header
from .tcp import TCPHeader
from .udp import UDPHeader

__all__ = ["Packet", "Header", "IPHeader", "IPv4Header", "IPv6Header", "TCPHeader", "UDPHeader",
           "ICMPHeader", "ICMPv4Header", "ICMPv6Header"]

# The least a header needs to be there at all (protocol: bytes).
MIN_LEN = {Protocol.TCP: 20, Protocol.UDP: 8, Protocol.ICMP: 4, Protocol.ICMPV6: 4}
NO_PROTOCOL: tuple[Optional[int], Optional[int]] = (None, None)


def ext_header_len(proto: int, raw: memoryview, start: int) -> int:
    """The length of the IPv6 extension header proto at start."""
    if proto == Protocol.FRAGMENT:
        return 8
    if proto == Protocol.AH:
        return (raw[start + 1] + 2) * 4
    return (raw[start + 1] + 1) * 8


def writable_view(raw: Bytes) -> memoryview:
    """raw itself if it is a writable memoryview, else a writable copy of it."""
    if isinstance(raw, memoryview) and not raw.readonly:
        return raw
    return memoryview(bytearray(raw))


# The checksums CalcChecksumsOption leaves to compute: the ICMP and ICMPv6 ones alone.
ICMP_ONLY = (CalcChecksumsOption.NO_IP_CHECKSUM | CalcChecksumsOption.NO_TCP_CHECKSUM
             | CalcChecksumsOption.NO_UDP_CHECKSUM)

# What a packet parses from raw on first use (and forgets when raw is replaced).
PARSED = ("address_family", "protocol", "ipv4", "ipv6", "icmpv4", "icmpv6", "tcp", "udp")


class Packet:
    """One packet (or, at the FLOW, SOCKET and REFLECT layers, one event).

    Packet(raw, interface=(if_index, sub_if_index), direction=Direction.OUTBOUND, ...);
    what recv() returns carries the rest of its address too: timestamp, layer,
    event, the loopback, impostor, sniffed and checksum flags, and flow, socket
    or reflect data. Headers are parsed when first used; changes to them change
    raw, which send() injects.
    """

    __match_args__ = ("src_addr", "dst_addr", "src_port", "dst_port", "payload")

    def __init__(self, raw: Bytes, interface: Union[tuple[int, int], int, None] = None,
                 direction: Direction = Direction.OUTBOUND, timestamp: int = 0,
                 loopback: bool = False, impostor: bool = False, sniffed: bool = False,
                 ip_checksum: bool = False, tcp_checksum: bool = False,
                 udp_checksum: bool = False, layer: Layer = Layer.NETWORK, event: int = 0,
                 flow: Optional[dll.WinDivertDataFlow] = None,
                 socket: Optional[dll.WinDivertDataSocket] = None,
                 reflect: Optional[dll.WinDivertDataReflect] = None) -> None:
        self._raw = writable_view(raw)
        self.interface = interface or (0, 0)  # type: ignore[assignment]
        self.direction = Direction(direction)
        self.timestamp = timestamp
        self.is_loopback = loopback
        self.is_impostor = impostor
        self.is_sniffed = sniffed
        self.ip_checksum, self.tcp_checksum, self.udp_checksum = (
            ip_checksum, tcp_checksum, udp_checksum)
        self.layer = Layer(layer)
        self.event = event
        self.flow, self.socket, self.reflect = flow, socket, reflect
        self._address = dll.WinDivertAddress()  # as received: libwindivert's token included

    @classmethod
    def from_address(cls, raw: memoryview, addr: dll.WinDivertAddress) -> Packet:
        """The packet recv() received into raw with its address."""
        layer = Layer(addr.Layer)
        packet = cls(raw, (addr.Network.IfIdx, addr.Network.SubIfIdx),
                     Direction.OUTBOUND if addr.Outbound else Direction.INBOUND,
                     addr.Timestamp, bool(addr.Loopback), bool(addr.Impostor),
                     bool(addr.Sniffed), bool(addr.IPChecksum), bool(addr.TCPChecksum),
                     bool(addr.UDPChecksum), layer, addr.Event,
                     flow=dll.WinDivertDataFlow.from_buffer_copy(addr.Flow)
                     if layer == Layer.FLOW else None,
                     socket=dll.WinDivertDataSocket.from_buffer_copy(addr.Socket)
                     if layer == Layer.SOCKET else None,
                     reflect=dll.WinDivertDataReflect.from_buffer_copy(addr.Reflect)
                     if layer == Layer.REFLECT else None)
        packet._address = dll.WinDivertAddress.from_buffer_copy(addr)
        return packet

    # ---- the bytes ----

    @property
    def raw(self) -> memoryview:
        """The packet's bytes (writable); changes to headers and payload change them."""
        return self._raw

    @raw.setter
    def raw(self, val: Bytes) -> None:
        """Replace the bytes: they are parsed afresh when next used, and the IP, TCP and UDP
        checksum flags are cleared (nothing vouches for the new bytes' checksums)."""
        self._raw = writable_view(val)
        for name in PARSED:
            self.__dict__.pop(name, None)
        self.ip_checksum = self.tcp_checksum = self.udp_checksum = False

    # ---- metadata ----

    @property
    def interface(self) -> tuple[int, int]:
        """(interface index, sub-interface index); an int given is (that index, 0)."""
        return self._interface

    @interface.setter
    def interface(self, val: Union[tuple[int, int], int]) -> None:
        if isinstance(val, int):
            self._interface = (val, 0)
        else:
            if_index, sub_index = val
            self._interface = (int(if_index), int(sub_index))

    @property
    def is_outbound(self) -> bool:
        """direction is OUTBOUND."""
        return self.direction == Direction.OUTBOUND

    @property
    def is_inbound(self) -> bool:
        """direction is INBOUND."""
        return self.direction == Direction.INBOUND

    @property
    def process_id(self) -> Optional[int]:
        """The process of a FLOW, SOCKET or REFLECT event; of a NETWORK packet when the
        handle's filter tests processId (a Linux extension); else None."""
        data = self.flow or self.socket or self.reflect
        if data is not None:
            return int(data.ProcessId)
        return int(self._address.Flow.ProcessId) or None

    @property
    def wd_addr(self) -> dll.WinDivertAddress:
        """The WINDIVERT_ADDRESS send() passes: the received one, updated from the
        attributes (a received packet's address also names it for its verdict)."""
        addr = dll.WinDivertAddress.from_buffer_copy(self._address)
        addr.Timestamp, addr.Layer, addr.Event = self.timestamp, self.layer, self.event
        addr.Outbound = int(self.is_outbound)
        addr.Loopback, addr.Impostor = int(self.is_loopback), int(self.is_impostor)
        addr.Sniffed = int(self.is_sniffed)
        addr.IPv6 = int(self.address_family == socket.AF_INET6)
        addr.IPChecksum, addr.TCPChecksum = int(self.ip_checksum), int(self.tcp_checksum)
        addr.UDPChecksum = int(self.udp_checksum)
        self._put_data(addr)
        return addr

    def _put_data(self, addr: dll.WinDivertAddress) -> None:
        if self.layer in (Layer.NETWORK, Layer.NETWORK_FORWARD):
            addr.Network.IfIdx, addr.Network.SubIfIdx = self.interface
        elif self.layer == Layer.FLOW and self.flow is not None:
            addr.Flow = self.flow
        elif self.layer == Layer.SOCKET and self.socket is not None:
            addr.Socket = self.socket
        elif self.layer == Layer.REFLECT and self.reflect is not None:
            addr.Reflect = self.reflect

    # ---- parsing ----

    @cached_property
    def address_family(self) -> Optional[int]:
        """socket.AF_INET or socket.AF_INET6; None if raw is no IP packet."""
        if len(self.raw) >= 20:
            version = self.raw[0] >> 4
            if version == 4:
                return socket.AF_INET
            if version == 6:
                return socket.AF_INET6
        return None

    def _ipv6_transport(self) -> tuple[Optional[int], Optional[int]]:
        proto, start = self.raw[6], 40
        while proto in IPV6_EXT_HEADERS:
            if start + 2 > len(self.raw):
                return NO_PROTOCOL
            proto, start = self.raw[start], start + ext_header_len(proto, self.raw, start)
        return proto, start

    @cached_property
    def protocol(self) -> tuple[Optional[int], Optional[int]]:
        """(IP protocol of the transport header, its offset in raw); (None, None) if the
        packet is no IP packet or too short for the header it names."""
        if self.address_family == socket.AF_INET:
            proto, start = self.raw[9], (self.raw[0] & 0x0F) * 4
        elif self.address_family == socket.AF_INET6:
            proto, start = self._ipv6_transport()  # type: ignore[assignment]
        else:
            return NO_PROTOCOL
        if proto in MIN_LEN and start + MIN_LEN[Protocol(proto)] > len(self.raw):
            return NO_PROTOCOL
        return proto, start

    def _transport(self, proto: Protocol) -> Optional[int]:
        """The offset of the transport header if it is proto."""
        found, start = self.protocol
        return start if found == proto else None

    @cached_property
    def ipv4(self) -> Optional[IPv4Header]:
        """The IPv4 header, or None."""
        return IPv4Header(self) if self.address_family == socket.AF_INET else None

    @cached_property
    def ipv6(self) -> Optional[IPv6Header]:
        """The IPv6 header, or None."""
        return IPv6Header(self) if self.address_family == socket.AF_INET6 else None

    @property
    def ip(self) -> Optional[IPHeader]:
        """The IPv4 or IPv6 header, or None."""
        return self.ipv4 or self.ipv6

    @cached_property
    def icmpv4(self) -> Optional[ICMPv4Header]:
        """The ICMP header of an IPv4 packet, or None."""
        start = self._transport(Protocol.ICMP) if self.ipv4 else None
        return None if start is None else ICMPv4Header(self, start)

    @cached_property
    def icmpv6(self) -> Optional[ICMPv6Header]:
        """The ICMPv6 header of an IPv6 packet, or None."""
        start = self._transport(Protocol.ICMPV6) if self.ipv6 else None
        return None if start is None else ICMPv6Header(self, start)

    @property
    def icmp(self) -> Optional[ICMPHeader]:
        """The ICMP or ICMPv6 header, or None."""
        return self.icmpv4 or self.icmpv6

    @cached_property
    def tcp(self) -> Optional[TCPHeader]:
        """The TCP header, or None."""
        start = self._transport(Protocol.TCP)
        return None if start is None else TCPHeader(self, start)

    @cached_property
    def udp(self) -> Optional[UDPHeader]:
        """The UDP header, or None."""
        start = self._transport(Protocol.UDP)
        return None if start is None else UDPHeader(self, start)

    @property
    def _ports(self) -> Optional[PortMixin]:
        return self.tcp or self.udp

    @property
    def _carrier(self) -> Optional[PayloadMixin]:
        return self.tcp or self.udp or self.icmp

    # ---- the fields most programs use ----

    @property
    def src_addr(self) -> Optional[str]:
        """The source address as text; None if this is no IP packet."""
        return self.ip.src_addr if self.ip else None

    @src_addr.setter
    def src_addr(self, val: str) -> None:
        if self.ip:
            self.ip.src_addr = val

    @property
    def dst_addr(self) -> Optional[str]:
        """The destination address as text; None if this is no IP packet."""
        return self.ip.dst_addr if self.ip else None

    @dst_addr.setter
    def dst_addr(self, val: str) -> None:
        if self.ip:
            self.ip.dst_addr = val

    @property
    def src_port(self) -> Optional[int]:
        """The TCP or UDP source port; None for other packets."""
        return self._ports.src_port if self._ports else None

    @src_port.setter
    def src_port(self, val: int) -> None:
        if self._ports:
            self._ports.src_port = val

    @property
    def dst_port(self) -> Optional[int]:
        """The TCP or UDP destination port; None for other packets."""
        return self._ports.dst_port if self._ports else None

    @dst_port.setter
    def dst_port(self, val: int) -> None:
        if self._ports:
            self._ports.dst_port = val

    @property
    def payload(self) -> Optional[bytes]:
        """What the TCP, UDP, ICMP or ICMPv6 header carries; None for other packets.
        Setting one of another length updates the IP (and UDP) length fields."""
        return self._carrier.payload if self._carrier else None

    @payload.setter
    def payload(self, val: Bytes) -> None:
        if self._carrier:
            self._carrier.payload = val

    # ---- checksums and filters ----

    def _checksums_present(self, flags: int) -> int:
        """How many checksums the packet has that flags do not exclude."""
        opt = CalcChecksumsOption
        wanted = [(self.ipv4, opt.NO_IP_CHECKSUM), (self.tcp, opt.NO_TCP_CHECKSUM),
                  (self.udp, opt.NO_UDP_CHECKSUM), (self.icmpv4, opt.NO_ICMP_CHECKSUM),
                  (self.icmpv6, opt.NO_ICMPV6_CHECKSUM)]
        return sum(1 for header, flag in wanted if header is not None and not flags & flag)

    def recalculate_checksums(self, flags: int = 0) -> int:
        """Compute the IPv4, TCP, UDP, ICMP and ICMPv6 checksums the packet has, but those
        flags (CalcChecksumsOption) exclude, into raw; the number computed. As
        WinDivertHelperCalcChecksums() does with an address, the ip_checksum, tcp_checksum
        and udp_checksum flags of those computed are set."""
        flags &= ~CalcChecksumsOption.NO_REPLACE
        return self._checksums_present(flags) if self._fill_checksums_flagged(flags) else 0

    def _fill_checksums_flagged(self, flags: int = 0) -> bool:
        """recalculate_checksums() without the parsing that counts (send() calls it for
        every packet): whether it succeeded."""
        addr = dll.WinDivertAddress()
        if not self._fill_checksums(flags, addr):
            return False
        self.ip_checksum = self.ip_checksum or bool(addr.IPChecksum)
        self.tcp_checksum = self.tcp_checksum or bool(addr.TCPChecksum)
        self.udp_checksum = self.udp_checksum or bool(addr.UDPChecksum)
        return True

    def _fill_checksums(self, flags: int, addr: Optional[dll.WinDivertAddress] = None) -> bool:
        """recalculate_checksums() without the count: whether it succeeded."""
        return bool(len(self.raw)) and dll.calc_checksums(dll.c_buffer(self.raw), flags, addr)

    @property
    def is_checksum_valid(self) -> bool:
        """Whether every checksum the packet has is right (computed on a copy)."""
        copy = Packet(bytes(self.raw))
        copy.recalculate_checksums()
        return copy.raw == self.raw

    @property
    def icmp_checksum(self) -> bool:
        """Whether the packet has an ICMP or ICMPv6 header and its checksum is right
        (computed on a copy; WinDivert's address has no flag for it)."""
        header = self.icmp
        if header is None:
            return False
        copy = Packet(bytes(self.raw))
        copy._fill_checksums(ICMP_ONLY)
        where = slice(header._start + 2, header._start + 4)
        return bool(copy.raw[where] == self.raw[where])

    def matches(self, filter: str, layer: Layer = Layer.NETWORK) -> bool:
        """Whether the packet, with its address, matches filter (WinDivert's filter language)."""
        addr = self.wd_addr
        addr.Layer = layer
        if not len(self.raw):
            return dll.eval_filter(filter.encode(), None, 0, addr)
        return dll.eval_filter(filter.encode(), dll.c_buffer(self.raw), len(self.raw), addr)

    # ---- display ----

    def _summary(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"direction": self.direction.name, "interface": self.interface,
                                 "layer": self.layer.name}
        if self.layer != Layer.NETWORK or self.event:
            shown["event"] = Event(self.event).name if self.event in Event._value2member_map_ \
                else self.event
        for name in ("src_addr", "dst_addr", "src_port", "dst_port"):
            if getattr(self, name) is not None:
                shown[name] = getattr(self, name)
        if self.is_loopback:
            shown["loopback"] = True
        for name in ("ipv4", "ipv6", "tcp", "udp", "icmpv4", "icmpv6"):
            if getattr(self, name) is not None:
                shown[name] = getattr(self, name)
        payload = self.payload
        if payload is not None:
            shown["payload"] = payload[:20] + (b"..." if len(payload) > 20 else b"")
        return shown

    def __repr__(self) -> str:
        return "Packet(%s)" % ", ".join("%s=%r" % item for item in self._summary().items())
