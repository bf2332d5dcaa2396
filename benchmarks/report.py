"""Writes a run's results as docs/benchmarks/results.md (markdown tables), results.json and the PNG plots."""

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from . import backends, plots
from .backends import BackendRound
from .fleet import FleetRow
from .inprocess import CallStats, floor
from .paired import CONNECTIONS, Round, median_ratios, ratios
from .profiles import Profile
from .scale import CALLS, READS, ReadRound, ScaleRow
from .targets import Target
from .throughput import CEILING, LISTED, LISTS, MOTO, Row


@dataclass(frozen=True)
class Results:
    """Everything one harness run measured."""

    profile: Profile
    environment: dict[str, str]
    throughput: list[Row]
    rounds: list[Round]
    backend_rounds: list[BackendRound]
    fleet: list[FleetRow]
    scale: list[ScaleRow]
    read_rounds: list[ReadRound]
    inprocess: list[CallStats]
    targets: list[Target]
    elapsed_s: float


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio_of(numerator: float, denominator: float | None) -> float | None:
    return numerator / denominator if denominator else None


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}" if value < 100 else f"{value:,.0f}"


def _per_reference(rows: list[Row], name: str) -> dict[int, float]:
    return {row.concurrency: row.result.rps for row in rows if row.target == name}


def _by_call(rows: list[Row]) -> list[Row]:
    """The rows grouped by server, then call (in the order first measured), then connections."""
    servers = list(dict.fromkeys(r.target for r in rows))
    operations = list(dict.fromkeys(r.operation for r in rows))
    return sorted(rows, key=lambda r: (servers.index(r.target), operations.index(r.operation), r.concurrency))


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
            for r in _by_call(rows)
        ],
    )
    warmup = f" after a {profile.warmup} s warm-up run" if profile.warmup else ""
    return (
        f"## Server throughput and latency\n\nwrk (a separate process) replays one SigV4-signed request on "
        f"keep-alive connections for {profile.seconds} s per point{warmup}. `× ceiling` and `× moto` divide "
        "req/s by the bare-ASGI ceiling's and moto's server's req/s at the same number of connections. "
        "smimages serves a 1,000-version image for reads, and "
        f"{LISTED} more images and {LISTED} app image configs (each with a kernel gateway configuration), so "
        "that the three list calls (MaxResults 100) answer full pages; CreateImageVersion adds versions to a "
        "second image, so that image grows during the run. On each smimages server the reads are measured "
        "back to back at each number of connections (Describe, then the lists), and the creates after all "
        "the reads: the lists' targets divide their req/s by Describe's measured just before them.\n\n"
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
    worst_ceiling, worst_moto = (min(each, default=None) for each in ratios(rounds))
    return (
        "## Paired rounds (the ceiling and moto targets)\n\nThe three servers run side by side (an idle one "
        "costs nothing) and are measured in turn, DescribeImageVersion against the ceiling's fixed body and "
        f"moto's DescribeModel, at {CONNECTIONS} connections for {profile.seconds} s each, round after round: a "
        "shared machine that slows down or speeds up during the run then weighs on all three alike. Every "
        f"round must meet the targets, so they are judged on the worst round: **{_ratio(worst_ceiling)} × "
        f"ceiling** and **{_ratio(worst_moto)} × moto** (medians {_ratio(ceiling)} × and {_ratio(moto)} ×)."
        f"\n\n{table}\n"
    )


def _backend_section(rounds: list[BackendRound], profile: Profile) -> str:
    if not rounds:
        return "## Backend rounds (PostgreSQL against SQLite)\n\nNot measured: PostgreSQL was not reachable.\n"
    header = ["round"]
    for operation in backends.OPERATIONS:
        header += [f"{operation} SQLite req/s", "PostgreSQL req/s", "PostgreSQL ÷ SQLite"]
    table = _table(
        header,
        [
            [number]
            + [
                cell
                for operation in backends.OPERATIONS
                for cell in (
                    f"{r.sqlite[operation].rps:,.0f}",
                    f"{r.postgresql[operation].rps:,.0f}",
                    _ratio(r.ratio(operation)),
                )
            ]
            for number, r in enumerate(rounds, 1)
        ],
    )
    medians = " and ".join(
        f"**{_ratio(backends.median_ratio(rounds, operation))}** for {operation}" for operation in backends.OPERATIONS
    )
    return (
        "## Backend rounds (PostgreSQL against SQLite, and each list against Describe)\n\n`smimages serve` on a "
        "SQLite file and on a PostgreSQL database, each seeded alike, run side by side and are measured in turn at "
        f"{backends.CONNECTIONS} connections for {profile.seconds} s each: DescribeImageVersion on SQLite, then "
        "on PostgreSQL, then each list call (100 items) on each, then CreateImageVersion on each (every round's "
        "creates go to a fresh image on each backend), round after round. The targets take the medians of the "
        f"rounds' ratios: {medians}.\n\n{table}\n\nEach list call against DescribeImageVersion on the same "
        f"backend in the same round (the list targets take the medians):\n\n{_per_describe_table(rounds)}\n"
    )


def _per_describe_table(rounds: list[BackendRound]) -> str:
    columns = [(operation, backend) for operation in LISTS for backend in ("sqlite", "postgresql")]
    header = ["round"]
    for operation in LISTS:
        header += [f"{operation} ÷ Describe, SQLite", "PostgreSQL"]
    each = [[number] + [_ratio(r.per_describe(b, o)) for o, b in columns] for number, r in enumerate(rounds, 1)]
    median = ["median"] + [_ratio(backends.median_per_describe(rounds, b, o)) for o, b in columns]
    return _table(header, [*each, median])


def _share(seconds: float | None, capacity: float) -> str:
    return "—" if seconds is None else f"{100 * seconds / capacity:.0f} %"


def _per_request(seconds: float | None, requests: int) -> str:
    return "—" if seconds is None or not requests else f"{1e6 * seconds / requests:,.0f}"


def _partial(rows: list[FleetRow]) -> str:
    if all(r.postgres and r.postgres.complete for r in rows):
        return ""
    return "; an idle backend holds its statistics back for 10 s, so these are incomplete"


def _fleet_section(rows: list[FleetRow], profile: Profile) -> str:
    if not rows:
        return "## Fleet\n\nNot measured.\n"
    single = {(r.backend, r.operation): r.rps for r in rows if r.servers == 1}
    table = _table(
        [
            "catalog",
            "call",
            "servers",
            "aggregate req/s",
            "× 1 server",
            "per-server req/s",
            "worst p99 ms",
            "errors",
            "CPU: smimages",
            "postgres",
            "wrk",
            "rest of machine",
            "idle",
            "CPU µs per request: smimages / postgres / wrk",
        ],
        [
            [
                r.backend,
                r.operation,
                r.servers,
                f"{r.rps:,.0f}",
                _ratio(_ratio_of(r.rps, single.get((r.backend, r.operation)))),
                " / ".join(f"{x.rps:,.0f}" for x in r.results),
                f"{max(x.p99_ms for x in r.results):.1f}",
                sum(x.errors for x in r.results),
                _share(r.cpu.smimages_s, r.cpu.capacity_s),
                _share(r.cpu.postgres_s, r.cpu.capacity_s),
                _share(r.cpu.wrk_s, r.cpu.capacity_s),
                _share(r.cpu.busy_s - r.cpu.smimages_s - (r.cpu.postgres_s or 0) - r.cpu.wrk_s, r.cpu.capacity_s),
                _share(max(0.0, r.cpu.capacity_s - r.cpu.busy_s), r.cpu.capacity_s),
                " / ".join(
                    _per_request(seconds, r.requests) for seconds in (r.cpu.smimages_s, r.cpu.postgres_s, r.cpu.wrk_s)
                ),
            ]
            for r in rows
        ],
    )
    pg_rows = [r for r in rows if r.postgres]
    pg_table = _table(
        ["call", "servers", "commits per request", "statement time µs per request", "backends on average, by state"],
        [
            [
                r.operation,
                r.servers,
                f"{r.postgres.commits / r.postgres.requests:.2f}" if r.postgres.requests else "—",
                _per_request(r.postgres.active_ms and r.postgres.active_ms / 1000, r.postgres.requests),
                ", ".join(f"{state} {n:.1f}" for state, n in r.postgres.backends.items() if n >= 0.05) or "—",
            ]
            for r in pg_rows
        ],
    )
    warmup = f" after a {profile.warmup} s warm-up run of all of them" if profile.warmup else ""
    return (
        "## Fleet: several servers on one catalog\n\n"
        f"{', '.join(map(str, profile.fleet_servers))} `smimages serve` processes on one catalog (each with its "
        "lifecycle worker, as identical instances would be deployed), each driven by a wrk of its own with "
        f"{profile.fleet_connections} connections in all split evenly across them, all at once for "
        f"{profile.seconds} s{warmup}. Describe reads one shared version; CreateImageVersion adds versions to "
        "an image of each server's own (a CI fleet whose jobs each build their own image). Idle servers of the "
        "largest fleet stay up while a smaller one is measured. Not a target: the issue asks where the time "
        "goes.\n\nThe CPU columns are shares of the machine during the measurement (wall seconds × cores), "
        "read from the processes' CPU times: the smimages processes driven, PostgreSQL (the catalog's backends, "
        "found in `pg_stat_activity`, and the server's WAL writer, checkpointer and background writer, which "
        "other tenants of the shared server use too), the wrk processes, the rest of the machine (other "
        "tenants, the harness, the kernel's interrupts) and idle time. `× 1 server` divides aggregate req/s by "
        f"the single server's.\n\n{table}\n\n"
        + (
            "PostgreSQL's own view of the same measurements: `pg_stat_database`'s committed transactions and "
            "statement time (`active_time`, which includes waiting for locks), divided by the requests answered "
            "(the warm-up's included: the statistics are read before it, and after waiting "
            f"{profile.pg_stats_wait} s for every backend to report them{_partial(pg_rows)}), and the catalog's "
            "client backends "
            "sampled every 0.1 s in `pg_stat_activity` (the average number in each state; `idle` is a pooled "
            "connection waiting for smimages, `idle in transaction` one held open by smimages between two "
            f"statements).\n\n{pg_table}\n\n"
            if pg_rows
            else ""
        )
        + "![fleet](fleet.png)\n"
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


def _times_canned(stats: list[CallStats], call: CallStats) -> float | None:
    canned = floor(stats, call)
    return call.p50_us / canned.p50_us if canned else None


def _inprocess_section(stats: list[CallStats]) -> str:
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
                _ratio(_times_canned(stats, s)),
            ]
            for s in stats
        ],
    )
    return (
        "## In-process mode\n\nPer-call latency of a real boto3 client in this process: smimages' "
        "`InProcess(...).client()` (SQLite in memory, one image of 100 versions), moto's `mock_aws`, and boto3 "
        "answered by a before-send hook returning a fixed response (the floor: boto3's own serialize/parse "
        "cost): a DescribeImageVersion, and a ListImageVersions page of 100 versions with the members smimages "
        "answers (the harness checks they match). smimages and the floor are timed call after call in turn, "
        "first on Describe, then on the list; moto apart. `× canned p50` divides p50 by the canned answer's to "
        "the same call (moto's DescribeModel by the canned Describe).\n\n"
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
            f"## Targets (issues 7 and 17)\n\n{targets}",
            _throughput_section(results.throughput, results.profile),
            _paired_section(results.rounds, results.profile),
            _backend_section(results.backend_rounds, results.profile),
            _fleet_section(results.fleet, results.profile),
            _scale_section(results.scale, results.read_rounds, results.profile),
            _inprocess_section(results.inprocess),
        ]
    )


def write(out: Path, results: Results) -> Path:
    """Writes results.md, results.json and the plots into `out`; returns the markdown file's path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(dataclasses.asdict(results), indent=1) + "\n")
    plots.draw(out, results.throughput, results.scale, results.inprocess, results.fleet)
    markdown = out / "results.md"
    markdown.write_text(_markdown(results))
    return markdown
