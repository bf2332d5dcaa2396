"""Helpers every test tier shares: request constants, response comparison, a server process, PostgreSQL schemas."""

import datetime
import os
import subprocess
import sys
import time
import urllib.request
import uuid
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


class PostgresRun:
    """Schemas of this test run's own in the test PostgreSQL database, dropped at the end.

    Creating tables costs ~80 ms on PostgreSQL, so in-process tests share one migrated schema that is emptied
    (rows deleted, id sequences restarted) before each test, which leaves it as a fresh migration does; tests
    that need a schema to themselves (migrations, server processes) ask for a new, empty one."""

    def __init__(self, url: str):
        import psycopg
        from sqlalchemy.engine import make_url

        from smimages.store import Store
        from smimages.store.schema import metadata

        self.url = make_url(url)
        self.conn = psycopg.connect(
            self.url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
            connect_timeout=3,
        )
        # a test that leaks a transaction fails the next one, instead of hanging it
        self.conn.execute("SET lock_timeout = '10s'; SET synchronous_commit = off")
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

    def _drop_abandoned(self) -> None:
        """Drops the schemas of runs that started over a day ago and were killed before cleaning up."""
        cutoff = int(time.time()) - 86_400
        rows = self.conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'smimages\\_test\\_%'")
        for (name,) in rows.fetchall():
            started = name.split("_")[2]
            if started.isdigit() and int(started) < cutoff:
                self.conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def schema(self) -> str:
        """The URL of a new, empty schema of the caller's own."""
        name = f"smimages_test_{int(time.time())}_{uuid.uuid4().hex[:8]}"
        self.conn.execute(f'CREATE SCHEMA "{name}"')
        self.schemas.append(name)
        # commits skip the WAL flush wait, as SQLite :memory: does: the suite checks behavior, not durability
        options = f"-csearch_path={name} -csynchronous_commit=off"
        return self.url.update_query_dict({"options": options}).render_as_string(hide_password=False)

    def fresh(self) -> str:
        """The URL of the shared migrated schema, emptied as a new one is."""
        self.conn.execute(self._reset.encode())
        return self.shared

    def close(self) -> None:
        names = ", ".join(f'"{name}"' for name in self.schemas)
        self.conn.execute(f"DROP SCHEMA {names} CASCADE")
        self.conn.close()
