"""Background jobs claimed from the database: writing due lifecycle transitions down (CREATING -> CREATED,
DELETING -> gone), which keeps the tables small and the stored state current (reads already show what the clock
allows), and, with --registry-check on, resolving new versions' BaseImages (smimages/registry/job.py).

Every process may run a worker against one database (inside `serve`, or as `smimages worker`): work is claimed
with FOR UPDATE SKIP LOCKED in short transactions, so each row is handled by exactly one process, and the
transaction of a process that dies mid-claim is rolled back by the database, leaving the rows to the others."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Protocol, TypeVar

from .operations.service import Service, Settings
from .store import Aborted, Busy, CatalogTx, Unavailable

log = logging.getLogger("smimages.worker")
T = TypeVar("T")
IDLE_POLL_SECONDS = 1.0
BATCH = 200  # rows one claim takes; a full batch makes the worker come straight back for more
FINISH_ATTEMPTS = 3


class Job(Protocol):
    """One kind of background work, in three phases so slow work never holds a transaction open.

    `claim` runs in a short write transaction: it locks candidate rows with FOR UPDATE SKIP LOCKED and either
    finishes them on the spot (returning nothing) or marks them as taken (e.g. a lease column: owner and
    expiry, so another process can take over once it expires) and returns them. `run` then does the slow part
    (a registry call, say) outside any transaction, one item at a time; `finish` writes each outcome in
    another short transaction and must check that the claim is still its own (the lease may have expired)."""

    name: str

    def claim(self, tx: CatalogTx, now: float) -> tuple[list[Any], bool]:
        """(items left to run, whether more work was due than one claim takes)."""

    def run(self, item: Any) -> Any: ...

    def finish(self, tx: CatalogTx, item: Any, outcome: Any, now: float) -> object: ...  # what it returns is unused

    # optional: `next_due(tx) -> float | None`, when the job's next work falls due if not before (the worker
    # wakes up then, and settle() moves a test clock there)


class MaterializeTransitions:
    """Writes down the due transitions of one table. Versions and images are separate jobs, so a busy image row
    never holds back its versions, and each locks rows of one table only: requests lock an image row first,
    then its versions, so neither waits on the other in a cycle. (When an image and its versions disappear at
    the same moment in two processes, cascading deletes can still deadlock; the database then aborts one side,
    which runs again.)"""

    def __init__(self, kind: str):
        self.kind = kind
        self.name = f"materialize-{kind}"

    def claim(self, tx: CatalogTx, now: float) -> tuple[list[Any], bool]:
        claimed = tx.claim_due(self.kind, now, BATCH)
        tx.materialize(self.kind, claimed)
        return [], len(claimed) == BATCH

    def run(self, item: Any) -> Any:  # claim() finishes everything it takes
        raise NotImplementedError

    def finish(self, tx: CatalogTx, item: Any, outcome: Any, now: float) -> None:
        raise NotImplementedError


def default_jobs(settings: Settings) -> list[Job]:
    """The jobs a worker runs: the registry check first when the settings turn it on (its outcomes become due
    transitions the others then write down)."""
    jobs: list[Job] = [MaterializeTransitions("image_versions"), MaterializeTransitions("images")]
    if settings.registry_check:
        from .registry import RegistrySettings
        from .registry.job import ResolveVersions

        assert isinstance(settings.registry, RegistrySettings)
        jobs.insert(0, ResolveVersions(settings.registry, settings.registry_lease))
    return jobs


class TransitionWorker:
    """A thread that runs the jobs as work falls due. Transactions run on `executor` when one is given (the
    app's, so SQLite sees one writer thread per process); slow `run` phases run on the worker's own thread."""

    def __init__(self, service: Service, executor: Executor | None = None, jobs: list[Job] | None = None):
        self.service = service
        self.executor = executor
        self.jobs = default_jobs(service.settings) if jobs is None else jobs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return self.executor.submit(fn, *args).result() if self.executor else fn(*args)

    def _claim(self, job: Job) -> tuple[list[Any], bool]:
        with self.service.store.transaction(write=True) as tx:
            return job.claim(tx, self.service.now())

    def _finish(self, job: Job, item: Any, outcome: Any) -> None:
        with self.service.store.transaction(write=True) as tx:
            job.finish(tx, item, outcome, self.service.now())

    def _next_due(self) -> float | None:
        with self.service.store.transaction() as tx:
            dues = [tx.next_due(), *(job.next_due(tx) for job in self.jobs if hasattr(job, "next_due"))]
        return min((due for due in dues if due is not None), default=None)

    def run_once(self) -> float | None:
        """Runs every job over what is due now; returns when work next falls due (now if more is waiting)."""
        backlog = False
        for job in self.jobs:
            try:
                items, more = self._db(self._claim, job)
            except Aborted as exc:  # a deadlock between two processes' workers, a dropped connection
                log.info("%s: claim aborted (%s); retrying", job.name, exc)
                backlog = True
                continue
            backlog |= more
            for item in items:
                try:
                    outcome = job.run(item)
                except Exception:
                    log.exception("%s failed on %r; it stays claimed until its claim expires", job.name, item)
                    continue
                self._finish_retrying(job, item, outcome)
        return self.service.now() if backlog else self._db(self._next_due)

    def _finish_retrying(self, job: Job, item: Any, outcome: Any) -> None:
        """Writes an outcome; a transaction the database aborted (a dropped connection) is run again, so slow work
        already done is not thrown away (finish checks its claim, so running it again is safe)."""
        for attempt in range(FINISH_ATTEMPTS):
            try:
                self._db(self._finish, job, item, outcome)
                return
            except Aborted as exc:
                if attempt == FINISH_ATTEMPTS - 1:
                    raise
                log.info("%s: finish aborted (%s); retrying", job.name, exc)

    def run_forever(self) -> None:
        """Runs passes until stop(); a failing pass is logged and retried (database trouble is logged by the store,
        once per episode, not once per pass)."""
        while not self._stop.is_set():
            try:
                due = self.run_once()
            except (Aborted, Busy, Unavailable):  # a connection lost mid-pass: the next pass runs on a new one
                due = None
            except Exception:
                log.exception("background pass failed; retrying")
                due = None
            wait = IDLE_POLL_SECONDS if due is None else min(max(due - self.service.now(), 0.01), IDLE_POLL_SECONDS)
            self._stop.wait(wait)

    def run_until_signalled(self) -> None:
        """Runs passes in this thread until SIGINT or SIGTERM (the `smimages worker` command)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())
        log.info("worker started")
        self.run_forever()
        log.info("worker stopped")

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="smimages-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
