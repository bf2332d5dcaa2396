"""The one translation of driver errors into the store's exceptions (the store then raises them on every path)."""

import sqlite3

import psycopg.errors
import pytest

from smimages.store import Aborted, Busy, Conflict, Disconnected, ReadOnly, Unavailable
from smimages.store.errors import translate


def sqlite_error(kind: type[sqlite3.Error], name: str, text: str) -> sqlite3.Error:
    error = kind(text)
    error.sqlite_errorname = name  # what the sqlite3 module sets on the errors it raises
    return error


@pytest.mark.parametrize(
    "error, kind, reason",
    [
        (sqlite_error(sqlite3.IntegrityError, "SQLITE_CONSTRAINT_UNIQUE", "UNIQUE constraint failed"), Conflict, None),
        (sqlite_error(sqlite3.OperationalError, "SQLITE_BUSY", "database is locked"), Busy, None),
        (
            sqlite_error(sqlite3.OperationalError, "SQLITE_FULL", "database or disk is full"),
            Unavailable,
            "the database's disk is full",
        ),
        (
            sqlite_error(sqlite3.OperationalError, "SQLITE_READONLY_DBMOVED", "attempt to write a readonly database"),
            ReadOnly,
            "the database is read-only",
        ),
        (
            sqlite_error(sqlite3.OperationalError, "SQLITE_IOERR_WRITE", "disk I/O error"),
            Unavailable,
            "the database file cannot be read or written",
        ),
        (psycopg.errors.lookup("23505")("duplicate key"), Conflict, None),
        (psycopg.errors.lookup("40001")("could not serialize"), Aborted, None),
        (psycopg.errors.lookup("40P01")("deadlock detected"), Aborted, None),
        (psycopg.errors.lookup("55P03")("canceling statement due to lock timeout"), Busy, None),
        (psycopg.errors.lookup("57014")("canceling statement due to statement timeout"), Busy, None),
        (
            psycopg.errors.lookup("57P01")("terminating connection due to administrator command"),
            Disconnected,
            "the database cannot be reached",
        ),
        (psycopg.errors.lookup("08006")("connection failure"), Disconnected, "the database cannot be reached"),
        (psycopg.OperationalError("connection refused"), Disconnected, "the database cannot be reached"),
        (
            psycopg.errors.ConnectionTimeout("connection timeout expired"),
            Disconnected,
            "the database server did not answer in time",
        ),
        (psycopg.errors.lookup("53100")("could not extend file"), Unavailable, "the database's disk is full"),
        (
            psycopg.errors.lookup("53300")("too many clients already"),
            Unavailable,
            "the database has too many connections",
        ),
        (
            psycopg.errors.lookup("25006")("cannot execute INSERT in a read-only transaction"),
            ReadOnly,
            "the database is read-only",
        ),
    ],
)
def test_driver_errors_become_store_errors(error, kind, reason):
    translated = translate(error)
    assert type(translated) is kind
    assert getattr(translated, "reason", None) == reason


@pytest.mark.parametrize(
    "error",
    [
        sqlite_error(sqlite3.OperationalError, "SQLITE_ERROR", "no such table: images"),
        psycopg.errors.lookup("42P01")("relation does not exist"),
        ValueError("not a driver error"),
    ],
)
def test_bugs_are_not_translated(error):
    assert translate(error) is None
