# SPDX-License-Identifier: LGPL-2.1-or-later
"""Redirector and Events under asyncio, in namespace A of tests/netns/test_python.sh
(root): a TCP transfer passes intact through async for; recv_async takes the
verdicts that drop; a cancelled receive, and a loop left early, lose no packet
and leave no reader behind; two coroutines share one handle; closing ends an
async for and wakes recv_async; Events reports this process's calls through
async for beside a redirector on the same loop."""
import asyncio
import errno
import os
import select
import socket
import subprocess
import time

import ipredir
from support import IF_A, WAIT, AsyncNetnsCase, udp_packet

TCP_BYTES = 2 * 1024 * 1024
ECHO_REQUEST = "icmp[icmptype] == icmp-echo"


class Async(AsyncNetnsCase):
    """Packets through coroutines: passed, dropped, kept across cancellation."""

    async def ended(self, *procs, wait=30):
        """Once every process has ended (fails after wait seconds); the loop serves
        the handles meanwhile."""
        end = time.monotonic() + wait
        while any(p.poll() is None for p in procs):
            self.assertLess(time.monotonic(), end, "traffic did not end in %d s" % wait)
            await asyncio.sleep(0.02)

    async def within(self, awaitable, what):
        """awaitable's result; fails saying what did not come within WAIT seconds."""
        try:
            return await asyncio.wait_for(awaitable, WAIT)
        except asyncio.TimeoutError:
            self.fail("%s: nothing within %d s" % (what, WAIT))

    async def stopped(self, task):
        """Cancel task (a coroutine waiting in a handle) and wait until it has ended."""
        task.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await task

    def assertNoReader(self, handle):
        """No coroutine's reader is left on handle's descriptor."""
        removed = asyncio.get_running_loop().remove_reader(handle.fileno())
        self.assertFalse(removed, "a reader outlived the coroutine that waited")

    def held_udp(self, r, port, payloads):
        """Send payloads (and nettool's end datagram) from A to B:port, held by r."""
        recv = self.peer("udp-recv", str(port))
        self.udp_to_peer(4, port, payloads)  # each is queued by the time sendto returns
        return recv

    async def test_passthru_tcp_async_for(self):
        seen = []

        async def pass_all(r):
            async for pkt in r:
                seen.append(pkt.layer)
                r.accept(pkt)
        async with ipredir.Redirector("tcp port 5321") as r:
            recv = self.peer("tcp-recv", "5321")
            send = self.local("tcp-send", self.addr("B", 4), "5321", str(TCP_BYTES))
            task = asyncio.create_task(pass_all(r))
            await self.ended(send, recv)
            await self.stopped(task)
            self.assertNoReader(r)
            stats = r.stats()
        self.assertEqual(self.tables(), [], "async with left the table")
        sent, got = self.output_of(send).strip(), self.output_of(recv).strip()
        self.assertTrue(sent.startswith("sent bytes=%d " % TCP_BYTES), sent)
        self.assertEqual(sent.split()[1:], got.split()[1:], "B received other bytes")
        self.assertEqual({"in", "out"}, set(seen))
        self.assertEqual((stats.received, stats.accepted), (len(seen), len(seen)))

    async def test_recv_async_drop(self):
        async with ipredir.Redirector("udp dst port 7021", layers="out") as r:
            recv = self.held_udp(r, 7021, [b"keep-1", b"drop-2", b"keep-3"])
            decided = 0
            while decided < 4:
                for pkt in await self.within(r.recv_async(64), "the datagrams"):
                    if pkt.payload == b"drop-2":
                        r.drop(pkt)
                    else:
                        r.accept(pkt)
                    decided += 1
            r.flush()
            self.assertEqual(self.output_of(recv).splitlines(), ["got keep-1", "got keep-3"])
            stats = r.stats()
        self.assertEqual((stats.dropped, stats.accepted), (1, 3))

    async def test_cancelled_recv_loses_nothing(self):
        """A receive cancelled once its packet has arrived, at each of the next few
        steps of the loop: the packet is either its result or left for the next one."""
        async with ipredir.Redirector(ECHO_REQUEST, layers="out") as r:
            for steps in range(4):
                with self.subTest(steps=steps):
                    await self.cancel_after_arrival(r, steps)

    async def cancel_after_arrival(self, r, steps):
        waiting = asyncio.create_task(r.recv_async())
        await asyncio.sleep(0)  # it runs up to its wait
        ping = self.ping(4, count=1)
        readable, _, _ = select.select([r.fileno()], [], [], WAIT)  # the loop is held here
        self.assertTrue(readable, "no echo request came")
        for _ in range(steps):
            await asyncio.sleep(0)
        waiting.cancel()
        try:
            pkts = await waiting  # it had finished before the cancel came
        except asyncio.CancelledError:
            self.assertNoReader(r)
            pkts = await self.within(r.recv_async(), "the echo request was lost")
        self.assertEqual([p.icmp_type for p in pkts], [8], "the echo request was lost")
        r.accept(pkts[0])
        r.flush()
        self.assertIn(" 1 received", self.output_of(ping))

    async def test_break_keeps_the_rest_of_a_batch(self):
        payloads = [b"datagram-%d" % i for i in range(5)]
        async with ipredir.Redirector("udp dst port 7022", layers="out", batch=64) as r:
            recv = self.held_udp(r, 7022, payloads)
            first = None
            async for first in r:  # takes every datagram waiting, yields one
                break
            rest = await self.within(r.recv_async(64), "the rest of the batch was lost")
            self.assertEqual(r.stats().received, 6, "the break did not come after one batch")
            pkts = [first] + rest
            self.assertEqual([p.payload for p in pkts], payloads + [b"end."])
            for pkt in pkts:
                r.accept(pkt)
            r.flush()
            self.assertEqual(self.output_of(recv).splitlines(),
                             ["got " + p.decode() for p in payloads])

    async def test_send_async_lets_the_loop_run(self):
        """Injections faster than a shaped device sends them: where send() would wait
        for room in the raw socket's buffer, send_async() lets other coroutines run,
        and every packet arrives."""
        self.shape(IF_A, "tbf", "rate", "200kbit", "burst", "4kb", "limit", "8mb")
        ticks, count = [0], 600  # small packets: the socket's buffer fills after about 250

        async def tick():
            while True:
                await asyncio.sleep(0)
                ticks[0] += 1
        async with ipredir.Redirector("udp port 9", layers="out") as r:
            recv = self.peer("udp-recv", "7023")
            ticker = asyncio.create_task(tick())
            await asyncio.sleep(0)
            before = ticks[0]
            for i in range(count):
                await r.send_async(ipredir.checksum_fill(udp_packet(
                    self.addr("A", 4), self.addr("B", 4), 4000, 7023, b"%04d" % i)))
            during = ticks[0] - before
            await self.stopped(ticker)
        self.udp_to_peer(4, 7023, [])
        self.assertEqual(self.output_of(recv).count("got "), count, "injected packets lost")
        self.assertGreater(during, 0, "send_async held the loop while the buffer was full")

    def shape(self, dev, *qdisc):
        """Put qdisc on dev as its root until the case ends."""
        subprocess.run(["tc", "qdisc", "add", "dev", dev, "root"] + list(qdisc), check=True)
        self.addCleanup(lambda: subprocess.run(["tc", "qdisc", "del", "dev", dev, "root"],
                                               check=True))

    async def test_two_coroutines_share_a_handle(self):
        taken = {"one": 0, "two": 0}

        async def pass_all(r, name):
            async for pkt in r:
                taken[name] += 1
                r.accept(pkt)
                await asyncio.sleep(0)  # the other coroutine's turn
        async with ipredir.Redirector(ECHO_REQUEST, layers="out", batch=1) as r:
            tasks = [asyncio.create_task(pass_all(r, name)) for name in taken]
            ping = self.ping(4, count=4)
            await self.ended(ping)
            for task in tasks:
                await self.stopped(task)
            self.assertNoReader(r)
        self.assertIn(" 4 received", self.output_of(ping))
        self.assertEqual(sum(taken.values()), 4, taken)

    async def test_close_ends_async_for_and_wakes_recv(self):
        r = ipredir.Redirector(ECHO_REQUEST, layers="out")
        seen = []

        async def pass_all():
            async for pkt in r:
                seen.append(pkt)
        iterating = asyncio.create_task(pass_all())
        receiving = asyncio.create_task(r.recv_async())
        await asyncio.sleep(0)  # both wait in the handle
        r.close()
        await self.within(iterating, "async for did not end")  # and raised nothing
        with self.assertRaises(ipredir.Error) as caught:
            await self.within(receiving, "recv_async did not wake")
        self.assertEqual(caught.exception.errno, errno.EBADF)
        self.assertEqual((seen, self.tables()), ([], []))

    async def test_events_beside_a_redirector(self):
        """Events through async for while a redirector of the same loop passes the
        connection's packets."""
        async def pass_all(r):
            async for pkt in r:
                r.accept(pkt)

        async def flow_of(events, port):
            got = []
            async for ev in events:
                got.append(ev)
                if ev.kind == "established" and ev.remote_port == port:
                    return got
        server = socket.socket()
        self.addCleanup(server.close)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        async with ipredir.Events() as events, \
                ipredir.Redirector("tcp port %d" % port, layers="out") as r:
            passing = asyncio.create_task(pass_all(r))
            watching = asyncio.create_task(flow_of(events, port))
            client = socket.socket()
            client.setblocking(False)
            await self.within(asyncio.get_running_loop().sock_connect(
                client, ("127.0.0.1", port)), "the connection")
            client.close()
            got = await self.within(watching, "the flow's events")
            await self.stopped(passing)
            self.assertNoReader(events)
            self.assertGreater(r.stats().accepted, 0, "the redirector took no packet")
        mine = [e for e in got if port in (e.local_port, e.remote_port)]
        self.assertIn("connect", [e.kind for e in mine])
        self.assertEqual({e.pid for e in mine}, {os.getpid()})
