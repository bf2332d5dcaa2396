"""Opens a catalog database by URL (SQLite or PostgreSQL), migrates it, and hands out transactions."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
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

from . import errors, probes
from .fastpath import DriverLookups, Lookups, PlainLookups, ThreadReaders
from .health import Health
from .interface import Aborted, Disconnected, ReadOnly, SchemaBehind, SchemaTooNew, StoreError, Unavailable
from .transaction import Transaction

if TYPE_CHECKING:
    import sqlite3

_MIGRATION_LOCK = 7_362_011  # PostgreSQL advisory lock key held while migrating
DEFAULT_POOL_SIZE = 8
DEFAULT_LOCK_TIMEOUT = 5.0  # seconds a statement waits for a lock (PostgreSQL lock_timeout, SQLite busy_timeout)
DEFAULT_STATEMENT_TIMEOUT = 30.0  # seconds a PostgreSQL statement may run (statement_timeout)
CONNECT_TIMEOUT = 5  # seconds to open a PostgreSQL connection, unless the URL sets connect_timeout
READY_TIMEOUT = 2.0  # seconds the readiness check gives the database
READ_BUSY_MS = 100  # how long a SQLite read waits for a lock (in WAL mode only an exclusive locking mode makes one)
_FOREVER_MS = 2**31 - 1  # SQLite's busy_timeout for "no limit"
# a PostgreSQL server that vanishes without closing its connections (a network partition) is given up on by TCP:
# an idle connection after 10 + 3 x 5 s of unanswered keepalives, one with a request unacknowledged after 30 s
_KEEPALIVES = {
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
}


@dataclass(frozen=True)
class DatabaseOptions:
    """How long the database may keep a request waiting, and whether this process only reads (`serve --read-only`).

    lock_timeout: seconds a statement waits for a lock another session holds before it gives up as Busy (PostgreSQL
    lock_timeout; SQLite busy_timeout for writes). statement_timeout: seconds a PostgreSQL statement may run. 0 means
    no limit for either (not advised: a lock never released then stalls what waits for it)."""

    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT
    read_only: bool = False


def _in_memory(url: URL) -> bool:
    """Whether a SQLite URL names an in-memory database (one connection holds it all)."""
    return url.database in (None, "", ":memory:")


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000)) if seconds > 0 else 0


class _WriteWaits(threading.local):
    """Until when a SQLite write begun on this thread may wait for the write lock (time.monotonic()), when a request
    set it (Store.waiting_since); None: for the lock timeout."""

    deadline: float | None = None


def _sqlite_engine(
    url: URL, poolclass: type[Pool] | None, busy_ms: int, read_only: bool = False, waits: _WriteWaits | None = None
) -> Engine:
    """A SQLite engine whose connections the catalog has set up (see _sqlite_pragmas); `read_only` opens the file
    read-only (mode=ro), so nothing this process runs can write to it."""
    if read_only and not _in_memory(url):
        path = Path(cast(str, url.database)).expanduser().resolve()
        query = {"mode": "ro", "uri": "true"}
        if probes.unwritable(path) and not path.with_name(f"{path.name}-shm").exists():
            # no WAL index beside it, and none can be made: a copy nobody writes, read as it is (immutable)
            query["immutable"] = "1"
        url = url.set(database=f"file:{path}", query=query)
    engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=poolclass)
    _sqlite_pragmas(engine, _in_memory(url), busy_ms, read_only, waits)
    errors.install(engine)
    return engine


def _postgres_url(parsed: URL, options: DatabaseOptions, statement_timeout: float | None = None) -> URL:
    """The URL with the session settings the options ask for ahead of the URL's own `options` (so a URL that sets
    one keeps its value), the driver named, and a connect timeout, TCP keepalives and an application name unless the
    URL has them."""
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    statement = options.statement_timeout if statement_timeout is None else statement_timeout
    settings = [f"-c lock_timeout={_ms(options.lock_timeout)}", f"-c statement_timeout={_ms(statement)}"]
    if options.read_only:
        settings.append("-c default_transaction_read_only=on")
    own = parsed.query.get("options")
    query = {"options": " ".join([*settings, *([own] if isinstance(own, str) else own or ())])}
    defaults = {"application_name": "smimages", "connect_timeout": str(CONNECT_TIMEOUT), **_KEEPALIVES}
    query.update({name: value for name, value in defaults.items() if name not in parsed.query})
    if statement_timeout is not None:  # a probe: its own limits win over the URL's
        query["options"] += f" -c statement_timeout={_ms(statement_timeout)}"
        query["connect_timeout"] = str(max(2, round(statement_timeout)))
    return parsed.update_query_dict(query)


def _engine(url: str, pool_size: int, options: DatabaseOptions, waits: _WriteWaits) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = _in_memory(parsed)
        if not memory and not options.read_only:
            # a file database: _in_memory is false, so the URL names one
            Path(cast(str, parsed.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
        busy_ms = _ms(options.lock_timeout) or _FOREVER_MS
        return _sqlite_engine(parsed, StaticPool if memory else None, busy_ms, options.read_only, waits)
    # Named in pg_stat_activity unless the URL names it. No pool_pre_ping (a round trip per transaction): a
    # connection found dead makes its transaction fail as Aborted, which is run again on a fresh one.
    engine = create_engine(_postgres_url(parsed, options), pool_size=pool_size, max_overflow=pool_size)
    errors.install(engine)
    return engine


def _sqlite_pragmas(engine: Engine, memory: bool, busy_ms: int, read_only: bool, waits: _WriteWaits | None) -> None:
    """WAL, enforced foreign keys, a bounded wait for locks (shorter for a write whose request has a deadline), and
    explicit BEGIN (IMMEDIATE for writes) so writers never deadlock."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        for pragma in (
            "foreign_keys=ON",
            f"busy_timeout={busy_ms}",
            "synchronous=NORMAL",
            *(() if memory or read_only else ("journal_mode=WAL",)),
        ):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # a plain read runs each statement on its own (as PostgreSQL reads do): no BEGIN/COMMIT to pay for
        options = conn.get_execution_options()
        if options.get("write"):
            deadline = None if waits is None else waits.deadline
            if deadline is not None:
                conn.info["busy_ms"] = _ms(max(deadline - time.monotonic(), 0.0))
                conn.exec_driver_sql(f"PRAGMA busy_timeout={conn.info['busy_ms']}")
            elif conn.info.pop("busy_ms", None) is not None:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={busy_ms}")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif options.get("snapshot"):
            conn.exec_driver_sql("BEGIN")


class _Read:
    """One read on a thread's kept SQLite connection; it leaves no transaction open behind it (a plain class: this is
    the per-request path, and a generator-based context manager costs more)."""

    __slots__ = ("_conn", "_health", "_lookups")

    def __init__(self, conn: Connection, lookups: Lookups, health: Health):
        self._conn, self._lookups, self._health = conn, lookups, health

    def __enter__(self) -> Transaction:
        return Transaction(self._conn, False, self._lookups)

    def __exit__(self, kind: Any, error: Any, _: Any) -> None:
        if kind is None:
            self._conn.commit()  # ends what a statement through SQLAlchemy began (SQLite itself has nothing to commit)
            self._health.served(False)
        else:
            self._conn.rollback()
            if isinstance(error, StoreError):
                self._health.failed(error, False)


class Store:
    """The catalog database (CatalogStore): migrations plus short transactions.

    With `fast` (the default) per-request lookups run on the driver's cursor and SQLite files' reads on per-thread
    connections (smimages/store/fastpath.py); without, both take the plain SQLAlchemy path. `options` bound how long
    the database may keep a request waiting and say whether this process only reads."""

    def __init__(
        self,
        url: str,
        pool_size: int = DEFAULT_POOL_SIZE,
        fast: bool = True,
        options: DatabaseOptions = DatabaseOptions(),
    ):
        self.url = url
        self.options = options
        self._waits = _WriteWaits()
        self.engine = _engine(url, pool_size, options, self._waits)
        self.dialect = self.engine.dialect.name
        self.locking = self.dialect == "postgresql"
        self.memory = self.dialect == "sqlite" and _in_memory(self.engine.url)  # one connection holds the catalog
        self.serial = self.dialect == "sqlite"  # one writer: requests take turns rather than queue on a pool
        self.connections = pool_size
        self.read_only = options.read_only
        self.display_url = display_url(url)
        self.health = Health(self.display_url)
        self._lookups: Lookups = DriverLookups() if fast else PlainLookups()
        # Under READ COMMITTED every statement sees its own snapshot anyway, so a read-only transaction
        # buys nothing on PostgreSQL: reads run in autocommit, saving the BEGIN and COMMIT round trips.
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT") if self.locking else self.engine
        # A SQLite file's reads run on a connection each thread keeps open; an in-memory database lives in its
        # one pooled connection, so its reads take that one. In WAL mode a read never waits for a writer, so they
        # wait for locks briefly (READ_BUSY_MS).
        self._threads: ThreadReaders | None = None
        if fast and self.dialect == "sqlite" and not self.memory:
            self._threads = ThreadReaders(_sqlite_engine(make_url(url), NullPool, READ_BUSY_MS, self.read_only))
        self._probe: Engine | None = None  # the readiness check's, made on its first use

    def transaction(self, write: bool = False, snapshot: bool = False) -> AbstractContextManager[Transaction]:
        """A transaction that commits on success and rolls back on any exception.

        Writes lock what they change (BEGIN IMMEDIATE on SQLite, row locks on PostgreSQL). With `snapshot`,
        every statement sees the database as of the first one (REPEATABLE READ on PostgreSQL; a SQLite
        transaction always does), e.g. for a consistent export of a catalog others keep writing to. Other reads
        see each statement's own snapshot, without BEGIN or COMMIT (see ThreadReaders for SQLite files).
        Driver errors surface as the store's exceptions (smimages/store/errors.py); a connection that broke before
        the transaction committed surfaces as Aborted: nothing was written, so the caller may run it again. (One
        that cannot be opened, or was lost during COMMIT, leaving the outcome unknown, stays Disconnected.)"""
        if self._threads is not None and not (write or snapshot):
            try:
                conn = self._threads.connection()
            except StoreError as exc:
                self.health.failed(exc, False)
                raise
            return _Read(conn, self._lookups, self.health)
        return self._pooled(write, snapshot)

    @contextlib.contextmanager
    def waiting_since(self, arrived: float) -> Iterator[None]:
        """Writes begun inside, on this thread, wait for SQLite's write lock no later than `arrived` (time.monotonic())
        plus the lock timeout: a request that queued behind others for the one writer waits no longer in all than one
        that did not. (PostgreSQL's requests run side by side, each statement under its own lock timeout.)"""
        if not self.serial or self.options.lock_timeout <= 0:
            yield
            return
        self._waits.deadline = arrived + self.options.lock_timeout
        try:
            yield
        finally:
            self._waits.deadline = None

    @contextlib.contextmanager
    def _pooled(self, write: bool, snapshot: bool) -> Iterator[Transaction]:
        """A transaction on a pooled connection (BEGIN IMMEDIATE / BEGIN on SQLite: _sqlite_pragmas)."""
        connected = committing = False
        try:
            with (self.engine if write or snapshot else self._reader).connect() as conn:
                connected = True
                conn = conn.execution_options(write=write, snapshot=snapshot)
                if snapshot and self.locking:
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield Transaction(conn, self.locking, self._lookups)
                    committing = True
        except Disconnected as exc:
            if committing or not connected:
                self.health.failed(exc, write)
                raise
            raise Aborted(str(exc)) from None
        except StoreError as exc:
            self.health.failed(exc, write)
            raise
        self.health.served(write)

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
        BEGIN IMMEDIATE on SQLite), and DDL is transactional on both, so a failed upgrade leaves nothing. On
        PostgreSQL it runs without the lock and statement timeouts (a migration may wait for another, and take long)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(write=True)
            config = self._alembic(conn)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(text("SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0"))
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                current = MigrationContext.configure(conn).get_current_revision()
                if current is not None and not _known(current):
                    raise SchemaTooNew(_too_new(current))
                command.upgrade(config, "head")
            return _head()

    def check_schema(self) -> None:
        """Refuses (SchemaBehind, SchemaTooNew) a database whose schema is not this smimages' newest revision: what a
        server that does not migrate (--read-only) checks at start."""
        current = self.revision()
        if current is not None and not _known(current):
            raise SchemaTooNew(_too_new(current))
        if current != _head():
            raise SchemaBehind(_behind(current))

    def check_writable(self) -> None:
        """Raises Unavailable (ReadOnly for a read-only file) unless a SQLite file can be written: SQLite opens a file
        it may not write read-only, and only a write finds out."""
        if self.dialect != "sqlite" or self.memory:
            return
        with self.engine.connect() as conn:
            conn = conn.execution_options(write=True)
            with conn.begin() as tx:
                conn.exec_driver_sql("CREATE TABLE smimages_write_probe (x INTEGER)")
                tx.rollback()

    def readiness(self) -> str | None:
        """Why the database cannot serve this process now, or None when it can: a short check (READY_TIMEOUT) of the
        connection, the schema revision, whether it may be written, free disk where it can be seen, and other
        trouble requests met in the last seconds (smimages/store/health.py)."""
        if self.memory:
            return None
        try:
            with self._probe_engine().connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                read_only = probes.read_only(conn, self.url) if not self.read_only else None
        except StoreError as exc:
            return exc.reason if isinstance(exc, Unavailable) else str(exc)
        if current is None or not _known(current):
            return _too_new(current) if current is not None else "the database has no catalog schema"
        if current != _head():
            return _behind(current)
        problem = read_only or (None if self.read_only else probes.disk_full(self.url))
        # what the check cannot see for itself (a PostgreSQL server's full disk, its connection limit), requests
        # report: the trouble they met in the last seconds, unless it was one the check has just ruled out
        recent = self.health.recent()
        if problem is None and recent is not None and not isinstance(recent, (Disconnected, ReadOnly)):
            return recent.reason
        return problem

    def _probe_engine(self) -> Engine:
        if self._probe is None:
            if self.dialect == "sqlite":
                self._probe = _sqlite_engine(make_url(self.url), NullPool, _ms(READY_TIMEOUT), self.read_only)
            else:
                url = _postgres_url(make_url(self.url), self.options, statement_timeout=READY_TIMEOUT)
                self._probe = create_engine(url, poolclass=NullPool)
                errors.install(self._probe)
        return self._probe

    def dispose(self) -> None:
        """Closes the database connections (once no transaction runs any more)."""
        if self._threads is not None:
            self._threads.close()
        if self._probe is not None:
            self._probe.dispose()
        self.engine.dispose()


_template_lock = threading.Lock()


@functools.cache
def _schema_template() -> Store:
    """An in-memory catalog migrated once per process: new in-memory catalogs are copies of it (0.3 ms, where
    running the migrations takes about 15 ms)."""
    template = Store("sqlite://")
    template.migrate()
    return template


def open_store(
    url: str, pool_size: int = DEFAULT_POOL_SIZE, fast: bool = True, options: DatabaseOptions = DatabaseOptions()
) -> Store:
    """The one way to open a catalog: a store at the newest schema (an in-memory one copies a migrated template).

    A store that may write migrates the database and checks that it can write it (Unavailable, or ReadOnly, when
    it cannot); a read-only one (`options.read_only`) only checks that the schema is the newest (SchemaBehind)."""
    store = Store(url, pool_size, fast, options)
    try:
        if store.read_only:
            store.check_schema()
        elif not store.memory:
            store.migrate()
            store.check_writable()
    except Unavailable as exc:
        store.dispose()
        if not isinstance(exc, ReadOnly) and probes.unwritable(probes.sqlite_file(url)):
            raise ReadOnly("the database is read-only", exc.detail) from None  # e.g. no WAL files can be made
        raise
    except BaseException:
        store.dispose()
        raise
    if not store.memory:
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


@functools.cache
def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", "smimages.store:migrations")
    return ScriptDirectory.from_config(config)


def _head() -> str | None:
    """The newest schema revision this smimages knows."""
    return _script().get_current_head()


def _known(revision: str) -> bool:
    return any(known.revision == revision for known in _script().walk_revisions())


def _too_new(current: str) -> str:
    return (
        f"The database schema is at revision {current}, which this smimages does not know; it was migrated by a "
        f"newer release (this one knows up to {_head()}). Upgrade smimages, or point --db at another database."
    )


def _behind(current: str | None) -> str:
    return (
        f"The database schema is at revision {current or 'none (never migrated)'}, behind this smimages "
        f"({_head()}). Run `smimages migrate --db URL` with write access to the database first."
    )


def display_url(url: str) -> str:
    """A database URL without its password, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def default_url() -> str:
    """The per-user SQLite file used when no --db is given."""
    return f"sqlite:///{os.path.join(user_data_dir('smimages'), 'smimages.db')}"
