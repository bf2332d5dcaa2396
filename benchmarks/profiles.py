"""How long and how large each section runs: the full profile and CI's smoke profile."""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    """Durations in seconds, concurrencies, catalog sizes and call counts for one harness run."""

    name: str
    seconds: int  # per throughput measurement (wrk's -d, whole seconds)
    warmup: int  # wrk run discarded before each measurement; 0 for none
    concurrency: tuple[int, ...]
    rounds: int  # of each paired measurement (benchmarks/paired.py, backends.py, and scale.py's reads)
    scale_sizes: tuple[int, ...]
    scale_seconds: int
    inprocess_calls: int
    fleet_servers: tuple[int, ...]  # processes on one catalog (benchmarks/fleet.py)
    fleet_connections: int  # in all, split across a fleet's servers
    pg_stats_wait: (
        int  # seconds a fleet row waits for PostgreSQL's statistics (complete from 10 s; 0 reads them at once)
    )
    judged: bool  # whether targets get PASS/MISS


FULL = Profile(
    "full",
    seconds=10,
    warmup=2,
    concurrency=(1, 8, 64),
    rounds=5,
    scale_sizes=(1_000, 10_000, 100_000),
    scale_seconds=5,
    inprocess_calls=3_000,
    fleet_servers=(1, 2, 4),
    fleet_connections=64,
    pg_stats_wait=11,
    judged=True,
)
SMOKE = Profile(
    "smoke",
    seconds=1,
    warmup=0,
    concurrency=(8,),
    rounds=1,
    scale_sizes=(300, 1_000),
    scale_seconds=1,
    inprocess_calls=50,
    fleet_servers=(1, 2),
    fleet_connections=64,
    pg_stats_wait=0,
    judged=False,
)


def with_million(profile: Profile) -> Profile:
    """The profile with the 1-million-version scale step added."""
    return replace(profile, scale_sizes=(*profile.scale_sizes, 1_000_000))
