"""Several `smimages serve` processes on one catalog, driven together at 64 connections in all: aggregate throughput
for 1, 2 and 4 processes, and where the time goes (CPU of the servers, PostgreSQL and wrk; PostgreSQL's own view).

Every process is a plain `smimages serve` with its lifecycle worker, as a fleet of identical instances would be
deployed (the workers share the transitions through FOR UPDATE SKIP LOCKED). Each process gets its own wrk with an
even share of the connections, all wrks running at once. CreateImageVersion adds versions to an image of each
process's own, as a CI fleet whose jobs each build their own image would; Describe reads one shared version."""

import contextlib
import resource
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg

from . import postgres, servers
from .load import LoadResult, run_wrk, send_once
from .profiles import Profile
from .signing import SignedRequest
from .throughput import POSTGRESQL, SQLITE, create_request, describe_request, prepare_smimages

SAMPLE_SECONDS = 0.1  # between two samples of the catalog's PostgreSQL backends
STATS_IDLE_SECONDS = 10  # how long an idle PostgreSQL backend holds statistics back (PGSTAT_IDLE_INTERVAL)
AUXILIARY = ["walwriter", "checkpointer", "background writer"]  # server-wide processes the catalog's writes use


@dataclass(frozen=True)
class CpuSplit:
    """CPU seconds spent during one measurement, by whom, and what the machine had (wall seconds × cores)."""

    smimages_s: float
    postgres_s: float | None  # the catalog's backends and the server's WAL writer, checkpointer and background writer
    wrk_s: float
    busy_s: float  # the whole machine's, other tenants included
    capacity_s: float


@dataclass(frozen=True)
class PostgresView:
    """PostgreSQL's own account of one measurement: its statistics' deltas and its backends sampled."""

    requests: int  # that the statistics cover: the warm-up's and the measurement's
    commits: int  # pg_stat_database.xact_commit, the harness's own statements left out
    active_ms: float | None  # pg_stat_database.active_time: time the catalog's backends spent executing statements
    backends: dict[str, float]  # average number of the catalog's backends in each state or wait event per sample
    complete: bool  # whether the statistics were read after waiting for every backend to report them


@dataclass(frozen=True)
class FleetRow:
    """One measurement: `servers` processes on one catalog, each driven by its own wrk at the same time."""

    backend: str
    operation: str
    servers: int
    connections: int  # in all, split evenly across the servers
    results: list[LoadResult]  # one per server
    cpu: CpuSplit
    postgres: PostgresView | None

    @property
    def rps(self) -> float:
        return sum(r.rps for r in self.results)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.results)


class _Catalog:
    """A connection to the catalog's PostgreSQL database that reads its statistics and samples its backends."""

    def __init__(self, url: str):
        self._conn = psycopg.connect(url, autocommit=True)
        self._statements = 0  # each one a transaction pg_stat_database counts

    def close(self) -> None:
        self._conn.close()

    def _execute(self, sql: str, params: list | None = None) -> psycopg.Cursor:
        self._statements += 1
        return self._conn.execute(sql, params)

    def pids(self) -> list[int]:
        """The catalog's backends (this connection's aside) and the server's AUXILIARY processes."""
        return [
            pid
            for (pid,) in self._execute(
                "SELECT pid FROM pg_stat_activity WHERE (datname = current_database() AND pid <> pg_backend_pid())"
                " OR backend_type = ANY(%s)",
                [AUXILIARY],
            )
        ]

    def counters(self) -> dict:
        """The catalog's pg_stat_database row, with this connection's statements so far under `statements`."""
        row = self._execute("SELECT row_to_json(d) FROM pg_stat_database d WHERE datname = current_database()")
        return {**row.fetchone()[0], "statements": self._statements}

    def view(self, before: dict, backends: dict[str, float], requests: int, wait: int) -> PostgresView:
        """PostgreSQL's view since the `before` counters, read once its backends have reported their statistics:
        a busy backend reports them at most once a second, an idle one 10 s after its last statement."""
        time.sleep(wait)
        now = self.counters()
        commits = now["xact_commit"] - before["xact_commit"] - (now["statements"] - before["statements"])
        active_ms = now["active_time"] - before["active_time"] if "active_time" in now else None  # PostgreSQL ≥ 14
        return PostgresView(requests, commits, active_ms, backends, wait >= STATS_IDLE_SECONDS)

    def _sample(self, counts: Counter) -> None:
        for state, wait_type, wait_event in self._execute(
            "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ):
            if state == "active":
                counts[f"active, waiting on {wait_type}:{wait_event}" if wait_type else "active, running"] += 1
            else:
                counts[state or "unknown"] += 1

    @contextlib.contextmanager
    def sampling(self) -> Iterator[dict[str, float]]:
        """Samples the backends every SAMPLE_SECONDS until the block ends, then fills the yielded dict with the
        average number of backends per state."""
        counts: Counter = Counter()
        samples, stop = [0], threading.Event()

        def loop() -> None:
            while not stop.is_set():
                self._sample(counts)
                samples[0] += 1
                stop.wait(SAMPLE_SECONDS)

        averages: dict[str, float] = {}
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield averages
        finally:
            stop.set()
            thread.join()
            averages.update((state, n / max(1, samples[0])) for state, n in counts.most_common())


def _cpu_of(pids: list[int]) -> dict[int, float]:
    times = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):  # a backend that has just ended
            cpu = psutil.Process(pid).cpu_times()
            times[pid] = cpu.user + cpu.system
    return times


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings; a process that started in between counts whole."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _children_s() -> float:
    """CPU seconds of this process's finished children: the wrk runs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _busy_s() -> float:
    cpu = psutil.cpu_times()
    return cpu.user + cpu.nice + cpu.system + getattr(cpu, "irq", 0.0) + getattr(cpu, "softirq", 0.0)


@dataclass(frozen=True)
class _Reading:
    """The CPU counters read at one moment."""

    at: float
    smimages: dict[int, float]
    postgres: dict[int, float]
    children_s: float
    busy_s: float


def _read(active: list[servers.Server], catalog: _Catalog | None) -> _Reading:
    return _Reading(
        time.monotonic(),
        _cpu_of([s.pid for s in active]),
        _cpu_of(catalog.pids()) if catalog else {},
        _children_s(),
        _busy_s(),
    )


def _drive(
    backend: str,
    operation: str,
    active: list[servers.Server],
    requests: list[SignedRequest],
    connections: int,
    profile: Profile,
    catalog: _Catalog | None,
) -> FleetRow:
    """One wrk per server at connections / len(active) each, all at once (after a warm-up run of all of them)."""
    each = connections // len(active)

    def drive_all(seconds: int) -> list[LoadResult]:
        with ThreadPoolExecutor(len(active)) as pool:
            return list(pool.map(lambda s, r: run_wrk(s.port, r, each, seconds), active, requests))

    counters = catalog.counters() if catalog else {}  # complete: the previous reading waited for them
    warmup = drive_all(profile.warmup) if profile.warmup else []
    before = _read(active, catalog)
    with catalog.sampling() if catalog else contextlib.nullcontext({}) as backends:
        results = drive_all(profile.seconds)
    after = _read(active, catalog)
    view = None
    if catalog:
        view = catalog.view(counters, backends, sum(r.requests for r in warmup + results), profile.pg_stats_wait)
    cpu = CpuSplit(
        _spent(before.smimages, after.smimages),
        _spent(before.postgres, after.postgres) if catalog else None,
        after.children_s - before.children_s,
        after.busy_s - before.busy_s,
        (after.at - before.at) * (psutil.cpu_count() or 1),
    )
    row = FleetRow(backend, operation, len(active), connections, results, cpu, view)
    print(
        f"  fleet {backend:<20} {operation:<21} {len(active)} server{'s' if len(active) > 1 else ' '} "
        f"c={connections:<3} {row.rps:9.0f} req/s  errors {sum(r.errors for r in results)}",
        file=sys.stderr,
    )
    return row


@contextlib.contextmanager
def _fleet(url: str, count: int, work: Path, name: str) -> Iterator[list[servers.Server]]:
    """`count` servers on one catalog, started one after the other (the first migrates it)."""
    with contextlib.ExitStack() as stack:
        fleet = [stack.enter_context(servers.smimages(url, work, f"{name}-{i}")) for i in range(count)]
        for server in fleet:
            send_once(server.port, describe_request(server.port))
        yield fleet


def _sqlite_rows(profile: Profile, work: Path) -> list[FleetRow]:
    """Describe for each fleet size on one SQLite file."""
    url = f"sqlite:///{work / 'fleet.db'}"
    prepare_smimages(url)
    with _fleet(url, max(profile.fleet_servers), work, "fleet-sqlite") as fleet:
        return [
            _drive(
                SQLITE,
                "DescribeImageVersion",
                fleet[:n],
                [describe_request(s.port) for s in fleet[:n]],
                profile.fleet_connections,
                profile,
                None,
            )
            for n in profile.fleet_servers
        ]


def _postgresql_rows(
    url: str, fleet: list[servers.Server], writes: dict[int, list[str]], profile: Profile
) -> list[FleetRow]:
    """Describe for each fleet size, then Create (after every read: the workers write created versions down for a
    while), each server adding versions to its image of `writes`."""
    catalog = _Catalog(url)
    try:
        return [
            _drive(
                POSTGRESQL,
                operation,
                fleet[:n],
                [
                    describe_request(s.port) if operation == "DescribeImageVersion" else create_request(s.port, image)
                    for s, image in zip(fleet, writes[n], strict=False)
                ],
                profile.fleet_connections,
                profile,
                catalog,
            )
            for operation in ("DescribeImageVersion", "CreateImageVersion")
            for n in profile.fleet_servers
        ]
    finally:
        catalog.close()


def run(profile: Profile, work: Path, pg_admin_url: str | None) -> list[FleetRow]:
    """Each fleet size on one SQLite file, then on PostgreSQL (when `pg_admin_url` is given). The PostgreSQL fleet
    starts first and idles during the SQLite rows, long enough for PostgreSQL to report the statistics of its seeding
    and start; idle servers of the largest fleet also stay up while a smaller one is measured."""
    with contextlib.ExitStack() as stack:
        if not pg_admin_url:
            return _sqlite_rows(profile, work)
        url = stack.enter_context(postgres.temporary_database(pg_admin_url))
        sizes = profile.fleet_servers
        writes = {n: [f"fleet-{n}-{i}" for i in range(n)] for n in sizes}  # a fresh image per server and size
        prepare_smimages(url, *(image for images in writes.values() for image in images))
        fleet = stack.enter_context(_fleet(url, max(sizes), work, "fleet-postgresql"))
        rows = _sqlite_rows(profile, work)
        return _postgresql_rows(url, fleet, writes, profile) + rows
