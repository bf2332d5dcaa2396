"""What the fault tier measures: every answer a client got, health and readiness latency, figures for the docs."""

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# the slowest health answer a fault test accepts: milliseconds are typical, but CI machines are shared, and what is
# checked is that health never waits for the database (seconds, before)
HEALTH_LIMIT = 0.5


@dataclass
class Outcome:
    """One call: when it started and ended (time.monotonic()), its HTTP status (None: no answer at all)."""

    started: float
    ended: float
    status: int | None
    code: str = ""
    message: str = ""
    retry_after: str | None = None
    value: Any = None

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def attempt(call: Callable[[], Any]) -> Outcome:
    """Runs one boto3 call (made by a client that does not retry) and records what it answered."""
    started = time.monotonic()
    try:
        value = call()
    except ClientError as exc:
        meta = exc.response["ResponseMetadata"]
        error = exc.response["Error"]
        retry_after = meta.get("HTTPHeaders", {}).get("retry-after")
        return Outcome(started, time.monotonic(), meta["HTTPStatusCode"], error["Code"], error["Message"], retry_after)
    except BotoCoreError as exc:
        return Outcome(started, time.monotonic(), None, type(exc).__name__, str(exc))
    return Outcome(started, time.monotonic(), 200, value=value)


def get(url: str, timeout: float = 10) -> tuple[int, dict[str, Any], float]:
    """(status, JSON body, seconds) of a GET."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, json.loads(body), time.monotonic() - started


def health_seconds(server_url: str) -> float:
    """How long GET /_smimages/health took (asserting it answered 200 ok)."""
    status, body, seconds = get(f"{server_url}/_smimages/health")
    assert (status, body) == (200, {"status": "ok"})
    return seconds


class Probe:
    """A thread that checks health every `every` seconds until stopped: the slowest answer and how many."""

    def __init__(self, server_url: str, every: float = 0.05):
        self.url, self.every = server_url, every
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.times.append(health_seconds(self.url))
            self._stop.wait(self.every)

    def __enter__(self) -> "Probe":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def slowest(self) -> float:
        return max(self.times)


def figure(name: str, **values: Any) -> None:
    """Prints a scenario's figures as one line (what docs/reliability.md quotes; run pytest with -s to see them)."""
    shown = ", ".join(
        f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}" for key, value in values.items()
    )
    print(f"\nFIGURES {name}: {shown}")
