"""The admin API validates what it is sent and answers every refusal in JSON, never a 500: bodies are read as AWS
requests are (bounded size and nesting, finite numbers, no repeated member), the clock stays within what AWS
timestamps can carry, and a catalog document is checked value by value before anything is written. A property
test sends generated JSON to every admin route and generated values in every field of a catalog document."""

import json
import math
import socket
import urllib.error
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smimages.clock import LATEST
from support import BASE, ROLE, Log, ServerProcess, assert_no_traceback, bare_client

ROUTES = [
    ("POST", "/_smimages/time/advance"),
    ("POST", "/_smimages/faults"),
    ("PUT", "/_smimages/state"),
    ("POST", "/_smimages/time/settle"),
    ("POST", "/_smimages/reset"),
]


@pytest.fixture(scope="module")
def server():
    server = ServerProcess("--db", "sqlite://", "--enable-admin").start()
    server.sm = bare_client(server.url)  # one client: making one costs more than the requests of an example
    server.log = Log(server)  # read as it goes: a full pipe would stop the server at its next log line
    yield server
    server.log.new()
    out = server.stop()
    assert_no_traceback(server.log.text + out)


@pytest.fixture(autouse=True)
def empty(server):
    send(server, "POST", "/_smimages/reset")


def send(server, method: str, path: str, body: bytes | str | object = None) -> tuple[int, dict, str]:
    """(status, JSON answer, content type); the answer must be JSON whatever the status."""
    data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=None if body is None else data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, kind = response.status, response.read(), response.headers["content-type"]
    except urllib.error.HTTPError as error:
        status, raw, kind = error.code, error.read(), error.headers["content-type"]
    return status, json.loads(raw), kind


def refused(server, method, path, body, status=400) -> str:
    got, answer, kind = send(server, method, path, body)
    assert got == status and kind.startswith("application/"), (got, answer)
    return answer.get("error") or answer["message"]


@pytest.mark.parametrize(
    "body, message",
    [
        ("[" * 100_000 + "]" * 100_000, "the body is not a JSON object"),  # deeper than Python's recursion limit
        ('{"seconds": ' + "[" * 40 + "]" * 40 + "}", "JSON nesting is deeper than 32 levels"),
        ('{"seconds": NaN}', "'NaN' is not a valid JSON number"),
        ('{"seconds": Infinity}', "'Infinity' is not a valid JSON number"),
        ('{"seconds": 1e400}', "Number 1e400 is out of range"),
        ('{"seconds": 1, "seconds": 2}', "Duplicate field 'seconds'"),
        ('{"seconds": ' + "9" * 5000 + "}", "the body is not a JSON object"),  # past int()'s digit limit
        ('{"seconds": ' + "9" * 400 + "}", "seconds must be a finite number >= 0"),  # past float's range
        ('{"seconds": 1e308}', "the clock cannot pass 9999-12-31T23:59:59.999Z"),
        ('{"seconds": true}', "seconds must be a finite number >= 0"),
        (b"\xff\xfe{}", "Request body is not valid UTF-8"),
    ],
)
def test_bodies_are_read_as_aws_requests_are(server, body, message):
    assert message in refused(server, "POST", "/_smimages/time/advance", body)


def test_a_body_over_a_mebibyte_is_413(server):
    """Refused from its Content-Length, before it is read (so over a raw socket: the server does not wait for it)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"PUT /_smimages/state HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (2 * 1024 * 1024))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ") and b"Request must be smaller than" in body


def test_the_clock_stops_short_of_year_10000_and_clients_keep_parsing_timestamps(server):
    now = send(server, "GET", "/_smimages/time")[1]["now"]
    assert "cannot pass" in refused(server, "POST", "/_smimages/time/advance", {"seconds": LATEST - now + 1})
    assert send(server, "POST", "/_smimages/time/advance", {"seconds": LATEST - now - 60})[0] == 200
    sm = server.sm
    sm.create_image(ImageName="late", RoleArn=ROLE)
    assert sm.describe_image(ImageName="late")["CreationTime"].year == 9999  # botocore still parses it


def catalog(**image) -> dict:
    return {"format": "smimages-catalog", "version": 1, "images": [{"name": "img", "role_arn": ROLE, **image}]}


@pytest.mark.parametrize(
    "document, message",
    [
        (catalog(created_at=1e308), "images[0].created_at must be a time in epoch seconds from 0 to"),
        (catalog(created_at=-1), "images[0].created_at must be a time in epoch seconds"),
        (catalog(created_at="yesterday"), "images[0].created_at must be a time in epoch seconds"),
        (catalog(account="١٢٣٤٥٦٧٨٩٠١٢"), "images[0].account must be 12 ASCII digits"),
        (catalog(account="¹²³¹²³¹²³¹²³"), "images[0].account must be 12 ASCII digits"),
        (catalog(region="Mars"), "images[0].region is not a region name"),
        (catalog(status="WEIRD"), "images[0].status must be one of CREATING"),
        (catalog(pending_status="WEIRD"), "images[0].pending_status must be one of"),
        (catalog(due_at=5.0), "images[0]: pending_status and due_at are set together"),
        (catalog(versions=[{"version": 1, "base_image": BASE, "pending_status": "CREATED"}]), "versions[0]: pending_"),
        (catalog(name="has space"), "Value 'has space' at 'imageName' failed to satisfy constraint"),
        (catalog(name_key="other"), "images[0].name_key must be the name in lower case"),
        (catalog(next_version=2**40), "images[0].next_version must be an integer from"),
        (catalog(description=["x"]), "images[0].description must be a string of at most 512 characters"),
        (catalog(tags=[{"Key": "k", "Value": 5}]), "Expected a string at 'tags.1.member.value'"),
        (catalog(versions=[{"version": "1", "base_image": BASE}]), "images[0].versions[0].version must be an integer"),
        (catalog(versions=[{"version": 0, "base_image": BASE}]), "images[0].versions[0].version must be at least 1"),
        (catalog(versions=[{"version": 1, "base_image": BASE, "horovod": "yes"}]), "horovod must be true or false"),
        (catalog(versions=[{"version": 1, "base_image": BASE, "processor": "TPU"}]), "'processor' failed to satisfy"),
        (catalog(versions=[{"version": 2, "base_image": BASE}], next_version=1), "next_version must be at least"),
        (
            {"format": "smimages-catalog", "version": 1, "app_image_configs": [{"name": "c", "kernel_gateway": [1]}]},
            "app_image_configs[0].kernel_gateway must be an object",
        ),
    ],
)
def test_a_catalog_document_is_checked_value_by_value(server, document, message):
    assert message in refused(server, "PUT", "/_smimages/state", document)
    assert send(server, "GET", "/_smimages/state")[1]["images"] == []  # nothing was written


def test_a_fault_of_the_wrong_shape_is_refused(server):
    assert "operation must be" in refused(server, "POST", "/_smimages/faults", {"type": "error", "operation": [1]})
    fault = {"type": "error", "operation": "*", "code": "X", "message": 5}
    assert "message must be a string" in refused(server, "POST", "/_smimages/faults", fault)
    fault = {"type": "error", "operation": "*", "code": "X", "account": "١٢٣٤٥٦٧٨٩٠١٢"}
    assert "account must be 12 ASCII digits" in refused(server, "POST", "/_smimages/faults", fault)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
FIELDS = ["name", "role_arn", "account", "region", "created_at", "due_at", "status", "pending_status", "next_version"]
VERSION_FIELDS = ["version", "base_image", "horovod", "job_type", "created_at", "client_token", "min_due_at"]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True
)
@given(
    route=st.sampled_from(ROUTES),
    body=json_values,
    image=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3),
    version=st.dictionaries(st.sampled_from(VERSION_FIELDS), json_values, max_size=3),
)
def test_no_admin_request_is_a_500_and_whatever_is_accepted_is_served(server, route, body, image, version):
    method, path = route
    status, _, kind = send(server, method, path, body)
    assert status < 500 and kind == "application/json"
    document = catalog(**image, versions=[{"version": 1, "base_image": BASE, **version}])
    status, answer, _ = send(server, "PUT", "/_smimages/state", document)
    assert status in (200, 400), answer
    sm = server.sm
    for page in sm.get_paginator("list_images").paginate():  # whatever went in, the API answers it
        for listed in page["Images"]:
            sm.describe_image(ImageName=listed["ImageName"])
            for versions in sm.get_paginator("list_image_versions").paginate(ImageName=listed["ImageName"]):
                assert all(math.isfinite(v["CreationTime"].timestamp()) for v in versions["ImageVersions"])
    send(server, "POST", "/_smimages/reset")
    assert_no_traceback(server.log.new())
