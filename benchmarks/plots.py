"""The PNG plots of a run: throughput, latency, scale, in-process latency and the fleet."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import ticker

from .fleet import FleetRow
from .inprocess import CallStats
from .scale import CALLS, ScaleRow
from .throughput import Row


def _connections(count: int) -> str:
    return f"{count} connection{'s' if count > 1 else ''}"


def _series(rows: list[Row]) -> list[str]:
    return list(dict.fromkeys(f"{r.target}\n{r.operation}" for r in rows))


def _grouped_bars(ax, rows: list[Row], value, label_for):
    """One group of bars per (server, call), one bar per concurrency."""
    series = _series(rows)
    concurrencies = sorted({r.concurrency for r in rows})
    width = 0.8 / len(concurrencies)
    for i, concurrency in enumerate(concurrencies):
        points = {f"{r.target}\n{r.operation}": value(r) for r in rows if r.concurrency == concurrency}
        ax.bar(
            [x + i * width for x in range(len(series))],
            [points.get(s, 0) for s in series],
            width,
            label=label_for(concurrency),
        )
    ax.set_xticks([x + width * (len(concurrencies) - 1) / 2 for x in range(len(series))], series, fontsize=7)
    ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)


def _throughput(out: Path, rows: list[Row]) -> None:
    fig, ax = plt.subplots(figsize=(15, 5))
    _grouped_bars(ax, rows, lambda r: r.result.rps, _connections)
    ax.set_ylabel("requests per second (log)")
    ax.set_title("Server throughput (wrk, same machine, same run)")
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=110)
    plt.close(fig)


def _latency(out: Path, rows: list[Row]) -> None:
    concurrencies = sorted({r.concurrency for r in rows})
    fig, axes = plt.subplots(len(concurrencies), 1, figsize=(15, 3.6 * len(concurrencies)), squeeze=False)
    for ax, concurrency in zip(axes[:, 0], concurrencies, strict=False):
        subset = [r for r in rows if r.concurrency == concurrency]
        series = _series(subset)
        ax.bar([x - 0.2 for x in range(len(series))], [r.result.p50_ms for r in subset], 0.4, label="p50")
        ax.bar([x + 0.2 for x in range(len(series))], [r.result.p99_ms for r in subset], 0.4, label="p99")
        ax.set_xticks(range(len(series)), series, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("ms (log)")
        ax.set_title(f"Latency at {_connections(concurrency)}")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)


def _scale(out: Path, scale: list[ScaleRow]) -> None:
    versions = [s.versions for s in scale]
    fig, (latency, memory, size) = plt.subplots(1, 3, figsize=(14, 4))
    for label, field in CALLS.items():
        latency.plot(versions, [getattr(s, field).p50_ms for s in scale], marker="o", label=label)
    latency.set_ylabel("p50 ms, 1 connection")
    latency.set_yscale("log")
    latency.legend(fontsize=7)
    memory.plot(versions, [s.rss_mb for s in scale], marker="o")
    memory.set_ylabel("server RSS MB")
    memory.set_ylim(0, max(s.rss_mb for s in scale) * 1.3)
    size.plot(versions, [s.db_mb for s in scale], marker="o")
    size.set_ylabel("database MB")
    size.set_yscale("log")
    for ax in (latency, memory, size):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:,.0f}"))
        ax.set_xlabel("versions stored")
        ax.grid(alpha=0.3)
    fig.suptitle("Scale: one image on SQLite")
    fig.tight_layout()
    fig.savefig(out / "scale.png", dpi=110)
    plt.close(fig)


def _inprocess(out: Path, stats: list[CallStats]) -> None:
    fig, ax = plt.subplots(figsize=(8, 3))
    labels = [f"{s.setup}\n{s.operation}" for s in stats]
    ax.barh(labels, [s.p50_us for s in stats], xerr=[[0] * len(stats), [s.p99_us - s.p50_us for s in stats]], capsize=4)
    ax.set_xlabel("µs per call (bar: p50, whisker: p99)")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("In-process per-call latency through boto3")
    fig.tight_layout()
    fig.savefig(out / "inprocess.png", dpi=110)
    plt.close(fig)


def _fleet(out: Path, rows: list[FleetRow]) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for backend, operation in dict.fromkeys((r.backend, r.operation) for r in rows):
        points = [r for r in rows if (r.backend, r.operation) == (backend, operation)]
        ax.plot([r.servers for r in points], [r.rps for r in points], marker="o", label=f"{backend} {operation}")
    ax.set_xticks(sorted({r.servers for r in rows}))
    ax.set_xlabel("smimages serve processes on one catalog")
    ax.set_ylabel("aggregate requests per second")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(f"Fleet: {rows[0].connections} connections in all" if rows else "Fleet")
    fig.tight_layout()
    fig.savefig(out / "fleet.png", dpi=110)
    plt.close(fig)


def draw(out: Path, rows: list[Row], scale: list[ScaleRow], inprocess: list[CallStats], fleet: list[FleetRow]) -> None:
    """Writes throughput.png, latency.png, scale.png, inprocess.png and fleet.png into `out`."""
    _throughput(out, rows)
    _latency(out, rows)
    _scale(out, scale)
    _inprocess(out, inprocess)
    _fleet(out, fleet)
