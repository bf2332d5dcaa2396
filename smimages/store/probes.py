"""What the readiness check looks at beyond a query: whether the database may be written, and its free disk."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Connection

MIN_FREE_BYTES = 64 * 1024  # free disk below which a SQLite database counts as full


def read_only(conn: Connection, file: Path | None) -> str | None:
    """Why the database refuses writes, or None: a standby or a read-only default (PostgreSQL), a file, folder or
    file system this process may not write (SQLite: `file`, None in memory)."""
    if conn.dialect.name == "postgresql":
        standby, default = conn.exec_driver_sql(
            "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')"
        ).one()
        if standby:
            return "the database is read-only (a standby: point --db at the primary)"
        return "the database is read-only (default_transaction_read_only is on)" if default == "on" else None
    return "the database is read-only (its file or folder cannot be written)" if unwritable(file) else None


def unwritable(path: Path | None) -> bool:
    """Whether this process may not write a SQLite file or its folder (WAL mode writes files beside it)."""
    return path is not None and not (
        os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
    )


def disk_full(file: Path | None) -> str | None:
    """'the database's disk is full' when a SQLite file's file system has less than MIN_FREE_BYTES left (None: a
    PostgreSQL server's disk, which cannot be seen from here: its writes report it)."""
    if file is None:
        return None
    stats = os.statvfs(file.parent)
    return "the database's disk is full" if stats.f_bavail * stats.f_frsize < MIN_FREE_BYTES else None
