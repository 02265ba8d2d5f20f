#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""redact - replace a word in the UDP datagrams to a port with "[redacted]",
changing their length.

Shows: setting Packet.payload to bytes of another length (raw grows or
shrinks; the IP total length and the UDP length follow) and send()
recomputing the checksums. UDP only: a TCP payload of another length would
need every later sequence and acknowledgement number of the flow changed.

Run:   sudo python3 python/examples/pydivert/redact.py PORT WORD
e.g.   sudo python3 python/examples/pydivert/redact.py 514 password
"""
import sys

from _common import end_on_sigterm, say
import pydivert  # noqa: E402

MARK = b"[redacted]"


def main():
    if len(sys.argv) != 3 or not sys.argv[1].isdigit():
        sys.exit("usage: redact.py PORT WORD")
    port, word = int(sys.argv[1]), sys.argv[2].encode()
    end_on_sigterm()
    changed = 0
    try:
        with pydivert.WinDivert("udp.DstPort == %d and udp.PayloadLength > 0" % port) as w:
            say("redact: ready, port %d" % port)
            try:
                for packet in w:
                    payload = packet.payload
                    if payload is not None and word in payload:
                        packet.payload = payload.replace(word, MARK)
                        changed += 1
                    w.send(packet)
            except KeyboardInterrupt:
                pass
    except OSError as err:
        sys.exit("redact: %s" % err.strerror)
    say("redact: %d changed" % changed)


if __name__ == "__main__":
    main()
