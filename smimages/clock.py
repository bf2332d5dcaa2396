"""Clocks a Service can follow: one that stands still until moved (tests), one that runs but can be moved ahead."""

import threading
import time

DEFAULT_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
LATEST = 253_402_300_799.999  # 9999-12-31T23:59:59.999Z: the last moment an AWS timestamp (and SDKs) can carry


class ManualClock:
    """A clock that only moves when told to, so lifecycle tests never sleep."""

    def __init__(self, start: float | None = DEFAULT_START) -> None:
        self._now = round(time.time(), 3) if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += _step(self._now, seconds)


class ShiftedClock:
    """Wall-clock time plus whatever it was moved ahead by (a server's clock with the admin API enabled)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += _step(time.time() + self._offset, seconds)


def _step(now: float, seconds: float) -> float:
    """seconds, if a clock at `now` may move that far ahead; ValueError otherwise."""
    if not seconds >= 0:  # NaN too
        raise ValueError("a clock only moves forward")
    if now + seconds > LATEST:
        raise ValueError("the clock cannot pass 9999-12-31T23:59:59.999Z, the last moment AWS timestamps can carry")
    return seconds
