"""What the results were measured on: machine, software versions and commit, for the report's header."""

import datetime
import os
import platform
import sqlite3
import subprocess
from importlib.metadata import version

from .servers import ROOT


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def _output(*argv: str) -> list[str]:
    """The lines a command prints on stdout; none if it cannot run."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):  # missing, or hung past the timeout
        return []


def _commit() -> str:
    """The checked-out commit, noting when tracked files differ from it (the run measured the working tree)."""
    commit = (_output("git", "rev-parse", "--short", "HEAD") or ["unknown"])[0]
    changed = _output("git", "status", "--porcelain", "--untracked-files=no")
    return f"{commit} with uncommitted changes" if changed else commit


def describe(postgres_version: str | None, load_at_start: float) -> dict[str, str]:
    """Name -> value pairs describing this run's machine and software; other load on the machine skews results."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "machine": f"{_cpu_model()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"{platform.system()} {platform.release()}",
        "load average (1 min) at start / end": f"{load_at_start:.2f} / {os.getloadavg()[0]:.2f}",
        "python": platform.python_version(),
        "uvicorn": version("uvicorn"),
        "httptools": version("httptools"),
        "SQLAlchemy": version("sqlalchemy"),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": postgres_version or "not reachable (PostgreSQL rows skipped)",
        "botocore": version("botocore"),
        "moto": version("moto"),
        "wrk": (_output("wrk", "-v") or ["unknown"])[0].split(" Copyright")[0],
    }
