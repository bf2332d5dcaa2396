"""`python -m benchmarks [--smoke] [--million] [--out DIR]`: runs every section and writes the results."""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from . import backends, environment, fleet, inprocess, paired, postgres, report, scale, targets, throughput
from .profiles import FULL, SMOKE, with_million
from .servers import ROOT


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./run bench", description=__doc__)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny durations and sizes, no verdicts; writes to a temporary directory unless --out",
    )
    parser.add_argument("--million", action="store_true", help="add the 1,000,000-version scale step (slow seed)")
    parser.add_argument(
        "--out", type=Path, help="where results.md, results.json and the plots go (default: docs/benchmarks/)"
    )
    parser.add_argument(
        "--postgres",
        default=postgres.DEFAULT_ADMIN_URL,
        metavar="URL",
        help="PostgreSQL URL to create the throwaway bench_<random> database from "
        "(default: %(default)s); rows are skipped when it is unreachable",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    profile = SMOKE if args.smoke else FULL
    if args.million:
        profile = with_million(profile)
    out = args.out or (
        Path(tempfile.mkdtemp(prefix="smimages-bench-smoke-")) if args.smoke else ROOT / "docs" / "benchmarks"
    )
    started, load_at_start = time.monotonic(), os.getloadavg()[0]
    pg_version = postgres.server_version(args.postgres)
    with tempfile.TemporaryDirectory(prefix="smimages-bench-") as work:
        work = Path(work)
        print("throughput and latency", file=sys.stderr)
        rows = throughput.run(profile, work, args.postgres if pg_version else None)
        print("paired rounds (the ceiling and moto targets)", file=sys.stderr)
        rounds = paired.run(profile, work)
        backend_rounds: list[backends.BackendRound] = []
        if pg_version:
            print("backend rounds (PostgreSQL against SQLite)", file=sys.stderr)
            backend_rounds = backends.run(profile, work, args.postgres)
        print("fleet (several servers on one catalog)", file=sys.stderr)
        fleet_rows = fleet.run(profile, work, args.postgres if pg_version else None)
        print("scale", file=sys.stderr)
        scale_rows, read_rounds = scale.run(profile, work)
    print("in-process", file=sys.stderr)
    calls = inprocess.run(profile.inprocess_calls)
    verdicts = targets.evaluate(rows, rounds, backend_rounds, scale_rows, read_rounds, calls, profile.judged)
    results = report.Results(
        profile,
        environment.describe(pg_version, load_at_start),
        rows,
        rounds,
        backend_rounds,
        fleet_rows,
        scale_rows,
        read_rounds,
        calls,
        verdicts,
        time.monotonic() - started,
    )
    markdown = report.write(out, results)
    for target in results.targets:
        ratio = "—" if target.ratio is None else f"{target.ratio:.2f}"
        print(f"{target.verdict:<20} {ratio:>7} {target.bound:<7} {target.name}", file=sys.stderr)
    print(f"wrote {markdown} in {results.elapsed_s:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
