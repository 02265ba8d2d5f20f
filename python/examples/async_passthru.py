#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""async_passthru - passthru.py under asyncio: every IP packet matching FILTER
(default: all) is held by the kernel, handed to a coroutine and let go again
unchanged, while another coroutine of the same loop reports every few seconds.

Shows: async with and async for over a Redirector (the loop waits on its
descriptor, no thread), other work on the same loop, and stopping on Ctrl-C or
SIGTERM by cancelling the coroutine: a cancelled receive loses no packet, and
the end of the async with block accepts whatever is still held.

Run:   sudo python3 python/examples/async_passthru.py [-b BATCH] [-l LAYERS] [-r SECONDS] [FILTER]
It prints how many packets went through when it ends.
"""
import argparse
import asyncio
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ipredir  # noqa: E402  (the package of this repository, or an installed one)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="let every matching packet through")
    parser.add_argument("-b", "--batch", type=int, default=64,
                        help="packets per receive (default 64)")
    parser.add_argument("-l", "--layers", default="in,out",
                        help="in, out, forward, comma-separated (default in,out)")
    parser.add_argument("-r", "--report", type=float, default=0, metavar="SECONDS",
                        help="print the count every SECONDS (default: only at the end)")
    parser.add_argument("filter", nargs="?", help="pcap expression (default: every packet)")
    return parser.parse_args()


async def pass_all(r: ipredir.Redirector) -> None:
    async for pkt in r:
        r.accept(pkt)


async def report(r: ipredir.Redirector, seconds: float) -> None:
    while seconds > 0:
        await asyncio.sleep(seconds)
        print("async_passthru: %d packets so far" % r.stats().received, flush=True)


async def run(args: argparse.Namespace) -> None:
    async with ipredir.Redirector(args.filter, layers=args.layers, batch=args.batch) as r:
        passing = asyncio.create_task(pass_all(r))
        reporting = asyncio.create_task(report(r, args.report))
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, passing.cancel)
        print("async_passthru: ready", flush=True)
        try:
            await passing  # until a signal cancels it, or the handle fails (Error)
        except asyncio.CancelledError:
            pass
        finally:
            reporting.cancel()
        print("async_passthru: %d packets" % r.stats().received)


def main() -> None:
    args = arguments()
    try:
        asyncio.run(run(args))
    except ipredir.Error as err:
        sys.exit("async_passthru: %s" % err.strerror)


if __name__ == "__main__":
    main()
