#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The pydivert passthru of bench/run.sh (configuration pydpass): every packet is
received and sent on through the pydivert package, as its README's loop does.
SIGTERM ends it cleanly (the handle closes, what it held goes on).
"""
import signal

import pydivert


def stop(_signum, _frame):
    raise SystemExit(0)


signal.signal(signal.SIGTERM, stop)
with pydivert.WinDivert("true") as w:
    for packet in w:
        w.send(packet)
