"""Runs wrk (a separate process) replaying one signed request, and reads back throughput and latency."""

import json
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .servers import Server
from .signing import SignedRequest

SCRIPT = Path(__file__).with_name("wrk.lua")


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured: completed requests per second, latency percentiles in ms, failed requests."""

    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int


def run_wrk(port: int, request: SignedRequest, connections: int, seconds: float) -> LoadResult:
    """Drives 127.0.0.1:port with `connections` keep-alive connections for `seconds`."""
    threads = min(2, connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(SCRIPT),
        f"http://127.0.0.1:{port}{request.path}",
        "--",
        request.method,
        request.path,
        request.body,
        *(f"{k}: {v}" for k, v in request.headers.items()),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    doc = json.loads(next(line for line in reversed(out.splitlines()) if line.startswith("{")))
    return LoadResult(
        rps=doc["requests"] / (doc["duration_us"] / 1e6),
        p50_ms=doc["p50_us"] / 1000,
        p90_ms=doc["p90_us"] / 1000,
        p99_ms=doc["p99_us"] / 1000,
        max_ms=doc["max_us"] / 1000,
        requests=doc["requests"],
        errors=doc["errors"],
    )


def send_once(port: int, request: SignedRequest) -> dict:
    """Sends the request once (a "{token}" becomes "check") and returns the decoded answer; raises unless 200."""
    http = urllib.request.Request(
        f"http://127.0.0.1:{port}{request.path}",
        method=request.method,
        data=request.body.replace("{token}", "check").encode(),
        headers=request.headers,
    )
    with urllib.request.urlopen(http, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def measure(
    server: Server, operation: str, request: SignedRequest, connections: int, seconds: int, warmup: int
) -> LoadResult:
    """One wrk measurement after a discarded warm-up run, logged to stderr as it completes."""
    if warmup:
        run_wrk(server.port, request, connections, warmup)
    result = run_wrk(server.port, request, connections, seconds)
    print(
        f"  {server.name:<20} {operation:<28} c={connections:<3} {result.rps:9.0f} req/s  "
        f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  errors {result.errors}",
        file=sys.stderr,
    )
    return result
