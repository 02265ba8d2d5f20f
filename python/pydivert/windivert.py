# SPDX-License-Identifier: LGPL-2.1-or-later
"""A WinDivert handle as pydivert shows it, over libwindivert (include/windivert.h)."""
from __future__ import annotations

import asyncio
import select
import time
from types import TracebackType
from typing import Iterable, Optional, Union

from . import windivert_dll as dll
from .consts import BATCH_MAX, MTU_MAX, Flag, Layer, Param, RecvFlag, Shutdown
from .packet import ICMP_ONLY, Packet

DEFAULT_PACKET_BUFFER_SIZE = MTU_MAX  # room for any packet, GSO super-packets included
NOT_OPEN = "the WinDivert handle is not open: call open() first, or use it in a with block"


class WinDivert:
    """A handle for the packets (or events) of layer that match filter.

    WinDivert(filter="true", layer=Layer.NETWORK, priority=0, flags=Flag.DEFAULT); open()
    (or a with or async with block) installs it, close() removes it. Received packets
    are held in the kernel until send() lets them (or a changed copy) go on; one never
    sent is dropped after Param.QUEUE_TIME ms. Needs root (CAP_NET_ADMIN, CAP_NET_RAW).
    """

    def __init__(self, filter: Union[str, bytes] = "true", layer: Layer = Layer.NETWORK,
                 priority: int = 0, flags: Union[Flag, int] = Flag.DEFAULT) -> None:
        self._handle: Optional[int] = None
        self._filter = filter_bytes(filter)
        self._layer = Layer(layer)
        self._priority = priority
        self._flags = Flag(flags)
        self._waiters: list[asyncio.Future[None]] = []
        self._reading: Optional[asyncio.AbstractEventLoop] = None

    def __repr__(self) -> str:
        return '<WinDivert state="%s" filter="%s" layer="%s" priority="%s" flags="%s" />' % (
            "open" if self.is_open else "closed", self._filter.decode(), self._layer.name,
            self._priority, self._flags)

    @property
    def filter(self) -> str:
        """The filter the handle was made with (as text, even if given as bytes)."""
        return self._filter.decode()

    @property
    def layer(self) -> Layer:
        """The layer the handle was made for."""
        return self._layer

    @property
    def priority(self) -> int:
        """The priority the handle was made with."""
        return self._priority

    @property
    def flags(self) -> Flag:
        """The flags the handle was made with."""
        return self._flags

    # ---- the handle ----

    @staticmethod
    def check_filter(filter: Union[str, bytes],
                     layer: Layer = Layer.NETWORK) -> tuple[bool, int, str]:
        """(valid, position of the first error, reason) of filter at layer."""
        return dll.compile_filter(filter_bytes(filter), layer)

    @staticmethod
    def register() -> None:
        """Accepted: there is no driver to install on Linux."""

    @staticmethod
    def is_registered() -> bool:
        """True: libwindivert is loaded, and needs no driver."""
        return True

    @staticmethod
    def unregister() -> None:
        """Accepted: there is no driver to remove on Linux."""

    @property
    def is_open(self) -> bool:
        """Whether open() has been called and close() not yet."""
        return self._handle is not None

    def _opened(self) -> int:
        if self._handle is None:
            raise RuntimeError(NOT_OPEN)
        return self._handle

    def open(self) -> None:
        """Install the handle: matching packets come to it from now on."""
        if self.is_open:
            raise RuntimeError("the WinDivert handle is already open: close() it first")
        try:
            self._handle = dll.open_handle(self._filter, self._layer, self._priority,
                                           self._flags)
        except OSError as err:
            valid, pos, reason = self.check_filter(self._filter, self._layer)
            if not valid:  # say what is wrong with the filter, and where
                err.strerror = "%s; the filter %r: %s at character %d" % (
                    err.strerror, self._filter.decode(), reason, pos)
            raise

    def close(self) -> None:
        """Remove the handle; packets it holds and has not sent are dropped."""
        handle = self._opened()
        self._stop_reading(RuntimeError(NOT_OPEN))
        self._handle = None
        dll.close(handle)

    def shutdown(self, how: Shutdown = Shutdown.BOTH) -> None:
        """Stop receiving (what waits can still be read; then iteration ends), sending, or both."""
        dll.shutdown(self._opened(), how)

    def __enter__(self) -> WinDivert:
        self.open()
        return self

    def __exit__(self, kind: Optional[type[BaseException]], value: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def __iter__(self) -> WinDivert:
        return self

    def __next__(self) -> Packet:
        try:
            return self.recv()
        except OSError as err:
            if getattr(err, "winerror", None) == dll.ERROR_NO_DATA:
                raise StopIteration from None  # shut down and drained
            raise

    # ---- packets ----

    def _receive(self, bufsize: int, count: int) -> list[Packet]:
        """Up to count packets that wait now, from one WinDivertRecvEx() call; maybe none."""
        buf = bytearray(bufsize)
        addrs = (dll.WinDivertAddress * count)()
        try:
            used, got = dll.recv_ex(self._opened(), dll.c_buffer(buf), addrs, RecvFlag.NO_BLOCK)
        except OSError as err:
            if getattr(err, "winerror", None) == dll.ERROR_IO_PENDING:
                return []
            raise
        return split_packets(buf, used, list(addrs)[:got])

    def _take(self, bufsize: int, count: int, flags: int,
              timeout: Optional[float] = None) -> list[Packet]:
        """_receive(), waiting for the first packet unless flags has RecvFlag.NO_BLOCK, for
        at most timeout seconds if given (then TimeoutError). The wait is in select(), so
        that a signal handler (Ctrl-C) runs while it waits."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            packets = self._receive(bufsize, count)
            if packets or flags & RecvFlag.NO_BLOCK:
                return packets
            if deadline is None:
                select.select([self.fileno()], [], [])
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise timed_out(timeout or 0.0)
            select.select([self.fileno()], [], [], left)

    def recv(self, bufsize: int = DEFAULT_PACKET_BUFFER_SIZE,
             timeout: Optional[float] = None) -> Packet:
        """The next packet (or event), waiting for it; for at most timeout seconds if
        given, then TimeoutError."""
        return self._take(bufsize, 1, RecvFlag.DEFAULT, timeout)[0]

    def recv_ex(self, bufsize: int = DEFAULT_PACKET_BUFFER_SIZE,
                flags: Union[RecvFlag, int] = RecvFlag.DEFAULT,
                overlapped: None = None) -> Optional[Packet]:
        """recv() through WinDivertRecvEx(); with flags=RecvFlag.NO_BLOCK, None at once
        when nothing waits. overlapped: accepted only as None (calls complete at once)."""
        if overlapped is not None:
            raise ValueError("overlapped I/O is not supported on Linux: use recv_async()")
        packets = self._take(bufsize, 1, flags)
        return packets[0] if packets else None

    def recv_batch(self, count: int = BATCH_MAX, bufsize: int = DEFAULT_PACKET_BUFFER_SIZE * 4,
                   flags: Union[RecvFlag, int] = RecvFlag.DEFAULT,
                   timeout: Optional[float] = None) -> list[Packet]:
        """Up to count packets (at most 255) from one WinDivertRecvEx() call; waits for the
        first as recv() does (timeout included)."""
        check_count(count)
        return self._take(bufsize, count, flags, timeout)

    def send(self, packet: Packet, recalculate_checksum: bool = True) -> int:
        """Send packet: a received one goes on where it was taken (changed or not), a new
        one is injected; with recalculate_checksum its checksums are right as it leaves
        (see send_ex). The bytes sent."""
        return self.send_ex(packet, recalculate_checksum)

    def send_ex(self, packet: Union[Packet, Iterable[Packet]], recalculate_checksum: bool = True,
                flags: int = 0, overlapped: None = None) -> int:
        """send() through WinDivertSendEx(); packet may also be several packets, sent in one
        call. flags: 0; overlapped: None (calls complete at once).

        With recalculate_checksum, each packet's raw holds all its checksums afterwards, as
        pydivert leaves it; the sending does not wait for them. The ICMP and ICMPv6 ones are
        computed first; the address then vouches for no IP, TCP or UDP checksum, so that
        libwindivert fills those in as the packet leaves if it was changed, while an
        unchanged received packet goes on as the kernel holds it (its checksums perhaps
        left to the device); raw gets them after the send."""
        if flags or overlapped is not None:
            raise ValueError("send_ex() takes flags=0 and overlapped=None on Linux")
        packets = [packet] if isinstance(packet, Packet) else list(packet)
        handle = self._opened()
        addrs = (dll.WinDivertAddress * len(packets))(*[each.wd_addr for each in packets])
        if recalculate_checksum:
            for each, addr in zip(packets, addrs):
                each._fill_checksums(ICMP_ONLY)
                addr.IPChecksum = addr.TCPChecksum = addr.UDPChecksum = 0
        data = packets[0].raw if len(packets) == 1 else bytearray().join(p.raw for p in packets)
        sent = dll.send_ex(handle, dll.c_buffer(data), addrs)
        if recalculate_checksum:
            for each in packets:
                each._fill_checksums_flagged()
        return sent

    # ---- parameters ----

    def get_param(self, name: Union[Param, int]) -> int:
        """A parameter's value (Param)."""
        return dll.get_param(self._opened(), name)

    def set_param(self, name: Union[Param, int], value: int) -> bool:
        """Set a parameter (Param) within its documented range. True, as
        WinDivertSetParam() returns it (a failure raises OSError)."""
        dll.set_param(self._opened(), name, value)
        return True

    # ---- asyncio ----

    def fileno(self) -> int:
        """A descriptor that polls readable when packets may wait (WinDivertGetFd())."""
        return dll.get_fd(self._opened())

    def _wake(self) -> None:
        self._stop_reading(None)

    def _stop_reading(self, err: Optional[BaseException]) -> None:
        """Wake every recv_async() waiting (with err, if given) and stop watching the fd."""
        if self._reading is not None and self._handle is not None:
            self._reading.remove_reader(dll.get_fd(self._handle))
        self._reading = None
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if fut.done():
                continue
            if err is None:
                fut.set_result(None)
            else:
                fut.set_exception(err)

    async def _readable(self) -> None:
        """Wait until the handle's descriptor polls readable; one reader serves all waiters."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        if self._reading is None:
            loop.add_reader(self.fileno(), self._wake)
            self._reading = loop
        self._waiters.append(fut)
        await fut

    async def _take_async(self, bufsize: int, count: int) -> list[Packet]:
        while True:
            packets = self._receive(bufsize, count)
            if packets:
                return packets
            await self._readable()

    async def _take_async_within(self, bufsize: int, count: int,
                                 timeout: Optional[float]) -> list[Packet]:
        if timeout is None:
            return await self._take_async(bufsize, count)
        try:
            return await asyncio.wait_for(self._take_async(bufsize, count), max(0.0, timeout))
        except asyncio.TimeoutError:
            raise timed_out(timeout) from None

    async def recv_async(self, bufsize: int = DEFAULT_PACKET_BUFFER_SIZE,
                         timeout: Optional[float] = None) -> Packet:
        """recv() for asyncio: waits on the event loop, not in a thread (for at most
        timeout seconds if given, then TimeoutError)."""
        return (await self._take_async_within(bufsize, 1, timeout))[0]

    async def recv_batch_async(self, count: int = BATCH_MAX,
                               bufsize: int = DEFAULT_PACKET_BUFFER_SIZE * 4,
                               timeout: Optional[float] = None) -> list[Packet]:
        """recv_batch() for asyncio: waits on the event loop for the first packet, then
        takes up to count (at most 255) of those waiting."""
        check_count(count)
        return await self._take_async_within(bufsize, count, timeout)

    async def send_async(self, packet: Packet, recalculate_checksum: bool = True) -> int:
        """send() for asyncio (a send does not wait)."""
        return self.send(packet, recalculate_checksum)

    async def __aenter__(self) -> WinDivert:
        self.open()
        return self

    async def __aexit__(self, kind: Optional[type[BaseException]],
                        value: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.close()

    def __aiter__(self) -> WinDivert:
        return self

    async def __anext__(self) -> Packet:
        try:
            return await self.recv_async()
        except OSError as err:
            if getattr(err, "winerror", None) == dll.ERROR_NO_DATA:
                raise StopAsyncIteration from None
            raise


def filter_bytes(filter: Union[str, bytes]) -> bytes:
    """A filter given as text or bytes, as libwindivert takes it."""
    return filter.encode() if isinstance(filter, str) else bytes(filter)


def timed_out(timeout: float) -> TimeoutError:
    return TimeoutError("no packet within %g s" % timeout)


def check_count(count: int) -> None:
    if not 1 <= count <= BATCH_MAX:
        raise ValueError("count must be 1 to %d, not %r" % (BATCH_MAX, count))


def split_packets(buf: bytearray, used: int, addrs: list[dll.WinDivertAddress]) -> list[Packet]:
    """The packets WinDivertRecvEx() packed into buf, each with its address: a lone packet
    in buf itself, those of a batch in bytes of their own (so that one packet does not keep
    the whole batch alive)."""
    packets, offset, view = [], 0, memoryview(buf)
    if len(addrs) == 1:
        return [Packet.from_address(view[:used], addrs[0])]
    for i, addr in enumerate(addrs):
        rest = used - offset
        length = rest if i == len(addrs) - 1 else min(rest, item_length(buf, offset, addr))
        raw = memoryview(bytearray(view[offset:offset + length]))
        packets.append(Packet.from_address(raw, addr))
        offset += length
    return packets


def item_length(buf: bytearray, offset: int, addr: dll.WinDivertAddress) -> int:
    """The length of the packet or event at offset of a batch: an IP packet's from its
    header, a REFLECT event's filter object up to its NUL; FLOW and SOCKET events have none."""
    if addr.Layer in (Layer.FLOW, Layer.SOCKET):
        return 0
    if addr.Layer == Layer.REFLECT:
        return buf.index(0, offset) + 1 - offset
    if buf[offset] >> 4 == 4:
        length = int.from_bytes(buf[offset + 2:offset + 4], "big")
    else:
        length = 40 + int.from_bytes(buf[offset + 4:offset + 6], "big")
    return length if length not in (0, 40) else len(buf) - offset  # no length: all of it
