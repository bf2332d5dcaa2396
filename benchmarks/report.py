"""Writes a run's results as docs/benchmarks/results.md (markdown tables), results.json and the PNG plots."""

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from . import plots
from .inprocess import CallStats
from .paired import CONNECTIONS, Round, median_ratios
from .profiles import Profile
from .scale import CALLS, READS, ReadRound, ScaleRow
from .targets import Target
from .throughput import CEILING, MOTO, Row


@dataclass(frozen=True)
class Results:
    """Everything one harness run measured."""

    profile: Profile
    environment: dict[str, str]
    throughput: list[Row]
    rounds: list[Round]
    scale: list[ScaleRow]
    read_rounds: list[ReadRound]
    inprocess: list[CallStats]
    targets: list[Target]
    elapsed_s: float


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}" if value < 100 else f"{value:,.0f}"


def _per_reference(rows: list[Row], name: str) -> dict[int, float]:
    return {row.concurrency: row.result.rps for row in rows if row.target == name}


def _throughput_section(rows: list[Row], profile: Profile) -> str:
    ceiling, moto = _per_reference(rows, CEILING), _per_reference(rows, MOTO)
    table = _table(
        ["server", "call", "conns", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99/p50", "× ceiling", "× moto", "errors"],
        [
            [
                r.target,
                r.operation,
                r.concurrency,
                f"{r.result.rps:,.0f}",
                f"{r.result.p50_ms:.2f}",
                f"{r.result.p90_ms:.2f}",
                f"{r.result.p99_ms:.2f}",
                _ratio(r.result.p99_ms / r.result.p50_ms),
                _ratio(r.result.rps / ceiling[r.concurrency] if ceiling.get(r.concurrency) else None),
                _ratio(r.result.rps / moto[r.concurrency] if moto.get(r.concurrency) else None),
                r.result.errors,
            ]
            for r in rows
        ],
    )
    warmup = f" after a {profile.warmup} s warm-up run" if profile.warmup else ""
    return (
        f"## Server throughput and latency\n\nwrk (a separate process) replays one SigV4-signed request on "
        f"keep-alive connections for {profile.seconds} s per point{warmup}. `× ceiling` and `× moto` divide "
        "req/s by the bare-ASGI ceiling's and moto's server's req/s at the same number of connections. "
        "smimages serves a 1,000-version image for reads; CreateImageVersion adds versions to a second "
        "image, so that image grows during the run.\n\n"
        f"{table}\n\n![throughput](throughput.png)\n\n![latency](latency.png)\n"
    )


def _paired_section(rounds: list[Round], profile: Profile) -> str:
    table = _table(
        ["round", "smimages (SQLite) req/s", "ceiling req/s", "moto req/s", "× ceiling", "× moto"],
        [
            [
                number,
                f"{r.smimages.rps:,.0f}",
                f"{r.ceiling.rps:,.0f}",
                f"{r.moto.rps:,.0f}",
                _ratio(r.smimages.rps / r.ceiling.rps),
                _ratio(r.smimages.rps / r.moto.rps),
            ]
            for number, r in enumerate(rounds, 1)
        ],
    )
    ceiling, moto = median_ratios(rounds) or (None, None)
    return (
        "## Paired rounds (the throughput targets)\n\nThe three servers run side by side (an idle one costs "
        "nothing) and are measured in turn, DescribeImageVersion against the ceiling's fixed body and moto's "
        f"DescribeModel, at {CONNECTIONS} connections for {profile.seconds} s each, round after round: a "
        "shared machine that slows down or speeds up during the run then weighs on all three alike. The "
        f"targets take the medians of the rounds' ratios: **{_ratio(ceiling)} × ceiling** and "
        f"**{_ratio(moto)} × moto**.\n\n{table}\n"
    )


def _read_rounds_table(rounds: list[ReadRound], scale: list[ScaleRow]) -> str:
    fields = [CALLS[label] for label in READS]
    return _table(
        ["round", *(f"{label} p50 ms, {scale[0].versions:,} / {scale[-1].versions:,}" for label in READS)],
        [
            [number, *(f"{r.small[f].p50_ms:.2f} / {r.large[f].p50_ms:.2f}" for f in fields)]
            for number, r in enumerate(rounds, 1)
        ],
    )


def _scale_section(scale: list[ScaleRow], read_rounds: list[ReadRound], profile: Profile) -> str:
    def cell(result):
        return f"{result.p50_ms:.2f} / {result.p99_ms:.2f}"

    table = _table(
        [
            "versions",
            "Describe p50 / p99 ms",
            "List first page p50 / p99 ms",
            "List deep page p50 / p99 ms",
            "Create p50 / p99 ms",
            "database MB",
            "server RSS MB",
            "errors",
        ],
        [
            [
                f"{s.versions:,}",
                cell(s.describe),
                cell(s.list_first),
                cell(s.list_deep),
                cell(s.create),
                f"{s.db_mb:,.1f}",
                f"{s.rss_mb:.1f}",
                sum(getattr(s, field).errors for field in CALLS.values()),
            ]
            for s in scale
        ],
    )
    return (
        "## Scale\n\nOne image on SQLite grows through the sizes (seeded in bulk through the store layer); at "
        f"each size a fresh `smimages serve` answers wrk on one connection for {profile.scale_seconds} s per "
        "call. Describe asks for the middle version; the deep page resumes from a NextToken at the middle of "
        "the image (100 items per page); CreateImageVersion (beyond the issue's list, since the rule that a "
        "call's cost must not grow with the catalog applies to it too) adds versions to the same image, last. "
        "RSS is read after the calls; database size is the file after a WAL checkpoint.\n\n"
        f"{table}\n\nThe read calls' latency targets are judged on paired rounds instead: the smallest "
        "catalog (seeded apart) and the largest served side by side and measured in turn, round after round, "
        "so that the machine's drift during the run weighs on both alike; the targets take the medians of the "
        f"rounds' ratios.\n\n{_read_rounds_table(read_rounds, scale) if read_rounds and scale else ''}"
        "\n\n![scale](scale.png)\n"
    )


def _inprocess_section(stats: list[CallStats]) -> str:
    floor = stats[-1].p50_us
    table = _table(
        ["setup", "call", "calls", "p50 µs", "p99 µs", "mean µs", "× canned p50"],
        [
            [
                s.setup,
                s.operation,
                s.calls,
                f"{s.p50_us:,.0f}",
                f"{s.p99_us:,.0f}",
                f"{s.mean_us:,.0f}",
                _ratio(s.p50_us / floor),
            ]
            for s in stats
        ],
    )
    return (
        "## In-process mode\n\nPer-call latency of a real boto3 client in this process: smimages' "
        "`InProcess(...).client()` (SQLite in memory), moto's `mock_aws`, and boto3 answered by a "
        "before-send hook returning a fixed response (the floor: boto3's own serialize/parse cost).\n\n"
        f"{table}\n\n![in-process](inprocess.png)\n"
    )


def _markdown(results: Results) -> str:
    env = _table(["", ""], [[key, value] for key, value in results.environment.items()])
    targets = _table(
        ["target", "measured ratio", "bound", "verdict"],
        [[t.name, _ratio(t.ratio), t.bound, f"**{t.verdict}**"] for t in results.targets],
    )
    command = "./run bench --smoke" if results.profile.name == "smoke" else "./run bench"
    if results.profile.name != "smoke" and results.scale and results.scale[-1].versions >= 1_000_000:
        command += " --million"
    return "\n\n".join(
        [
            f"# smimages benchmark results\n\nWritten by `{command}` (profile `{results.profile.name}`, "
            f"{results.elapsed_s / 60:.1f} min). How to run and read this: [README.md](README.md).",
            f"## Environment\n\n{env}",
            f"## Targets (issue 7)\n\n{targets}",
            _throughput_section(results.throughput, results.profile),
            _paired_section(results.rounds, results.profile),
            _scale_section(results.scale, results.read_rounds, results.profile),
            _inprocess_section(results.inprocess),
        ]
    )


def write(out: Path, results: Results) -> Path:
    """Writes results.md, results.json and the plots into `out`; returns the markdown file's path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(dataclasses.asdict(results), indent=1) + "\n")
    plots.draw(out, results.throughput, results.scale, results.inprocess)
    markdown = out / "results.md"
    markdown.write_text(_markdown(results))
    return markdown
