#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""firewall - drop TCP and UDP packets to the given ports: a dropped packet is
one received and never sent.

Shows: a filter built from arguments (only matching packets leave the
kernel), dropping by not calling send(), and that a handle's packets go on
again once it closes.

Run:   sudo python3 python/examples/pydivert/firewall.py PORT...
e.g.   sudo python3 python/examples/pydivert/firewall.py 23 5900
"""
import sys

from _common import end_on_sigterm, say
import pydivert  # noqa: E402


def port_filter(ports):
    """A WinDivert filter for TCP and UDP packets to any of ports."""
    return " or ".join("tcp.DstPort == %d or udp.DstPort == %d" % (p, p) for p in ports)


def main():
    ports = [int(arg) for arg in sys.argv[1:]]
    if not ports or not all(0 < p < 65536 for p in ports):
        sys.exit("usage: firewall.py PORT... (ports from 1 to 65535)")
    end_on_sigterm()
    dropped = 0
    try:
        with pydivert.WinDivert(port_filter(ports)) as w:
            say("firewall: ready, dropping %s" % " ".join(map(str, ports)))
            try:
                for packet in w:
                    dropped += 1
                    say("drop %s:%s -> %s:%s" % (packet.src_addr, packet.src_port,
                                                 packet.dst_addr, packet.dst_port))
            except KeyboardInterrupt:
                pass
    except OSError as err:
        sys.exit("firewall: %s" % err.strerror)
    say("firewall: %d dropped" % dropped)


if __name__ == "__main__":
    main()
