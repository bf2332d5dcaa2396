"""Database trouble is logged once per episode (smimages/store/health.py): when it starts, when a new reason joins
it, when it ends; lock waits given up at most once a minute."""

import logging

import pytest

from smimages.store import Busy, Disconnected, ReadOnly, Unavailable
from smimages.store.health import SETTLE_SECONDS, Health


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("smimages.store.health.time.monotonic", lambda: now[0])
    return now


@pytest.fixture
def health(caplog, clock):
    caplog.set_level(logging.WARNING, logger="smimages.store")
    return Health("sqlite:///state.db")


def lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_an_outage_is_logged_when_it_starts_and_when_it_ends(health, caplog, clock):
    for _ in range(500):
        health.failed(Disconnected("the database cannot be reached", "connection refused"), write=True)
        health.failed(Disconnected("the database connection was lost", "server closed the connection"), write=False)
    assert health.recent() is not None
    health.served(write=False)  # a read: not yet proof that writes work again
    clock[0] += 3
    health.served(write=True)  # serving since now...
    assert health.trouble is not None and health.recent() is None
    clock[0] += SETTLE_SECONDS
    health.served(write=True)  # ...and for a second without a failure: over
    assert health.trouble is None
    assert lines(caplog) == [
        "database sqlite:///state.db unavailable: the database cannot be reached (connection refused); requests "
        "answer 503 ServiceUnavailable until it recovers",
        "database sqlite:///state.db still unavailable, also: the database connection was lost (server closed the "
        "connection)",
        "database sqlite:///state.db available again after 3.0 s (1000 failed transactions)",
    ]


def test_a_database_shutting_down_between_failures_is_one_episode(health, caplog, clock):
    for _ in range(20):
        health.failed(Disconnected("the database cannot be reached", "the database system is shutting down"), True)
        clock[0] += 0.1
        health.served(write=True)  # a transaction that still got through
        clock[0] += 0.1
    clock[0] += SETTLE_SECONDS
    health.served(write=True)
    health.served(write=True)
    assert [line.split(":")[1] for line in lines(caplog)] == [
        "///state.db unavailable",
        "///state.db available again after 3.9 s (20 failed transactions)",
    ]


def test_an_episode_of_reads_ends_with_reads(health, caplog, clock):
    health.failed(Unavailable("the database file cannot be opened", "unable to open database file"), write=False)
    health.served(write=False)
    clock[0] += SETTLE_SECONDS
    health.served(write=False)
    assert health.trouble is None and len(lines(caplog)) == 2


def test_a_read_only_database_is_one_episode_however_many_reads_succeed(health, caplog, clock):
    for _ in range(10):
        health.failed(ReadOnly("the database is read-only", "attempt to write a readonly database"), write=True)
        health.served(write=False)
        clock[0] += SETTLE_SECONDS
        health.served(write=False)
    assert len(lines(caplog)) == 1 and health.trouble is not None


def test_an_old_episode_is_not_held_against_the_database(health, clock):
    health.failed(Unavailable("the database's disk is full", "database or disk is full"), write=True)
    assert health.recent().reason == "the database's disk is full"
    clock[0] += 60
    assert health.recent() is None  # nothing has tried since: readiness does not keep repeating it


def test_lock_waits_given_up_are_reported_at_most_once_a_minute(health, caplog, clock):
    for _ in range(50):
        health.failed(Busy("canceling statement due to lock timeout"), write=True)
    clock[0] += 61
    health.failed(Busy("canceling statement due to lock timeout"), write=True)
    assert [line.split(" gave up")[0] for line in lines(caplog)] == [
        "database sqlite:///state.db: 1 transaction",
        "database sqlite:///state.db: 50 transactions",
    ]
    assert health.trouble is None  # a lock held elsewhere is not the database being unavailable
