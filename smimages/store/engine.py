"""Opens a catalog database by URL (SQLite or PostgreSQL), migrates it, and hands out transactions."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from platformdirs import user_data_dir
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, Pool, StaticPool

from . import errors
from .fastpath import DriverLookups, Lookups, PlainLookups, ThreadReaders
from .interface import Aborted, Disconnected, SchemaTooNew
from .transaction import Transaction

if TYPE_CHECKING:
    import sqlite3

_MIGRATION_LOCK = 7_362_011  # PostgreSQL advisory lock key held while migrating
DEFAULT_POOL_SIZE = 8


def _in_memory(url: URL) -> bool:
    """Whether a SQLite URL names an in-memory database (one connection holds it all)."""
    return url.database in (None, "", ":memory:")


def _sqlite_engine(url: URL, poolclass: type[Pool] | None) -> Engine:
    """A SQLite engine whose connections the catalog has set up (see _sqlite_pragmas)."""
    engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=poolclass)
    _sqlite_pragmas(engine, _in_memory(url))
    errors.install(engine)
    return engine


def _engine(url: str, pool_size: int) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = _in_memory(parsed)
        if not memory:
            # a file database: _in_memory is false, so the URL names one
            Path(cast(str, parsed.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return _sqlite_engine(parsed, StaticPool if memory else None)
    # A pool as large as the request threads (executor_for): reads take connections of their own (_postgres_readers),
    # so a server holds at most 2 x pool_size connections.
    return _postgres_engine(parsed, pool_size=pool_size, max_overflow=0)


def _postgres_engine(url: URL, **options: Any) -> Engine:
    """A PostgreSQL engine on psycopg. No pool_pre_ping (a round trip per transaction): a connection found dead makes
    its transaction fail as Aborted, which is run again on a fresh one. Named in pg_stat_activity unless the URL
    names it."""
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    connect_args = {} if "application_name" in url.query else {"application_name": "smimages"}
    engine = create_engine(url, connect_args=connect_args, **options)
    errors.install(engine)
    return engine


def _sqlite_pragmas(engine: Engine, memory: bool) -> None:
    """WAL, enforced foreign keys, and explicit BEGIN (IMMEDIATE for writes) so writers never deadlock."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        for pragma in (
            "foreign_keys=ON",
            "busy_timeout=10000",
            "synchronous=NORMAL",
            *(() if memory else ("journal_mode=WAL",)),
        ):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # a plain read runs each statement on its own (as PostgreSQL reads do): no BEGIN/COMMIT to pay for
        options = conn.get_execution_options()
        if options.get("write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif options.get("snapshot"):
            conn.exec_driver_sql("BEGIN")


class _Read:
    """One read on the calling thread's kept connection; it leaves no transaction open behind it (a plain class: this
    is the per-request path, and a generator-based context manager costs more). A connection found broken is
    dropped, and the read surfaces as Aborted, so that it runs again on a new one."""

    __slots__ = ("_conn", "_lookups", "_readers")

    def __init__(self, readers: ThreadReaders, lookups: Lookups):
        self._readers, self._conn, self._lookups = readers, readers.connection(), lookups

    def __enter__(self) -> Transaction:
        return Transaction(self._conn, False, self._lookups)

    def __exit__(self, kind: Any, error: BaseException | None, *_: Any) -> None:
        if isinstance(error, Disconnected):
            self._readers.discard()
            raise Aborted(str(error)) from None
        if not self._conn.in_transaction():  # only driver-level lookups ran: SQLAlchemy began nothing
            return
        if kind is None:
            self._conn.commit()  # ends what a statement through SQLAlchemy began (SQLite itself has nothing to commit)
        else:
            self._conn.rollback()


class Store:
    """The catalog database (CatalogStore): migrations plus short transactions.

    With `fast` (the default) per-request lookups run on the driver's cursor and SQLite files' reads on per-thread
    connections (smimages/store/fastpath.py); without, both take the plain SQLAlchemy path."""

    def __init__(self, url: str, pool_size: int = DEFAULT_POOL_SIZE, fast: bool = True):
        self.url = url
        self.engine = _engine(url, pool_size)
        self.dialect = self.engine.dialect.name
        self.locking = self.dialect == "postgresql"
        self.memory = self.dialect == "sqlite" and _in_memory(self.engine.url)  # one connection holds the catalog
        self.serial = self.dialect == "sqlite"  # one writer: requests take turns rather than queue on a pool
        self.connections = pool_size
        self.display_url = self.engine.url.render_as_string(hide_password=True)
        self._lookups: Lookups = DriverLookups() if fast else PlainLookups()
        # Under READ COMMITTED every statement sees its own snapshot anyway, so a read-only transaction
        # buys nothing on PostgreSQL: reads run in autocommit, saving the BEGIN and COMMIT round trips.
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT") if self.locking else self.engine
        # SQLite reads run on a connection each thread keeps open: a file's from an engine of their own, an in-memory
        # catalog's its one connection (StaticPool), kept checked out, sparing a checkout, BEGIN and COMMIT per read.
        self._threads: ThreadReaders | None = None
        if fast and self.memory:
            self._threads = ThreadReaders(self.engine)
        elif fast:  # a SQLite file's readers, or PostgreSQL's in autocommit (each statement sees its own snapshot)
            readers = (
                _sqlite_engine(self.engine.url, NullPool)
                if self.dialect == "sqlite"
                else _postgres_engine(self.engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
            )
            self._threads = ThreadReaders(readers)

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine the store opens connections from (the writers', then the readers' when they differ): what
        instrumentation listens on."""
        readers = self._threads.engine if self._threads is not None else self.engine
        return (self.engine,) if readers is self.engine else (self.engine, readers)

    def transaction(self, write: bool = False, snapshot: bool = False) -> AbstractContextManager[Transaction]:
        """A transaction that commits on success and rolls back on any exception.

        Writes lock what they change (BEGIN IMMEDIATE on SQLite, row locks on PostgreSQL). With `snapshot`,
        every statement sees the database as of the first one (REPEATABLE READ on PostgreSQL; a SQLite
        transaction always does), e.g. for a consistent export of a catalog others keep writing to. Other reads
        see each statement's own snapshot, without BEGIN or COMMIT (see ThreadReaders for SQLite files).
        Driver errors surface as the store's exceptions (smimages/store/errors.py); a connection that broke before
        the transaction committed surfaces as Aborted: nothing was written, so the caller may run it again.
        (A connection lost during COMMIT leaves the outcome unknown, and stays Disconnected.)"""
        if self._threads is not None and not (write or snapshot):
            return _Read(self._threads, self._lookups)
        return self._pooled(write, snapshot)

    @contextlib.contextmanager
    def _pooled(self, write: bool, snapshot: bool) -> Iterator[Transaction]:
        """A transaction on a pooled connection (BEGIN IMMEDIATE / BEGIN on SQLite: _sqlite_pragmas)."""
        committing = False
        try:
            with (self.engine if write or snapshot else self._reader).connect() as conn:
                conn = conn.execution_options(write=write, snapshot=snapshot)
                if snapshot and self.locking:
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield Transaction(conn, self.locking, self._lookups)
                    committing = True
        except Disconnected as exc:
            if committing:
                raise
            raise Aborted(str(exc)) from None

    def _alembic(self, conn: Connection) -> Config:
        config = Config()
        config.set_main_option("script_location", "smimages.store:migrations")
        config.attributes["connection"] = conn
        return config

    def revision(self) -> str | None:
        """The schema revision the database is at (None when it was never migrated)."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def migrate(self) -> str | None:
        """Brings the schema to the newest revision this smimages knows; refuses a newer database.

        Safe to run from several processes at once: they take turns (an advisory lock on PostgreSQL,
        BEGIN IMMEDIATE on SQLite), and DDL is transactional on both, so a failed upgrade leaves nothing."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(write=True)
            config = self._alembic(conn)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                current = MigrationContext.configure(conn).get_current_revision()
                script = ScriptDirectory.from_config(config)
                if current is not None and not _known(script, current):
                    raise SchemaTooNew(
                        f"The database schema is at revision {current}, which this smimages does not know; "
                        f"it was migrated by a newer release (this one knows up to {script.get_current_head()}). "
                        "Upgrade smimages, or point --db at another database."
                    )
                command.upgrade(config, "head")
            return script.get_current_head()

    def dispose(self) -> None:
        """Closes the database connections (once no transaction runs any more)."""
        if self._threads is not None:
            self._threads.close()
        self.engine.dispose()


_template_lock = threading.Lock()


@functools.cache
def _schema_template() -> Store:
    """An in-memory catalog migrated once per process: new in-memory catalogs are copies of it (0.3 ms, where
    running the migrations takes about 15 ms)."""
    template = Store("sqlite://")
    template.migrate()
    return template


def open_store(url: str, pool_size: int = DEFAULT_POOL_SIZE, fast: bool = True) -> Store:
    """The one way to open a catalog: a store at the newest schema (an in-memory one copies a migrated template)."""
    store = Store(url, pool_size, fast)
    if not store.memory:
        store.migrate()
        return store
    with _template_lock:  # the template's one connection serves one copy at a time
        source = _schema_template().engine.raw_connection()
        target = store.engine.raw_connection()
        try:
            source.driver_connection.backup(target.driver_connection)  # type: ignore[union-attr]
        finally:
            target.close()
            source.close()
    return store


def _known(script: ScriptDirectory, revision: str) -> bool:
    return any(known.revision == revision for known in script.walk_revisions())


def default_url() -> str:
    """The per-user SQLite file used when no --db is given."""
    return f"sqlite:///{os.path.join(user_data_dir('smimages'), 'smimages.db')}"
