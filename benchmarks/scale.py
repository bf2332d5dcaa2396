"""Scale: call latency, database size and server RSS as one image grows from a thousand to a million versions (SQLite)."""
import contextlib
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from smimages.domain import paging

from . import seed, servers
from .load import LoadResult, measure, send_once
from .profiles import Profile
from .signing import signed

IMAGE = "scale"
PAGE = 100
CALLS = {"DescribeImageVersion": "describe", "ListImageVersions first page": "list_first",
         "ListImageVersions deep page": "list_deep", "CreateImageVersion": "create"}  # label -> ScaleRow field


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


def _measure_size(url: str, db: Path, versions: int, profile: Profile, work: Path) -> ScaleRow:
    with servers.smimages(url, work, f"scale-{versions}") as server:
        describe = signed(server.port, "DescribeImageVersion", {"ImageName": IMAGE, "Version": versions // 2})
        first = signed(server.port, "ListImageVersions", {"ImageName": IMAGE, "MaxResults": PAGE})
        deep = signed(server.port, "ListImageVersions",
                      {"ImageName": IMAGE, "MaxResults": PAGE, "NextToken": _deep_token(versions)})
        page = send_once(server.port, deep)["ImageVersions"]
        if len(page) != PAGE or page[0]["CreationTime"] >= seed.SEED_EPOCH + versions // 2:
            raise RuntimeError(f"deep page at {versions} versions starts at the wrong place: {page[:1]}")
        create = signed(server.port, "CreateImageVersion", {
            "ImageName": IMAGE, "BaseImage": seed.BASE_IMAGE, "ClientToken": f"{secrets.token_hex(4)}-{{token}}"})
        send_once(server.port, describe)
        # in CALLS' order, CreateImageVersion last: the versions it adds are the newest, so the pages above hold
        requests = dict(zip(CALLS, (describe, first, deep, create)))
        results = {CALLS[label]: measure(server, label, request, 1, profile.scale_seconds, profile.warmup)
                   for label, request in requests.items()}
        rss = server.rss_mb()
    return ScaleRow(versions, **results, db_mb=_db_mb(db), rss_mb=rss)


def run(profile: Profile, work: Path) -> list[ScaleRow]:
    """Grows one image through the profile's sizes, restarting the server at each to measure it fresh."""
    db = work / "scale.db"
    url = f"sqlite:///{db}"
    seed.create_image(url, IMAGE)
    rows = []
    for versions in profile.scale_sizes:
        seed.grow_versions(url, IMAGE, versions)
        rows.append(_measure_size(url, db, versions, profile, work))
    return rows
