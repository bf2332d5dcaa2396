"""mock_sagemaker_images(): which clients it catches (and which it leaves alone), isolation, nesting, threads,
the decorator forms, moto side by side, and aiobotocore."""

import asyncio
import os
import threading
import unittest

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from smimages import intercept, testing
from smimages.testing import SageMakerImagesMock, current, mock_sagemaker_images
from support import BASE, ROLE, ROOT, error_of

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    """Clients here are made like a user's code makes them: from the environment, never from instance metadata."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def sagemaker(**kwargs):
    return boto3.client("sagemaker", region_name=REGION, **kwargs)


def names(client) -> list[str]:
    return [image["ImageName"] for image in client.list_images()["Images"]]


class _Canned:
    """A before-send handler standing in for the network: records requests, answers a fixed body."""

    def __init__(self, body: bytes = b'{"Images":[]}'):
        self.body = body
        self.calls = 0

    def __call__(self, request, **_):
        self.calls += 1
        raw = testing._Body(self.body)
        return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.1"}, raw)


def test_clients_created_inside_talk_to_a_fresh_service_through_the_request_path():
    with mock_sagemaker_images() as sm:
        client = sagemaker()  # boto3's default session, no endpoint_url
        client.create_image(ImageName="img", RoleArn=ROLE)
        assert (
            client.describe_image(ImageName="img")["ImageArn"] == "arn:aws:sagemaker:us-east-1:000000000000:image/img"
        )
        with pytest.raises(ClientError) as exc:
            client.describe_image(ImageName="missing")
        assert error_of(exc) == (
            "ResourceNotFound",
            "Image with ARN arn:aws:sagemaker:us-east-1:000000000000:image/missing does not exist",
        )
        raw = sagemaker(config=Config(parameter_validation=False))
        with pytest.raises(ClientError) as exc:
            raw.list_images(MaxResults=0)
        assert error_of(exc)[0] == "ValidationException"
        assert "at 'maxResults' failed to satisfy constraint" in error_of(exc)[1]
        assert sm.dump()["images"][0]["name"] == "img"
    with mock_sagemaker_images():
        assert names(sagemaker()) == []  # nothing carried over


def test_a_session_made_inside_and_an_explicit_endpoint_are_caught_too():
    with mock_sagemaker_images() as sm:
        session = boto3.session.Session(aws_access_key_id="123456789012", aws_secret_access_key="x")
        client = session.client("sagemaker", region_name="eu-west-1", endpoint_url="http://127.0.0.1:9")
        client.create_image(ImageName="img", RoleArn=ROLE)
        assert sm.dump()["images"][0]["account"] == "123456789012"
        assert sm.dump()["images"][0]["region"] == "eu-west-1"


def test_clients_created_outside_are_left_alone():
    outside = sagemaker(endpoint_url="http://outside.invalid")
    canned = _Canned()
    outside.meta.events.register("before-send.sagemaker", canned)
    with mock_sagemaker_images() as sm:
        sm.client().create_image(ImageName="img", RoleArn=ROLE)
        assert names(outside) == [] and canned.calls == 1
        assert intercept.BoundToSmimages not in type(outside).__mro__


def test_a_client_used_after_its_mock_ended_fails_loudly_instead_of_reaching_aws():
    with mock_sagemaker_images():
        client = sagemaker()
    assert intercept.BoundToSmimages in type(client).__mro__
    with pytest.raises(RuntimeError, match="has been closed"):
        client.list_images()


def test_other_services_are_untouched():
    with mock_sagemaker_images():
        s3 = boto3.client("s3", region_name=REGION, endpoint_url="http://s3.invalid")
        canned = _Canned(b"<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>")
        s3.meta.events.register("before-send.s3", canned)
        s3.list_buckets()
        assert canned.calls == 1
        assert intercept.BoundToSmimages not in type(s3).__mro__


def test_moto_mocks_other_services_and_sagemaker_operations_smimages_does_not_serve():
    moto = pytest.importorskip("moto")
    with moto.mock_aws(), mock_sagemaker_images() as sm:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="my-bucket")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["my-bucket"]
        client = sagemaker()
        client.create_image(ImageName="img", RoleArn=ROLE)
        client.create_image_version(ImageName="img", BaseImage=BASE)
        assert client.describe_image_version(ImageName="img")["ImageVersionStatus"] == "CREATED"
        assert [image["name"] for image in sm.dump()["images"]] == ["img"]
        client.create_model(ModelName="model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": BASE})
        assert client.describe_model(ModelName="model")["ModelName"] == "model"  # answered by moto


def test_without_moto_an_operation_smimages_does_not_serve_is_unknown():
    with mock_sagemaker_images():
        with pytest.raises(ClientError) as exc:
            sagemaker().describe_model(ModelName="model")
        assert error_of(exc)[0] == "UnknownOperationException"


def test_nested_mocks_bind_new_clients_to_the_innermost():
    with mock_sagemaker_images() as outer:
        first = sagemaker()
        with mock_sagemaker_images() as inner:
            second = sagemaker()
            second.create_image(ImageName="inner", RoleArn=ROLE)
            assert current() is inner
        first.create_image(ImageName="outer", RoleArn=ROLE)
        assert current() is outer
        assert names(sagemaker()) == ["outer"]
        with pytest.raises(RuntimeError):
            second.list_images()


def test_threads_share_the_test_mock_and_take_turns():
    with mock_sagemaker_images() as sm:
        shared = sagemaker()
        errors = []

        def work(i):
            try:
                own = sagemaker()  # created in a thread that started no mock: binds to the test's
                own.create_image(ImageName=f"own-{i}", RoleArn=ROLE)
                for j in range(5):
                    shared.create_image(ImageName=f"shared-{i}-{j}", RoleArn=ROLE)
                    shared.describe_image(ImageName=f"shared-{i}-{j}")
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(sm.dump()["images"]) == 6 * 6


def test_a_thread_with_its_own_mock_is_isolated():
    seen = {}
    ready, done = threading.Barrier(2), threading.Event()

    def other():
        with mock_sagemaker_images():
            client = sagemaker()
            client.create_image(ImageName="other", RoleArn=ROLE)
            ready.wait()
            done.wait(10)
            seen["other"] = names(client)

    thread = threading.Thread(target=other)
    with mock_sagemaker_images():
        thread.start()
        ready.wait()
        mine = sagemaker()
        mine.create_image(ImageName="mine", RoleArn=ROLE)
        seen["mine"] = names(mine)
        done.set()
        thread.join()
    assert seen == {"mine": ["mine"], "other": ["other"]}


def test_attach_binds_a_client_created_before_the_mock():
    early = sagemaker(endpoint_url="http://early.invalid")
    with mock_sagemaker_images() as sm:
        sm.attach(early).create_image(ImageName="img", RoleArn=ROLE)
        assert names(sm.client()) == ["img"]


def test_decorator_gives_each_call_a_fresh_mock():
    seen = []

    @mock_sagemaker_images
    def plain():
        client = sagemaker()
        seen.append(names(client))
        client.create_image(ImageName="img", RoleArn=ROLE)

    @mock_sagemaker_images(transition_delay=30)
    def configured():
        client = sagemaker()
        client.create_image(ImageName="img", RoleArn=ROLE)
        seen.append(client.describe_image(ImageName="img")["ImageStatus"])
        current().advance(30)
        seen.append(client.describe_image(ImageName="img")["ImageStatus"])

    plain()
    plain()
    configured()
    assert seen == [[], [], "CREATING", "CREATED"]
    assert current() is None


def test_decorator_on_a_coroutine_function():
    @mock_sagemaker_images()
    async def check():
        await asyncio.sleep(0)
        client = sagemaker()
        client.create_image(ImageName="img", RoleArn=ROLE)
        return names(client)

    assert asyncio.run(check()) == ["img"]


def test_decorator_on_a_testcase_gives_each_test_a_fresh_mock():
    results = []

    @mock_sagemaker_images(transition_delay=5)
    class Case(unittest.TestCase):
        def setUp(self):
            self.client = sagemaker()  # the mock is already active in setUp

        def test_one(self):
            self.client.create_image(ImageName="one", RoleArn=ROLE)
            results.append((names(self.client), self.client.describe_image(ImageName="one")["ImageStatus"]))

        def test_two(self):
            results.append((names(self.client), None))

    outcome = unittest.TextTestRunner(stream=open("/dev/null", "w")).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(Case)
    )
    assert outcome.wasSuccessful(), outcome.errors + outcome.failures
    assert results == [(["one"], "CREATING"), ([], None)]
    assert current() is None


def test_start_stop_and_state_errors():
    mock = mock_sagemaker_images()
    assert isinstance(mock, SageMakerImagesMock) and not mock.active
    with pytest.raises(AttributeError, match="not active"):
        mock.advance(1)
    mock.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            mock.start()
        assert mock.client().list_images()["Images"] == []
    finally:
        mock.stop()
    mock.stop()  # a second stop is harmless
    assert current() is None


def test_fake_credentials_only_when_the_environment_has_none(monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    for name in intercept._FakeCredentials.SOURCES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    import os

    with mock_sagemaker_images():
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        sagemaker().create_image(ImageName="img", RoleArn=ROLE)
    assert "AWS_ACCESS_KEY_ID" not in os.environ
    monkeypatch.setenv("AWS_PROFILE", "someone")
    with mock_sagemaker_images():
        assert "AWS_ACCESS_KEY_ID" not in os.environ


AIOBOTOCORE_SCENARIO = """
import asyncio
from botocore.exceptions import ClientError
from aiobotocore.session import get_session
from smimages.testing import mock_sagemaker_images

async def scenario(sm):
    async with get_session().create_client("sagemaker", region_name="us-east-1") as client:
        await client.create_image(ImageName="img", RoleArn="arn:aws:iam::123456789012:role/R")
        before = (await client.describe_image(ImageName="img"))["ImageStatus"]
        sm.advance(10)
        after = (await client.describe_image(ImageName="img"))["ImageStatus"]
        await client.create_image(ImageName="waited", RoleArn="arn:aws:iam::123456789012:role/R")
        waited = sm.now()
        await client.get_waiter("image_created").wait(ImageName="waited", WaiterConfig={"Delay": 4})
        waited = sm.now() - waited  # three polls 4 s apart: the clock moved, no real time passed
        try:
            await client.describe_image(ImageName="missing")
        except ClientError as exc:
            return before, after, waited, exc.response["Error"]["Code"]

with mock_sagemaker_images(transition_delay=10) as sm:
    print(asyncio.run(scenario(sm)))
"""


def test_aiobotocore_clients_are_caught():
    """aiobotocore pins its own botocore, so it runs in a venv of its own (made once, kept in .venv-aiobotocore)."""
    import subprocess
    import sys

    root = ROOT
    venv = root / ".venv-aiobotocore"
    python = venv / "bin" / "python"
    if not (venv / ".ready").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "aiobotocore>=2.13", "-e", str(root)],
            check=True,
            timeout=600,
        )
        (venv / ".ready").touch()
    result = subprocess.run(
        [str(python), "-c", AIOBOTOCORE_SCENARIO],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('CREATING', 'CREATED', 12.0, 'ResourceNotFound')"
