"""Clocks a Service can follow: one that stands still until moved (tests), one that runs but can be moved ahead."""

import threading
import time

DEFAULT_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class ManualClock:
    """A clock that only moves when told to, so lifecycle tests never sleep."""

    def __init__(self, start: float | None = DEFAULT_START) -> None:
        self._now = round(time.time(), 3) if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._now += seconds


class ShiftedClock:
    """Wall-clock time plus whatever it was moved ahead by (a server's clock with the admin API enabled)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._offset += seconds
