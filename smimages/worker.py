"""Writes due lifecycle transitions down (CREATING -> CREATED, DELETING -> gone) in the background.

Reads already show what the clock allows; this keeps the tables small and the stored state current."""
import logging
import threading
from concurrent.futures import Executor

from .operations.service import Service

log = logging.getLogger("smimages.worker")
IDLE_POLL_SECONDS = 1.0


class TransitionWorker:
    """A thread that materializes transitions as they fall due, running each pass on the app's executor."""

    def __init__(self, service: Service, executor: Executor):
        self.service = service
        self.executor = executor
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> float | None:
        """Materializes what is due now; returns when the next transition falls due."""
        now = self.service.now()
        with self.service.store.transaction(write=True) as tx:
            tx.materialize(now)
            return tx.next_due()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                due = self.executor.submit(self.run_once).result()
            except Exception:
                log.exception("lifecycle pass failed; retrying")
                due = None
            wait = IDLE_POLL_SECONDS if due is None else min(max(due - self.service.now(), 0.01), IDLE_POLL_SECONDS)
            self._stop.wait(wait)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="smimages-lifecycle", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
