"""PostgreSQL reads on the event loop: a read request's statements await the database there (psycopg's asynchronous
connection, through SQLAlchemy's asyncio extension) instead of each request holding a thread.

The request's code stays synchronous: run() calls it in a greenlet (SQLAlchemy's greenlet_spawn), and each round
trip suspends that greenlet while the loop serves other requests. A read takes one of `pool_size` kept connections
(autocommit: each statement sees its own snapshot, as ThreadReaders' do) for one transaction, so a read that is run
again after a dropped connection takes another. Only the server's read requests run here; every other caller (a
thread) reads as before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from greenlet import getcurrent
from sqlalchemy import URL, Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_only, greenlet_spawn

from . import errors

T = TypeVar("T")


class LoopReads:
    """The event loop's read connections: `pool_size` slots, each empty (None: opened on first use) or holding an
    idle connection; a read finding every slot taken waits on the loop for one."""

    def __init__(self, url: URL, pool_size: int, **options: Any):
        self.engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT", **options).sync_engine
        errors.install(self.engine)
        self._size = pool_size
        self._slots = self._empty()

    def _empty(self) -> asyncio.Queue[Connection | None]:
        slots: asyncio.Queue[Connection | None] = asyncio.Queue()
        for _ in range(self._size):
            slots.put_nowait(None)
        return slots

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) on the event loop, its reads on the loop's connections."""
        return await greenlet_spawn(fn, *args)

    @staticmethod
    def here() -> bool:
        """Whether the caller runs inside run() (a greenlet on the loop), rather than on a thread of its own."""
        return getcurrent().parent is not None

    def connection(self) -> Connection:
        """A slot's connection for one read (given back by release())."""
        conn = self._slots.get_nowait() if not self._slots.empty() else await_only(self._slots.get())
        if conn is not None:
            return conn
        try:
            return self.engine.connect()
        except BaseException:
            self._slots.put_nowait(None)
            raise

    def release(self, conn: Connection, broken: bool) -> None:
        """Gives a read's connection back to its slot; one found broken is closed (the slot opens anew)."""
        if broken:
            conn.invalidate()
            conn.close()
        self._slots.put_nowait(None if broken else conn)

    async def close(self) -> None:
        """Closes the idle connections (on the loop that opened them), leaving every slot empty."""
        slots, self._slots = self._slots, self._empty()
        idle = [conn for conn in (slots.get_nowait() for _ in range(slots.qsize())) if conn is not None]
        for conn in idle:
            await greenlet_spawn(conn.close)
