# SPDX-License-Identifier: GPL-2.0-or-later
"""What the pydivert examples share: finding the package, ending on SIGTERM."""
import os
import signal
import sys

# The package of this repository, or an installed one.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def end_on_sigterm():
    """Make SIGTERM end the program as Ctrl-C does (KeyboardInterrupt)."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def say(line):
    print(line, flush=True)
