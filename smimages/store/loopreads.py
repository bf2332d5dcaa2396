"""PostgreSQL reads on the event loop: a read request's statements await the database there (psycopg's asynchronous
connection, through SQLAlchemy's asyncio extension) instead of each request holding a thread.

The request's code stays synchronous: run() calls it in a greenlet, and each round trip (SQLAlchemy's await_only)
suspends that greenlet while the loop serves other requests. The greenlets are kept and run one read after another:
starting one costs about 20 µs (Python sets up a new frame stack for it). A read takes one of `pool_size` kept
connections (autocommit: each statement sees its own snapshot, as ThreadReaders' do) for one transaction, so a read
that is run again after a dropped connection takes another. Only the server's read requests run here; every other
caller (a thread) reads as before."""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from greenlet import GreenletExit, getcurrent, greenlet
from sqlalchemy import URL, Connection
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_only

from . import errors

T = TypeVar("T")


class LoopReads:
    """The event loop's read connections: at most `pool_size` open, idle ones kept for the next read. A read finding
    none free waits on the loop, and they are handed out in the order reads asked for them (a connection given back
    goes straight to the longest waiter: a read arriving meanwhile cannot take it first, which under load would
    leave a waiter behind again and again)."""

    def __init__(self, url: URL, pool_size: int, **options: Any):
        from sqlalchemy.ext.asyncio import create_async_engine  # about 90 ms of imports: only for a server that reads

        self.engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT", **options).sync_engine
        errors.install(self.engine)
        self._idle: list[Connection] = []
        self._room = pool_size  # how many more may be opened
        self._waiters: deque[asyncio.Future[Connection | None]] = deque()
        self._kept: list[_Reader] = []  # greenlets between reads: as many as reads can run at once
        self._keep = pool_size

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) on the event loop, its reads on the loop's connections."""
        driver = getcurrent()
        reader = self._kept.pop() if self._kept else _Reader(self, driver)
        if reader.parent is not driver:  # kept by another driver (a loop on another thread): not ours to switch to
            reader = _Reader(self, driver)
        reader.gr_context = driver.gr_context  # the calling task's context variables
        step = reader.switch(fn, args)
        while not isinstance(step, _Outcome):  # an awaitable, from await_only
            try:
                value = await step
            except BaseException:  # thrown in where it was awaited (cancelled, say)
                step = reader.throw(*sys.exc_info())
            else:
                step = reader.switch(value)
        # the greenlet holds on to its last _Outcome until its next read: it keeps nothing of this one
        result, failed, step.value = step.value, step.failed, None
        if len(self._kept) < self._keep:
            reader.gr_context = None
            self._kept.append(reader)
        if failed:
            try:
                raise result
            finally:
                del result  # its traceback holds this frame
        returned: T = result
        return returned

    def here(self) -> bool:
        """Whether the caller runs inside run() (its greenlet on the loop), rather than on a thread of its own (or in
        a greenlet of someone else's, such as gevent's)."""
        current = getcurrent()
        return isinstance(current, _Reader) and current.reads() is self

    def connection(self) -> Connection:
        """A connection for one read (given back by release()): an idle one, a new one while there is room, else the
        next one given back (None from a waiter's hand-off: room to open one)."""
        if not self._waiters:
            if self._idle:
                return self._idle.pop()
            if self._room:
                self._room -= 1
                return self._open()
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            conn = await_only(waiter)
        except BaseException:  # the read gave up (cancelled): out of the line, or what it was handed passed on
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            elif not waiter.cancelled():
                self._hand_back(waiter.result())
            raise
        return conn if conn is not None else self._open()

    def _open(self) -> Connection:
        try:
            return self.engine.connect()
        except BaseException:
            self._hand_back(None)
            raise

    def release(self, conn: Connection, broken: bool) -> None:
        """Gives a read's connection back; one found broken is closed (leaving room for a new one)."""
        if broken:
            conn.invalidate()
            conn.close()
        self._hand_back(None if broken else conn)

    def _hand_back(self, conn: Connection | None) -> None:
        """A connection (None: room for one) to the longest waiter, else to the idle ones."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is None:
            self._room += 1
        else:
            self._idle.append(conn)

    async def close(self) -> None:
        """Closes the idle connections (on the loop that opened them); reads may open new ones later."""
        idle, self._idle = self._idle, []
        self._room += len(idle)
        for conn in idle:
            await self.run(conn.close)
        self._kept.clear()


class _Outcome:
    """How a read run in a _Reader ended: its result, or the exception it raised."""

    __slots__ = ("failed", "value")

    def __init__(self, value: Any, failed: bool):
        self.value, self.failed = value, failed


class _Reader(greenlet):  # type: ignore[misc]
    """A greenlet that runs LoopReads' reads one after another (_serve), suspended between them; SQLAlchemy's
    await_only suspends it during a read, handing what it awaits to run() on the loop. Nothing it runs refers to it,
    and it refers to its LoopReads weakly: the collector cannot break a cycle through a suspended greenlet, so one
    that is not kept is freed as soon as it is dropped."""

    __sqlalchemy_greenlet_provider__ = True  # what await_only looks for

    def __init__(self, reads: LoopReads, driver: greenlet):
        super().__init__(_serve, driver)
        self.reads = weakref.ref(reads)


def _serve(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """A _Reader's life: each read's _Outcome handed to run(), then the next read awaited."""
    while True:
        try:
            outcome = _Outcome(fn(*args), False)
        except GreenletExit:  # the greenlet is being freed
            raise
        except BaseException as exc:  # raised by run(), in its caller; the greenlet takes the next read
            outcome = _Outcome(exc, True)
        del fn, args  # nothing of the read kept while the greenlet waits
        fn, args = getcurrent().parent.switch(outcome)
