# SPDX-License-Identifier: LGPL-2.1-or-later
"""Socket and flow events of the network namespace (ipr_events_*), and rules
that refuse binds and connects (ipr_events_block)."""
import ctypes
import errno
import ipaddress
from typing import Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

from . import _lib
from ._lib import lib
from .errors import Error, check
from .packet import PROTOCOL_NAMES, _format
from .process import Process
from .receiver import Receiver

KIND_NAMES = {
    _lib.EVENT_FLOW_ESTABLISHED: "established", _lib.EVENT_FLOW_DELETED: "deleted",
    _lib.EVENT_SOCKET_BIND: "bind", _lib.EVENT_SOCKET_CONNECT: "connect",
    _lib.EVENT_SOCKET_LISTEN: "listen", _lib.EVENT_SOCKET_ACCEPT: "accept",
    _lib.EVENT_SOCKET_CLOSE: "close",
}
BATCH_MAX = 256  # events one receive returns at most

# What block_rule() takes: "ADDR", "ADDR/PREFIX", "*" (any), or with a port as
# (address, port); a bind is refused by its local port.
Destination = Union[str, Tuple[str, int]]


class Event(NamedTuple):
    """One socket or flow event (struct ipr_event).

    kind: "established", "deleted" (flows), "bind", "connect", "listen",
    "accept", "close" (sockets); ts_ns: when (CLOCK_MONOTONIC nanoseconds);
    process: the Process (pid 0 if unknown); protocol: "tcp" or "udp";
    local/remote addresses (str; an IPv4-mapped address as IPv4) and ports;
    endpoint: the socket's cookie; parent_endpoint: an accepted connection's
    listener (else 0); outbound: a flow this host opened, a connect; loopback:
    both ends on this host; blocked: a bind or connect refused by a rule."""
    kind: str
    ts_ns: int
    process: Process
    protocol: str
    local_addr: str
    local_port: int
    remote_addr: str
    remote_port: int
    endpoint: int
    parent_endpoint: int
    outbound: bool
    loopback: bool
    blocked: bool

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def comm(self) -> str:
        return self.process.comm

    @classmethod
    def from_raw(cls, raw: _lib.RawEvent) -> "Event":
        return cls(KIND_NAMES.get(raw.kind, str(raw.kind)), raw.ts_ns,
                   Process(raw.pid, raw.comm.decode(errors="replace")),
                   PROTOCOL_NAMES.get(raw.protocol, str(raw.protocol)), _format(raw.local),
                   raw.local_port, _format(raw.remote), raw.remote_port, raw.endpoint,
                   raw.parent_endpoint, bool(raw.outbound), bool(raw.loopback),
                   bool(raw.blocked))


class Events(Receiver[Event]):
    """The flow and socket events of this network namespace, as they happen:

        with ipredir.Events(flows=True, sockets=True) as events:
            events.block(ipredir.block_rule(connect=[("203.0.113.0/24", 443)]))
            for ev in events:
                print(ev.kind, ev.comm, ev.pid, ev.remote_addr, ev.remote_port)

    BPF programs attached at the root of the cgroup v2 hierarchy report them
    until close() (or the end of a with block, or the process dying). Needs
    root; raises Error (EOPNOTSUPP with the reason where the kernel lacks what
    it needs). One handle serves one thread, or the coroutines of one event
    loop (async with, async for, recv_async).
    """
    MAX_BATCH = BATCH_MAX

    def __init__(self, flows: bool = True, sockets: bool = True, batch: int = 64) -> None:
        super().__init__(batch)
        which = (_lib.EVENTS_FLOW if flows else 0) | (_lib.EVENTS_SOCKET if sockets else 0)
        if not which:
            raise ValueError("Events: ask for flows, sockets or both")
        handle = _lib.handle()
        self._handle: Optional[_lib.handle] = None
        check(lib.ipr_events_open(which, ctypes.byref(handle)))
        self._handle = handle
        self._room = (_lib.RawEvent * BATCH_MAX)()
        # the tests the programs read: kept alive with the handle
        self._rule: Optional["ctypes.Array[_lib.CallTest]"] = None

    def __del__(self) -> None:
        self.close()

    def _live(self) -> _lib.handle:
        if self._handle is None:
            raise Error(errno.EBADF, "the events handle is closed")
        return self._handle

    def close(self) -> None:
        """Stop the events and lift the handle's rule (block()). Coroutines waiting
        in it wake up: recv_async() raises Error, async for ends."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None:
            self._forget()
            lib.ipr_events_close(handle)

    @property
    def closed(self) -> bool:
        """True once close() ran (or the with block ended)."""
        return self._handle is None

    def fileno(self) -> int:
        """A descriptor that polls readable when events wait (do not read it)."""
        return int(lib.ipr_events_fd(self._live()))

    @property
    def lost(self) -> int:
        """Events lost because the program fell behind."""
        return int(lib.ipr_events_lost(self._live()))

    def _prepare(self, n: int) -> None:
        self._live()

    def _item(self, i: int) -> Event:
        return Event.from_raw(self._room[i])

    def _receive(self, n: int, flags: int) -> int:
        while True:
            rc = lib.ipr_events_recv(self._live(), self._room, n, flags)
            if rc != -errno.EINTR:  # a Python signal handler runs (and may raise) here
                break
        return 0 if rc == -errno.EAGAIN else check(rc)

    def recv(self, n: int = 64, timeout: Optional[float] = None) -> List[Event]:
        """Up to n events, waiting for the first at most timeout seconds if given
        (then an empty list; 0 does not wait); those an iteration received and did
        not yield come first. Raises Error on failure."""
        return self._recv(n, timeout)

    async def recv_async(self, n: int = 64) -> List[Event]:
        """recv() for a coroutine: waits for the first event without blocking the
        event loop (the loop watches fileno()). Cancelling it loses no event.
        Raises Error on failure, EBADF when the handle is closed while it waits."""
        return await self._recv_async(n)

    def block(self, tests: Sequence[_lib.CallTest]) -> None:
        """From now on refuse (EPERM in the calling program) every bind and connect
        of the namespace for which tests reach CALL_MATCH (see block_rule(), or
        build CallTest graphs by hand as struct ipr_call_test describes); replaces
        the previous rule, [] refuses nothing. The rule goes with the handle.
        Raises Error (EINVAL for a malformed rule)."""
        rule = (_lib.CallTest * max(1, len(tests)))(*tests)
        check(lib.ipr_events_block(self._live(), rule, len(tests)))
        self._rule = rule


# ---- block_rule: the tests of "refuse these connects and binds" ----

def _value(number: int) -> List[int]:
    """A 128-bit number as the value words of a test, least significant first."""
    return [(number >> (32 * i)) & 0xFFFFFFFF for i in range(4)]


def _address_range(text: str) -> Optional[Tuple[int, int]]:
    """The first and last address of "ADDR" or "ADDR/PREFIX" as 128-bit numbers (IPv4
    as IPv4-mapped), None for "*"."""
    if text == "*":
        return None
    net = ipaddress.ip_network(text, strict=False)
    if net.version == 4:
        net = ipaddress.ip_network("::ffff:%s/%d" % (net.network_address, 96 + net.prefixlen))
    return int(net.network_address), int(net.broadcast_address)


def _append(tests: List[_lib.CallTest], field: int, cmp: int, value: int, no: int) -> None:
    """Append "field cmp value": on to the next test if it holds, else to test no."""
    tests.append(_lib.CallTest(field=field, cmp=cmp, yes=len(tests) + 1, no=no,
                               value=(_lib.u32 * 4)(*_value(value))))


def _connect_tests(dest: Destination) -> List[Tuple[int, int, int]]:
    addr, port = (dest, 0) if isinstance(dest, str) else dest
    tests = [(_lib.CALL_EVENT, _lib.CMP_EQ, _lib.EVENT_SOCKET_CONNECT)]
    span = _address_range(addr)
    if span:
        tests += [(_lib.CALL_REMOTE_ADDR, _lib.CMP_GE, span[0]),
                  (_lib.CALL_REMOTE_ADDR, _lib.CMP_LE, span[1])]
    if port:
        tests.append((_lib.CALL_REMOTE_PORT, _lib.CMP_EQ, port))
    return tests


def _bind_tests(port: int) -> List[Tuple[int, int, int]]:
    return [(_lib.CALL_EVENT, _lib.CMP_EQ, _lib.EVENT_SOCKET_BIND),
            (_lib.CALL_LOCAL_PORT, _lib.CMP_EQ, port)]


def block_rule(connect: Iterable[Destination] = (), bind: Iterable[int] = (),
               pid: Optional[int] = None) -> List[_lib.CallTest]:
    """The tests for Events.block() that refuse connects to each destination of
    connect ("ADDR", "ADDR/PREFIX" or "*", alone or as (address, port)) and
    binds to each local port of bind; any of them refuses a call. With pid, only
    the calls of that process (IDs of the initial pid namespace). Raises
    ValueError for a bad address and when the kernel's 64 tests do not suffice."""
    items = [_connect_tests(d) for d in connect] + [_bind_tests(p) for p in bind]
    tests: List[_lib.CallTest] = []
    if pid and items:
        _append(tests, _lib.CALL_PID, _lib.CMP_EQ, pid, _lib.CALL_NO_MATCH)
    for i, item in enumerate(items):
        after = len(tests) + len(item)
        no = after if i + 1 < len(items) else _lib.CALL_NO_MATCH
        for field, cmp, value in item:
            _append(tests, field, cmp, value, no)
        tests[-1].yes = _lib.CALL_MATCH
    if len(tests) > _lib.CALL_TESTS:
        raise ValueError("the rule needs %d tests, the kernel takes %d"
                         % (len(tests), _lib.CALL_TESTS))
    return tests
