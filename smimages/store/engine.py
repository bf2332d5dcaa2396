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

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from platformdirs import user_data_dir
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, Pool, StaticPool

from . import errors, probes
from .fastpath import DriverLookups, Lookups, PlainLookups, Readers, ThreadReaders
from .health import Health
from .interface import (
    Aborted,
    BadDatabaseURL,
    CatalogMissing,
    Disconnected,
    ReadOnly,
    SchemaTooNew,
    SchemaTooOld,
    StoreError,
    Unavailable,
)
from .loopreads import LoopReads
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
    engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=poolclass, **_WRITE_JSON)
    _sqlite_pragmas(engine, _in_memory(url), busy_ms, read_only, waits)
    errors.install(engine)
    return engine


_URL_FORMS = "sqlite:///path/state.db, sqlite:// (in memory) or postgresql://user@host:port/db"


def _parse_url(url: str) -> URL:
    """The URL of a database smimages can open: SQLite (a file path made absolute) or PostgreSQL through psycopg.
    Anything else is a BadDatabaseURL whose message says what to write instead."""
    try:
        parsed = make_url(url)
        port = parsed.port
    except (ArgumentError, ValueError):
        if "://" in url:  # never echoed: it may hold a password
            raise BadDatabaseURL(f"the database URL cannot be parsed: write it as {_URL_FORMS}") from None
        raise BadDatabaseURL(
            f"{url!r} is not a database URL: write sqlite:///{url} for a SQLite file "
            "(postgresql://user@host:port/db for PostgreSQL)"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    if port is not None and not 0 < port < 65536:
        raise BadDatabaseURL(f"{shown} has no valid port: use a number from 1 to 65535, or none for 5432")
    backend = parsed.drivername.partition("+")[0]
    if backend == "postgres":
        fixed = parsed.set(drivername="postgresql").render_as_string(hide_password=True)
        raise BadDatabaseURL(f"postgres:// is not a SQLAlchemy scheme: use postgresql:// ({fixed})")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if parsed.host:
            path = "/".join(part for part in (parsed.host, parsed.database) if part)
            raise BadDatabaseURL(
                f"{shown} names no file (the path goes after three slashes): write sqlite:///{path} for a "
                "relative path, sqlite:////abs/path.db for an absolute one, or sqlite:// for a database in memory"
            )
        if _in_memory(parsed):
            return parsed
        return parsed.set(database=str(Path(cast(str, parsed.database)).expanduser().absolute()))
    if parsed.drivername in ("postgresql", "postgresql+psycopg"):
        return parsed
    driver = f"{parsed.drivername}:// is" if backend in ("sqlite", "postgresql") else f"{backend}:// databases are"
    raise BadDatabaseURL(f"{driver} not supported: use {_URL_FORMS}")


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


def _engine(url: URL, pool_size: int, options: DatabaseOptions, waits: _WriteWaits, create: bool) -> Engine:
    """An engine for a parsed URL; a SQLite file's folder is made when `create` (else the file must exist)."""
    if url.get_backend_name() == "sqlite":
        memory = _in_memory(url)
        if not memory:
            _sqlite_file(Path(cast(str, url.database)), create and not options.read_only)
        busy_ms = _ms(options.lock_timeout) or _FOREVER_MS
        return _sqlite_engine(url, StaticPool if memory else None, busy_ms, options.read_only, waits)
    # A pool as large as the request threads (executor_for): reads take connections of their own (Store's readers),
    # so a server holds at most 2 x pool_size connections.
    return _postgres_engine(_postgres_url(url, options), pool_size=pool_size, max_overflow=0)


# JSON columns (an app image config's blocks) are written as the wire writes JSON (orjson: compact, non-ASCII text as
# it is): list pages carry the stored text as it is (migration 0006 rewrote what was stored before)
_WRITE_JSON: dict[str, Any] = {"json_serializer": lambda value: orjson.dumps(value).decode()}
# psycopg decodes them with orjson rather than the json module
_POSTGRES_OPTIONS: dict[str, Any] = {**_WRITE_JSON, "json_deserializer": orjson.loads}


def _postgres_engine(url: URL, **options: Any) -> Engine:
    """A PostgreSQL engine on psycopg for a URL _postgres_url made. No pool_pre_ping (a round trip per transaction):
    a connection found dead makes its transaction fail as Aborted, which is run again on a fresh one."""
    engine = create_engine(url, **_POSTGRES_OPTIONS, **options)
    errors.install(engine)
    return engine


def _sqlite_file(path: Path, create: bool) -> None:
    """Makes a new SQLite file's folder (SQLite makes the file), or checks that the file exists."""
    if path.is_dir():
        raise BadDatabaseURL(f"{path} is a folder: name a file in it, e.g. sqlite:///{path / 'smimages.db'}")
    if not create:
        if not path.is_file():
            raise CatalogMissing(f"there is no database file {path}")
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Unavailable(
            f"cannot create the database's folder {path.parent}",
            exc.strerror or str(exc),
            "choose a database path in a folder this user can write to",
        ) from None


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
    """One read on a connection its readers lend (the calling thread's kept one, or one of the event loop's); it
    leaves no transaction open behind it (a plain class: this is the per-request path, and a generator-based context
    manager costs more). A connection found broken is dropped, and the read surfaces as Aborted, so that it runs again
    on a new one."""

    __slots__ = ("_conn", "_health", "_lookups", "_readers")

    def __init__(self, readers: Readers, conn: Connection, lookups: Lookups, health: Health):
        self._readers, self._conn, self._lookups, self._health = readers, conn, lookups, health

    def __enter__(self) -> Transaction:
        return Transaction(self._conn, False, self._lookups)

    def __exit__(self, kind: Any, error: Any, _: Any) -> None:
        if isinstance(error, Disconnected):
            self._readers.release(self._conn, True)
            raise Aborted(str(error)) from None
        try:
            began = self._conn.in_transaction()  # only driver-level lookups ran: SQLAlchemy began nothing
            if kind is None:
                if began:
                    self._conn.commit()  # ends what a statement through SQLAlchemy began (SQLite commits nothing)
                self._health.served(False)
            else:
                if began:
                    self._conn.rollback()
                if isinstance(error, StoreError):
                    self._health.failed(error, False)
        finally:
            self._readers.release(self._conn, False)


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
        create: bool = True,
    ):
        self.url = url
        self.options = options
        self._waits = _WriteWaits()
        parsed = _parse_url(url)
        self.engine = _engine(parsed, pool_size, options, self._waits, create)
        self.dialect = self.engine.dialect.name
        self.locking = self.dialect == "postgresql"
        self.memory = self.dialect == "sqlite" and _in_memory(self.engine.url)  # one connection holds the catalog
        self.serial = self.dialect == "sqlite"  # one writer: requests take turns rather than queue on a pool
        self.connections = pool_size
        self.read_only = options.read_only
        self._parsed = parsed
        # the SQLite file (an absolute path: _parse_url), None for PostgreSQL or a catalog in memory
        self.file = Path(cast(str, parsed.database)) if self.serial and not self.memory else None
        self.display_url = parsed.render_as_string(hide_password=True)
        self.created = False  # whether open_store created the catalog
        self.health = Health(self.display_url)
        self._lookups: Lookups = DriverLookups() if fast else PlainLookups()
        # Under READ COMMITTED every statement sees its own snapshot anyway, so a read-only transaction
        # buys nothing on PostgreSQL: reads run in autocommit, saving the BEGIN and COMMIT round trips.
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT") if self.locking else self.engine
        # Reads run on a connection each thread keeps open: a SQLite file's from an engine of their own (in WAL mode a
        # read never waits for a writer, so they wait for locks briefly: READ_BUSY_MS), PostgreSQL's in autocommit
        # (each statement sees its own snapshot), an in-memory catalog's its one connection (StaticPool), kept
        # checked out: no pool checkout, BEGIN or COMMIT per read. A server's PostgreSQL read requests read on the
        # event loop instead (loop_reader()), which leaves the request threads their writes.
        self._threads: ThreadReaders | None = None
        self.loop_reads: LoopReads | None = None
        self._loop_url: URL | None = None  # the loop's readers' URL, until loop_reader() makes them
        if fast and self.memory:
            self._threads = ThreadReaders(self.engine)
        elif fast:
            if self.dialect == "sqlite":
                readers = _sqlite_engine(parsed, NullPool, READ_BUSY_MS, self.read_only)
            else:
                self._loop_url = _postgres_url(parsed, options)
                readers = _postgres_engine(self._loop_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
            self._threads = ThreadReaders(readers)
        self._probe: Engine | None = None  # the readiness check's, made on its first use

    def loop_reader(self) -> LoopReads | None:
        """The event loop's readers, which a server runs PostgreSQL's read requests on (None on SQLite or off the
        fast path); made by the first call (the server's, as it starts): their asyncio engine costs about 100 ms."""
        if self.loop_reads is None and self._loop_url is not None:
            self.loop_reads = LoopReads(self._loop_url, self.connections, **_POSTGRES_OPTIONS)
        return self.loop_reads

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine the store opens connections from (the writers', then the threads' and the loop's readers'
        when they differ): what instrumentation listens on."""
        readers = [r.engine for r in (self._threads, self.loop_reads) if r is not None and r.engine is not self.engine]
        return (self.engine, *readers)

    def transaction(self, write: bool = False, snapshot: bool = False) -> AbstractContextManager[Transaction]:
        """A transaction that commits on success and rolls back on any exception.

        Writes lock what they change (BEGIN IMMEDIATE on SQLite, row locks on PostgreSQL). With `snapshot`,
        every statement sees the database as of the first one (REPEATABLE READ on PostgreSQL; a SQLite
        transaction always does), e.g. for a consistent export of a catalog others keep writing to. Other reads
        see each statement's own snapshot, without BEGIN or COMMIT (see ThreadReaders for SQLite files).
        Driver errors surface as the store's exceptions (smimages/store/errors.py); a connection that broke before
        the transaction committed surfaces as Aborted: nothing was written, so the caller may run it again. (One
        that cannot be opened, or was lost during COMMIT, leaving the outcome unknown, stays Disconnected.)"""
        if not (write or snapshot):
            readers: Readers | None = self._threads
            if self.loop_reads is not None and self.loop_reads.here():
                readers = self.loop_reads
            if readers is not None:
                try:
                    conn = readers.connection()
                except StoreError as exc:
                    self.health.failed(exc, False)
                    raise
                return _Read(readers, conn, self._lookups, self.health)
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

    def revision(self) -> str | None:
        """The schema revision the database is at (None when it was never migrated)."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def migrate(self) -> str | None:
        """Brings the schema to the newest revision this smimages knows; refuses a newer database. Returns the
        revision the database was at before (None: it held no catalog, and now holds an empty one).

        Safe to run from several processes at once: they take turns (an advisory lock on PostgreSQL,
        BEGIN IMMEDIATE on SQLite), and DDL is transactional on both, so a failed upgrade leaves nothing. On
        PostgreSQL it runs without the lock and statement timeouts (a migration may wait for another, and take long)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(write=True)
            config = _alembic(conn)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(text("SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0"))
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                current = MigrationContext.configure(conn).get_current_revision()
                if current is not None and not _known(current):
                    raise SchemaTooNew(_too_new(current))
                command.upgrade(config, "head")
            return current

    def check_schema(self) -> None:
        """Refuses, without changing it, a database that holds no catalog (CatalogMissing) or one at another schema
        than this smimages' newest (SchemaTooOld, SchemaTooNew): what a command that may not migrate checks (export,
        worker, a --read-only server)."""
        current = self.revision()
        if current is None:
            raise CatalogMissing(f"{self.display_url} holds no smimages catalog (its tables were never created)")
        if not _known(current):
            raise SchemaTooNew(_too_new(current))
        if current != _head():
            raise SchemaTooOld(_behind(current))

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
                read_only = probes.read_only(conn, self.file) if not self.read_only else None
        except StoreError as exc:
            return exc.reason if isinstance(exc, Unavailable) else str(exc)
        if current is None or not _known(current):
            return _too_new(current) if current is not None else "the database has no catalog schema"
        if current != _head():
            return _behind(current)
        problem = read_only or (None if self.read_only else probes.disk_full(self.file))
        # what the check cannot see for itself (a PostgreSQL server's full disk, its connection limit), requests
        # report: the trouble they met in the last seconds, unless it was one the check has just ruled out
        recent = self.health.recent()
        if problem is None and recent is not None and not isinstance(recent, (Disconnected, ReadOnly)):
            return recent.reason
        return problem

    def _probe_engine(self) -> Engine:
        if self._probe is None:
            if self.dialect == "sqlite":
                self._probe = _sqlite_engine(self._parsed, NullPool, _ms(READY_TIMEOUT), self.read_only)
            else:
                url = _postgres_url(self._parsed, self.options, statement_timeout=READY_TIMEOUT)
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
    url: str,
    pool_size: int = DEFAULT_POOL_SIZE,
    fast: bool = True,
    options: DatabaseOptions = DatabaseOptions(),
    create: bool = True,
) -> Store:
    """The one way to open a catalog: a store at the newest schema (an in-memory one copies a migrated template).

    With `create`, a missing database (a SQLite file, its folder, or the tables of an empty database) is created
    and an older one migrated, and `store.created` says whether it was; the store checks it can write it
    (Unavailable, or ReadOnly, when it cannot). Without `create`, or read-only (`options.read_only`), nothing is
    created or changed: a missing catalog is CatalogMissing, one at an older schema SchemaTooOld."""
    store = Store(url, pool_size, fast, options, create)
    try:
        if store.read_only or not create:
            if store.memory:
                raise CatalogMissing("sqlite:// is a new, empty database in memory: name a file or PostgreSQL")
            store.check_schema()
        elif not store.memory:
            store.created = store.migrate() is None
            store.check_writable()
        else:
            _copy_template(store)
    except Unavailable as exc:
        store.dispose()
        if not isinstance(exc, ReadOnly) and probes.unwritable(store.file):
            exc = ReadOnly("the database is read-only", exc.detail)  # e.g. no WAL files can be made beside it
        raise type(exc)(f"cannot open {store.display_url}: {exc.reason}", exc.detail, exc.fix) from None
    except BaseException:
        store.dispose()
        raise
    return store


def _copy_template(store: Store) -> None:
    with _template_lock:  # the template's one connection serves one copy at a time
        source = _schema_template().engine.raw_connection()
        target = store.engine.raw_connection()
        try:
            source.driver_connection.backup(target.driver_connection)  # type: ignore[union-attr]
        finally:
            target.close()
            source.close()


def _alembic(conn: Connection | None = None) -> Config:
    """Alembic's configuration of the catalog's migrations, run on `conn`."""
    config = Config()
    config.set_main_option("script_location", "smimages.store:migrations")
    config.attributes["connection"] = conn
    return config


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_alembic())


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
        f"({_head()}). Migrate it first: smimages migrate --db URL (with write access to the database)."
    )


def display_url(url: str) -> str:
    """A database URL without its password, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def default_url() -> str:
    """The per-user SQLite file used when no --db is given."""
    return f"sqlite:///{os.path.join(user_data_dir('smimages'), 'smimages.db')}"
