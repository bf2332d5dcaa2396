"""In-process per-call latency through boto3: smimages' InProcess client, moto's mock_aws, and a canned response."""

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
CANNED_BODY = json.dumps(
    {
        "BaseImage": BASE_IMAGE,
        "ContainerImage": BASE_IMAGE,
        "CreationTime": 1767225600.0,
        "ImageArn": "arn:aws:sagemaker:us-east-1:000000000000:image/bench",
        "ImageVersionArn": "arn:aws:sagemaker:us-east-1:000000000000:image-version/bench/1",
        "ImageVersionStatus": "CREATED",
        "LastModifiedTime": 1767225600.0,
        "Version": 1,
    }
).encode()


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


def _time(setup: str, operation: str, call: Callable[[], object], calls: int) -> CallStats:
    for _ in range(WARMUP_CALLS):
        call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    stats = CallStats(
        setup,
        operation,
        calls,
        statistics.fmean(samples),
        samples[len(samples) // 2],
        samples[min(len(samples) - 1, int(len(samples) * 0.99))],
    )
    print(f"  {setup:<28} {operation:<22} p50 {stats.p50_us:8.0f} us  p99 {stats.p99_us:8.0f} us", file=sys.stderr)
    return stats


def _client(**kwargs):
    return boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, **kwargs
    )


def _smimages(calls: int) -> CallStats:
    service = InProcess()
    try:
        client = service.client()
        client.create_image(ImageName="bench", RoleArn=ROLE_ARN)
        client.create_image_version(ImageName="bench", BaseImage=BASE_IMAGE)
        return _time(
            "smimages InProcess (SQLite)",
            "DescribeImageVersion",
            lambda: client.describe_image_version(ImageName="bench", Version=1),
            calls,
        )
    finally:
        service.close()


def _moto(calls: int) -> CallStats:
    with mock_aws():
        client = _client()
        client.create_model(ModelName="bench", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": BASE_IMAGE})
        return _time("moto mock_aws", "DescribeModel", lambda: client.describe_model(ModelName="bench"), calls)


def _canned(calls: int) -> CallStats:
    client = _client(endpoint_url="http://canned.invalid")
    headers = {"content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "canned"}
    client.meta.events.register(
        "before-send.sagemaker", lambda request, **_: AWSResponse(request.url, 200, headers, _Raw(CANNED_BODY))
    )
    return _time(
        "boto3 canned response",
        "DescribeImageVersion",
        lambda: client.describe_image_version(ImageName="bench", Version=1),
        calls,
    )


def run(calls: int) -> list[CallStats]:
    """smimages first, then moto's mock, then boto3's floor, `calls` timed calls each."""
    return [_smimages(calls), _moto(calls), _canned(calls)]
