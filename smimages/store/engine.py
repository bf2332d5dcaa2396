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
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, Pool, StaticPool

from . import errors
from .fastpath import DriverLookups, Lookups, PlainLookups, ThreadReaders
from .interface import (
    Aborted,
    BadDatabaseURL,
    CatalogMissing,
    Disconnected,
    SchemaTooNew,
    SchemaTooOld,
    Unavailable,
)
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


def _engine(url: URL, pool_size: int, create: bool) -> Engine:
    """An engine for a parsed URL; a SQLite file's folder is made when `create` (else the file must exist)."""
    if url.get_backend_name() == "sqlite":
        memory = _in_memory(url)
        if not memory:
            _sqlite_file(Path(cast(str, url.database)), create)
        return _sqlite_engine(url, StaticPool if memory else None)
    # A pool as large as the request threads (executor_for): reads take connections of their own (Store's readers),
    # so a server holds at most 2 x pool_size connections.
    return _postgres_engine(url, pool_size=pool_size, max_overflow=0)


def _postgres_engine(url: URL, **options: Any) -> Engine:
    """A PostgreSQL engine on psycopg. No pool_pre_ping (a round trip per transaction): a connection found dead makes
    its transaction fail as Aborted, which is run again on a fresh one. Named in pg_stat_activity unless the URL
    names it."""
    url = url.set(drivername="postgresql+psycopg")
    connect_args = {} if "application_name" in url.query else {"application_name": "smimages"}
    engine = create_engine(url, connect_args=connect_args, **options)
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

    def __init__(self, url: str, pool_size: int = DEFAULT_POOL_SIZE, fast: bool = True, create: bool = True):
        self.url = url
        parsed = _parse_url(url)
        self.engine = _engine(parsed, pool_size, create)
        self.dialect = self.engine.dialect.name
        self.locking = self.dialect == "postgresql"
        self.memory = self.dialect == "sqlite" and _in_memory(self.engine.url)  # one connection holds the catalog
        self.serial = self.dialect == "sqlite"  # one writer: requests take turns rather than queue on a pool
        self.connections = pool_size
        self.display_url = parsed.render_as_string(hide_password=True)
        self.created = False  # whether open_store created the catalog
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

    def _alembic(self, conn: Connection | None) -> Config:
        config = Config()
        config.set_main_option("script_location", "smimages.store:migrations")
        config.attributes["connection"] = conn
        return config

    def revision(self) -> str | None:
        """The schema revision the database is at (None when it was never migrated)."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def migrate(self) -> str | None:
        """Brings the schema to the newest revision this smimages knows; refuses a newer database. Returns the
        revision the database was at before (None: it held no catalog, and now holds an empty one).

        Safe to run from several processes at once: they take turns (an advisory lock on PostgreSQL,
        BEGIN IMMEDIATE on SQLite), and DDL is transactional on both, so a failed upgrade leaves nothing."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(write=True)
            config = self._alembic(conn)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                current = MigrationContext.configure(conn).get_current_revision()
                _refuse_newer(ScriptDirectory.from_config(config), current)
                command.upgrade(config, "head")
            return current

    def check(self) -> None:
        """Refuses a database that holds no catalog at this smimages' newest schema, without changing it."""
        current = self.revision()
        if current is None:
            raise CatalogMissing(f"{self.display_url} holds no smimages catalog (its tables were never created)")
        script = ScriptDirectory.from_config(self._alembic(None))
        _refuse_newer(script, current)
        if current != script.get_current_head():
            raise SchemaTooOld(
                f"The database schema is at revision {current}, older than this smimages' "
                f"({script.get_current_head()}). Migrate it first: smimages migrate --db URL."
            )

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


def open_store(url: str, pool_size: int = DEFAULT_POOL_SIZE, fast: bool = True, create: bool = True) -> Store:
    """The one way to open a catalog: a store at the newest schema (an in-memory one copies a migrated template).

    With `create`, a missing database (a SQLite file, its folder, or the tables of an empty database) is created
    and an older one migrated, and `store.created` says whether it was. Without, nothing is created or changed: a
    missing catalog is CatalogMissing and one at an older schema SchemaTooOld."""
    store = Store(url, pool_size, fast, create)
    try:
        if not create:
            if store.memory:
                raise CatalogMissing("sqlite:// is a new, empty database in memory: name a file or PostgreSQL")
            store.check()
        elif not store.memory:
            store.created = store.migrate() is None
        else:
            _copy_template(store)
    except Unavailable as exc:
        store.dispose()
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


def _refuse_newer(script: ScriptDirectory, revision: str | None) -> None:
    if revision is not None and not any(known.revision == revision for known in script.walk_revisions()):
        raise SchemaTooNew(
            f"The database schema is at revision {revision}, which this smimages does not know; "
            f"it was migrated by a newer release (this one knows up to {script.get_current_head()}). "
            "Upgrade smimages, or point --db at another database."
        )


def default_url() -> str:
    """The per-user SQLite file used when no --db is given."""
    return f"sqlite:///{os.path.join(user_data_dir('smimages'), 'smimages.db')}"
