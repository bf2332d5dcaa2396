"""In-process per-call latency through boto3: smimages' InProcess client, moto's mock_aws, and canned responses."""

import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import boto3
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from smimages.testing import InProcess

from .seed import BASE_IMAGE, ROLE_ARN
from .signing import ACCESS_KEY, REGION, SECRET_KEY

WARMUP_CALLS = 20
LISTED_VERSIONS = 100  # the in-process image's versions: one full ListImageVersions page
IMAGE_ARN = "arn:aws:sagemaker:us-east-1:000000000000:image/bench"
CANNED = "boto3 canned response"
CANNED_BODIES = {
    "DescribeImageVersion": json.dumps(
        {
            "BaseImage": BASE_IMAGE,
            "ContainerImage": BASE_IMAGE,
            "CreationTime": 1767225600.0,
            "ImageArn": IMAGE_ARN,
            "ImageVersionArn": "arn:aws:sagemaker:us-east-1:000000000000:image-version/bench/1",
            "ImageVersionStatus": "CREATED",
            "LastModifiedTime": 1767225600.0,
            "Version": 1,
        }
    ).encode(),
    # the members smimages answers for each version of a ListImageVersions page (checked against its answer)
    "ListImageVersions": json.dumps(
        {
            "ImageVersions": [
                {
                    "CreationTime": 1767225600.125 + v,
                    "ImageArn": IMAGE_ARN,
                    "ImageVersionArn": f"arn:aws:sagemaker:us-east-1:000000000000:image-version/bench/{v}",
                    "ImageVersionStatus": "CREATED",
                    "LastModifiedTime": 1767225600.125 + v,
                    "Version": v,
                }
                for v in range(LISTED_VERSIONS, 0, -1)
            ]
        }
    ).encode(),
}


@dataclass(frozen=True)
class CallStats:
    """Per-call latency of one in-process setup, in microseconds."""

    setup: str
    operation: str
    calls: int
    mean_us: float
    p50_us: float
    p99_us: float


class _Raw:
    """The body stream botocore reads an AWSResponse from."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_):
        yield self._data


def _stats(setup: str, operation: str, samples: list[float]) -> CallStats:
    samples.sort()
    stats = CallStats(
        setup,
        operation,
        len(samples),
        statistics.fmean(samples),
        samples[len(samples) // 2],
        samples[min(len(samples) - 1, int(len(samples) * 0.99))],
    )
    print(f"  {setup:<28} {operation:<22} p50 {stats.p50_us:8.0f} us  p99 {stats.p99_us:8.0f} us", file=sys.stderr)
    return stats


def _time(timed: list[tuple[str, str, Callable[[], object]]], calls: int) -> list[CallStats]:
    """Times each (setup, operation, call) `calls` times, the calls taken in turn, one of each after the other, so
    that the machine's drift weighs on all of them alike."""
    for _ in range(WARMUP_CALLS):
        for _, _, call in timed:
            call()
    samples: list[list[float]] = [[] for _ in timed]
    for _ in range(calls):
        for (_, _, call), times in zip(timed, samples, strict=True):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1e6)
    return [_stats(setup, operation, times) for (setup, operation, _), times in zip(timed, samples, strict=True)]


def _client(**kwargs):
    return boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, **kwargs
    )


def _canned_client():
    """A boto3 client whose every request is answered at once, by a before-send hook, with its CANNED_BODIES body."""
    client = _client(endpoint_url="http://canned.invalid")
    headers = {"content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "canned"}

    def answer(request, **_):
        target = request.headers["X-Amz-Target"]
        operation = (target.decode() if isinstance(target, bytes) else target).rpartition(".")[2]
        return AWSResponse(request.url, 200, headers, _Raw(CANNED_BODIES[operation]))

    client.meta.events.register("before-send.sagemaker", answer)
    return client


def _same_members(smimages: dict, canned: dict) -> None:
    """Raises unless smimages' ListImageVersions page has the canned page's members, item by item."""
    answered = [sorted(item) for item in smimages["ImageVersions"]]
    expected = [sorted(item) for item in canned["ImageVersions"]]
    if answered != expected or set(smimages) != set(canned):
        raise RuntimeError(f"the canned ListImageVersions page differs from smimages': {answered[:1]} {expected[:1]}")


def _smimages_and_floor(calls: int) -> list[CallStats]:
    """smimages' InProcess client and the canned floor, taken in turn: Describe, then a 100-item ListImageVersions."""
    service = InProcess()
    try:
        client, canned = service.client(), _canned_client()
        client.create_image(ImageName="bench", RoleArn=ROLE_ARN)
        for _ in range(LISTED_VERSIONS):
            client.create_image_version(ImageName="bench", BaseImage=BASE_IMAGE)
        _same_members(
            client.list_image_versions(ImageName="bench", MaxResults=LISTED_VERSIONS),
            canned.list_image_versions(ImageName="bench", MaxResults=LISTED_VERSIONS),
        )
        describe = _time(
            [
                (
                    "smimages InProcess (SQLite)",
                    "DescribeImageVersion",
                    lambda: client.describe_image_version(ImageName="bench", Version=1),
                ),
                (CANNED, "DescribeImageVersion", lambda: canned.describe_image_version(ImageName="bench", Version=1)),
            ],
            calls,
        )
        lists = _time(
            [
                (
                    "smimages InProcess (SQLite)",
                    "ListImageVersions",
                    lambda: client.list_image_versions(ImageName="bench", MaxResults=LISTED_VERSIONS),
                ),
                (
                    CANNED,
                    "ListImageVersions",
                    lambda: canned.list_image_versions(ImageName="bench", MaxResults=LISTED_VERSIONS),
                ),
            ],
            calls,
        )
        return describe + lists
    finally:
        service.close()


def _moto(calls: int) -> list[CallStats]:
    with mock_aws():
        client = _client()
        client.create_model(ModelName="bench", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": BASE_IMAGE})
        return _time([("moto mock_aws", "DescribeModel", lambda: client.describe_model(ModelName="bench"))], calls)


def floor(stats: list[CallStats], call: CallStats) -> CallStats | None:
    """The canned floor `call` is compared with: the canned answer to the same operation (moto's DescribeModel is
    compared with the canned DescribeImageVersion)."""
    canned = {s.operation: s for s in stats if s.setup == CANNED}
    return canned.get(call.operation, canned.get("DescribeImageVersion"))


def run(calls: int) -> list[CallStats]:
    """smimages' client and the canned floor taken in turn (Describe, then ListImageVersions of 100 items), then
    moto's mock apart (its mock_aws would catch the other clients' requests), `calls` timed calls each."""
    smimages_describe, canned_describe, smimages_list, canned_list = _smimages_and_floor(calls)
    return [smimages_describe, *_moto(calls), canned_describe, smimages_list, canned_list]
