# SPDX-License-Identifier: LGPL-2.1-or-later
"""libwindivert as ctypes sees it: loading, WINDIVERT_ADDRESS, and one typed
wrapper per C call, each raising OSError with the Windows error code on failure.

The library is looked for in $PYDIVERT_LIB (or $WINDIVERT_LIB), then in build/
of the repository this package sits in, then on the system (libwindivert.so.2).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import socket
import struct
from errno import EINVAL
from typing import Any, Optional

u8, u16, u32, u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64
i16, i64 = ctypes.c_int16, ctypes.c_int64

# The Windows error codes libwindivert reports (GetLastError()).
ERROR_ACCESS_DENIED = 5
ERROR_INVALID_HANDLE = 6
ERROR_NOT_ENOUGH_MEMORY = 8
ERROR_NOT_SUPPORTED = 50
ERROR_INVALID_PARAMETER = 87
ERROR_INSUFFICIENT_BUFFER = 122
ERROR_NO_DATA = 232
ERROR_IO_PENDING = 997
ERROR_HOST_UNREACHABLE = 1232
PRIORITY_HIGHEST = 30000
PRIORITY_LOWEST = -PRIORITY_HIGHEST

# What each code means here, and what to do about it.
ERROR_TEXT = {
    ERROR_ACCESS_DENIED: "access denied: run as root (CAP_NET_ADMIN and CAP_NET_RAW)",
    ERROR_INVALID_HANDLE: "the handle is not open",
    ERROR_NOT_ENOUGH_MEMORY: "out of memory",
    ERROR_NOT_SUPPORTED: "not supported on Linux (see docs/pydivert.md)",
    ERROR_INVALID_PARAMETER: "invalid parameter: check the filter, layer, priority, flags "
                             "or value against the WinDivert documentation",
    ERROR_INSUFFICIENT_BUFFER: "the packet did not fit: pass a larger bufsize",
    ERROR_NO_DATA: "the handle was shut down and nothing is left",
    ERROR_IO_PENDING: "nothing waits yet",
    ERROR_HOST_UNREACHABLE: "the packet's TTL ran out (an impostor packet looped)",
}


class WinDivertDataNetwork(ctypes.Structure):
    """WINDIVERT_DATA_NETWORK"""
    _fields_ = [("IfIdx", u32), ("SubIfIdx", u32)]


def address_text(words: Any) -> str:
    """An address of FLOW or SOCKET data (four host-order words, the last first;
    IPv4 as ::ffff:a.b.c.d) as text."""
    packed = b"".join(struct.pack("!I", words[i]) for i in (3, 2, 1, 0))
    if packed.startswith(b"\0" * 10 + b"\xff\xff"):
        return socket.inet_ntop(socket.AF_INET, packed[12:])
    return socket.inet_ntop(socket.AF_INET6, packed)


class WinDivertDataFlow(ctypes.Structure):
    """WINDIVERT_DATA_FLOW; the same layout is WINDIVERT_DATA_SOCKET."""
    _fields_ = [
        ("EndpointId", u64), ("ParentEndpointId", u64), ("ProcessId", u32),
        ("LocalAddr", u32 * 4), ("RemoteAddr", u32 * 4), ("LocalPort", u16),
        ("RemotePort", u16), ("Protocol", u8),
    ]

    @property
    def local_addr(self) -> str:
        """LocalAddr as text."""
        return address_text(self.LocalAddr)

    @property
    def remote_addr(self) -> str:
        """RemoteAddr as text."""
        return address_text(self.RemoteAddr)


class WinDivertDataSocket(WinDivertDataFlow):
    """WINDIVERT_DATA_SOCKET"""


class WinDivertDataReflect(ctypes.Structure):
    """WINDIVERT_DATA_REFLECT"""
    _fields_ = [("Timestamp", i64), ("ProcessId", u32), ("Layer", ctypes.c_int),
                ("Flags", u64), ("Priority", i16)]


class WinDivertAddressData(ctypes.Union):
    """The union of WINDIVERT_ADDRESS."""
    _fields_ = [("Network", WinDivertDataNetwork), ("Flow", WinDivertDataFlow),
                ("Socket", WinDivertDataSocket), ("Reflect", WinDivertDataReflect),
                ("Reserved3", u8 * 64)]


class WinDivertAddress(ctypes.Structure):
    """WINDIVERT_ADDRESS: where, when and what a packet or event was."""
    _anonymous_ = ("u",)
    _fields_ = [
        ("Timestamp", i64), ("Layer", u32, 8), ("Event", u32, 8), ("Sniffed", u32, 1),
        ("Outbound", u32, 1), ("Loopback", u32, 1), ("Impostor", u32, 1), ("IPv6", u32, 1),
        ("IPChecksum", u32, 1), ("TCPChecksum", u32, 1), ("UDPChecksum", u32, 1),
        ("Reserved1", u32, 8), ("Reserved2", u32), ("u", WinDivertAddressData),
    ]


# C struct name -> its mirror, for the layout test.
C_STRUCTS = {
    "WINDIVERT_DATA_NETWORK": WinDivertDataNetwork, "WINDIVERT_DATA_FLOW": WinDivertDataFlow,
    "WINDIVERT_DATA_SOCKET": WinDivertDataSocket, "WINDIVERT_DATA_REFLECT": WinDivertDataReflect,
    "WINDIVERT_ADDRESS": WinDivertAddress,
}

HANDLE = ctypes.c_void_p
P = ctypes.POINTER
uint, cstr, ptr, BOOL = ctypes.c_uint, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int

# name: (restype, argtypes)
PROTOTYPES: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "GetLastError": (u32, ()),
    "WinDivertOpen": (HANDLE, (cstr, ctypes.c_int, i16, u64)),
    "WinDivertRecvEx": (BOOL, (HANDLE, ptr, uint, P(uint), u64, P(WinDivertAddress), P(uint),
                               ptr)),
    "WinDivertSendEx": (BOOL, (HANDLE, ptr, uint, P(uint), u64, P(WinDivertAddress), uint, ptr)),
    "WinDivertShutdown": (BOOL, (HANDLE, ctypes.c_int)),
    "WinDivertClose": (BOOL, (HANDLE,)),
    "WinDivertSetParam": (BOOL, (HANDLE, ctypes.c_int, u64)),
    "WinDivertGetParam": (BOOL, (HANDLE, ctypes.c_int, P(u64))),
    "WinDivertGetFd": (ctypes.c_int, (HANDLE,)),
    "WinDivertHelperCalcChecksums": (BOOL, (ptr, uint, P(WinDivertAddress), u64)),
    "WinDivertHelperCompileFilter": (BOOL, (cstr, ctypes.c_int, ctypes.c_char_p, uint,
                                            P(cstr), P(uint))),
    "WinDivertHelperEvalFilter": (BOOL, (cstr, ptr, uint, P(WinDivertAddress))),
    "WinDivertHelperFormatFilter": (BOOL, (cstr, ctypes.c_int, ctypes.c_char_p, uint)),
}

REPO_BUILD = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                           "..", "build"))


def candidates() -> list[str]:
    """Where libwindivert is looked for, in order."""
    for var in ("PYDIVERT_LIB", "WINDIVERT_LIB"):
        if os.environ.get(var):
            return [os.environ[var]]
    repo = os.path.join(REPO_BUILD, "libwindivert.so.2")
    found = [repo] if os.path.exists(repo) else []
    return found + [ctypes.util.find_library("windivert") or "libwindivert.so.2"]


def open_library(path: str) -> ctypes.CDLL:
    """Load path; libipredir beside it first, so that a build tree needs no install."""
    beside = os.path.join(os.path.dirname(path), "libipredir.so.0")
    if os.path.dirname(path) and os.path.exists(beside):
        ctypes.CDLL(beside, mode=ctypes.RTLD_GLOBAL)
    return ctypes.CDLL(path, use_errno=True)


def load() -> ctypes.CDLL:
    """Load libwindivert and give every function used its prototype."""
    tried = []
    for path in candidates():
        try:
            lib = open_library(path)
            break
        except OSError as err:
            tried.append(str(err))
    else:
        raise ImportError("libwindivert not found (%s): build it with make, install it "
                          "(make install or the libwindivert2 package), or set PYDIVERT_LIB "
                          "to the path of libwindivert.so.2" % "; ".join(tried))
    for name, (restype, argtypes) in PROTOTYPES.items():
        func = getattr(lib, name)
        func.restype, func.argtypes = restype, argtypes
    return lib


lib = load()


def error(call: str) -> OSError:
    """The OSError for a failed call: errno as libwindivert set it, .winerror the code."""
    return error_of(call, int(lib.GetLastError()), ctypes.get_errno())


def error_of(call: str, code: int, errno: int = EINVAL) -> OSError:
    """The OSError for call failing with Windows error code (and errno)."""
    err = OSError(errno or None, "%s failed: %s (Windows error %d)" % (
        call, ERROR_TEXT.get(code, "error"), code))
    err.winerror = code  # type: ignore[attr-defined]  # as ctypes.WinError() sets it on Windows
    return err


def checked(call: str, ok: Any) -> None:
    """Raise error(call) unless ok."""
    if not ok:
        raise error(call)


def c_buffer(data: Any) -> Any:
    """A ctypes view of a writable buffer (a bytearray or a memoryview of one), no copy."""
    view = memoryview(data)
    if view.readonly:
        raise TypeError("a writable buffer (bytearray) is needed, not %s" % type(data).__name__)
    return (ctypes.c_char * view.nbytes).from_buffer(view)


def open_handle(filter: bytes, layer: int, priority: int, flags: int) -> int:
    if not PRIORITY_LOWEST <= priority <= PRIORITY_HIGHEST:  # INT16 in C: would wrap
        raise error_of("WinDivertOpen", ERROR_INVALID_PARAMETER)
    handle = lib.WinDivertOpen(filter, layer, priority, flags)
    if not handle or handle == ctypes.c_void_p(-1).value:
        raise error("WinDivertOpen")
    return int(handle)


def recv_ex(handle: int, buf: Any, addrs: Any, flags: int) -> tuple[int, int]:
    """Packets into buf, addresses into addrs (an array): (bytes, addresses) received."""
    recv_len, addr_len = ctypes.c_uint(0), ctypes.c_uint(ctypes.sizeof(addrs))
    checked("WinDivertRecvEx", lib.WinDivertRecvEx(handle, buf, len(buf), ctypes.byref(recv_len),
                                                   flags, addrs, ctypes.byref(addr_len), None))
    return recv_len.value, addr_len.value // ctypes.sizeof(WinDivertAddress)


def send_ex(handle: int, buf: Any, addrs: Any) -> int:
    """Send the packets packed in buf, one address of addrs each: the bytes sent."""
    send_len = ctypes.c_uint(0)
    checked("WinDivertSendEx", lib.WinDivertSendEx(handle, buf, len(buf), ctypes.byref(send_len),
                                                   0, addrs, ctypes.sizeof(addrs), None))
    return send_len.value


def shutdown(handle: int, how: int) -> None:
    checked("WinDivertShutdown", lib.WinDivertShutdown(handle, how))


def close(handle: int) -> None:
    checked("WinDivertClose", lib.WinDivertClose(handle))


def set_param(handle: int, param: int, value: int) -> None:
    checked("WinDivertSetParam", lib.WinDivertSetParam(handle, param, value))


def get_param(handle: int, param: int) -> int:
    value = ctypes.c_uint64(0)
    checked("WinDivertGetParam", lib.WinDivertGetParam(handle, param, ctypes.byref(value)))
    return value.value


def get_fd(handle: int) -> int:
    fd = int(lib.WinDivertGetFd(handle))
    if fd < 0:
        raise error("WinDivertGetFd")
    return fd


def calc_checksums(buf: Any, flags: int, addr: Optional[WinDivertAddress] = None) -> bool:
    """Checksums into buf; addr, if given, gets the flags of those computed."""
    return bool(lib.WinDivertHelperCalcChecksums(buf, len(buf), addr, flags))


def compile_filter(filter: bytes, layer: int) -> tuple[bool, int, str]:
    """(valid, position of the error, reason) of a filter for layer."""
    msg, pos = ctypes.c_char_p(), ctypes.c_uint(0)
    ok = bool(lib.WinDivertHelperCompileFilter(filter, layer, None, 0, ctypes.byref(msg),
                                               ctypes.byref(pos)))
    return ok, pos.value, (msg.value or b"").decode()


def eval_filter(filter: bytes, buf: Any, length: int, addr: WinDivertAddress) -> bool:
    return bool(lib.WinDivertHelperEvalFilter(filter, buf, length, ctypes.byref(addr)))


def format_filter(filter: bytes, layer: int) -> str:
    out = ctypes.create_string_buffer(4096)
    checked("WinDivertHelperFormatFilter",
            lib.WinDivertHelperFormatFilter(filter, layer, out, len(out)))
    return out.value.decode()

