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
READ_IMAGE, WRITE_IMAGE, MOTO_MODEL = "bench", "bench-create", "bench"
SQLITE, POSTGRESQL, CEILING, MOTO = "smimages-sqlite", "smimages-postgresql", "ceiling", "moto"


@dataclass(frozen=True)
class Row:
    """One measurement: which server, which call, how many connections, and what wrk saw."""

    target: str
    operation: str
    concurrency: int
    result: LoadResult


def prepare_smimages(db_url: str) -> None:
    """The images the smimages measurements use: a 1,000-version image to read, an empty one to add versions to."""
    seed.create_image(db_url, READ_IMAGE)
    seed.grow_versions(db_url, READ_IMAGE, SEEDED_VERSIONS)
    seed.create_image(db_url, WRITE_IMAGE)


def describe_request(port: int) -> SignedRequest:
    """DescribeImageVersion of the read image's middle version."""
    return signed(port, "DescribeImageVersion", {"ImageName": READ_IMAGE, "Version": SEEDED_VERSIONS // 2})


def _smimages_requests(port: int) -> dict[str, SignedRequest]:
    nonce = secrets.token_hex(4)  # ClientTokens never repeat across runs on the same database
    return {
        "DescribeImageVersion": describe_request(port),
        "ListImageVersions": signed(port, "ListImageVersions", {"ImageName": READ_IMAGE, "MaxResults": 100}),
        "CreateImageVersion": signed(
            port,
            "CreateImageVersion",
            {"ImageName": WRITE_IMAGE, "BaseImage": seed.BASE_IMAGE, "ClientToken": f"{nonce}-{{token}}"},
        ),
    }


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
    rows = []
    for operation, request in requests.items():
        send_once(server.port, request)
        rows += [
            Row(server.name, operation, c, measure(server, operation, request, c, profile.seconds, profile.warmup))
            for c in profile.concurrency
        ]
    return rows


def run(profile: Profile, work: Path, pg_admin_url: str | None) -> list[Row]:
    """Every server, every call, every concurrency of the profile; PostgreSQL only when `pg_admin_url` is given."""
    rows = []
    sqlite_url = f"sqlite:///{work / 'throughput.db'}"
    prepare_smimages(sqlite_url)
    with servers.smimages(sqlite_url, work, SQLITE) as server:
        rows += _measure_all(server, _smimages_requests(server.port), profile)
    if pg_admin_url:
        with postgres.temporary_database(pg_admin_url) as pg_url:
            prepare_smimages(pg_url)
            with servers.smimages(pg_url, work, POSTGRESQL) as server:
                rows += _measure_all(server, _smimages_requests(server.port), profile)
    with servers.ceiling(work, CEILING) as server:
        rows += _measure_all(server, {"fixed body": ceiling_request(server.port)}, profile)
    with servers.moto(work, MOTO) as server:
        rows += _measure_all(server, {"DescribeModel": moto_request(server.port)}, profile)
    return rows
