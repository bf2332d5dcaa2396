"""Issue 7's performance targets as ratios over one run's measurements, each judged PASS or MISS."""

import statistics
from dataclasses import dataclass

from .load import LoadResult
from .paired import CONNECTIONS, Round, median_ratios
from .scale import CALLS, READS, ReadRound, ScaleRow
from .throughput import POSTGRESQL, SQLITE, Row

SMIMAGES_OPERATIONS = ("DescribeImageVersion", "ListImageVersions", "CreateImageVersion")


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


def _medians_of(rounds: list) -> str:
    return f"median of {len(rounds)} paired round{'s' if len(rounds) != 1 else ''}"


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def evaluate(
    rows: list[Row], rounds: list[Round], scale: list[ScaleRow], read_rounds: list[ReadRound], judged: bool
) -> list[Target]:
    """Every target of issue 7 that this run's measurements can speak to; the throughput ratios and the read calls'
    latency ratios are medians of paired rounds (benchmarks/paired.py, benchmarks/scale.py)."""
    ceiling, moto = median_ratios(rounds) or (None, None)
    paired = f"c={CONNECTIONS}, {_medians_of(rounds)}"
    targets = [
        _target(f"DescribeImageVersion req/s, SQLite vs bare-ASGI ceiling ({paired})", ceiling, True, 0.30, judged),
        _target(f"DescribeImageVersion req/s, SQLite vs moto server DescribeModel ({paired})", moto, True, 20, judged),
    ]
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
    if len(scale) >= 2:
        small, large = scale[0], scale[-1]
        sizes = f"{large.versions:,} vs {small.versions:,} versions"
        for label, field in CALLS.items():
            if label in READS and read_rounds:
                ratio = statistics.median(r.large[field].p50_ms / r.small[field].p50_ms for r in read_rounds)
                how = _medians_of(read_rounds)
            else:
                ratio, how = _ratio(getattr(large, field).p50_ms, getattr(small, field).p50_ms), "in sequence"
            targets.append(_target(f"{label} p50 latency, {sizes} ({how})", ratio, False, 1.5, judged))
        targets.append(_target(f"server RSS, {sizes}", _ratio(large.rss_mb, small.rss_mb), False, 1.2, judged))
    return targets
