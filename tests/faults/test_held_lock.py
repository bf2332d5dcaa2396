"""A lock held from outside smimages, on a real server: it delays only what needs it. Health answers from the event
loop, reads never wait, writes to other images (PostgreSQL: any other row) go through, and what waits for the lock
gives up after --db-lock-timeout with a retryable 503 ServiceUnavailable, logged once."""

import sqlite3
import threading
import time
from functools import partial

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from support import ROLE, Log, assert_no_traceback, bare_client
from support.load import HEALTH_LIMIT, Probe, attempt, figure, get

LOCK_TIMEOUT = 1.0
LOCKED = (
    "The request has failed due to a temporary failure of the server. "
    "A lock another database session holds was not released in time."
)


def assert_retryable(outcome, lower: float):
    assert (outcome.status, outcome.code, outcome.message) == (503, "ServiceUnavailable", LOCKED)
    assert outcome.retry_after == "1"
    assert lower <= outcome.seconds < lower + 1.5, outcome.seconds


def in_background(call):
    """Starts call() on a thread; returns a function that waits for its Outcome."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("outcome", attempt(call)))
    thread.start()

    def wait():
        thread.join()
        return result["outcome"]

    return wait


@pytest.mark.postgres
def test_a_row_lock_held_outside_delays_only_that_image(server_factory, postgres):
    db = postgres.schema()
    server = server_factory("--db", db, "--db-lock-timeout", str(LOCK_TIMEOUT)).start()
    log = Log(server)
    sm = bare_client(server.url)
    for name in ("locked", "other"):
        sm.create_image(ImageName=name, RoleArn=ROLE)
    holder = create_engine(make_url(db).set(drivername="postgresql+psycopg")).connect()
    try:
        holder.exec_driver_sql("SELECT 1 FROM images WHERE name = 'locked' FOR UPDATE")  # held until rollback
        writer = bare_client(server.url)
        with Probe(server.url) as health:
            waiting = in_background(partial(writer.update_image, ImageName="locked", Description="x"))
            time.sleep(0.2)  # the update now waits for the row
            others = [
                attempt(lambda: sm.describe_image(ImageName="locked")),  # reads take no lock
                attempt(lambda: sm.describe_image(ImageName="other")),
                attempt(lambda: sm.update_image(ImageName="other", Description="y")),
                attempt(lambda: sm.create_image(ImageName="new", RoleArn=ROLE)),
                attempt(lambda: sm.list_images()),
            ]
            ready = get(f"{server.url}/_smimages/ready")
            blocked = waiting()
        assert [o.status for o in others] == [200] * 5
        assert max(o.seconds for o in others) < HEALTH_LIMIT
        assert ready[:2] == (200, {"status": "ready"})
        assert_retryable(blocked, LOCK_TIMEOUT)
        assert health.slowest < HEALTH_LIMIT
        repeated = [attempt(lambda: sm.update_image(ImageName="locked", Description="z")) for _ in range(3)]
        assert [o.status for o in repeated] == [503] * 3
    finally:
        holder.rollback()
        holder.close()
    assert attempt(lambda: sm.update_image(ImageName="locked", Description="z")).status == 200
    time.sleep(0.2)
    text = log.new()
    assert text.count("gave up waiting for a lock") == 1, text  # once per episode, not per request
    assert_no_traceback(text)
    figure(
        "postgres-row-lock",
        lock_timeout=LOCK_TIMEOUT,
        blocked_request_s=blocked.seconds,
        other_requests_max_s=max(o.seconds for o in others),
        health_max_s=health.slowest,
        health_checks=len(health.times),
    )


def test_sqlite_write_lock_held_outside_stalls_no_read_and_no_health_check(server_factory, tmp_path):
    path = tmp_path / "state.db"
    server = server_factory("--db", f"sqlite:///{path}", "--db-lock-timeout", str(LOCK_TIMEOUT)).start()
    log = Log(server)
    sm = bare_client(server.url)
    for name in ("img", "other"):
        sm.create_image(ImageName=name, RoleArn=ROLE)
    writers = [bare_client(server.url) for _ in range(8)]  # made first: making a client takes the CPU a while
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # SQLite's one write lock, for the whole database
        with Probe(server.url) as health:
            waiting = [
                in_background(partial(writer.update_image, ImageName="img", Description="x")) for writer in writers
            ]
            time.sleep(0.2)  # the writes now wait for the lock, one after the other
            reads = [
                attempt(lambda: sm.describe_image(ImageName="img")),
                attempt(lambda: sm.describe_image(ImageName="other")),
                attempt(lambda: sm.list_images()),
                attempt(lambda: sm.list_tags(ResourceArn=sm.describe_image(ImageName="img")["ImageArn"])),
            ]
            ready = get(f"{server.url}/_smimages/ready")
            blocked = [wait() for wait in waiting]
        assert [o.status for o in reads] == [200] * 4
        assert max(o.seconds for o in reads) < HEALTH_LIMIT
        assert ready[:2] == (200, {"status": "ready"})
        assert health.slowest < HEALTH_LIMIT
        for outcome in blocked:
            assert (outcome.status, outcome.message, outcome.retry_after) == (503, LOCKED, "1")
        # the writes take turns on one thread, but each waits for the lock only until the lock timeout after it
        # arrived: at worst it also waits for the write (or worker pass) ahead of it to give up
        assert max(o.seconds for o in blocked) < 2 * LOCK_TIMEOUT + 1
    finally:
        holder.rollback()
        holder.close()
    assert attempt(lambda: sm.update_image(ImageName="img", Description="z")).status == 200
    time.sleep(0.2)
    text = log.new()
    assert text.count("gave up waiting for a lock") == 1, text
    assert_no_traceback(text)
    figure(
        "sqlite-write-lock",
        lock_timeout=LOCK_TIMEOUT,
        blocked_writes=len(blocked),
        slowest_blocked_write_s=max(o.seconds for o in blocked),
        reads_max_s=max(o.seconds for o in reads),
        health_max_s=health.slowest,
        health_checks=len(health.times),
    )
