# SPDX-License-Identifier: LGPL-2.1-or-later
"""The C library as ctypes sees it: loading, the structs of ipredir.h, prototypes.

Every struct here mirrors include/ipredir.h field for field, with the C field
names; tests/test_layout.py compiles a C program that prints the C offsets and
sizes and compares them, so a header change cannot silently break the binding.
"""
import ctypes
import ctypes.util
import os
from typing import List, TypeAlias

# enum ipr_layer
LAYER_IN = 1 << 0
LAYER_OUT = 1 << 1
LAYER_FORWARD = 1 << 2

# enum ipr_open_flags
OPEN_FAIL_CLOSED = 1 << 0
OPEN_NO_GSO = 1 << 1
OPEN_QUEUE_COMPAT = 1 << 2
OPEN_QUEUE_NATIVE = 1 << 3
OPEN_USER_FILTER = 1 << 4
OPEN_MONITOR = 1 << 5
OPEN_BYPASS = 1 << 6
OPEN_PROCESS = 1 << 11

# enum ipr_packet_flags
PKT_IPV6 = 1 << 0
PKT_GSO = 1 << 1
PKT_CSUM_NOT_READY = 1 << 2
PKT_CSUM_NOT_VERIFIED = 1 << 3
PKT_TRUNCATED = 1 << 4
PKT_HAS_UID = 1 << 5
PKT_HAS_GID = 1 << 6
PKT_KERNEL_TIME = 1 << 7
PKT_DECIDED = 1 << 8
PKT_SET_MARK = 1 << 9
PKT_HAS_PROCESS = 1 << 11

# enum ipr_process_flags
PROCESS_EXITED = 1 << 0
PROCESS_LISTENER = 1 << 1
PROCESS_FROM_PROC = 1 << 2
COMM_MAX = 16

# enum ipr_events_flags, enum ipr_event_kind
EVENTS_FLOW = 1 << 0
EVENTS_SOCKET = 1 << 1
EVENT_FLOW_ESTABLISHED = 1
EVENT_FLOW_DELETED = 2
EVENT_SOCKET_BIND = 3
EVENT_SOCKET_CONNECT = 4
EVENT_SOCKET_LISTEN = 5
EVENT_SOCKET_ACCEPT = 6
EVENT_SOCKET_CLOSE = 7

# enum ipr_call_field, enum ipr_cmp, the targets of struct ipr_call_test
(CALL_ZERO, CALL_EVENT, CALL_PID, CALL_PROTOCOL, CALL_IPV6, CALL_LOCAL_ADDR, CALL_LOCAL_PORT,
 CALL_REMOTE_ADDR, CALL_REMOTE_PORT, CALL_LOOPBACK) = range(10)
CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE = range(6)
CALL_TESTS = 64
CALL_MATCH = 0xFFFE
CALL_NO_MATCH = 0xFFFF

# enum ipr_recv_flags, enum ipr_send_flags, enum ipr_verdict, enum ipr_log_level
RECV_NONBLOCK = 1 << 0
SEND_NONBLOCK = 1 << 8
ACCEPT = 1
DROP = 0
LOG_ERROR = 0
LOG_WARN = 1
LOG_INFO = 2
LOG_DEBUG = 3

SNAPLEN_MAX = 65535
PRIORITY_MAX = 30000
ADDR_STRLEN = 46
BATCH_MAX = 1024  # packets one ipr_recv_batch() call returns at most (README)

# Constants checked against the header (each is IPR_<name> in C).
C_CONSTANTS = (
    "LAYER_IN", "LAYER_OUT", "LAYER_FORWARD",
    "OPEN_FAIL_CLOSED", "OPEN_NO_GSO", "OPEN_QUEUE_COMPAT", "OPEN_QUEUE_NATIVE",
    "OPEN_USER_FILTER", "OPEN_MONITOR", "OPEN_BYPASS", "OPEN_PROCESS",
    "PKT_IPV6", "PKT_GSO", "PKT_CSUM_NOT_READY", "PKT_CSUM_NOT_VERIFIED", "PKT_TRUNCATED",
    "PKT_HAS_UID", "PKT_HAS_GID", "PKT_KERNEL_TIME", "PKT_DECIDED", "PKT_SET_MARK",
    "PKT_HAS_PROCESS", "PROCESS_EXITED", "PROCESS_LISTENER", "PROCESS_FROM_PROC", "COMM_MAX",
    "EVENTS_FLOW", "EVENTS_SOCKET", "EVENT_FLOW_ESTABLISHED", "EVENT_FLOW_DELETED",
    "EVENT_SOCKET_BIND", "EVENT_SOCKET_CONNECT", "EVENT_SOCKET_LISTEN", "EVENT_SOCKET_ACCEPT",
    "EVENT_SOCKET_CLOSE", "CALL_ZERO", "CALL_EVENT", "CALL_PID", "CALL_PROTOCOL", "CALL_IPV6",
    "CALL_LOCAL_ADDR", "CALL_LOCAL_PORT", "CALL_REMOTE_ADDR", "CALL_REMOTE_PORT",
    "CALL_LOOPBACK", "CMP_EQ", "CMP_NE", "CMP_LT", "CMP_LE", "CMP_GT", "CMP_GE", "CALL_TESTS",
    "CALL_MATCH", "CALL_NO_MATCH",
    "RECV_NONBLOCK", "SEND_NONBLOCK", "ACCEPT", "DROP", "LOG_ERROR", "LOG_WARN", "LOG_INFO", "LOG_DEBUG",
    "SNAPLEN_MAX", "PRIORITY_MAX", "ADDR_STRLEN",
)

u8, u16, u32, u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64
uint, cstr, ptr = ctypes.c_uint, ctypes.c_char_p, ctypes.c_void_p


class Options(ctypes.Structure):
    """struct ipr_options"""
    _fields_ = [
        ("size", ctypes.c_size_t), ("filter", cstr), ("layers", uint),
        ("in_interface", cstr), ("out_interface", cstr), ("interface", cstr),
        ("priority", ctypes.c_int), ("queue", uint), ("snaplen", uint),
        ("queue_maxlen", uint), ("flags", uint), ("queues", uint),
        ("bypass_mark", u32), ("bypass_mask", u32), ("inject_mark", u32),
        ("inject_mask", u32), ("cgroup", cstr), ("deadline_ms", uint),
        ("busy_poll_us", uint), ("coalesce_us", uint), ("describe", cstr),
        ("pid", u32), ("comm", cstr), ("exe", cstr),
    ]


class Info(ctypes.Structure):
    """struct ipr_info"""
    _fields_ = [
        ("table", ctypes.c_char * 32), ("queue", uint), ("snaplen", uint),
        ("queue_kind", cstr), ("filter_kind", cstr), ("filter_insns", uint),
        ("kernel_insns", uint),
    ]


class RawPacket(ctypes.Structure):
    """struct ipr_packet"""
    _fields_ = [
        ("data", ptr), ("caplen", u32), ("len", u32), ("id", u32), ("flags", u32),
        ("queue", u16), ("layer", u8), ("hook", u8), ("ifindex_in", u32),
        ("ifindex_out", u32), ("mark", u32), ("uid", u32), ("gid", u32),
        ("ts_sec", ctypes.c_int64), ("ts_nsec", u32), ("new_mark", u32), ("priv", u32),
        ("pid", u32), ("reserved", u32 * 2),
    ]


class Stats(ctypes.Structure):
    """struct ipr_stats"""
    _fields_ = [(name, u64) for name in (
        "received", "accepted", "modified", "dropped", "filtered", "bytes", "failopen",
        "queue_dropped", "user_dropped", "waiting", "verdict_errors", "expired", "bypassed")]


class Parsed(ctypes.Structure):
    """struct ipr_parsed"""
    _fields_ = [
        ("l3", ptr), ("l4", ptr), ("payload", ptr), ("l3_len", u32), ("ip_len", u32),
        ("l3_hdr_len", u16), ("l4_hdr_len", u16), ("l4_len", u32), ("payload_len", u32),
        ("version", u8), ("proto", u8), ("ttl", u8), ("fragment", u8), ("truncated", u8),
        ("sport", u16), ("dport", u16),
    ]


class Addr(ctypes.Structure):
    """struct ipr_addr"""
    _fields_ = [("family", u8), ("bytes", u8 * 16)]


class RedirectorEntry(ctypes.Structure):
    """struct ipr_redirector"""
    _fields_ = [
        ("table", ctypes.c_char * 32), ("pid", ctypes.c_int), ("layers", ctypes.c_char * 32),
        ("queue", uint), ("queues", uint), ("monitor", ctypes.c_int), ("owned", ctypes.c_int),
        ("filter", ctypes.c_char * 128),
    ]


class RawProcess(ctypes.Structure):
    """struct ipr_process"""
    _fields_ = [("pid", u32), ("flags", u32), ("cgroup_id", u64),
                ("comm", ctypes.c_char * COMM_MAX)]


class RawEvent(ctypes.Structure):
    """struct ipr_event"""
    _fields_ = [
        ("ts_ns", ctypes.c_int64), ("endpoint", u64), ("parent_endpoint", u64), ("kind", u32),
        ("pid", u32), ("comm", ctypes.c_char * COMM_MAX), ("local", Addr), ("remote", Addr),
        ("local_port", u16), ("remote_port", u16), ("protocol", u8), ("outbound", u8),
        ("loopback", u8), ("blocked", u8), ("reserved", u8 * 4),
    ]


class CallTest(ctypes.Structure):
    """struct ipr_call_test"""
    _fields_ = [("field", u8), ("cmp", u8), ("yes", u16), ("no", u16), ("value", u32 * 4)]


# C struct name -> its mirror, for the layout test.
C_STRUCTS = {
    "ipr_options": Options, "ipr_info": Info, "ipr_packet": RawPacket, "ipr_stats": Stats,
    "ipr_parsed": Parsed, "ipr_addr": Addr, "ipr_redirector": RedirectorEntry,
    "ipr_process": RawProcess, "ipr_event": RawEvent, "ipr_call_test": CallTest,
}

LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, cstr, ptr)

handle: TypeAlias = ctypes.c_void_p  # struct ipr_handle *, struct ipr_events *
P = ctypes.POINTER
size_t = ctypes.c_size_t
cint = ctypes.c_int

# name: (restype, argtypes)
PROTOTYPES = {
    "ipr_version": (cstr, ()),
    "ipr_last_error": (cstr, ()),
    "ipr_set_log": (None, (LOG_FN, ptr, cint)),
    "ipr_open": (cint, (P(Options), P(handle))),
    "ipr_close": (cint, (handle,)),
    "ipr_fd": (cint, (handle,)),
    "ipr_get_info": (cint, (handle, P(Info))),
    "ipr_slot_size": (size_t, (handle,)),
    "ipr_recv_batch": (cint, (handle, ptr, size_t, P(RawPacket), uint, uint)),
    "ipr_accept": (cint, (handle, P(RawPacket))),
    "ipr_accept_modified": (cint, (handle, P(RawPacket), ptr, size_t)),
    "ipr_drop": (cint, (handle, P(RawPacket))),
    "ipr_accept_bypass": (cint, (handle, P(RawPacket))),
    "ipr_flush": (cint, (handle,)),
    "ipr_send": (cint, (handle, ptr, size_t, uint)),
    "ipr_get_stats": (cint, (handle, P(Stats), size_t)),
    "ipr_parse": (cint, (ptr, size_t, P(Parsed))),
    "ipr_checksum_fill": (cint, (ptr, size_t)),
    "ipr_checksum_verify": (cint, (ptr, size_t)),
    "ipr_decrement_ttl": (cint, (ptr, size_t)),
    "ipr_set_ttl": (cint, (ptr, size_t, u8)),
    "ipr_addr_parse": (cint, (cstr, P(Addr))),
    "ipr_addr_format": (cint, (P(Addr), ctypes.c_char_p, size_t)),
    "ipr_packet_addrs": (cint, (P(Parsed), P(Addr), P(Addr))),
    "ipr_list_redirectors": (cint, (P(RedirectorEntry), uint)),
    "ipr_packet_process": (cint, (handle, P(RawPacket), P(RawProcess), size_t)),
    "ipr_process_limits": (cstr, (handle,)),
    "ipr_process_exe": (cint, (u32, ctypes.c_char_p, size_t)),
    "ipr_process_cgroup": (cint, (u32, ctypes.c_char_p, size_t)),
    "ipr_events_open": (cint, (uint, P(ptr))),
    "ipr_events_fd": (cint, (ptr,)),
    "ipr_events_recv": (cint, (ptr, P(RawEvent), uint, uint)),
    "ipr_events_lost": (u64, (ptr,)),
    "ipr_events_close": (None, (ptr,)),
    "ipr_events_block": (cint, (ptr, P(CallTest), uint)),
}

REPO_LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build",
                        "libipredir.so.0")


def candidates() -> List[str]:
    """Where the library is looked for, in order: $IPREDIR_LIB, the repository's
    build tree, then the system (ctypes.util.find_library, libipredir.so.0)."""
    if os.environ.get("IPREDIR_LIB"):
        return [os.environ["IPREDIR_LIB"]]
    found = [os.path.normpath(REPO_LIB)] if os.path.exists(REPO_LIB) else []
    return found + [ctypes.util.find_library("ipredir") or "libipredir.so.0"]


def load() -> ctypes.CDLL:
    """Load libipredir and give every function used its prototype."""
    tried = []
    for path in candidates():
        try:
            lib = ctypes.CDLL(path, use_errno=True)
            break
        except OSError as err:
            tried.append(str(err))
    else:
        raise ImportError("libipredir not found (%s); build it with make, or set IPREDIR_LIB "
                          "to the path of libipredir.so.0" % "; ".join(tried))
    for name, (restype, argtypes) in PROTOTYPES.items():
        func = getattr(lib, name)
        func.restype, func.argtypes = restype, argtypes
    return lib


lib = load()
