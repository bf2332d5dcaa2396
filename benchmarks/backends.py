"""The backend targets' own measurement: smimages on SQLite and on PostgreSQL run side by side and are measured in
turn at 8 connections, round after round (as benchmarks/paired.py does for the ceiling and moto), so that the
machine's drift during the run weighs on both backends alike. Each round's creates go to a fresh image on each."""

import contextlib
import statistics
from dataclasses import dataclass
from pathlib import Path

from . import postgres, servers
from .load import LoadResult, measure, send_once
from .profiles import Profile
from .throughput import create_request, describe_request, prepare_smimages

CONNECTIONS = 8
OPERATIONS = ("DescribeImageVersion", "CreateImageVersion")


@dataclass(frozen=True)
class BackendRound:
    """One round at CONNECTIONS connections: each of OPERATIONS on SQLite, then on PostgreSQL, by operation."""

    sqlite: dict[str, LoadResult]
    postgresql: dict[str, LoadResult]

    def ratio(self, operation: str) -> float:
        """PostgreSQL's req/s ÷ SQLite's for `operation` in this round."""
        return self.postgresql[operation].rps / self.sqlite[operation].rps


def _image(number: int) -> str:
    return f"bench-round-{number}"


def run(profile: Profile, work: Path, pg_admin_url: str) -> list[BackendRound]:
    """profile.rounds rounds, each measuring OPERATIONS on both backends for profile.seconds (after its warm-up)."""
    images = [_image(number) for number in range(profile.rounds)]
    sqlite_url = f"sqlite:///{work / 'backends.db'}"
    prepare_smimages(sqlite_url, *images)
    with contextlib.ExitStack() as stack:
        pg_url = stack.enter_context(postgres.temporary_database(pg_admin_url))
        prepare_smimages(pg_url, *images)
        both = [
            stack.enter_context(servers.smimages(url, work, name))
            for url, name in ((sqlite_url, "rounds-sqlite"), (pg_url, "rounds-postgresql"))
        ]
        for server in both:
            send_once(server.port, describe_request(server.port))
        rounds = []
        for number in range(profile.rounds):
            measured: list[dict[str, LoadResult]] = [{}, {}]
            for operation in OPERATIONS:
                for server, results in zip(both, measured, strict=True):
                    request = (
                        describe_request(server.port)
                        if operation == "DescribeImageVersion"
                        else create_request(server.port, _image(number))
                    )
                    results[operation] = measure(
                        server, operation, request, CONNECTIONS, profile.seconds, profile.warmup
                    )
            rounds.append(BackendRound(*measured))
        return rounds


def median_ratio(rounds: list[BackendRound], operation: str) -> float | None:
    """PostgreSQL ÷ SQLite in req/s for `operation`, the median over the rounds; None without rounds."""
    return statistics.median(r.ratio(operation) for r in rounds) if rounds else None
