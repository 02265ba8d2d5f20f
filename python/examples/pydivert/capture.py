#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""capture - take the packets a WinDivert filter matches, print each, send it on.

Shows: WinDivert in a with block, iterating over it, a Packet's fields, and
send() re-injecting the packet where it was taken (unchanged, it goes on as if
never held). Loopback packets (127.0.0.1, ::1) come once, outbound, with
is_loopback set.

Run:   sudo python3 python/examples/pydivert/capture.py [FILTER]
e.g.   sudo python3 python/examples/pydivert/capture.py "udp.DstPort == 53"
"""
import sys

from _common import end_on_sigterm, say
import pydivert  # noqa: E402


def describe(packet):
    where = "loopback" if packet.is_loopback else "if=%d" % packet.interface[0]
    way = "out" if packet.is_outbound else "in"
    ends = "%s:%s -> %s:%s" % (packet.src_addr, packet.src_port, packet.dst_addr,
                               packet.dst_port)
    return "%s %s %s len=%d" % (way, where, ends, len(packet.raw))


def main():
    end_on_sigterm()
    count = 0
    try:
        with pydivert.WinDivert(sys.argv[1] if len(sys.argv) > 1 else "true") as w:
            say("capture: ready, %r" % w)
            try:
                for packet in w:
                    say(describe(packet))
                    w.send(packet)
                    count += 1
            except KeyboardInterrupt:
                pass
    except OSError as err:
        sys.exit("capture: %s" % err.strerror)
    say("capture: %d packets" % count)


if __name__ == "__main__":
    main()
