"""Opens a catalog database by URL (SQLite or PostgreSQL), migrates it, and hands out transactions."""
import contextlib
import os
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import StaticPool

from .sql import Conflict, Aborted, Transaction

_MIGRATION_LOCK = 7_362_011  # PostgreSQL advisory lock key held while migrating
DEFAULT_POOL_SIZE = 8
# deadlock_detected, serialization_failure, lock_not_available: PostgreSQL aborted the whole transaction
_RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}


class SchemaTooNew(Exception):
    """The database was migrated by a newer smimages than this one."""


def _engine(url: str, pool_size: int) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        if not memory:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False},
                               poolclass=StaticPool if memory else None)
        _sqlite_pragmas(engine, memory)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # Named in pg_stat_activity unless the URL names it. No pool_pre_ping (a round trip per transaction): a
    # connection found dead makes its transaction fail as Aborted, which is run again on a fresh one.
    connect_args = {} if "application_name" in parsed.query else {"application_name": "smimages"}
    return create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, connect_args=connect_args)


def _sqlite_pragmas(engine: Engine, memory: bool) -> None:
    """WAL, enforced foreign keys, and explicit BEGIN (IMMEDIATE for writes) so writers never deadlock."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        for pragma in ("foreign_keys=ON", "busy_timeout=10000", "synchronous=NORMAL",
                       *(() if memory else ("journal_mode=WAL",))):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # a plain read runs each statement on its own (as PostgreSQL reads do): no BEGIN/COMMIT to pay for
        options = conn.get_execution_options()
        if options.get("write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif options.get("snapshot"):
            conn.exec_driver_sql("BEGIN")


class Store:
    """The catalog database: migrations plus short transactions."""

    def __init__(self, url: str, pool_size: int = DEFAULT_POOL_SIZE):
        self.url = url
        self.engine = _engine(url, pool_size)
        self.dialect = self.engine.dialect.name
        self.locking = self.dialect == "postgresql"
        # Under READ COMMITTED every statement sees its own snapshot anyway, so a read-only transaction
        # buys nothing on PostgreSQL: reads run in autocommit, saving the BEGIN and COMMIT round trips.
        self._reader = (self.engine.execution_options(isolation_level="AUTOCOMMIT") if self.locking
                        else self.engine)

    @contextlib.contextmanager
    def transaction(self, write: bool = False, snapshot: bool = False) -> Iterator[Transaction]:
        """A transaction that commits on success and rolls back on any exception.

        Writes lock what they change (BEGIN IMMEDIATE on SQLite, row locks on PostgreSQL). With `snapshot`,
        every statement sees the database as of the first one (REPEATABLE READ on PostgreSQL; a SQLite
        transaction always does), e.g. for a consistent export of a catalog others keep writing to.
        A uniqueness violation surfaces as Conflict; a transaction the database aborted (a deadlock) or whose
        connection broke before it committed as Aborted: nothing was written, so the caller may run it again.
        (A connection lost during COMMIT leaves the outcome unknown, and stays an error.)"""
        committing = False
        try:
            with (self.engine if write or snapshot else self._reader).connect() as conn:
                conn = conn.execution_options(write=write, snapshot=snapshot)
                if snapshot and self.locking:
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield Transaction(conn, self.locking)
                    committing = True
        except IntegrityError as exc:
            raise Conflict(str(exc.orig)) from None
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES or (
                    exc.connection_invalidated and not committing):
                raise Aborted(str(exc.orig)) from None
            raise

    def _alembic(self, conn) -> Config:
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
                        "Upgrade smimages, or point --db at another database.")
                command.upgrade(config, "head")
            return script.get_current_head()

    def dispose(self) -> None:
        self.engine.dispose()


def _known(script: ScriptDirectory, revision: str) -> bool:
    return any(known.revision == revision for known in script.walk_revisions())


def default_url() -> str:
    """The per-user SQLite file used when no --db is given."""
    return f"sqlite:///{os.path.join(user_data_dir('smimages'), 'smimages.db')}"
