#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""passthru - the smallest complete redirector in Python: every IP packet
matching FILTER (default: all) is held by the kernel, handed to this program
and let go again unchanged.

Shows: opening a Redirector with options, iterating over packets in batches,
accept(), and ending cleanly on Ctrl-C or SIGTERM with the counters.
python/bench.sh measures it against no redirector at all.

Run:   sudo python3 python/examples/passthru.py [-b BATCH] [-l LAYERS] [--fail-closed] [FILTER]
It prints how many packets went through when it ends.
"""
import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ipredir  # noqa: E402  (the package of this repository, or an installed one)


def arguments():
    parser = argparse.ArgumentParser(description="let every matching packet through")
    parser.add_argument("-b", "--batch", type=int, default=64,
                        help="packets per receive (default 64)")
    parser.add_argument("-l", "--layers", default="in,out",
                        help="in, out, forward, comma-separated (default in,out)")
    parser.add_argument("--fail-closed", action="store_true",
                        help="drop what the queue cannot hold instead of passing it")
    parser.add_argument("filter", nargs="?", help="pcap expression (default: every packet)")
    return parser.parse_args()


def main():
    args = arguments()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # ends the loop as Ctrl-C does
    try:
        with ipredir.Redirector(args.filter, layers=args.layers, batch=args.batch,
                                fail_closed=args.fail_closed) as r:
            print("passthru: ready", flush=True)
            try:
                for pkt in r:
                    r.accept(pkt)
            except KeyboardInterrupt:
                pass
            print("passthru: %d packets" % r.stats().received)
    except ipredir.Error as err:
        sys.exit("passthru: %s" % err.strerror)


if __name__ == "__main__":
    main()
