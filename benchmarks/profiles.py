"""How long and how large each section runs: the full profile and CI's smoke profile."""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    """Durations in seconds, concurrencies, catalog sizes and call counts for one harness run."""

    name: str
    seconds: int  # per throughput measurement (wrk's -d, whole seconds)
    warmup: int  # wrk run discarded before each measurement; 0 for none
    concurrency: tuple[int, ...]
    rounds: int  # of the paired measurements the throughput targets are judged on (benchmarks/paired.py)
    scale_sizes: tuple[int, ...]
    scale_seconds: int
    inprocess_calls: int
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
    judged=False,
)


def with_million(profile: Profile) -> Profile:
    """The profile with the 1-million-version scale step added."""
    return replace(profile, scale_sizes=(*profile.scale_sizes, 1_000_000))
