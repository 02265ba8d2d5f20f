# SPDX-License-Identifier: LGPL-2.1-or-later
"""The small helpers pydivert keeps in pydivert.util, which scripts and test suites
written for pydivert import (fromhex() above all). Python 3 only."""
from __future__ import annotations

from functools import cached_property
from typing import Union

__all__ = ["cached_property", "fromhex", "indexbyte", "PY2", "PY34"]

PY2 = False  # kept for scripts that still test them
PY34 = False


def fromhex(text: str) -> bytes:
    """The bytes a hex string spells (whitespace between pairs allowed)."""
    return bytes.fromhex(text)


def indexbyte(value: Union[int, bytes]) -> int:
    """A byte of a bytes object as an int: b"A"[0] is already one on Python 3."""
    if isinstance(value, int):
        return value
    return value[0]
