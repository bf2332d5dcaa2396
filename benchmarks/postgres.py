"""A throwaway PostgreSQL database (bench_<random>) on the local server, dropped afterwards."""

import contextlib
import secrets
from collections.abc import Iterator

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_version(admin_url: str) -> str | None:
    """The server's version string, or None when it cannot be reached."""
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.OperationalError:
        return None


@contextlib.contextmanager
def temporary_database(admin_url: str) -> Iterator[str]:
    """Creates a fresh database and yields its URL; drops it (closing leftover sessions) on exit."""
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
