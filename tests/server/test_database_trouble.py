"""Database trouble named at the edge, on real servers: an unwritable SQLite file refuses to start in one line or is
served on purpose with --read-only; a read-only PostgreSQL (a standby after a failover) answers writes with a
retryable 503 and makes readiness say why; health and readiness answer in JSON."""

import os
import sqlite3
import subprocess
import sys

import pytest

from smimages.store import open_store
from support import ROLE, bare_client
from support.load import attempt, get

READ_ONLY = "This catalog is read-only (smimages serve --read-only): CreateImage is not allowed."


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder holding a migrated catalog with one image, that this process may read but not write: its mode
    (0555/0444) as an ordinary user, a read-only bind mount as root (who may write whatever the mode says)."""
    source = tmp_path / "catalog"
    source.mkdir()
    url = f"sqlite:///{source / 'state.db'}"
    server_store = open_store(url)
    server_store.dispose()
    with sqlite3.connect(source / "state.db") as conn:
        conn.execute(
            "INSERT INTO images (account, region, name, name_key, role_arn, next_version, status, created_at, "
            "modified_at) VALUES ('000000000000', 'us-east-1', 'img', 'img', ?, 0, 'CREATED', 0, 0)",
            (ROLE,),
        )
    conn.close()
    if os.geteuid() != 0:
        (source / "state.db").chmod(0o444)
        source.chmod(0o555)
        yield source
        source.chmod(0o755)
        return
    target = tmp_path / "read-only"
    target.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"root, and no read-only bind mount here: {mounted.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True, capture_output=True)
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "smimages", "serve", "--port", "0", *args], capture_output=True, text=True, timeout=60
    )


def test_an_unwritable_sqlite_file_refuses_to_start_in_one_line(read_only_folder):
    url = f"sqlite:///{read_only_folder / 'state.db'}"
    result = serve("--db", url)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"Error: the database {url} cannot be written")
    assert "make the file and its folder writable by this user, or serve it read-only with --read-only." in (
        result.stderr
    )


def test_read_only_serves_reads_and_refuses_writes(read_only_folder, server_factory):
    server = server_factory("--db", f"sqlite:///{read_only_folder / 'state.db'}", "--read-only").start()
    sm = bare_client(server.url)
    assert [image["ImageName"] for image in sm.list_images()["Images"]] == ["img"]
    assert sm.describe_image(ImageName="img")["ImageStatus"] == "CREATED"
    refused = attempt(lambda: sm.create_image(ImageName="new", RoleArn=ROLE))
    assert (refused.status, refused.code, refused.message) == (400, "AccessDeniedException", READ_ONLY)
    assert get(f"{server.url}/_smimages/ready")[:2] == (200, {"status": "ready", "mode": "read-only"})
    out = server.stop()
    assert "(read-only)" in out and "Traceback" not in out


def test_read_only_refuses_a_schema_it_cannot_migrate(tmp_path):
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()  # a database never migrated
    result = serve("--db", f"sqlite:///{path}", "--read-only")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"Error: sqlite:///{path} holds no smimages catalog (its tables were never created)"
    )
    assert "`smimages serve --read-only` reads an existing catalog and never creates one" in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_unreachable_postgresql_refuses_to_start_in_one_line():
    from smimages.net import free_port

    url = f"postgresql://nobody@127.0.0.1:{free_port()}/db"
    result = serve("--db", url)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        f"Error: cannot open {url}: nothing accepts connections at the database's host and port"
    )


def test_health_and_readiness_of_a_healthy_server(server_factory, tmp_path):
    server = server_factory("--db", f"sqlite:///{tmp_path / 'state.db'}").start()
    assert get(f"{server.url}/_smimages/health")[:2] == (200, {"status": "ok"})
    assert get(f"{server.url}/_smimages/ready")[:2] == (200, {"status": "ready"})
    with sqlite3.connect(tmp_path / "state.db") as conn:  # the schema moved back under the server's feet
        conn.execute("UPDATE alembic_version SET version_num = '0003'")
    conn.close()
    status, body, _ = get(f"{server.url}/_smimages/ready")
    assert status == 503 and body["status"] == "not ready"
    assert body["reason"].startswith("The database schema is at revision 0003, behind this smimages")


@pytest.mark.postgres
def test_a_read_only_postgresql_is_a_retryable_503_and_not_ready(server_factory, postgres):
    """A server pointed at a database that refuses writes, as a standby does after a failover (here the session
    default, so the shared test database is left as it is)."""
    url = postgres.schema()
    open_store(url).dispose()  # migrated while writable
    read_only = url.replace("-csearch_path", "-cdefault_transaction_read_only%3Don+-csearch_path", 1)
    server = server_factory("--db", read_only).start()
    sm = bare_client(server.url)
    assert sm.list_images()["Images"] == []
    refused = [attempt(lambda: sm.create_image(ImageName="img", RoleArn=ROLE)) for _ in range(3)]
    message = "The request has failed due to a temporary failure of the server. The database is read-only."
    assert {(o.status, o.code, o.message, o.retry_after) for o in refused} == {
        (503, "ServiceUnavailable", message, "1")
    }
    assert get(f"{server.url}/_smimages/ready")[:2] == (
        503,
        {"status": "not ready", "reason": "the database is read-only (default_transaction_read_only is on)"},
    )
    out = server.stop()
    assert out.count("unavailable: the database is read-only") == 1, out
    assert "Traceback" not in out


@pytest.mark.postgres
def test_the_statement_timeout_stops_a_statement_that_waits_without_a_lock_timeout(server_factory, postgres):
    """--db-statement-timeout reaches every connection (ahead of the URL's own options, which keep their search_path):
    with no lock timeout, a statement stuck behind a row lock is cancelled by it, and answered as a lock not
    released in time."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = postgres.schema()
    server = server_factory("--db", url, "--db-lock-timeout", "0", "--db-statement-timeout", "1").start()
    sm = bare_client(server.url)
    sm.create_image(ImageName="img", RoleArn=ROLE)
    holder = create_engine(make_url(url).set(drivername="postgresql+psycopg")).connect()
    try:
        holder.exec_driver_sql("SELECT 1 FROM images WHERE name = 'img' FOR UPDATE")
        stuck = attempt(lambda: sm.update_image(ImageName="img", Description="x"))
    finally:
        holder.rollback()
        holder.close()
    assert (stuck.status, stuck.code, stuck.retry_after) == (503, "ServiceUnavailable", "1")
    assert stuck.message.endswith("A lock another database session holds was not released in time.")
    assert 1.0 <= stuck.seconds < 3.0
    assert sm.update_image(ImageName="img", Description="x")["ImageArn"].endswith("/img")
