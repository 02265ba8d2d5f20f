#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""portmap - reach a server's port TO by connecting to port FROM: the client's
packets to FROM leave for TO, the server's replies from TO come back from FROM.

Shows: changing header fields of a packet (tcp ports) and sending it on; the
checksums are filled in as it leaves. Run it on the client's side.

Run:   sudo python3 python/examples/pydivert/portmap.py FROM TO
e.g.   sudo python3 python/examples/pydivert/portmap.py 1234 80
       then browse http://SERVER:1234/
"""
import sys

from _common import end_on_sigterm, say
import pydivert  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: portmap.py FROM TO")
    port_from, port_to = int(sys.argv[1]), int(sys.argv[2])
    end_on_sigterm()
    count = 0
    flt = "tcp.DstPort == %d or tcp.SrcPort == %d" % (port_from, port_to)
    try:
        with pydivert.WinDivert(flt) as w:
            say("portmap: ready, %d -> %d" % (port_from, port_to))
            try:
                for packet in w:
                    if packet.dst_port == port_from:
                        packet.dst_port = port_to  # to the server
                    if packet.src_port == port_to:
                        packet.src_port = port_from  # its reply
                    w.send(packet)
                    count += 1
            except KeyboardInterrupt:
                pass
    except OSError as err:
        sys.exit("portmap: %s" % err.strerror)
    say("portmap: %d packets" % count)


if __name__ == "__main__":
    main()
