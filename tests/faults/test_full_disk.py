"""A SQLite catalog on a file system that fills up (a small tmpfs of the test's own): writes answer a retryable 503
that names the full disk, reads and health go on, readiness says why it is not ready, the log says it once, and
everything recovers by itself once there is room again. Mounting needs root with CAP_SYS_ADMIN: elsewhere the test
is skipped with the reason."""

import os
import sqlite3
import subprocess
import time
from functools import partial

import pytest

from smimages.store.health import SETTLE_SECONDS
from support import ROLE, Log, assert_no_traceback, bare_client
from support.load import attempt, figure, get

FULL = "The request has failed due to a temporary failure of the server. The database's disk is full."


@pytest.fixture
def small_tmpfs(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_a_named_retryable_503_and_recovers_by_itself(server_factory, small_tmpfs):
    path = small_tmpfs / "state.db"
    server = server_factory("--db", f"sqlite:///{path}").start()
    log = Log(server)
    sm = bare_client(server.url)
    sm.create_image(ImageName="kept", RoleArn=ROLE)
    stats = os.statvfs(small_tmpfs)
    filler = small_tmpfs / "filler"
    filler.write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - 256 * 1024))  # leave 256 KiB
    tags = [{"Key": f"key-{i}", "Value": "v" * 256} for i in range(50)]
    created = 0
    for n in range(2000):
        outcome = attempt(
            partial(sm.create_image, ImageName=f"img-{n}", RoleArn=ROLE, Description="d" * 512, Tags=tags)
        )
        if outcome.status != 200:
            break
        created += 1
    else:
        pytest.fail("the disk never filled up")
    assert (outcome.status, outcome.code, outcome.message, outcome.retry_after) == (
        503,
        "ServiceUnavailable",
        FULL,
        "1",
    )
    refused = [attempt(lambda: sm.create_image(ImageName="more", RoleArn=ROLE, Tags=tags)) for _ in range(5)]
    assert {(o.status, o.message) for o in refused} == {(503, FULL)}
    assert attempt(lambda: sm.describe_image(ImageName="kept")).status == 200  # reads go on
    assert get(f"{server.url}/_smimages/health")[:2] == (200, {"status": "ok"})
    ready = get(f"{server.url}/_smimages/ready")
    assert ready[:2] == (503, {"status": "not ready", "reason": "the database's disk is full"})

    filler.unlink()
    freed = time.monotonic()
    assert attempt(lambda: sm.create_image(ImageName="after", RoleArn=ROLE)).status == 200
    recovered = time.monotonic() - freed
    assert get(f"{server.url}/_smimages/ready")[:2] == (200, {"status": "ready"})
    time.sleep(SETTLE_SECONDS)  # serving that long without a failure ends the episode (smimages/store/health.py)
    assert attempt(lambda: sm.create_image(ImageName="later", RoleArn=ROLE)).status == 200
    time.sleep(0.2)
    text = log.new() + server.stop()
    assert text.count("unavailable: the database's disk is full") == 1, text
    assert text.count("available again after") == 1, text
    assert_no_traceback(text)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM images").fetchone()[0] == created + 3
    conn.close()
    figure(
        "sqlite-full-disk",
        tmpfs="4m",
        writes_before_full=created,
        refused_503=1 + len(refused),
        first_success_after_room_s=recovered,
        integrity="ok",
    )
