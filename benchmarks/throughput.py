"""Server throughput and latency under wrk: smimages on SQLite and PostgreSQL, the bare-ASGI ceiling, moto's server."""

import secrets
from dataclasses import dataclass
from pathlib import Path

import boto3

from . import postgres, seed, servers
from .load import LoadResult, measure, send_once
from .profiles import Profile
from .signing import ACCESS_KEY, REGION, SECRET_KEY, SignedRequest, signed

SEEDED_VERSIONS = 1_000  # versions of the read image: enough for full 100-item pages
LISTED = 100  # images and app image configs seeded besides, so the list calls answer full 100-item pages
PAGE = 100
READ_IMAGE, WRITE_IMAGE, MOTO_MODEL = "bench", "bench-create", "bench"
SQLITE, POSTGRESQL, CEILING, MOTO = "smimages-sqlite", "smimages-postgresql", "ceiling", "moto"
LISTS = {"ListImageVersions": "ImageVersions", "ListImages": "Images", "ListAppImageConfigs": "AppImageConfigs"}
READS = ("DescribeImageVersion", *LISTS)  # measured back to back at each concurrency, the creates after them all


@dataclass(frozen=True)
class Row:
    """One measurement: which server, which call, how many connections, and what wrk saw."""

    target: str
    operation: str
    concurrency: int
    result: LoadResult


def prepare_smimages(db_url: str, *more_images: str) -> None:
    """The images the smimages measurements use: a 1,000-version image to read, an empty one to add versions to (and
    `more_images`, empty too)."""
    seed.create_image(db_url, READ_IMAGE, WRITE_IMAGE, *more_images)
    seed.grow_versions(db_url, READ_IMAGE, SEEDED_VERSIONS)


def describe_request(port: int) -> SignedRequest:
    """DescribeImageVersion of the read image's middle version."""
    return signed(port, "DescribeImageVersion", {"ImageName": READ_IMAGE, "Version": SEEDED_VERSIONS // 2})


def create_request(port: int, image: str = WRITE_IMAGE) -> SignedRequest:
    """CreateImageVersion in `image`, with a ClientToken unique per request (and across runs on one database)."""
    nonce = secrets.token_hex(4)
    return signed(
        port,
        "CreateImageVersion",
        {"ImageName": image, "BaseImage": seed.BASE_IMAGE, "ClientToken": f"{nonce}-{{token}}"},
    )


def read_requests(port: int) -> dict[str, SignedRequest]:
    """Each of READS: DescribeImageVersion, then a full page of each list call (checked: each answers PAGE items)."""
    requests = {
        "DescribeImageVersion": describe_request(port),
        "ListImageVersions": signed(port, "ListImageVersions", {"ImageName": READ_IMAGE, "MaxResults": PAGE}),
        "ListImages": signed(port, "ListImages", {"MaxResults": PAGE}),
        "ListAppImageConfigs": signed(port, "ListAppImageConfigs", {"MaxResults": PAGE}),
    }
    for operation, member in LISTS.items():
        items = len(send_once(port, requests[operation])[member])
        if items != PAGE:
            raise RuntimeError(f"{operation} answered {items} items, not a full page of {PAGE}")
    return requests


def _smimages_requests(port: int) -> dict[str, SignedRequest]:
    """Every smimages call measured, READS first."""
    return {**read_requests(port), "CreateImageVersion": create_request(port)}


def ceiling_request(port: int) -> SignedRequest:
    """What the ceiling is sent: a DescribeImageVersion like smimages' (it answers every request alike)."""
    return signed(port, "DescribeImageVersion", {"ImageName": READ_IMAGE, "Version": 1})


def moto_request(port: int) -> SignedRequest:
    """DescribeModel on a model created first, moto's nearest call to DescribeImageVersion."""
    client = boto3.client(
        "sagemaker",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_model(
        ModelName=MOTO_MODEL, ExecutionRoleArn=seed.ROLE_ARN, PrimaryContainer={"Image": seed.BASE_IMAGE}
    )
    return signed(port, "DescribeModel", {"ModelName": MOTO_MODEL})


def _measure_all(server: servers.Server, requests: dict[str, SignedRequest], profile: Profile) -> list[Row]:
    """The reads at each concurrency in turn (so that Describe and the lists at one concurrency are measured back to
    back), then the writes: a read never runs while the worker still writes down the versions a create made."""
    for request in requests.values():
        send_once(server.port, request)
    reads = [operation for operation in requests if operation in READS]
    return [
        Row(
            server.name,
            operation,
            c,
            measure(server, operation, requests[operation], c, profile.seconds, profile.warmup),
        )
        for group in (reads, [operation for operation in requests if operation not in READS])
        for c in profile.concurrency
        for operation in group
    ]


def run(profile: Profile, work: Path, pg_admin_url: str | None) -> list[Row]:
    """Every server, every call, every concurrency of the profile; PostgreSQL only when `pg_admin_url` is given."""
    rows = []
    sqlite_url = f"sqlite:///{work / 'throughput.db'}"
    prepare_smimages(sqlite_url)
    seed.create_listed(sqlite_url, LISTED)
    with servers.smimages(sqlite_url, work, SQLITE) as server:
        rows += _measure_all(server, _smimages_requests(server.port), profile)
    if pg_admin_url:
        with postgres.temporary_database(pg_admin_url) as pg_url:
            prepare_smimages(pg_url)
            seed.create_listed(pg_url, LISTED)
            with servers.smimages(pg_url, work, POSTGRESQL) as server:
                rows += _measure_all(server, _smimages_requests(server.port), profile)
    with servers.ceiling(work, CEILING) as server:
        rows += _measure_all(server, {"fixed body": ceiling_request(server.port)}, profile)
    with servers.moto(work, MOTO) as server:
        rows += _measure_all(server, {"DescribeModel": moto_request(server.port)}, profile)
    return rows
