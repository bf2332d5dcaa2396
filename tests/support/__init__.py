"""Helpers every test tier shares: request constants, response comparison, server processes (smimages, moto),
PostgreSQL schemas."""

import datetime
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from smimages.net import free_port

ROOT = Path(__file__).resolve().parents[2]  # the project's root folder

ACCOUNT, REGION = "000000000000", "us-east-1"  # what an in-process client's default access key stands for
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BASE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-repo:latest"
POSTGRES = os.environ.get("SMIMAGES_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("SMIMAGES_REQUIRE_POSTGRES") == "1"  # CI: unreachable is a failure, not a skip

__all__ = [
    "BASE",
    "POSTGRES",
    "REQUIRE_POSTGRES",
    "ROLE",
    "Log",
    "MotoServer",
    "PostgresRun",
    "ServerProcess",
    "assert_no_traceback",
    "bare_client",
    "error_of",
    "free_port",
    "strip",
    "ts",
]


def ts(epoch: float) -> datetime.datetime:
    """An epoch time as boto3 parses timestamps."""
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)


def strip(response: dict) -> dict:
    """A response without its ResponseMetadata, for whole-response comparisons."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def error_of(excinfo) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


class ServerProcess:
    """`python -m smimages serve` on a free loopback port, as a user would start it."""

    def __init__(self, *args: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ["--host", "127.0.0.1", "--port", str(self.port), *args]
        self.env = {**os.environ, **(env or {})}
        self.proc = None

    def start(self) -> "ServerProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smimages", "serve", *self.args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_smimages/health", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not become healthy")

    def stop(self, sig=None) -> str:
        """Stops the server (SIGTERM by default) and returns everything it printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig or 15)
        out, _ = self.proc.communicate(timeout=30)
        return out

    def client(self, access_key="AKIDEXAMPLE", region="us-east-1", validate=True):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "sagemaker",
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=access_key,
            aws_secret_access_key="secret",
            config=Config(parameter_validation=validate),
        )


class Log:
    """What a server process printed, read as it goes (the pipe must not fill up, and a traceback must be found at
    the request that caused it)."""

    def __init__(self, server: ServerProcess):
        self.fd = server.proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.text = ""

    def new(self) -> str:
        """What was printed since the last call."""
        chunks = []
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        text = b"".join(chunks).decode(errors="replace")
        self.text += text
        return text


def assert_no_traceback(text: str) -> None:
    for marker in ("Traceback", " ERROR ", "Exception in", "Unsupported upgrade", "Invalid HTTP request"):
        assert marker not in text, text


def bare_client(url: str, read_timeout: float = 30):
    """A boto3 client of a server that never retries on its own, so every 5xx and every dropped connection is seen."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "sagemaker",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=read_timeout),
    )


class MotoServer:
    """moto's own server (`python -m moto.server`, from `moto[server]`) on a free loopback port: the upstream that
    `serve --upstream` is tested against. Its state is kept in memory until reset()."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self) -> "MotoServer":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto's server exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto's server did not start")

    def reset(self) -> None:
        """Forgets every resource moto holds."""
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10).close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


class PostgresRun:
    """Schemas of this test run's own in the test PostgreSQL database, every one dropped when the run ends, whether its
    tests passed, failed or were interrupted.

    Creating tables costs ~80 ms on PostgreSQL, so in-process tests share one migrated schema that is emptied
    (rows deleted, id sequences restarted) before each test, which leaves it as a fresh migration does; tests
    that need a schema to themselves (migrations, server processes) ask for a new, empty one.

    A run holds a session advisory lock (RUN_LOCK, its id) for as long as it lives, and names its schemas
    smimages_test_r<id>_<n>: a schema whose lock is free is a dead run's (killed before it could clean up), which
    the next run to start drops. The run's connection is reopened, and the lock taken again, when a database
    restart broke it."""

    RUN_LOCK = 0x534D49  # "SMI": the first key of every run's advisory lock
    _NAME = re.compile(r"smimages_test_r(\d+)_\d+")

    def __init__(self, url: str):
        from sqlalchemy.engine import make_url

        from smimages.store import Store
        from smimages.store.schema import metadata

        self.url = make_url(url)
        self.run_id = secrets.randbelow(2**31)
        self.conn = self._connect()
        self._drop_abandoned()
        self.schemas: list[str] = []
        self.shared = self.schema()
        store = Store(self.shared)
        store.migrate()
        store.dispose()
        shared = self.schemas[0]
        serials = [table.name for table in metadata.sorted_tables if "id" in table.c and table.c.id.autoincrement]
        self._reset = ";".join(
            [f'DELETE FROM "{shared}".{table.name}' for table in reversed(metadata.sorted_tables)]
            + [f"SELECT setval(pg_get_serial_sequence('\"{shared}\".{name}', 'id'), 1, false)" for name in serials]
        )

    def _connect(self):
        import psycopg

        conn = psycopg.connect(
            self.url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
            connect_timeout=3,
        )
        # a test that leaks a transaction fails the next one, instead of hanging it
        conn.execute("SET lock_timeout = '10s'; SET synchronous_commit = off")
        conn.execute("SELECT pg_advisory_lock(%s, %s)", (self.RUN_LOCK, self.run_id))
        return conn

    def execute(self, sql, params=None):
        """Runs SQL on this run's connection, reopened first when it broke (a database restart, a terminated
        backend); everything run here is safe to run again."""
        import psycopg

        if self.conn.broken or self.conn.closed:
            self.conn = self._connect()
        try:
            return self.conn.execute(sql, params)
        except psycopg.OperationalError:
            if not (self.conn.broken or self.conn.closed):
                raise
            self.conn = self._connect()
            return self.conn.execute(sql, params)

    def _drop_abandoned(self) -> None:
        """Drops the schemas of runs that died before cleaning up: those whose run's lock is free, and those named
        the way earlier versions of this class named them (smimages_test_<epoch>_<hex>) that are over a day old."""
        cutoff = int(time.time()) - 86_400
        rows = self.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'smimages\\_test\\_%'").fetchall()
        for (name,) in rows:
            match = self._NAME.fullmatch(name)
            if match is None:
                started = name.split("_")[2]
                if started.isdigit() and int(started) < cutoff:
                    self.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
                continue
            run = int(match[1])
            if self.execute("SELECT pg_try_advisory_lock(%s, %s)", (self.RUN_LOCK, run)).fetchone()[0]:
                try:
                    self.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
                finally:
                    self.execute("SELECT pg_advisory_unlock(%s, %s)", (self.RUN_LOCK, run))

    def schema(self) -> str:
        """The URL of a new, empty schema of the caller's own."""
        name = f"smimages_test_r{self.run_id}_{len(self.schemas)}"
        self.execute(f'CREATE SCHEMA "{name}"')
        self.schemas.append(name)
        # commits skip the WAL flush wait, as SQLite :memory: does: the suite checks behavior, not durability
        options = f"-csearch_path={name} -csynchronous_commit=off"
        return self.url.update_query_dict({"options": options}).render_as_string(hide_password=False)

    def fresh(self) -> str:
        """The URL of the shared migrated schema, emptied as a new one is."""
        self.execute(self._reset.encode())
        return self.shared

    def close(self) -> None:
        """Drops every schema of this run (the lock goes with the connection)."""
        for name in self.schemas:
            self.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.conn.close()
