"""The backend and list targets' own measurement: smimages on SQLite and on PostgreSQL run side by side and are
measured in turn at 8 connections, round after round (as benchmarks/paired.py does for the ceiling and moto), so that
the machine's drift during the run weighs on both backends alike, and on each list call and the Describe it is held
against. Each round's creates go to a fresh image on each."""

import contextlib
import statistics
from dataclasses import dataclass
from pathlib import Path

from . import postgres, seed, servers
from .load import LoadResult, measure, send_once
from .profiles import Profile
from .throughput import LISTED, READS, create_request, prepare_smimages, read_requests

CONNECTIONS = 8
OPERATIONS = ("DescribeImageVersion", "CreateImageVersion")  # judged PostgreSQL against SQLite
MEASURED = (*READS, "CreateImageVersion")  # in each round's order


@dataclass(frozen=True)
class BackendRound:
    """One round at CONNECTIONS connections: each of MEASURED on SQLite, then on PostgreSQL, by operation."""

    sqlite: dict[str, LoadResult]
    postgresql: dict[str, LoadResult]

    def ratio(self, operation: str) -> float:
        """PostgreSQL's req/s ÷ SQLite's for `operation` in this round."""
        return self.postgresql[operation].rps / self.sqlite[operation].rps

    def per_describe(self, backend: str, operation: str) -> float:
        """`operation`'s req/s ÷ DescribeImageVersion's on `backend` ("sqlite" or "postgresql") in this round."""
        results: dict[str, LoadResult] = getattr(self, backend)
        return results[operation].rps / results["DescribeImageVersion"].rps


def _image(number: int) -> str:
    return f"bench-round-{number}"


def run(profile: Profile, work: Path, pg_admin_url: str) -> list[BackendRound]:
    """profile.rounds rounds, each measuring MEASURED on both backends for profile.seconds (after its warm-up)."""
    images = [_image(number) for number in range(profile.rounds)]
    sqlite_url = f"sqlite:///{work / 'backends.db'}"
    prepare_smimages(sqlite_url, *images)
    seed.create_listed(sqlite_url, LISTED)
    with contextlib.ExitStack() as stack:
        pg_url = stack.enter_context(postgres.temporary_database(pg_admin_url))
        prepare_smimages(pg_url, *images)
        seed.create_listed(pg_url, LISTED)
        both = [
            stack.enter_context(servers.smimages(url, work, name))
            for url, name in ((sqlite_url, "rounds-sqlite"), (pg_url, "rounds-postgresql"))
        ]
        reads = [read_requests(server.port) for server in both]
        for server, requests in zip(both, reads, strict=True):
            send_once(server.port, requests["DescribeImageVersion"])
        rounds = []
        for number in range(profile.rounds):
            measured: list[dict[str, LoadResult]] = [{}, {}]
            for operation in MEASURED:
                for server, requests, results in zip(both, reads, measured, strict=True):
                    request = requests.get(operation) or create_request(server.port, _image(number))
                    results[operation] = measure(
                        server, operation, request, CONNECTIONS, profile.seconds, profile.warmup
                    )
            rounds.append(BackendRound(*measured))
        return rounds


def median_ratio(rounds: list[BackendRound], operation: str) -> float | None:
    """PostgreSQL ÷ SQLite in req/s for `operation`, the median over the rounds; None without rounds."""
    return statistics.median(r.ratio(operation) for r in rounds) if rounds else None


def median_per_describe(rounds: list[BackendRound], backend: str, operation: str) -> float | None:
    """`operation` ÷ DescribeImageVersion in req/s on `backend`, the median over the rounds; None without rounds."""
    return statistics.median(r.per_describe(backend, operation) for r in rounds) if rounds else None
