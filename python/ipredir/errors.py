# SPDX-License-Identifier: LGPL-2.1-or-later
"""ipredir.Error and the one place that turns a -errno return into it."""
import os
from typing import Optional

from ._lib import lib


class Error(OSError):
    """A failed libipredir call: errno is set, strerror is the library's message.

    str(err) reads e.g. "[Errno 22] filter "tcp port nonsense": ..." and the
    message is the one ipr_last_error() gave for the call (or, for the pure
    packet helpers, which keep no message, one that names what was wrong).
    """

    def __init__(self, errno: int, message: Optional[str] = None) -> None:
        super().__init__(errno, message or os.strerror(errno))


def last_error() -> str:
    """ipr_last_error(): why the last failed call of this thread failed."""
    text: bytes = lib.ipr_last_error()
    return text.decode(errors="replace")


def check(rc: int, message: Optional[str] = None) -> int:
    """Return rc if it is not negative; else raise Error(-rc) with message, or
    with the library's last error when no message is given."""
    if rc >= 0:
        return rc
    if message is None:
        message = last_error()
    else:
        message = "%s: %s" % (message, os.strerror(-rc))
    raise Error(-rc, message)
