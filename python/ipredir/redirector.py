# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Redirector handle, and what the library says about the namespace."""
import asyncio
import ctypes
import errno
import weakref
from typing import (Any, Dict, Iterable, List, NamedTuple, Optional, Tuple, Type, TypeVar,
                    Union)

from . import _lib
from ._lib import lib
from .errors import Error, check
from .packet import LAYER_NAMES, Buffer, Packet
from .process import Process
from .receiver import Receiver

LAYER_BITS = {name: bit for bit, name in LAYER_NAMES.items()}
SEND_RETRY_FIRST, SEND_RETRY_MAX = 0.001, 0.05  # seconds: send_async() finding no room waits


class Stats(NamedTuple):
    """Counters of a handle (struct ipr_stats): received, accepted, modified, ..."""
    received: int
    accepted: int
    modified: int
    dropped: int
    filtered: int
    bytes: int
    failopen: int
    queue_dropped: int
    user_dropped: int
    waiting: int
    verdict_errors: int
    expired: int
    bypassed: int


class Info(NamedTuple):
    """How a handle was installed (struct ipr_info): table, queue, snaplen, ..."""
    table: str
    queue: int
    snaplen: int
    queue_kind: str
    filter_kind: str
    filter_insns: int
    kernel_insns: int


class RedirectorInfo(NamedTuple):
    """One redirector of this namespace (struct ipr_redirector)."""
    table: str
    pid: int
    layers: str
    queue: int
    queues: int
    monitor: int
    owned: int
    filter: str


# The C structs these mirror, field for field (python/tests/test_layout.py checks the names).
TupleT = TypeVar("TupleT", Stats, Info, RedirectorInfo)
TUPLE_STRUCTS: Dict[Type[Union[Stats, Info, RedirectorInfo]], Type[ctypes.Structure]] = {
    Stats: _lib.Stats, Info: _lib.Info, RedirectorInfo: _lib.RedirectorEntry}
Layers = Union[int, str, Iterable[str]]


def _as_tuple(cls: Type[TupleT], struct: ctypes.Structure) -> TupleT:
    """A tuple of a C struct's fields, C strings decoded."""
    def value(v: Any) -> Any:
        return v.decode(errors="replace") if isinstance(v, bytes) else v
    return cls(*(value(getattr(struct, name)) for name in cls._fields))


def _encode(text: Optional[str]) -> Optional[bytes]:
    return None if text is None else str(text).encode()


def layer_mask(layers: Layers) -> int:
    """The IPR_LAYER_* mask of "in", "out", "forward": a name, a comma-separated
    string, an iterable of names, or a mask already."""
    if isinstance(layers, int):
        return layers
    if isinstance(layers, str):
        layers = layers.split(",")
    mask = 0
    for name in layers:
        if name.strip() not in LAYER_BITS:
            raise ValueError("layer %r: use in, out or forward" % name)
        mask |= LAYER_BITS[name.strip()]
    return mask


class Redirector(Receiver[Packet]):
    """An installed redirector: the kernel holds every matching packet until a
    verdict is given.

        with ipredir.Redirector("udp port 53", layers="out") as r:
            for pkt in r:
                if b"blocked" in pkt.raw:
                    r.drop(pkt)
                else:
                    r.accept(pkt)

    filter: pcap expression (None: every IP packet); layers: "in", "out",
    "forward" (one, a list, or "in,out"); priority: higher sees packets first
    (-30000 to 30000); queue: NFQUEUE number (None: a free one); snaplen: bytes
    copied per packet (None: all; a truncated packet cannot be modified);
    fail_closed: a full queue drops instead of passing; monitor: copies only,
    nothing is held and verdicts do nothing; interface / in_interface /
    out_interface: only packets on that device; queue_maxlen: packets the
    kernel may hold; no_gso: the kernel segments GSO packets first;
    user_filter: evaluate the filter in user space; cgroup: only sockets of
    that cgroup v2 path; bypass: allow accept_bypass() (turns on connection
    tracking in the namespace); deadline_ms: packets left without a verdict this long
    (default 5000) are accepted by the library during a later receive; process:
    name the process of each packet of a local socket (Packet.process, .pid);
    pid / comm / exe: only packets of that process ID, command name or
    executable path (these name processes too); batch:
    packets per receive when iterating (fewer system calls for many small
    packets; 1 keeps fewer packets waiting while Python decides).

    Opening needs CAP_NET_ADMIN and raises Error on failure (EINVAL with the
    reason for a bad filter or option, EPERM without privilege). Every received
    packet needs exactly one verdict (accept or drop). Packets still undecided
    when the handle closes (close(), the end of a with block, or the process
    dying) are accepted by the library. One handle serves one thread, or the
    coroutines of one event loop (async with, async for, recv_async).
    """
    MAX_BATCH = _lib.BATCH_MAX
    WAKE_EVERY = 0.1  # seconds: a waiting receive serves the verdict deadline this often

    def __init__(self, filter: Optional[str] = None, layers: Layers = ("in", "out"),
                 priority: int = 0, queue: Optional[int] = None, snaplen: Optional[int] = None,
                 fail_closed: bool = False, monitor: bool = False,
                 interface: Optional[str] = None, in_interface: Optional[str] = None,
                 out_interface: Optional[str] = None, queue_maxlen: Optional[int] = None,
                 no_gso: bool = False, user_filter: bool = False, cgroup: Optional[str] = None,
                 bypass: bool = False, deadline_ms: Optional[int] = None, batch: int = 64,
                 process: bool = False, pid: Optional[int] = None, comm: Optional[str] = None,
                 exe: Optional[str] = None) -> None:
        super().__init__(batch)
        flags = ((_lib.OPEN_FAIL_CLOSED if fail_closed else 0) |
                 (_lib.OPEN_PROCESS if process else 0) |
                 (_lib.OPEN_MONITOR if monitor else 0) |
                 (_lib.OPEN_NO_GSO if no_gso else 0) |
                 (_lib.OPEN_USER_FILTER if user_filter else 0) |
                 (_lib.OPEN_BYPASS if bypass else 0))
        opts = _lib.Options(
            size=ctypes.sizeof(_lib.Options), filter=_encode(filter), layers=layer_mask(layers),
            interface=_encode(interface), in_interface=_encode(in_interface),
            out_interface=_encode(out_interface), priority=priority, queue=queue or 0,
            snaplen=snaplen or 0, queue_maxlen=queue_maxlen or 0, flags=flags,
            cgroup=_encode(cgroup), deadline_ms=deadline_ms or 0, pid=pid or 0,
            comm=_encode(comm), exe=_encode(exe))
        handle = _lib.handle()
        self._handle: Optional[_lib.handle] = None
        self._keep: List[bytes] = []  # new bytes of verdicts not yet sent: they must live
        # weak references to packets whose bytes are in the receive buffer
        self._lent: List["weakref.ref[Packet]"] = []
        self._slots = 0
        check(lib.ipr_open(ctypes.byref(opts), ctypes.byref(handle)))
        self._handle = handle
        self._slot_size: int = lib.ipr_slot_size(handle)

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            lib.ipr_close(self._handle)

    @property
    def closed(self) -> bool:
        """True once close() ran (or the with block ended)."""
        return self._handle is None

    def _live(self) -> _lib.handle:
        if self._handle is None:
            raise Error(errno.EBADF, "the redirector is closed")
        return self._handle

    def close(self) -> None:
        """Remove the rules, accept every packet still held, release the handle.
        Coroutines waiting in it wake up: recv_async() raises Error, async for ends.
        Raises Error if a final verdict could not be delivered (closed anyway)."""
        if self._handle is None:
            return
        self._forget()
        handle, self._handle = self._handle, None
        rc = lib.ipr_close(handle)  # sends the last verdicts, whose bytes are in _keep
        self._keep.clear()
        check(rc)

    def fileno(self) -> int:
        """A descriptor that polls readable when packets wait (do not read it)."""
        return int(lib.ipr_fd(self._live()))

    def _room_for(self, n: int) -> None:
        if n > self._slots:
            self._buf = ctypes.create_string_buffer(n * self._slot_size)
            self._view = memoryview(self._buf).cast("B")
            self._pkts = (_lib.RawPacket * n)()
            self._slots = n

    def _prepare(self, n: int) -> None:
        self._live()
        self._room_for(n)

    def _reclaim(self) -> None:
        """Packets of the last receive still in use get their own bytes before
        the buffer is reused; the others (most) were never copied."""
        for ref in self._lent:
            pkt = ref()
            if pkt is not None:
                pkt.own_bytes()
        self._lent = []

    def _receive(self, n: int, flags: int) -> int:
        """One ipr_recv_batch() call, retried after a signal; 0 for -EAGAIN."""
        self._reclaim()
        while True:
            rc = lib.ipr_recv_batch(self._live(), self._buf, len(self._buf), self._pkts, n,
                                    flags)
            self._keep.clear()  # every receive sends the verdicts queued before it
            if rc != -errno.EINTR:  # a Python signal handler runs (and may raise) here
                break
        return 0 if rc == -errno.EAGAIN else check(rc)

    def _process_of(self, i: int) -> Optional[Process]:
        """The Process of received packet i (its bytes still in the buffer), or None."""
        if not self._pkts[i].flags & _lib.PKT_HAS_PROCESS:
            return None
        raw = _lib.RawProcess()
        if lib.ipr_packet_process(self._handle, ctypes.byref(self._pkts[i]), ctypes.byref(raw),
                                  ctypes.sizeof(raw)) < 0:
            return None
        return Process.from_raw(raw)

    def _item(self, i: int) -> Packet:
        meta = _lib.RawPacket.from_buffer_copy(self._pkts[i])
        start = meta.data - ctypes.addressof(self._buf)
        meta.data = None  # the receive buffer is the view's to hold
        pkt = Packet(meta, self._view[start:start + meta.caplen], self._process_of(i))
        self._lent.append(weakref.ref(pkt))
        return pkt

    def recv(self, n: int = 1, timeout: Optional[float] = None) -> List[Packet]:
        """Receive up to n packets (at most 1024) as a list of Packet objects.

        Waits for the first packet, at most timeout seconds if given (then an
        empty list); timeout=0 does not wait. Packets an iteration received and
        did not yield come first. Verdicts given so far are sent first. Raises
        Error on failure.
        """
        return self._recv(n, timeout)

    async def recv_async(self, n: int = 1) -> List[Packet]:
        """recv() for a coroutine: waits for the first packet without blocking the
        event loop (the loop watches fileno()). Cancelling it loses no packet.
        Raises Error on failure, EBADF when the handle is closed while it waits."""
        return await self._recv_async(n)

    def accept(self, packet: Packet, recalculate_checksums: bool = True) -> None:
        """Let packet go on: with its new bytes if it was changed (checksums
        recomputed first unless recalculate_checksums is False), else as it was.
        Verdicts are queued and sent together by the next receive, flush() or
        close(). Raises Error: EALREADY if it has a verdict already, ESTALE if
        the deadline accepted it, EINVAL for changed bytes of a truncated packet."""
        handle = self._live()
        if not packet.modified:
            check(lib.ipr_accept(handle, ctypes.byref(packet.meta)))
            return
        if recalculate_checksums and not packet.is_truncated:  # the library says why not
            packet.recalculate_checksums()
        data = bytes(packet.raw)
        check(lib.ipr_accept_modified(handle, ctypes.byref(packet.meta), data, len(data)))
        self._keep.append(data)

    def accept_bypass(self, packet: Packet) -> None:
        """Accept packet unchanged and offload the rest of its flow (both
        directions) to the kernel: later packets of the connection no longer
        reach this handle (a few already queued still do). Needs
        Redirector(bypass=True). Raises Error as accept(); EINVAL if the packet
        was changed (this verdict carries no new bytes) or without bypass."""
        if packet.modified:
            raise Error(errno.EINVAL, "packet %d was changed: a bypass verdict carries no "
                        "new bytes" % packet.id)
        check(lib.ipr_accept_bypass(self._live(), ctypes.byref(packet.meta)))

    def drop(self, packet: Packet) -> None:
        """Discard packet. Raises Error as accept()."""
        check(lib.ipr_drop(self._live(), ctypes.byref(packet.meta)))

    def flush(self) -> None:
        """Send the verdicts given so far now (a receive also sends them)."""
        rc = lib.ipr_flush(self._live())
        self._keep.clear()
        check(rc)

    def send(self, data: Union[Buffer, Packet], direction: str = "out") -> None:
        """Inject a whole IP packet (bytes-like or a Packet; checksums must be
        right, see checksum_fill): "out" leaves through the stack as if this
        host sent it, "in" arrives at the local stack as if received from the
        network. Injected packets are never captured by any redirector.
        Raises Error (EINVAL for a malformed packet, with the reason). Outbound
        it waits while the raw socket's send buffer is full (packets injected
        faster than a device sends them)."""
        self._send(_injection(data, direction), 0)

    async def send_async(self, data: Union[Buffer, Packet], direction: str = "out") -> None:
        """send() for a coroutine: where send() would wait for room in the raw
        socket's send buffer, this lets the event loop run and tries again, after
        1 ms, then twice as long each time up to 50 ms (the socket is the library's
        own: there is no descriptor to wait on). Raises Error as send()."""
        packet, pause = _injection(data, direction), SEND_RETRY_FIRST
        while not self._send(packet, _lib.SEND_NONBLOCK):
            await asyncio.sleep(pause)
            pause = min(2 * pause, SEND_RETRY_MAX)

    def _send(self, injection: Tuple[bytes, int], flags: int) -> bool:
        """One ipr_send(); False if SEND_NONBLOCK found the send buffer full."""
        packet, layer = injection
        rc = lib.ipr_send(self._live(), packet, len(packet), layer | flags)
        return rc != -errno.EAGAIN and check(rc) == 0

    def stats(self) -> Stats:
        """The handle's counters as a Stats tuple."""
        st = _lib.Stats()
        check(lib.ipr_get_stats(self._live(), ctypes.byref(st), ctypes.sizeof(st)))
        return _as_tuple(Stats, st)

    def process_limits(self) -> Optional[str]:
        """Why process lookups are limited here (one line), or None when they are not."""
        text: Optional[bytes] = lib.ipr_process_limits(self._live())
        return None if text is None else text.decode(errors="replace")

    def info(self) -> Info:
        """How the handle was installed, as an Info tuple (table, queue, ...)."""
        info = _lib.Info()
        check(lib.ipr_get_info(self._live(), ctypes.byref(info)))
        return _as_tuple(Info, info)


def _injection(data: Union[Buffer, Packet], direction: str) -> Tuple[bytes, int]:
    """The bytes and IPR_LAYER_* of what send() injects."""
    if direction not in ("in", "out"):
        raise ValueError("direction %r: use in or out" % direction)
    return bytes(data.raw if isinstance(data, Packet) else data), LAYER_BITS[direction]


def list_redirectors() -> List[RedirectorInfo]:
    """The redirectors installed in this network namespace (RedirectorInfo
    tuples). Raises Error (EPERM without CAP_NET_ADMIN)."""
    room = 16
    while True:
        entries = (_lib.RedirectorEntry * room)()
        count = check(lib.ipr_list_redirectors(entries, room))
        if count <= room:
            return [_as_tuple(RedirectorInfo, entries[i]) for i in range(count)]
        room = count
