# SPDX-License-Identifier: LGPL-2.1-or-later
"""Which process a packet or an event belongs to: Process, and the executable
and cgroup of a process ID."""
import ctypes
import errno
import os
from typing import Callable, Optional

from . import _lib
from ._lib import lib
from .errors import Error

PATH_MAX = 4096
# ipr_process_exe and ipr_process_cgroup: (pid, buffer, size) -> 0 or -errno
PathCall = Callable[[int, "ctypes.Array[ctypes.c_char]", int], int]


def _read_path(call: PathCall, pid: int) -> Optional[str]:
    """call(pid, buf, size) into a string; None when the process is gone."""
    buf = ctypes.create_string_buffer(PATH_MAX)
    rc = call(pid, buf, len(buf))
    if rc in (-errno.ESRCH, -errno.ENOENT):
        return None
    if rc < 0:
        raise Error(-rc, "process %d: %s" % (pid, os.strerror(-rc)))
    return buf.value.decode(errors="replace")


def process_exe(pid: int) -> Optional[str]:
    """The executable process pid runs (/proc/PID/exe), None once it has exited."""
    return _read_path(lib.ipr_process_exe, pid)


def process_cgroup(pid: int) -> Optional[str]:
    """The cgroup v2 path of process pid, None once it has exited."""
    return _read_path(lib.ipr_process_cgroup, pid)


class Process:
    """A process as the library names it: pid (in the initial pid namespace),
    comm (its command name), and for a packet's process flags and cgroup_id.
    exe() and cgroup() look the rest up on request, while it lives."""
    __slots__ = ("pid", "comm", "flags", "cgroup_id")

    def __init__(self, pid: int, comm: str, flags: int = 0, cgroup_id: int = 0) -> None:
        self.pid = pid
        self.comm = comm
        self.flags = flags
        self.cgroup_id = cgroup_id

    @classmethod
    def from_raw(cls, raw: _lib.RawProcess) -> "Process":
        return cls(raw.pid, raw.comm.decode(errors="replace"), raw.flags, raw.cgroup_id)

    @property
    def exited(self) -> bool:
        """True if it had exited when the packet came (its socket lived on)."""
        return bool(self.flags & _lib.PROCESS_EXITED)

    @property
    def listener(self) -> bool:
        """True if named by a listening socket (a server's connection)."""
        return bool(self.flags & _lib.PROCESS_LISTENER)

    @property
    def from_proc(self) -> bool:
        """True if found through /proc (a socket older than the handle, or no BPF)."""
        return bool(self.flags & _lib.PROCESS_FROM_PROC)

    def exe(self) -> Optional[str]:
        """Its executable path, None once it has exited."""
        return process_exe(self.pid)

    def cgroup(self) -> Optional[str]:
        """Its cgroup v2 path, None once it has exited."""
        return process_cgroup(self.pid)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Process) and
                (self.pid, self.comm, self.flags, self.cgroup_id) ==
                (other.pid, other.comm, other.flags, other.cgroup_id))

    def __hash__(self) -> int:
        return hash((self.pid, self.comm))

    def __repr__(self) -> str:
        return "<Process %s[%d]>" % (self.comm, self.pid)
