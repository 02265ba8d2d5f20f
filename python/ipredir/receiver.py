# SPDX-License-Identifier: LGPL-2.1-or-later
"""What Redirector and Events share: receiving in batches (waiting, for a while, or not
at all), iteration that loses nothing when left early, and the same under asyncio.

Under asyncio a receive waits for the handle's descriptor with loop.add_reader(), never in
a thread. It is safe to cancel: the library is asked for packets only without waiting, and
what it gives is returned before the next await, so a cancelled call has received
nothing. Iteration takes a batch at a time and keeps what it has not handed out yet with
the handle (the next receive, iteration or recv, returns it first), so leaving a loop
early, by break or by cancellation, loses no packet either.
"""
import asyncio
import collections
import select
import time
from types import TracebackType
from typing import Any, Deque, Generic, Iterator, List, Optional, Set, Type, TypeVar

from . import _lib
from .errors import Error

T = TypeVar("T")
SelfT = TypeVar("SelfT", bound="Receiver[Any]")


def _settle(waiter: "asyncio.Future[None]") -> None:
    if not waiter.done():
        waiter.set_result(None)


class Readiness:
    """The coroutines waiting for one handle's descriptor to poll readable. A loop keeps
    one reader per descriptor, so they share it: the first waiter adds it, the last one
    to leave (woken, timed out or cancelled) removes it."""

    def __init__(self) -> None:
        self._waiters: Set["asyncio.Future[None]"] = set()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._fd = -1

    async def wait(self, fd: int, timeout: Optional[float]) -> None:
        """Until fd polls readable, timeout seconds pass (None: no limit) or wake_all()."""
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:
            raise RuntimeError("the handle is awaited in another event loop already: "
                               "use each handle from one loop")
        waiter = loop.create_future()
        if not self._waiters:
            loop.add_reader(fd, self.wake_all)
            self._loop, self._fd = loop, fd
        self._waiters.add(waiter)
        timer = None if timeout is None else loop.call_later(timeout, _settle, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            self._leave(waiter)

    def _leave(self, waiter: "asyncio.Future[None]") -> None:
        if waiter in self._waiters:
            self._waiters.discard(waiter)
            if not self._waiters:
                self._remove_reader()

    def wake_all(self) -> None:
        """Wake every waiter and remove the reader: the descriptor is readable, or closes."""
        for waiter in self._waiters:
            _settle(waiter)
        self._waiters.clear()
        self._remove_reader()

    def _remove_reader(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop = None


class Receiver(Generic[T]):
    """A handle that receives items of type T in batches: packets or events.

    A kind of handle says how to receive (_receive, _prepare, _item), its descriptor
    (fileno), closed and close(), which must call _forget() before the descriptor goes.
    """
    MAX_BATCH = 1  # items one receive returns at most
    # A wait wakes at least this often (seconds), for the library's work that a receive
    # does even when nothing comes; None: no need.
    WAKE_EVERY: Optional[float] = None

    def __init__(self, batch: int) -> None:
        self.batch = batch  # items per receive when iterating
        self._pending: Deque[T] = collections.deque()  # received, not handed out yet
        self._ready = Readiness()
        self._poller: Optional["select.poll"] = None

    # ---- what each kind of handle provides ----

    def fileno(self) -> int:
        """A descriptor that polls readable when items wait (do not read it)."""
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """True once close() ran (or the with block ended)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _prepare(self, n: int) -> None:
        """Before receiving up to n: raise Error if closed, make room."""
        raise NotImplementedError

    def _receive(self, n: int, flags: int) -> int:
        """One receive of up to n items (flags: RECV_*); the count, 0 when none waits."""
        raise NotImplementedError

    def _item(self, i: int) -> T:
        """Item i of the last receive."""
        raise NotImplementedError

    # ---- shared ----

    def _forget(self) -> None:
        """At close: wake the coroutines waiting (they find it closed); the library takes
        care of what was received and not handed out (a redirector accepts it)."""
        self._pending.clear()
        self._ready.wake_all()

    def _take(self, n: int) -> List[T]:
        return [self._pending.popleft() for _ in range(min(n, len(self._pending)))]

    def _recv(self, n: int, timeout: Optional[float]) -> List[T]:
        """Up to n items: those received earlier and not handed out, else a receive that
        waits (timeout None), waits at most timeout seconds, or does not wait (0)."""
        n = max(1, min(int(n), self.MAX_BATCH))
        held = self._take(n)
        if held:
            return held
        self._prepare(n)
        count = self._receive(n, 0) if timeout is None else self._receive_within(n, timeout)
        return [self._item(i) for i in range(count)]

    def _receive_within(self, n: int, timeout: float) -> int:
        end = time.monotonic() + timeout
        while True:
            count = self._receive(n, _lib.RECV_NONBLOCK)
            left = end - time.monotonic()
            if count or left <= 0:
                return count
            self._poll().poll(min(left, self.WAKE_EVERY or left) * 1000)

    def _poll(self) -> "select.poll":
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(self.fileno(), select.POLLIN)
        return self._poller

    async def _recv_async(self, n: int) -> List[T]:
        while True:
            got = self._recv(n, 0)
            if got:  # returned before any await: a cancellation cannot lose them
                return got
            await self._ready.wait(self.fileno(), self.WAKE_EVERY)

    def __iter__(self) -> Iterator[T]:
        """Items, received self.batch at a time, until the handle is closed."""
        while not self.closed:
            if not self._pending:
                self._pending.extend(self._recv(self.batch, None))
            yield self._pending.popleft()

    def __aiter__(self: SelfT) -> SelfT:
        return self

    async def __anext__(self) -> T:
        """The next item (async for), received self.batch at a time; the iteration
        ends when the handle is closed, also by another coroutine while it waits."""
        if not self._pending:
            if self.closed:
                raise StopAsyncIteration
            try:
                self._pending.extend(await self._recv_async(self.batch))
            except Error:
                if self.closed:
                    raise StopAsyncIteration from None
                raise
        return self._pending.popleft()

    def __enter__(self: SelfT) -> SelfT:
        return self

    def __exit__(self, kind: Optional[Type[BaseException]], value: Optional[BaseException],
                 trace: Optional[TracebackType]) -> None:
        self.close()

    async def __aenter__(self: SelfT) -> SelfT:
        return self

    async def __aexit__(self, kind: Optional[Type[BaseException]],
                        value: Optional[BaseException],
                        trace: Optional[TracebackType]) -> None:
        self.close()
