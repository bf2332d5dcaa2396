"""The AWS JSON 1.1 framing: targets, bodies, error shape, request ids and timestamps on the wire."""

import json
import re
import urllib.request

import pytest

from support import ROLE

pytestmark = pytest.mark.sqlite_only  # validation and framing never reach the store

JSON11 = "application/x-amz-json-1.1"


def post(service, target, body: bytes, **headers):
    headers = {"content-type": JSON11, **({"x-amz-target": target} if target else {}), **headers}
    response = service.app.handle("POST", "/", headers, body)
    return response.status, dict(response.headers), json.loads(response.body)


def test_success_headers_and_millisecond_timestamps(service):
    service.clock.advance(0.1234)
    status, headers, body = post(
        service, "SageMaker.CreateImage", json.dumps({"ImageName": "img", "RoleArn": ROLE}).encode()
    )
    assert status == 200 and headers["content-type"] == JSON11
    assert re.fullmatch(r"[0-9a-f-]{36}", headers["x-amzn-requestid"])
    status, _, body = post(service, "SageMaker.DescribeImage", b'{"ImageName": "img"}')
    assert body["CreationTime"] == round(service.clock(), 3) and isinstance(body["CreationTime"], float)
    assert set(body) == {"CreationTime", "ImageArn", "ImageName", "ImageStatus", "LastModifiedTime", "RoleArn"}


def test_empty_output_is_an_empty_object(service):
    post(service, "SageMaker.CreateImage", json.dumps({"ImageName": "img", "RoleArn": ROLE}).encode())
    assert post(service, "SageMaker.DeleteImage", b'{"ImageName": "img"}')[::2] == (200, {})


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"ImageName": ', b"\xff\xfe", b'{"a": NaN}'])
def test_body_that_is_not_a_json_object(service, body):
    status, headers, doc = post(service, "SageMaker.ListImages", body)
    assert status == 400 and doc["__type"] == "SerializationException"
    assert headers["x-amzn-errortype"] == "SerializationException" and "x-amzn-requestid" in headers


@pytest.mark.parametrize("target", [None, "SageMaker.CreateTrainingJob", "SageMaker.Nope", "DynamoDB.ListTables"])
def test_missing_or_unknown_target(service, target):
    status, _, doc = post(service, target, b"{}")
    assert (status, doc) == (400, {"__type": "UnknownOperationException"})


def test_error_document_carries_both_message_spellings(service):
    status, headers, doc = post(service, "SageMaker.DescribeImage", b'{"ImageName": "nope"}')
    message = "Image with ARN arn:aws:sagemaker:us-east-1:000000000000:image/nope does not exist"
    assert (status, doc) == (400, {"__type": "ResourceNotFound", "message": message, "Message": message})
    assert headers["x-amzn-errortype"] == "ResourceNotFound"


def test_unknown_members_are_ignored_and_nulls_are_absent(service):
    body = json.dumps({"ImageName": "img", "RoleArn": ROLE, "Bogus": 1, "Description": None}).encode()
    assert post(service, "SageMaker.CreateImage", body)[0] == 200
    assert "Description" not in post(service, "SageMaker.DescribeImage", b'{"ImageName": "img"}')[2]


def test_empty_body_is_an_empty_request(service):
    assert post(service, "SageMaker.ListImages", b"")[2] == {"Images": []}


def test_health(smimages_server):
    with urllib.request.urlopen(f"{smimages_server.url}/_smimages/health", timeout=5) as response:
        assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})


def test_account_and_region_come_from_the_credential_scope(service):
    mine = service.client(access_key="123456789012", region="eu-west-1")
    arn = mine.create_image(ImageName="img", RoleArn=ROLE)["ImageArn"]
    assert arn == "arn:aws:sagemaker:eu-west-1:123456789012:image/img"
    for other in (
        service.client(access_key="123456789012", region="us-east-1"),
        service.client(access_key="210987654321", region="eu-west-1"),
        service.client(access_key="AKIDEXAMPLE", region="eu-west-1"),
    ):
        assert other.list_images()["Images"] == []
        other.create_image(ImageName="img", RoleArn=ROLE)  # same name, separate catalog
    assert len(mine.list_images()["Images"]) == 1
    named = service.client(access_key="AKIAIOSFODNN7EXAMPLE", region="ap-south-1")
    assert named.create_image(ImageName="x", RoleArn=ROLE)["ImageArn"].startswith(
        "arn:aws:sagemaker:ap-south-1:000000000000:image/"
    )


def test_responses_are_utf8_and_a_lone_surrogate_a_client_sent_still_encodes(service):
    body = json.dumps({"ImageName": "img", "RoleArn": ROLE, "Description": "été ☃"}, ensure_ascii=False).encode()
    assert post(service, "SageMaker.CreateImage", body)[0] == 200
    raw = service.app.handle("POST", "/", {"x-amz-target": "SageMaker.DescribeImage"}, b'{"ImageName": "img"}').body
    assert '"Description":"été ☃"'.encode() in raw  # UTF-8 on the wire, as AWS sends it, not \u escapes
    # a repeated key is quoted in the error, and JSON escapes may make it a lone surrogate, which UTF-8 cannot carry
    status, _, doc = post(service, "SageMaker.ListImages", b'{"\\ud800": 1, "\\ud800": 2}')
    assert (status, doc["__type"], doc["message"]) == (400, "SerializationException", "Duplicate field '\ud800'")
