"""The admin API under /_smimages/: off unless `serve --enable-admin`; time, faults and state over HTTP."""

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from support import BASE, ROLE, error_of

ADMIN_PATHS = [
    "/_smimages/faults",
    "/_smimages/time/advance",
    "/_smimages/state",
    "/_smimages/reset",
    "/_smimages/nothing",
]


def call(base_url: str, method: str, path: str, body=None) -> tuple[int, dict, dict]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(base_url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def test_without_enable_admin_the_admin_paths_are_unknown_paths(server_factory):
    server = server_factory("--db", "sqlite://").start()
    status, headers, body = call(server.url, "POST", "/some/unknown/path", {"seconds": 1})
    assert status >= 400
    for path in ADMIN_PATHS:
        for method in ("GET", "POST", "PUT", "DELETE"):
            got = call(server.url, method, path, {"seconds": 1})
            assert (got[0], got[2]) == (status, body), (method, path)
            assert got[1].get("x-amzn-ErrorType") == headers.get("x-amzn-ErrorType")


def test_enable_admin_on_a_real_server_moves_its_clock(server_factory):
    server = server_factory("--db", "sqlite://", "--enable-admin", "--transition-delay", "3600").start()
    client = server.client()
    client.create_image(ImageName="img", RoleArn=ROLE)
    assert client.describe_image(ImageName="img")["ImageStatus"] == "CREATING"
    status, _, body = call(server.url, "POST", "/_smimages/time/advance", {"seconds": 3600})
    assert status == 200 and body["now"] > 0
    assert client.describe_image(ImageName="img")["ImageStatus"] == "CREATED"
    assert (
        call(
            server.url,
            "POST",
            "/_smimages/faults",
            {"type": "error", "operation": "ListImages", "code": "ResourceLimitExceeded"},
        )[0]
        == 201
    )
    with pytest.raises(ClientError) as exc:
        client.list_images()
    assert error_of(exc)[0] == "ResourceLimitExceeded"


def test_admin_api_round_trip(smimages_server):
    url, client = smimages_server.url, smimages_server.client()
    client.create_image(ImageName="img", RoleArn=ROLE)
    status, _, fault = call(
        url,
        "POST",
        "/_smimages/faults",
        {
            "type": "fail",
            "operation": "CreateImageVersion",
            "reason": "Failed to pull the container image.",
            "base_image": "*:broken",
            "count": 1,
        },
    )
    assert status == 201 and fault["id"] and fault["count"] == 1
    client.create_image_version(ImageName="img", BaseImage=BASE.replace("latest", "broken"))
    version = client.describe_image_version(ImageName="img")
    assert (version["ImageVersionStatus"], version["FailureReason"]) == (
        "CREATE_FAILED",
        "Failed to pull the container image.",
    )
    assert call(url, "GET", "/_smimages/faults")[2] == {"faults": []}

    throttle = call(
        url,
        "POST",
        "/_smimages/faults",
        {"type": "error", "operation": "*", "code": "ThrottlingException", "count": None},
    )[2]
    assert call(url, "GET", "/_smimages/faults")[2]["faults"] == [throttle]
    assert call(url, "DELETE", f"/_smimages/faults/{throttle['id']}")[:3:2] == (200, {"removed": 1})
    assert call(url, "DELETE", f"/_smimages/faults/{throttle['id']}")[0] == 404
    call(url, "POST", "/_smimages/faults", {"type": "error", "operation": "*", "code": "ThrottlingException"})
    assert call(url, "DELETE", "/_smimages/faults")[2] == {"removed": 1}

    state = call(url, "GET", "/_smimages/state")[2]
    assert [i["name"] for i in state["images"]] == ["img"]
    assert call(url, "POST", "/_smimages/reset")[0] == 200
    assert client.list_images()["Images"] == []
    assert call(url, "PUT", "/_smimages/state", state)[2] == {"images": 1}
    assert call(url, "GET", "/_smimages/state")[2] == state

    before = call(url, "GET", "/_smimages/time")[2]["now"]
    assert call(url, "POST", "/_smimages/time/advance", {"seconds": 60})[2]["now"] >= before + 60
    assert call(url, "POST", "/_smimages/time/settle")[0] == 200


@pytest.mark.smimages(transition_delay=600)
def test_settle_over_http_on_a_delayed_server(smimages_server):
    client = smimages_server.client()
    client.create_image(ImageName="img", RoleArn=ROLE)
    assert client.describe_image(ImageName="img")["ImageStatus"] == "CREATING"
    call(smimages_server.url, "POST", "/_smimages/time/settle")
    assert client.describe_image(ImageName="img")["ImageStatus"] == "CREATED"


@pytest.mark.parametrize(
    "method, path, body, status, message",
    [
        ("POST", "/_smimages/faults", {"type": "fail", "operation": "ListImages"}, 400, "lifecycle fault"),
        ("POST", "/_smimages/faults", [1], 400, "Request body must be a JSON object"),
        ("POST", "/_smimages/faults", b"{", 400, "the body is not a JSON object"),
        ("POST", "/_smimages/time/advance", {"seconds": -5}, 400, "seconds must be"),
        ("POST", "/_smimages/time/advance", {}, 400, "seconds must be"),
        ("PUT", "/_smimages/state", {"format": "x"}, 400, "not an smimages catalog"),
        ("PUT", "/_smimages/state", "/etc/passwd", 400, "Request body must be a JSON object"),
        ("GET", "/_smimages/time/advance", None, 405, "not allowed"),
        ("PATCH", "/_smimages/faults", None, 405, "not allowed"),
        ("GET", "/_smimages/nothing/here", None, 404, "no such admin resource"),
    ],
)
def test_admin_errors(smimages_server, method, path, body, status, message):
    got_status, headers, got = call(smimages_server.url, method, path, body)
    assert got_status == status and message in got["error"]
    assert headers["content-type"] == "application/json"


def test_health_is_still_answered(smimages_server):
    assert call(smimages_server.url, "GET", "/_smimages/health")[:3:2] == (200, {"status": "ok"})
