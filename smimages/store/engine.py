"""Opens a catalog database by URL (SQLite or PostgreSQL), migrates it, and hands out transactions."""
import contextlib
import os
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from .sql import Transaction

_MIGRATION_LOCK = 7_362_011  # PostgreSQL advisory lock key held while migrating


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
    return create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


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
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")


class Store:
    """The catalog database: migrations plus short transactions."""

    def __init__(self, url: str, pool_size: int = 8):
        self.url = url
        self.engine = _engine(url, pool_size)
        self.dialect = self.engine.dialect.name
        self.locking = self.dialect == "postgresql"

    @contextlib.contextmanager
    def transaction(self, write: bool = False) -> Iterator[Transaction]:
        """A transaction that commits on success and rolls back on any exception."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(write=write)
            with conn.begin():
                yield Transaction(conn, self.locking)

    def _alembic(self, conn) -> Config:
        config = Config()
        config.set_main_option("script_location", "smimages.store:migrations")
        config.attributes["connection"] = conn
        return config

    def migrate(self) -> str | None:
        """Brings the schema to the newest revision this smimages knows; refuses a newer database."""
        with self.engine.connect() as conn:
            config = self._alembic(conn)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                current = MigrationContext.configure(conn).get_current_revision()
                script = ScriptDirectory.from_config(config)
                if current is not None and not _known(script, current):
                    raise SchemaTooNew(
                        f"The database schema is at revision {current}, which this smimages does not know; "
                        "it was migrated by a newer release. Upgrade smimages.")
                command.upgrade(config, "head")
            return script.get_current_head()

    def dispose(self) -> None:
        self.engine.dispose()


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except ResolutionError:
        return False


def default_url() -> str:
    """The per-user SQLite file used when no --db is given."""
    return f"sqlite:///{os.path.join(user_data_dir('smimages'), 'smimages.db')}"
