"""Starts each server under test as a child process on a free port, waits until it answers, and reads its RSS."""

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Server:
    """A running server: its label, port and process."""

    name: str
    port: int
    pid: int

    def rss_mb(self) -> float:
        return psutil.Process(self.pid).memory_info().rss / 2**20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(port: int, path: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode} before answering")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered, which is all readiness means here
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not answer within {timeout}s")


@contextlib.contextmanager
def _serving(name: str, command: list[str], ready_path: str, log_dir: Path) -> Iterator[Server]:
    port = _free_port()
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([*command, str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            _wait_ready(port, ready_path, process)
        except RuntimeError as exc:
            raise RuntimeError(
                f"{name}: {exc}; its log ends:\n{log_path.read_text(errors='replace')[-2000:]}"
            ) from None
        yield Server(name, port, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def smimages(db_url: str, log_dir: Path, name: str) -> contextlib.AbstractContextManager[Server]:
    """`smimages serve` with its defaults (log level info, no transition delay) on `db_url`."""
    return _serving(
        name, [sys.executable, "-m", "smimages", "serve", "--db", db_url, "--port"], "/_smimages/health", log_dir
    )


def ceiling(log_dir: Path, name: str) -> contextlib.AbstractContextManager[Server]:
    """The bare ASGI app of benchmarks/ceiling.py on uvicorn."""
    return _serving(name, [sys.executable, "-m", "benchmarks.ceiling"], "/", log_dir)


def moto(log_dir: Path, name: str) -> contextlib.AbstractContextManager[Server]:
    """moto's standalone server (`moto[server]`), all services on one port."""
    return _serving(name, [sys.executable, "-m", "moto.server", "-p"], "/moto-api/", log_dir)
