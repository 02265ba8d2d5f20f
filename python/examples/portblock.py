#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""portblock - drop every TCP and UDP packet to or from the given ports, and
say so: one line per dropped packet, a summary at the end.

Shows: a kernel filter built from the arguments (only matching packets reach
Python), iterating over a Redirector, Packet's parsed headers, drop(), the
counters, and ending cleanly on Ctrl-C or SIGTERM (the with block removes
the rules; packets still held are accepted by the library).

Run:   sudo python3 python/examples/portblock.py [-l in,out] PORT...
e.g.   sudo python3 python/examples/portblock.py 23 5900
"""
import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ipredir  # noqa: E402  (the package of this repository, or an installed one)


def port_filter(ports):
    """pcap filter for TCP and UDP packets with one of the ports at either end."""
    return " or ".join("tcp port %d or udp port %d" % (p, p) for p in ports)


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0][len("portblock - "):])
    parser.add_argument("-l", "--layers", default="in,out",
                        help="in, out, forward, comma-separated (default in,out)")
    parser.add_argument("ports", metavar="PORT", type=int, nargs="+")
    args = parser.parse_args()
    if not all(0 < p < 65536 for p in args.ports):
        parser.error("ports go from 1 to 65535")
    return args


def main():
    args = arguments()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # ends the loop as Ctrl-C does
    try:
        with ipredir.Redirector(port_filter(args.ports), layers=args.layers) as r:
            print("portblock: ready, blocking %s" % " ".join(map(str, args.ports)), flush=True)
            try:
                for pkt in r:
                    r.drop(pkt)
                    print("drop", pkt, flush=True)  # <Packet id=1 in v4 udp A:P -> B:P len=N>
            except KeyboardInterrupt:
                pass
            print("portblock: %d dropped" % r.stats().dropped)
    except ipredir.Error as err:
        sys.exit("portblock: %s" % err.strerror)


if __name__ == "__main__":
    main()
