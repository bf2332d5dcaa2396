"""`serve --workers N`: processes sharing the port on one catalog, a dead one started again, SIGTERM or SIGINT to the
parent ending them all, and what several processes cannot share refused with one line."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import BASE, ROLE


def children(pid: int) -> set[int]:
    """The pids of a process's children, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def wait_for(condition, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("the condition did not come true in time")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog(request, tmp_path):
    """A database the processes share: a SQLite file, or a PostgreSQL schema of the test's own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("postgres").schema()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_processes_share_the_port_and_the_catalog(server_factory, catalog, stop):
    server = server_factory("--workers", "3", "--console", "off", "--db", catalog).start()
    pids = wait_for(lambda: (found := children(server.proc.pid)) and len(found) == 3 and found)
    clients = [server.client() for _ in range(6)]  # each its own connections, spread by the kernel
    clients[0].create_image(ImageName="img", RoleArn=ROLE)
    for number, client in enumerate(clients * 3, 1):
        assert client.create_image_version(ImageName="img", BaseImage=BASE)["ImageVersionArn"].endswith(f"/{number}")
    assert {c.describe_image_version(ImageName="img")["Version"] for c in clients} == {18}

    os.kill(min(pids), signal.SIGKILL)  # a process that dies is started again
    replaced = wait_for(lambda: (found := children(server.proc.pid)) and len(found) == 3 and found != pids and found)
    assert min(pids) not in replaced
    assert server.client().list_image_versions(ImageName="img", MaxResults=100)["ImageVersions"][0]["Version"] == 18

    out = server.stop(stop)  # to the parent alone: passed on to every process
    assert server.proc.returncode == 0 and "in 3 processes" in out and "starting it again" in out
    assert out.count("stopped: every request answered") == 3, out
    assert "Traceback" not in out.split("starting it again")[1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--db", "sqlite://"], "Error: --workers 2 needs a database the processes share: a SQLite file or PostgreSQL"),
        (["--enable-admin", "--console", "off"], "Error: --workers 2 and --enable-admin: each process would have"),
        ([], "Error: --workers 2 serves from 2 processes whose console sessions are their own: add --console off"),
    ],
)
def test_what_processes_cannot_share_is_refused(tmp_path, args, message):
    db = [] if "--db" in args else ["--db", f"sqlite:///{tmp_path / 'state.db'}"]
    result = subprocess.run(
        [sys.executable, "-m", "smimages", "serve", "--port", "0", "--workers", "2", *db, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
