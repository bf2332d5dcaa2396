"""Episodes of database trouble as this process meets them: logged when one starts and ends, not once per request."""

from __future__ import annotations

import logging
import threading
import time

from .interface import Busy, StoreError, Unavailable

log = logging.getLogger("smimages.store")
BUSY_QUIET_SECONDS = 60.0  # lock waits that give up less than this apart are one episode (one log line)
RECENT_SECONDS = 5.0  # how long an unrecovered failure keeps the database "not ready" without a new one
SETTLE_SECONDS = 1.0  # an episode ends once the database has served for this long without a failure


class Health:
    """Episodes of database trouble. The store reports each transaction's outcome (`failed`, `served`); while the
    database serves, `served` costs one attribute test.

    An episode starts with the first failure (Unavailable) and ends once the database has served, without another
    failure, for SETTLE_SECONDS (a database shutting down serves a few more transactions between failures: that is
    still one episode); if a write failed in it, what ends it must be a write (reads go on succeeding on a full disk
    or a read-only database). Lock waits given up (Busy) are not the database being unavailable: they are counted
    and reported at most once every BUSY_QUIET_SECONDS."""

    def __init__(self, database: str):
        self.database = database
        self.trouble: Unavailable | None = None  # the last failure of the episode under way, None while all is well
        self._reasons: set[str] = set()  # the reasons met in the episode under way, each logged once
        self._writes_failed = False  # whether a write failed in the episode under way
        self._since = self._last = 0.0  # when the episode began, and when it last failed
        self._serving_since: float | None = None  # since when the database has served without a failure
        self._failures = 0
        self._busy_logged = -BUSY_QUIET_SECONDS
        self._busy_since_log = 0
        self._lock = threading.Lock()

    def failed(self, error: StoreError, write: bool) -> None:
        """Records a transaction (a write or a read) that failed with `error`."""
        if isinstance(error, Unavailable):
            self._unavailable(error, write)
        elif isinstance(error, Busy):
            self._busy(error)

    def served(self, write: bool) -> None:
        """Records a transaction the database carried out."""
        if self.trouble is not None and (write or not self._writes_failed):
            self._serving()

    def recent(self, now: float | None = None) -> Unavailable | None:
        """The last failure of the episode under way, unless the database has served since or it is older than
        RECENT_SECONDS (an episode that nothing has tested since is not held against the database forever)."""
        trouble = self.trouble
        if trouble is None or self._serving_since is not None:
            return None
        return None if (time.monotonic() if now is None else now) - self._last > RECENT_SECONDS else trouble

    def _unavailable(self, error: Unavailable, write: bool) -> None:
        with self._lock:
            now = time.monotonic()
            previous, self.trouble, self._last, self._serving_since = self.trouble, error, now, None
            if previous is None:
                self._since, self._failures, self._reasons, self._writes_failed = now, 1, {error.reason}, write
                log.warning(
                    "database %s unavailable: %s (%s); requests answer 503 ServiceUnavailable until it recovers",
                    self.database,
                    error.reason,
                    error.detail or "no detail",
                )
                return
            self._failures += 1
            self._writes_failed |= write
            if error.reason not in self._reasons:
                self._reasons.add(error.reason)
                log.warning("database %s still unavailable, also: %s (%s)", self.database, error.reason, error.detail)

    def _serving(self) -> None:
        with self._lock:
            now = time.monotonic()
            if self.trouble is None:
                return
            if self._serving_since is None:
                self._serving_since = now
            elif now - self._serving_since >= SETTLE_SECONDS:
                self.trouble = None
                log.warning(
                    "database %s available again after %.1f s (%d failed transaction%s)",
                    self.database,
                    self._serving_since - self._since,
                    self._failures,
                    "" if self._failures == 1 else "s",
                )

    def _busy(self, error: Busy) -> None:
        with self._lock:
            now = time.monotonic()
            self._busy_since_log += 1
            if now - self._busy_logged < BUSY_QUIET_SECONDS:
                return
            log.warning(
                "database %s: %d transaction%s gave up waiting for a lock another session holds (%s); they answer "
                "503 ServiceUnavailable (next report in %.0f s at the earliest)",
                self.database,
                self._busy_since_log,
                "" if self._busy_since_log == 1 else "s",
                error,
                BUSY_QUIET_SECONDS,
            )
            self._busy_logged, self._busy_since_log = now, 0
