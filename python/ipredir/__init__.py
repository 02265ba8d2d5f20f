# SPDX-License-Identifier: LGPL-2.1-or-later
"""ipredir: examine, modify, drop and inject IP packets from Python.

A binding of libipredir over ctypes (standard library only):

    import ipredir

    with ipredir.Redirector("tcp port 80", layers=("in", "out")) as r:
        for pkt in r:
            print(pkt)                # <Packet id=1 out v4 tcp 10.0.0.1:40000 -> ...>
            if pkt.ttl < 5:
                r.drop(pkt)
            else:
                pkt.ttl = 64          # changed bytes go out on accept,
                r.accept(pkt)         # checksums recomputed

Every received packet needs one verdict: accept() or drop(); verdicts go out
together with the next receive, flush() or close(). Packets left undecided
are accepted by the library after the verdict deadline (5 s by default) or
when the handle closes. Errors raise ipredir.Error, an OSError
with the errno and the library's message.

Which process a packet belongs to: open the handle with process=True (or
pid=, comm=, exe= to take only those processes' packets) and read pkt.process
(pid, comm; exe() and cgroup() on request). Flows and socket calls of the
namespace as they happen, and an application firewall in the kernel:

    with ipredir.Events() as events:
        events.block(ipredir.block_rule(connect=[("203.0.113.0/24", 443)]))
        for ev in events:
            print(ev.kind, ev.comm, ev.pid, ev.remote_addr, ev.remote_port, ev.blocked)

Both kinds of handle serve asyncio too, with no thread: async with, async for,
await r.recv_async(n) and await r.send_async(data); the loop waits on the
handle's descriptor, and a cancelled receive loses no packet.

The package is typed and checked with mypy --strict (make lint).

The library is loaded from $IPREDIR_LIB if set, else from build/ of the
repository this package sits in, else from the system (libipredir.so.0).
"""
import ctypes
from typing import Callable, Optional

from ._lib import (CALL_EVENT, CALL_IPV6, CALL_LOCAL_ADDR, CALL_LOCAL_PORT, CALL_LOOPBACK,
                   CALL_MATCH, CALL_NO_MATCH, CALL_PID, CALL_PROTOCOL, CALL_REMOTE_ADDR,
                   CALL_REMOTE_PORT, CALL_ZERO, CMP_EQ, CMP_GE, CMP_GT, CMP_LE, CMP_LT, CMP_NE,
                   LAYER_FORWARD, LAYER_IN, LAYER_OUT, LOG_DEBUG, LOG_ERROR, LOG_INFO,
                   LOG_WARN, PKT_CSUM_NOT_READY, PKT_CSUM_NOT_VERIFIED, PKT_DECIDED, PKT_GSO,
                   PKT_HAS_GID, PKT_HAS_PROCESS, PKT_HAS_UID, PKT_IPV6, PKT_KERNEL_TIME,
                   PKT_SET_MARK, PKT_TRUNCATED, LOG_FN, CallTest, lib)
from .errors import Error, last_error
from .events import Event, Events, block_rule
from .process import Process, process_cgroup, process_exe
from .packet import (Packet, Parsed, checksum_fill, checksum_verify, decrement_ttl, parse,
                     set_ttl)
from .redirector import Info, Redirector, RedirectorInfo, Stats, list_redirectors

__all__ = [
    "CallTest", "Error", "Event", "Events", "Info", "Packet", "Parsed", "Process", "Redirector",
    "RedirectorInfo", "Stats",
    "block_rule", "checksum_fill", "checksum_verify", "decrement_ttl", "last_error",
    "list_redirectors", "parse", "process_cgroup", "process_exe", "set_log", "set_ttl",
    "version",
    "CALL_ZERO", "CALL_EVENT", "CALL_PID", "CALL_PROTOCOL", "CALL_IPV6", "CALL_LOCAL_ADDR",
    "CALL_LOCAL_PORT", "CALL_REMOTE_ADDR", "CALL_REMOTE_PORT", "CALL_LOOPBACK", "CALL_MATCH",
    "CALL_NO_MATCH", "CMP_EQ", "CMP_NE", "CMP_LT", "CMP_LE", "CMP_GT", "CMP_GE",
    "LAYER_IN", "LAYER_OUT", "LAYER_FORWARD", "LOG_ERROR", "LOG_WARN", "LOG_INFO", "LOG_DEBUG",
    "PKT_IPV6", "PKT_GSO", "PKT_CSUM_NOT_READY", "PKT_CSUM_NOT_VERIFIED", "PKT_TRUNCATED",
    "PKT_HAS_UID", "PKT_HAS_GID", "PKT_KERNEL_TIME", "PKT_DECIDED", "PKT_SET_MARK",
    "PKT_HAS_PROCESS",
]

# The C callback must live as long as the library may call it.
_log_callback: Optional["ctypes._FuncPointer"] = None


def version() -> str:
    """The library's version string, e.g. "0.3.0"."""
    text: bytes = lib.ipr_version()
    return text.decode()


def set_log(callback: Optional[Callable[[int, str], object]], level: int = LOG_INFO) -> None:
    """Route library messages up to level (LOG_ERROR .. LOG_DEBUG) to
    callback(level, message); None silences the library (the default).
    Warnings include packets the verdict deadline accepted."""
    global _log_callback
    if callback is None:
        _log_callback = LOG_FN(0)  # a NULL function pointer: no callback
    else:
        report: Callable[[int, str], object] = callback
        _log_callback = LOG_FN(lambda lvl, msg, arg: report(lvl, msg.decode(errors="replace")))
    lib.ipr_set_log(_log_callback, None, level)
