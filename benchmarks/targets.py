"""Issues 7's and 17's performance targets as ratios over one run's measurements, each judged PASS or MISS."""

import statistics
from dataclasses import dataclass

from . import backends
from .backends import BackendRound
from .inprocess import CANNED, CallStats, floor
from .load import LoadResult
from .paired import CONNECTIONS, Round, ratios
from .scale import CALLS, READS, ReadRound, ScaleRow
from .throughput import LISTS, POSTGRESQL, SQLITE, Row

SMIMAGES_OPERATIONS = ("DescribeImageVersion", *LISTS, "CreateImageVersion")
INPROCESS_OPERATIONS = {
    "DescribeImageVersion": "DescribeImageVersion",
    "ListImageVersions": "ListImageVersions (100 items)",
}


@dataclass(frozen=True)
class Target:
    """One target: what is compared, the measured ratio (None if not measured), the bound and the verdict."""

    name: str
    ratio: float | None
    bound: str
    verdict: str


def _target(name: str, ratio: float | None, at_least: bool, limit: float, judged: bool) -> Target:
    if ratio is None:
        verdict = "not measured"
    elif not judged:
        verdict = "not judged (smoke)"
    else:
        verdict = "PASS" if (ratio >= limit if at_least else ratio <= limit) else "MISS"
    return Target(name, ratio, f"{'≥' if at_least else '≤'} {limit:g}", verdict)


def _load(rows: list[Row], target: str, operation: str, concurrency: int) -> LoadResult | None:
    return next(
        (r.result for r in rows if r.target == target and r.concurrency == concurrency and r.operation == operation),
        None,
    )


def _rounds(rounds: list, how: str = "median") -> str:
    return f"{how} of {len(rounds)} paired round{'s' if len(rounds) != 1 else ''}"


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def _reference_targets(rounds: list[Round], judged: bool) -> list[Target]:
    """Describe on SQLite against the ceiling and moto: every paired round must meet the bound, so the verdict is the
    worst round's; the name shows the median."""
    targets = []
    for against, each, limit in zip(
        ("bare-ASGI ceiling", "moto server DescribeModel"), ratios(rounds), (0.30, 20), strict=True
    ):
        how = f"c={CONNECTIONS}, {_rounds(rounds, 'worst')}"
        if each:
            how += f"; median {statistics.median(each):.2f}"
        name = f"DescribeImageVersion req/s, SQLite vs {against} ({how})"
        targets.append(_target(name, min(each) if each else None, True, limit, judged))
    return targets


def _backend_targets(rounds: list[BackendRound], judged: bool) -> list[Target]:
    how = f"c={backends.CONNECTIONS}, {_rounds(rounds)}"
    return [
        _target(
            f"{operation} req/s, PostgreSQL vs SQLite ({how})",
            backends.median_ratio(rounds, operation),
            True,
            0.5,
            judged,
        )
        for operation in backends.OPERATIONS
    ]


def _list_targets(rows: list[Row], rounds: list[BackendRound], judged: bool) -> list[Target]:
    """Each list call against Describe on the same server: the median of the backend rounds, where each is measured
    beside the other in every round; without them (no PostgreSQL), SQLite's from the rows measured back to back."""
    targets = []
    for backend, field in ((SQLITE, "sqlite"), (POSTGRESQL, "postgresql")):
        for operation in LISTS:
            name = f"{operation} (MaxResults 100) vs DescribeImageVersion req/s, {backend} (c={CONNECTIONS}, "
            if rounds:
                name += f"{_rounds(rounds)})"
                ratio = backends.median_per_describe(rounds, field, operation)
            else:
                result, describe = (
                    _load(rows, backend, call, CONNECTIONS) for call in (operation, "DescribeImageVersion")
                )
                name += "back to back)"
                ratio = _ratio(result and result.rps, describe and describe.rps)
            targets.append(_target(name, ratio, True, 0.3, judged))
    return targets


def _inprocess_targets(calls: list[CallStats], judged: bool) -> list[Target]:
    targets = []
    for operation, label in INPROCESS_OPERATIONS.items():
        call = next((c for c in calls if c.operation == operation and c.setup != CANNED), None)
        canned = call and floor(calls, call)
        name = f"{label} in-process p50, smimages InProcess vs boto3 canned response (calls taken in turn)"
        targets.append(_target(name, _ratio(call and call.p50_us, canned and canned.p50_us), False, 1.3, judged))
    return targets


def _scale_targets(scale: list[ScaleRow], read_rounds: list[ReadRound], judged: bool) -> list[Target]:
    if len(scale) < 2:
        return []
    small, large = scale[0], scale[-1]
    sizes = f"{large.versions:,} vs {small.versions:,} versions"
    targets = []
    for label, field in CALLS.items():
        if label in READS and read_rounds:
            ratio = statistics.median(r.large[field].p50_ms / r.small[field].p50_ms for r in read_rounds)
            how = _rounds(read_rounds)
        else:
            ratio, how = _ratio(getattr(large, field).p50_ms, getattr(small, field).p50_ms), "in sequence"
        targets.append(_target(f"{label} p50 latency, {sizes} ({how})", ratio, False, 1.5, judged))
    targets.append(_target(f"server RSS, {sizes}", _ratio(large.rss_mb, small.rss_mb), False, 1.2, judged))
    return targets


def evaluate(
    rows: list[Row],
    rounds: list[Round],
    backend_rounds: list[BackendRound],
    scale: list[ScaleRow],
    read_rounds: list[ReadRound],
    calls: list[CallStats],
    judged: bool,
) -> list[Target]:
    """Every target of issues 7 and 17 that this run's measurements can speak to (the fleet of benchmarks/fleet.py
    has none: it is reported, not judged)."""
    targets = _reference_targets(rounds, judged) + _backend_targets(backend_rounds, judged)
    targets += _list_targets(rows, backend_rounds, judged)
    for backend in (SQLITE, POSTGRESQL):
        for operation in SMIMAGES_OPERATIONS:
            result = _load(rows, backend, operation, 64)
            targets.append(
                _target(
                    f"{operation} p99 / p50, {backend} (c=64)",
                    _ratio(result and result.p99_ms, result and result.p50_ms),
                    False,
                    10,
                    judged,
                )
            )
    return targets + _inprocess_targets(calls, judged) + _scale_targets(scale, read_rounds, judged)
