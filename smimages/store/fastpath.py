"""The fast read path: prebuilt lookups run on the driver's own cursor, SQLite reads on per-thread connections (and
PostgreSQL's read requests on the event loop: loopreads.py).

All sit behind the store interface and can be switched off (`Store(url, fast=False)`): then every lookup goes
through SQLAlchemy's execution layer and every read through the pool, which is the plain path that
tests/store/test_fast_path.py compares them with, column by column, on both backends."""

from __future__ import annotations

import functools
import threading
import weakref
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Select
from sqlalchemy.engine import Dialect

from .errors import translate


class Lookups(Protocol):
    """How a transaction runs its per-request statements: the first row, or every row, of a prebuilt statement, as
    plain tuples."""

    def first(self, conn: Connection, statement: Select[Any], params: dict[str, Any]) -> tuple[Any, ...] | None: ...

    def all(self, conn: Connection, statement: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]: ...


class PlainLookups:
    """Lookups through SQLAlchemy's execution layer (the plain path)."""

    def first(self, conn: Connection, statement: Select[Any], params: dict[str, Any]) -> tuple[Any, ...] | None:
        row = conn.execute(statement, params).first()
        return None if row is None else tuple(row)

    def all(self, conn: Connection, statement: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in conn.execute(statement, params)]


class DriverLookups:
    """Lookups on the driver's own cursor, their SQL compiled once per dialect (about 17 of a lookup's 18 µs on
    SQLite are SQLAlchemy's execution layer). Parameters and columns go to and from the driver unconverted, so the
    statements must need no type processing (the store converts Booleans itself); driver errors are translated here,
    since SQLAlchemy's error hook never sees them."""

    def first(self, conn: Connection, statement: Select[Any], params: dict[str, Any]) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._run(conn, statement, params, False)
        return row

    def all(self, conn: Connection, statement: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._run(conn, statement, params, True)
        return rows

    @staticmethod
    def _run(conn: Connection, statement: Select[Any], params: dict[str, Any], every: bool) -> Any:
        sql, fixed, positions = _driver_sql(statement, conn.dialect)
        values = {**fixed, **params}
        try:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(sql, tuple(map(values.__getitem__, positions)) if positions else values)
                return cursor.fetchall() if every else cursor.fetchone()
            finally:
                cursor.close()
        except Exception as exc:
            mapped = translate(exc)
            if mapped is None:
                raise
            raise mapped from None


@functools.cache
def _driver_sql(statement: Select[Any], dialect: Dialect) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
    """A statement compiled once per dialect: (SQL text, its parameters' fixed values, positional order or None)."""
    compiled = statement.compile(dialect=dialect)
    positions = getattr(compiled, "positiontup", None)
    return compiled.string, dict(compiled.params), tuple(positions) if positions else None


class Readers(Protocol):
    """Where a read (a transaction that does not write) gets its connection, and gives it back."""

    engine: Engine

    def connection(self) -> Connection: ...

    def release(self, conn: Connection, broken: bool) -> None: ...


class ThreadReaders:
    """Reads without a pool checkout: each thread keeps one connection open for its reads.

    A read runs each statement on its own (SQLite: no BEGIN, see engine._sqlite_pragmas; PostgreSQL: autocommit), and
    every read consumes its rows, so between reads a connection holds no transaction and no statement: the next read
    sees all that was committed before it, from any connection. The connections come from an engine of their own
    without a pool (an in-memory SQLite catalog's from its one connection), so they never take the writers' pooled
    ones; a thread's is closed when the thread ends, by release() once found broken, or by close()."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._local = threading.local()
        self._opened: weakref.WeakSet[Connection] = weakref.WeakSet()  # every thread's connection, for close()
        self._lock = threading.Lock()

    def connection(self) -> Connection:
        """The calling thread's read connection."""
        conn: Connection | None = getattr(self._local, "conn", None)
        return conn or self._open()

    def _open(self) -> Connection:
        """A new connection for the calling thread."""
        conn = self._local.conn = self.engine.connect()
        with self._lock:
            self._opened.add(conn)
        return conn

    def release(self, conn: Connection, broken: bool) -> None:
        """Keeps a read's connection for the thread's next read; one found broken is dropped (the next opens anew)."""
        if broken:
            self._local.conn = None
            with self._lock:
                self._opened.discard(conn)
            conn.invalidate()
            conn.close()

    def close(self) -> None:
        """Closes every thread's connection; a thread that reads again opens a new one."""
        with self._lock:
            opened, self._opened = list(self._opened), weakref.WeakSet()
            self._local = threading.local()
        for conn in opened:
            conn.close()
        self.engine.dispose()
