"""The suite's own PostgreSQL fixtures (tests/conftest.py, support.PostgresRun), run by inner pytest runs against a
throwaway cluster of this test's own: a run survives a database restart, and no run leaves a schema behind, whether
its tests pass, fail, are interrupted (Ctrl-C) or are killed (the next run drops what a killed one left)."""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from support import REQUIRE_POSTGRES, ROOT, free_port

INNER_TESTS = """
import os, subprocess, time
from pathlib import Path

from smimages.testing import InProcess

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def use(url):
    service = InProcess(url)
    service.client().create_image(ImageName="img", RoleArn=ROLE)
    assert [i["ImageName"] for i in service.client().list_images()["Images"]] == ["img"]
    service.close()


def test_before_the_restart(pg_url, postgres):
    use(pg_url)
    use(postgres.schema())


def test_restart():
    subprocess.run(os.environ["RESTART"].split("\\t"), check=True, capture_output=True)


def test_after_the_restart(pg_url, postgres):
    use(pg_url)
    use(postgres.schema())


def test_a_failure(postgres):
    postgres.schema()
    assert False, "fails on purpose"


def test_held_up(postgres):
    postgres.schema()
    Path(os.environ["STARTED"]).touch()
    time.sleep(120)
"""


class Cluster:
    """A PostgreSQL cluster in a temporary folder, on a free port, with a `test` database; run as the `postgres`
    OS user when this is root (as Debian's server refuses to run as root)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
        bindir = Path(found[-1]).parent if found else None
        if bindir is None and shutil.which("initdb"):
            bindir = Path(shutil.which("initdb")).parent
        if bindir is None:
            message = "no PostgreSQL server binaries (initdb, pg_ctl) to start a throwaway cluster with"
            if REQUIRE_POSTGRES:
                pytest.fail(message)
            pytest.skip(message)
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="smimages-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def pg_ctl(self, *args: str) -> list[str]:
        # with a log file: the server it starts must not hold the caller's output pipes open
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-w"]
        return [*self.as_user, *pg_ctl, "-m", "fast", *args]

    def start(self) -> "Cluster":
        self.run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(*self.pg_ctl("-o", options, "start")[len(self.as_user) :])
        with psycopg.connect(self.url.replace("/test", "/postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE test")
        return self

    def schemas(self) -> list[str]:
        with psycopg.connect(self.url) as conn:
            rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'smimages%' ORDER BY 1")
            return [name for (name,) in rows.fetchall()]

    def stop(self) -> None:
        subprocess.run(self.pg_ctl("-m", "immediate", "stop"), capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


def inner_pytest(cluster: Cluster, folder: Path, *selection: str, **popen) -> subprocess.Popen:
    """pytest on INNER_TESTS with this suite's conftest.py, against the throwaway cluster."""
    (folder / "test_inner.py").write_text(INNER_TESTS)
    env = {
        **os.environ,
        "SMIMAGES_TEST_POSTGRES": cluster.url,
        "SMIMAGES_REQUIRE_POSTGRES": "1",
        "PYTHONPATH": str(ROOT / "tests"),
        "RESTART": "\t".join(cluster.pg_ctl("restart")),
        "STARTED": str(folder / "started"),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "conftest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        str(folder),
    ]
    return subprocess.Popen(
        [*command, *(f"test_inner.py::{name}" for name in selection)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def test_a_run_survives_a_restart_and_drops_its_schemas_even_after_a_failure(cluster, tmp_path):
    run = inner_pytest(
        cluster, tmp_path, "test_before_the_restart", "test_restart", "test_after_the_restart", "test_a_failure"
    )
    out = run.communicate(timeout=300)[0]
    assert "1 failed, 3 passed" in out and "fails on purpose" in out, out
    assert cluster.schemas() == []


def wait_for(path: Path, run: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()[0]
        time.sleep(0.05)


def test_an_interrupted_run_drops_its_schemas(cluster, tmp_path):
    run = inner_pytest(cluster, tmp_path, "test_held_up")
    wait_for(tmp_path / "started", run)
    assert len(cluster.schemas()) == 2  # the shared one and the test's own
    run.send_signal(signal.SIGINT)
    out = run.communicate(timeout=120)[0]
    assert "KeyboardInterrupt" in out, out
    assert cluster.schemas() == []


def test_what_a_killed_run_left_is_dropped_by_the_next_run(cluster, tmp_path):
    killed = inner_pytest(cluster, tmp_path, "test_held_up", start_new_session=True)
    wait_for(tmp_path / "started", killed)
    left = cluster.schemas()
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=60)
    assert len(left) == 2 and cluster.schemas() == left
    (tmp_path / "started").unlink()
    out = inner_pytest(cluster, tmp_path, "test_before_the_restart").communicate(timeout=300)[0]
    assert "1 passed" in out, out
    assert cluster.schemas() == []
