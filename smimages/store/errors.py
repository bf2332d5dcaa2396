"""The one translation of driver errors (sqlite3, psycopg) into the store's exceptions, on every path."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

from .interface import Aborted, BadDatabaseURL, Busy, Conflict, Disconnected, ReadOnly, StoreError, Unavailable

# PostgreSQL SQLSTATEs by what they mean to a caller
_ABORTED = {"40001", "40P01"}  # serialization failure, deadlock: the transaction was rolled back
_BUSY = {"55P03", "57014"}  # lock_not_available (lock_timeout), query_canceled (statement_timeout)
_DISCONNECTED_PREFIXES = ("08",)  # connection exceptions
_DISCONNECTED = {"57P01", "57P02", "57P03"}  # admin shutdown, crash shutdown, cannot connect now
_RESOURCES = {  # insufficient resources
    "53100": "the database's disk is full",
    "53200": "the database is out of memory",
    "53300": "the database has too many connections",
}
_READ_ONLY = {"25006"}  # read_only_sql_transaction: a standby after a failover, default_transaction_read_only
# SQLite result codes (Python 3.11's sqlite3 names them on the exception)
_SQLITE = {
    "SQLITE_BUSY": Busy,
    "SQLITE_LOCKED": Busy,
    "SQLITE_FULL": Unavailable,
    "SQLITE_READONLY": Unavailable,
    "SQLITE_IOERR": Unavailable,
    "SQLITE_CANTOPEN": Unavailable,
    "SQLITE_PERM": Unavailable,
    "SQLITE_CORRUPT": Unavailable,
    "SQLITE_NOTADB": Unavailable,
}
_UNWRITABLE = "make the file and its folder writable by this user, or choose another database"
_SQLITE_REASONS = {  # result code: (reason, fix)
    "SQLITE_FULL": ("the database's disk is full", "free some space on it"),
    "SQLITE_READONLY": ("the database is read-only", _UNWRITABLE),
    "SQLITE_IOERR": ("the database file cannot be read or written", _UNWRITABLE),
    "SQLITE_CANTOPEN": ("the database file cannot be opened", _UNWRITABLE),
    "SQLITE_PERM": ("the database file cannot be opened", _UNWRITABLE),
    "SQLITE_CORRUPT": ("the database file is corrupt", "restore it from a backup, or choose another database"),
    "SQLITE_NOTADB": ("the file is not a SQLite database", "check the path in the database URL"),
}
# Why libpq could not open a connection, by its message: (pattern, reason, fix)
_CONNECT_FAILURES = [
    (
        r"failed to resolve host|could not translate host name",
        "the database host is unknown",
        "check the host name in the database URL",
    ),
    (
        r"Connection refused",
        "nothing accepts connections at the database's host and port",
        "start PostgreSQL there, or check the host and port in the database URL",
    ),
    (
        r'database "[^"]*" does not exist',
        "the database does not exist",
        "create it (createdb), or check the database name in the URL",
    ),
    (
        r'role "[^"]*" does not exist',
        "the database user does not exist",
        "create it (createuser), or check the user name in the URL",
    ),
    (
        r"password authentication failed|no password supplied",
        "the database refused the credentials",
        "check the password (in the URL, PGPASSWORD or ~/.pgpass)",
    ),
    (
        r"no pg_hba\.conf entry",
        "the database server does not accept connections from this client",
        "allow it in pg_hba.conf, or connect as another user",
    ),
    (
        r"timeout expired",
        "the database server did not answer in time",
        "check the host and port in the database URL, and any firewall on the way",
    ),
]


def translate(error: BaseException) -> StoreError | None:
    """The store exception a driver error stands for, or None for one that is a bug (left to surface as it is)."""
    if isinstance(error, StoreError):
        return error
    detail = _first_line(error)
    if isinstance(error, sqlite3.Error):
        return _sqlite(error, detail)
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate is None and type(error).__module__.startswith("psycopg"):
        # OperationalError, InterfaceError and their subclasses (ConnectionTimeout, ...): no SQLSTATE, no server
        if any(kind.__name__ in ("OperationalError", "InterfaceError") for kind in type(error).__mro__):
            return _unreachable(detail)
        if type(error).__name__ == "ProgrammingError" and detail.startswith("invalid connection option"):
            return BadDatabaseURL(f"the database URL has an {detail}: remove that query parameter")
        return None
    if sqlstate is None:
        return None
    if sqlstate.startswith("23"):
        return Conflict(detail)
    if sqlstate in _ABORTED:
        return Aborted(detail)
    if sqlstate in _BUSY:
        return Busy(detail)
    if sqlstate in _DISCONNECTED or sqlstate.startswith(_DISCONNECTED_PREFIXES):
        return Disconnected("the database cannot be reached", detail)
    if sqlstate.startswith("53"):
        return Unavailable(_RESOURCES.get(sqlstate, "the database is out of resources"), detail)
    if sqlstate in _READ_ONLY:
        return ReadOnly("the database is read-only", detail)
    return None


def _sqlite(error: sqlite3.Error, detail: str) -> StoreError | None:
    if isinstance(error, sqlite3.IntegrityError):
        return Conflict(detail)
    name = getattr(error, "sqlite_errorname", "") or ""
    base = "_".join(name.split("_")[:2])  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
    kind = _SQLITE.get(base)
    if kind is None:
        if "database is locked" in detail:
            return Busy(detail)
        return None
    if kind is Busy:
        return Busy(detail)
    reason, fix = _SQLITE_REASONS[base]
    return (ReadOnly if base == "SQLITE_READONLY" else Unavailable)(reason, detail, fix)


def _unreachable(detail: str) -> Disconnected:
    """A connection libpq could not open (or lost), with the reason and the fix its message points to."""
    detail = " ".join(detail.removeprefix("connection failed: ").split())  # libpq pads "FATAL:  ..."
    for pattern, reason, fix in _CONNECT_FAILURES:
        if re.search(pattern, detail):
            return Disconnected(reason, detail, fix)
    return Disconnected("the database cannot be reached", detail)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def install(engine: Engine) -> None:
    """Makes every statement, connect and commit SQLAlchemy runs on `engine` raise store exceptions."""

    @event.listens_for(engine, "handle_error")
    def _translated(context: ExceptionContext) -> Any:
        mapped = translate(context.original_exception)
        if mapped is None and context.is_disconnect:
            mapped = Disconnected("the database connection was lost", _first_line(context.original_exception))
        if mapped is not None:
            raise mapped from None
        return None
