"""Scale: call latency, database size and server RSS as one image grows to a million versions (SQLite)."""

import contextlib
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from smimages.domain import paging

from . import seed, servers
from .load import LoadResult, measure, send_once
from .profiles import Profile
from .signing import SignedRequest, signed

IMAGE = "scale"
PAGE = 100
CALLS = {
    "DescribeImageVersion": "describe",
    "ListImageVersions first page": "list_first",
    "ListImageVersions deep page": "list_deep",
    "CreateImageVersion": "create",
}  # label -> ScaleRow field
READS = tuple(CALLS)[:3]  # the calls the paired rounds measure


@dataclass(frozen=True)
class ScaleRow:
    """Measurements at one catalog size; latencies at concurrency 1."""

    versions: int
    describe: LoadResult
    list_first: LoadResult
    list_deep: LoadResult
    create: LoadResult
    db_mb: float
    rss_mb: float


@dataclass(frozen=True)
class ReadRound:
    """One paired round: the READS' results (by CALLS field) on the smallest and on the largest catalog."""

    small: dict[str, LoadResult]
    large: dict[str, LoadResult]


def _deep_token(versions: int) -> str:
    """The NextToken a client holds after paging (newest first) down to the middle seeded version.

    Walking there page by page would take minutes at a million versions, so it is made the way the server
    makes tokens; the harness checks the server answers it with a full page of older versions."""
    query = paging.list_query({"ImageName": IMAGE}, ("ImageName",), "CREATION_TIME")
    middle = versions // 2
    return paging.encode(query, [seed.SEED_EPOCH + middle, middle])


def _db_mb(db: Path) -> float:
    """The database file's size once its write-ahead log is folded in."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db.stat().st_size / 2**20


def _requests(port: int, versions: int) -> dict[str, SignedRequest]:
    """The calls measured on a catalog of `versions`, by CALLS label, in CALLS' order (CreateImageVersion last: the
    versions it adds are the newest, so the pages above hold); checks the deep page starts where it should."""
    describe = signed(port, "DescribeImageVersion", {"ImageName": IMAGE, "Version": versions // 2})
    first = signed(port, "ListImageVersions", {"ImageName": IMAGE, "MaxResults": PAGE})
    deep = signed(
        port, "ListImageVersions", {"ImageName": IMAGE, "MaxResults": PAGE, "NextToken": _deep_token(versions)}
    )
    page = send_once(port, deep)["ImageVersions"]
    if len(page) != PAGE or page[0]["CreationTime"] >= seed.SEED_EPOCH + versions // 2:
        raise RuntimeError(f"deep page at {versions} versions starts at the wrong place: {page[:1]}")
    create = signed(
        port,
        "CreateImageVersion",
        {"ImageName": IMAGE, "BaseImage": seed.BASE_IMAGE, "ClientToken": f"{secrets.token_hex(4)}-{{token}}"},
    )
    send_once(port, describe)
    return dict(zip(CALLS, (describe, first, deep, create), strict=False))


def _measure_size(url: str, db: Path, versions: int, profile: Profile, work: Path) -> ScaleRow:
    with servers.smimages(url, work, f"scale-{versions}") as server:
        results = {
            CALLS[label]: measure(server, label, request, 1, profile.scale_seconds, profile.warmup)
            for label, request in _requests(server.port, versions).items()
        }
        rss = server.rss_mb()
    return ScaleRow(versions, **results, db_mb=_db_mb(db), rss_mb=rss)


def _paired_reads(
    small_url: str, small: int, large_url: str, large: int, profile: Profile, work: Path
) -> list[ReadRound]:
    """The read calls on the smallest and the largest catalog, served side by side and measured in turn, round after
    round (as benchmarks/paired.py does for throughput): the latency targets take the medians of the rounds' ratios.
    CreateImageVersion is left out: each round's creates would grow the small catalog."""
    with contextlib.ExitStack() as stack:
        catalogs = [
            (stack.enter_context(servers.smimages(url, work, f"scale-paired-{versions}")), versions)
            for url, versions in ((small_url, small), (large_url, large))
        ]
        calls = [
            (server, {label: request for label, request in _requests(server.port, versions).items() if label in READS})
            for server, versions in catalogs
        ]
        return [
            ReadRound(
                *(
                    {
                        CALLS[label]: measure(server, label, request, 1, profile.scale_seconds, profile.warmup)
                        for label, request in requests.items()
                    }
                    for server, requests in calls
                )
            )
            for _ in range(profile.rounds)
        ]


def run(profile: Profile, work: Path) -> tuple[list[ScaleRow], list[ReadRound]]:
    """Grows one image through the profile's sizes, restarting the server at each to measure it fresh; then the
    paired rounds of the smallest size (a catalog of its own) against the largest."""
    db, small_db = work / "scale.db", work / "scale-small.db"
    url, small_url = f"sqlite:///{db}", f"sqlite:///{small_db}"
    for catalog in (url, small_url):
        seed.create_image(catalog, IMAGE)
    small, large = profile.scale_sizes[0], profile.scale_sizes[-1]
    seed.grow_versions(small_url, IMAGE, small)
    rows = []
    for versions in profile.scale_sizes:
        seed.grow_versions(url, IMAGE, versions)
        rows.append(_measure_size(url, db, versions, profile, work))
    return rows, _paired_reads(small_url, small, url, large, profile, work)
