#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""async_count - count the packets a filter matches with asyncio, passing them
on, while another task reports the count every second.

Shows: async with and async for over a WinDivert handle, send_async(), and
that waiting for packets leaves the event loop free (the handle's descriptor
is watched by the loop; no thread waits).

Run:   sudo python3 python/examples/pydivert/async_count.py [FILTER]
e.g.   sudo python3 python/examples/pydivert/async_count.py icmp
"""
import asyncio
import signal
import sys

from _common import say
import pydivert  # noqa: E402


async def report(counts):
    while True:
        await asyncio.sleep(1)
        say("tick %d" % counts["packets"])


async def count(filter, counts):
    async with pydivert.WinDivert(filter) as w:
        say("async_count: ready, %r" % w)
        async for packet in w:
            counts["packets"] += 1
            await w.send_async(packet)


async def main(filter):
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    loop.add_signal_handler(signal.SIGTERM, main_task.cancel)  # a clean end
    counts = {"packets": 0}
    ticker = asyncio.create_task(report(counts))
    try:
        await count(filter, counts)
    except asyncio.CancelledError:
        pass
    finally:
        ticker.cancel()
        say("async_count: %d packets" % counts["packets"])


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "true"))
    except OSError as err:
        sys.exit("async_count: %s" % err.strerror)
