"""The console over HTTP: where it answers (and where AWS requests go on as before), its security headers, session
cookie and forgery checks, sign-in, scopes a session may see, and its calls answered exactly as the API answers
them. What it looks like in a browser is the browser tier's (tests/browser)."""

import http.client
import json
import re
from importlib import resources
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from smimages.auth import AccessKey, SignatureVerifier
from smimages.console.web import CSP
from smimages.testing import ServerThread
from support import ROLE, ROOT

ACCOUNT, REGION = "123456789012", "us-east-1"
PAGE = "/_smimages/console/"
KEYS = {
    "AKIDA": AccessKey("AKIDA", "secret-a", "111111111111"),
    "AKIDB": AccessKey("AKIDB", "secret-b", "222222222222", frozenset({"eu-west-1"})),
}


def request(port: int, method: str, path: str, headers: dict | None = None, body: bytes = b""):
    """(status, headers by lower-case name, body) of one request, with exactly the headers given (Host included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in {"Host": f"127.0.0.1:{port}", **(headers or {})}.items():
        if value is not None:
            conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    conn.close()
    return answer


class Page:
    """What the console's page does over HTTP: hold the session cookie and send the CSRF token from its origin."""

    def __init__(self, server):
        self.port = server.port
        self.origin = server.url
        self.cookie = self.csrf = None
        self.session()

    def session(self):
        _, headers, body = self.get("api/session")
        if "set-cookie" in headers:
            self.cookie = headers["set-cookie"].split(";")[0]
        self.csrf = json.loads(body)["csrfToken"]
        return json.loads(body)

    def get(self, path: str, **headers):
        return request(self.port, "GET", PAGE + path, {"Cookie": self.cookie, **headers})

    def post(self, path: str, document, method: str = "POST", **headers):
        sent = {
            "Cookie": self.cookie,
            "Origin": self.origin,
            "X-CSRF-Token": self.csrf,
            "Content-Type": "application/json",
            **headers,
        }
        status, answer_headers, body = request(self.port, method, PAGE + path, sent, json.dumps(document).encode())
        return status, answer_headers, json.loads(body) if body else None

    def call(self, operation: str, params: dict | None = None, account: str = ACCOUNT, region: str = REGION):
        document = {"account": account, "region": region, "calls": [{"operation": operation, "input": params or {}}]}
        status, _, body = self.post("api/call", document)
        assert status == 200, body
        [result] = body["results"]
        return result["status"], result["body"]

    def sign_in(self, key_id: str, secret: str):
        status, headers, body = self.post("api/signin", {"accessKeyId": key_id, "secretAccessKey": secret})
        if status == 200:
            self.cookie = headers["set-cookie"].split(";")[0]
            self.csrf = body["csrfToken"]
        return status, body


@pytest.fixture
def server():
    with ServerThread(console=True) as running:
        yield running


@pytest.fixture
def signed():
    with ServerThread(console=True, auth=SignatureVerifier(KEYS)) as running:
        yield running


def test_a_browser_asking_for_the_root_url_is_sent_to_the_console(server):
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    assert request(server.port, "GET", "/", html)[:2] == (303, request(server.port, "GET", "/", html)[1])
    assert request(server.port, "GET", "/", html)[1]["location"] == PAGE
    assert request(server.port, "GET", "/_smimages/console", html)[1]["location"] == PAGE
    status, headers, body = request(server.port, "GET", PAGE, html)
    assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert b'<script type="module" src="static/main.js"></script>' in body


def test_aws_requests_to_the_root_url_are_unaffected(server):
    asks = [
        ("GET", {"Accept": "*/*"}),
        ("GET", {}),
        ("GET", {"Accept": "text/html", "X-Amz-Target": "SageMaker.ListImages"}),
        ("POST", {"Accept": "text/html"}),
        ("HEAD", {"Accept": "text/html"}),
    ]
    with ServerThread() as plain:
        for method, headers in asks:
            with_console = request(server.port, method, "/", headers)
            without = request(plain.port, method, "/", headers)
            assert with_console[0] == without[0] and with_console[2] == without[2], (method, headers)
            assert with_console[1]["content-type"] == "application/x-amz-json-1.1"
    server.client(access_key=ACCOUNT).create_image(ImageName="img", RoleArn=ROLE)  # botocore's requests: unchanged
    assert [i["ImageName"] for i in server.client(access_key=ACCOUNT).list_images()["Images"]] == ["img"]


@pytest.mark.parametrize("setting", [("--console", "off"), ("SMIMAGES_CONSOLE", "off")])
def test_console_off_serves_no_console(server_factory, setting):
    name, value = setting
    args, env = (
        (["--db", "sqlite://"], {name: value})
        if name.startswith("SMIMAGES")
        else (["--db", "sqlite://", name, value], None)
    )
    off = server_factory(*args, env=env).start()
    port = int(off.url.rsplit(":", 1)[1])
    for path in ("/", PAGE, PAGE + "api/session", PAGE + "static/main.js"):
        status, headers, body = request(port, "GET", path, {"Accept": "text/html"})
        assert (status, headers["content-type"]) == (400, "application/x-amz-json-1.1"), path
        assert json.loads(body)["__type"] == "UnknownOperationException"


def test_the_console_is_on_by_default_and_its_test_controls_only_with_enable_admin(server_factory):
    plain = server_factory("--db", "sqlite://").start()
    port = int(plain.url.rsplit(":", 1)[1])
    assert request(port, "GET", "/", {"Accept": "text/html"})[0] == 303
    page = Page(type("Running", (), {"port": port, "url": plain.url})())
    assert page.session()["controls"] is False
    assert page.get("api/controls/time")[0] == 404
    assert page.post("api/controls/time/settle", {})[0] == 404


def test_every_console_answer_carries_the_security_headers(server):
    page = Page(server)
    answers = [
        request(server.port, "GET", PAGE),
        request(server.port, "GET", PAGE + "static/console.css"),
        request(server.port, "GET", PAGE + "static/nothing.js"),
        page.get("api/session"),
        page.post("api/call", {"account": ACCOUNT, "region": REGION, "calls": [{"operation": "ListImages"}]}),
        request(server.port, "POST", PAGE + "api/call"),
    ]
    for status, headers, _ in answers:
        assert headers["content-security-policy"] == CSP, status
        assert "default-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
    assert [answer[0] for answer in answers] == [200, 200, 404, 200, 200, 401]
    assert answers[1][1]["content-type"] == "text/css; charset=utf-8"
    assert answers[3][1]["cache-control"] == "no-store"


def test_the_session_cookie_is_http_only_same_site_strict_and_expires(server):
    _, headers, body = request(server.port, "GET", PAGE + "api/session")
    cookie = headers["set-cookie"]
    assert re.fullmatch(
        r"smimages_console=[A-Za-z0-9_-]{43}; Path=/_smimages/console/; Max-Age=28800; HttpOnly; SameSite=Strict",
        cookie,
    )
    token = cookie.split(";")[0]
    again = request(server.port, "GET", PAGE + "api/session", {"Cookie": token})
    assert "set-cookie" not in again[1] and json.loads(again[2])["csrfToken"] == json.loads(body)["csrfToken"]
    assert (
        request(server.port, "GET", PAGE + "api/session", {"Cookie": "smimages_console=forged"})[1]["set-cookie"]
        != cookie
    )
    proxied = request(server.port, "GET", PAGE + "api/session", {"X-Forwarded-Proto": "https"})
    assert proxied[1]["set-cookie"].endswith("; Secure")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"X-CSRF-Token": None}, "InvalidCsrfToken"),
        ({"X-CSRF-Token": "guessed"}, "InvalidCsrfToken"),
        ({"Origin": None}, "CrossSiteRequest"),
        ({"Origin": "http://evil.example"}, "CrossSiteRequest"),
        ({"Origin": "null"}, "CrossSiteRequest"),
        ({"Origin": None, "Referer": "http://evil.example/_smimages/console/"}, "CrossSiteRequest"),
        ({"Cookie": None}, "SessionExpired"),
    ],
)
def test_a_state_changing_request_needs_the_token_and_this_origin(server, change, code):
    page = Page(server)
    document = {
        "account": ACCOUNT,
        "region": REGION,
        "calls": [{"operation": "CreateImage", "input": {"ImageName": "x", "RoleArn": ROLE}}],
    }
    status, _, body = page.post("api/call", document, **change)
    assert (status, body["__type"]) == (401 if code == "SessionExpired" else 403, code)
    assert server.client(access_key=ACCOUNT).list_images()["Images"] == []
    referer_only = {"Origin": None, "Referer": f"{server.url}/_smimages/console/"}
    assert page.post("api/call", document, **referer_only)[0] == 200


def test_without_authentication_only_loopback_names_reach_the_console(server):
    for host in ("127.0.0.1", "localhost", "[::1]"):
        assert request(server.port, "GET", PAGE, {"Host": f"{host}:{server.port}"})[0] == 200
    for host in (f"attacker.example:{server.port}", "10.0.0.5", "127.0.0.1.attacker.example"):
        status, _, body = request(server.port, "GET", PAGE + "api/session", {"Host": host})
        assert (status, json.loads(body)["__type"]) == (403, "ConsoleNotAvailable")


def test_calls_are_answered_exactly_as_the_api_answers_them(server):
    page = Page(server)
    raw = server.client(access_key=ACCOUNT, validate=False)
    raw.create_image(ImageName="img", RoleArn=ROLE)
    for operation, params in (
        ("CreateImage", {"ImageName": "bad name", "RoleArn": ROLE}),
        ("CreateImage", {"ImageName": "img", "RoleArn": ROLE}),
        ("DescribeImageVersion", {"ImageName": "img", "Version": 3}),
        ("ListImages", {"MaxResults": 0}),
        ("UpdateImageVersion", {"ImageName": "img"}),
    ):
        with pytest.raises(ClientError) as caught:
            getattr(raw, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())(**params)
        status, body = page.call(operation, params)
        error = caught.value.response["Error"]
        assert (status, body["__type"], body["message"]) == (
            caught.value.response["ResponseMetadata"]["HTTPStatusCode"],
            error["Code"],
            error["Message"],
        )
    status, body = page.call("DescribeImage", {"ImageName": "img"})
    described = raw.describe_image(ImageName="img")
    assert (status, body["ImageArn"], body["CreationTime"]) == (
        200,
        described["ImageArn"],
        described["CreationTime"].timestamp(),
    )
    assert page.call("NoSuchOperation")[1]["__type"] == "UnknownOperationException"


def test_faults_armed_on_the_server_apply_to_the_consoles_calls(server):
    page = Page(server)
    server.faults.throttle("ListImages")
    assert page.call("ListImages") == (
        400,
        {"__type": "ThrottlingException", "message": "Rate exceeded", "Message": "Rate exceeded"},
    )
    assert page.call("ListImages") == (200, {"Images": []})


def test_scopes_and_counts_come_from_the_catalog(server):
    page = Page(server)
    sm = server.client(access_key=ACCOUNT)
    sm.create_image(ImageName="img", RoleArn=ROLE)
    sm.create_image_version(ImageName="img", BaseImage="repo:1")
    server.client(access_key="210987654321", region="eu-west-1").create_app_image_config(AppImageConfigName="cfg")
    assert json.loads(page.get("api/scopes")[2]) == {
        "scopes": [
            {"account": ACCOUNT, "region": REGION, "images": 1, "appImageConfigs": 0},
            {"account": "210987654321", "region": "eu-west-1", "images": 0, "appImageConfigs": 1},
        ]
    }
    status, _, body = page.post("api/version-counts", {"account": ACCOUNT, "region": REGION, "names": ["img", "nope"]})
    assert (status, body) == (200, {"counts": {"img": 1}})


@pytest.mark.parametrize(
    "document",
    [
        {"account": "12345", "region": REGION, "calls": [{"operation": "ListImages"}]},
        {"account": ACCOUNT, "region": "Not A Region", "calls": [{"operation": "ListImages"}]},
        {"account": ACCOUNT, "region": REGION, "calls": []},
        {"account": ACCOUNT, "region": REGION, "calls": [{"operation": "ListImages"}] * 101},
        {"account": ACCOUNT, "region": REGION, "calls": [{"operation": "SageMaker.ListImages"}]},
        {"account": ACCOUNT, "region": REGION, "calls": [{"operation": "ListImages", "input": []}]},
        {"account": ACCOUNT, "region": REGION, "calls": ["ListImages"]},
        [],
    ],
)
def test_malformed_console_requests_are_refused(server, document):
    status, _, body = Page(server).post("api/call", document)
    assert (status, body["__type"]) == (400, "BadRequest")


def test_sign_in_is_needed_before_anything_of_the_catalog(signed):
    page = Page(signed)
    session = page.session()
    assert (session["auth"], session["signedIn"], session["account"]) == ("sigv4", False, None)
    for status, _, body in (
        page.get("api/scopes"),
        page.post("api/call", {"account": "111111111111", "region": REGION, "calls": [{"operation": "ListImages"}]}),
    ):
        assert (status, body if isinstance(body, dict) else json.loads(body))[0] == 401
    assert page.sign_in("AKIDA", "secret-b") == (
        401,
        {"__type": "SignInRefused", "message": "The access key ID or the secret access key is not valid."},
    )
    assert page.sign_in("AKIDX", "secret-a")[0] == 401
    before = page.cookie
    status, body = page.sign_in("AKIDA", "secret-a")
    assert (status, body["signedIn"], body["account"], body["accessKeyId"]) == (200, True, "111111111111", "AKIDA")
    assert page.cookie != before
    assert request(signed.port, "GET", PAGE + "api/scopes", {"Cookie": before})[0] == 401  # the old token is dead
    assert page.call("ListImages", account="111111111111", region="ap-south-1") == (200, {"Images": []})
    status, _, body = page.post(
        "api/call", {"account": "222222222222", "region": "eu-west-1", "calls": [{"operation": "ListImages"}]}
    )
    assert (status, body["__type"]) == (403, "AccessDenied")
    status, _, body = page.post("api/version-counts", {"account": "222222222222", "region": "eu-west-1", "names": []})
    assert (status, body["__type"]) == (403, "AccessDenied")
    assert page.post("api/signout", {})[0] == 200
    assert page.get("api/scopes")[0] == 401


def test_a_key_restricted_to_regions_sees_only_those(signed):
    page = Page(signed)
    assert page.sign_in("AKIDB", "secret-b")[1]["regions"] == ["eu-west-1"]
    assert page.call("ListImages", account="222222222222", region="eu-west-1")[0] == 200
    status, _, body = page.post(
        "api/call", {"account": "222222222222", "region": "us-east-1", "calls": [{"operation": "ListImages"}]}
    )
    assert (status, body["__type"]) == (403, "AccessDenied")


def test_the_page_and_its_files_ship_in_the_package_and_load_nothing_from_elsewhere():
    folder = resources.files("smimages.console").joinpath("static")
    names = sorted(item.name for item in folder.iterdir())
    assert names == sorted(
        [
            "index.html",
            "console.css",
            "icon.svg",
            *[f"{n}.js" for n in ("api", "configs", "controls", "dom", "image", "images", "main", "signin")],
        ]
    )
    index = folder.joinpath("index.html").read_text()
    for referenced in re.findall(r'(?:src|href)="static/([^"]+)"', index):
        assert referenced in names
    for name in names:
        text = folder.joinpath(name).read_text()
        external = [
            url
            for url in re.findall(r"[a-z]+://[^\s\"'<>)]+", text)
            if not url.startswith("http://www.w3.org/2000/svg")
        ]
        assert external == [], name
        assert "@import" not in text and "innerHTML" not in text and "insertAdjacentHTML" not in text, name
    for name in names:
        if name.endswith(".js") and name != "main.js":
            assert f'"./{name}"' in "".join(folder.joinpath(n).read_text() for n in names if n.endswith(".js")), name
    assert '"console/static/*"' in (ROOT / "pyproject.toml").read_text()  # package data: they ship in the wheel
    assert Path(str(folder)).is_dir()
