"""SigV4 authentication: AWS's codes and texts for every failure, the credentials file, and the startup policy."""

import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from smimages.auth import (
    AccessKey,
    Anonymous,
    AuthConfigError,
    SignatureVerifier,
    configure,
    is_loopback,
    load_credentials,
)
from smimages.testing import InProcess
from support import ROLE, error_of, free_port

JSON11 = "application/x-amz-json-1.1"
HOST = "smimages.invalid"
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
UNKNOWN_KEY = "The security token included in the request is invalid."
BAD_TOKEN = "The security token included in the request is invalid"
KEYS = {
    "AKIDALPHA": AccessKey("AKIDALPHA", "alpha-secret-0123456789", "111111111111"),
    "AKIDBRAVO": AccessKey("AKIDBRAVO", "bravo-secret-0123456789", "222222222222", frozenset({"eu-west-1"})),
    "ASIATEMP": AccessKey("ASIATEMP", "temp-secret-0123456789", "111111111111", session_token="session-token-xyz"),
    "123456789012": AccessKey("123456789012", "digits-secret-0123456789", "333333333333"),
}
SECRETS = (
    "alpha-secret-0123456789",
    "bravo-secret-0123456789",
    "temp-secret-0123456789",
    "digits-secret-0123456789",
    "session-token-xyz",
)
CREDENTIALS_FILE = """\
# team A
[alpha]
aws_access_key_id = AKIDALPHA
aws_secret_access_key = alpha-secret-0123456789
account_id = 111111111111

[bravo]
aws_access_key_id = AKIDBRAVO
aws_secret_access_key = bravo-secret-0123456789
account_id = 222222222222
regions = eu-west-1, us-west-2

[temporary]
aws_access_key_id = ASIATEMP
aws_secret_access_key = temp-secret-0123456789
aws_session_token = session-token-xyz
account_id = 111111111111
"""


class Clock:
    """The verifier's wall clock, offset on demand (signatures are made with the real time)."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def authed(clock):
    """An in-process service that verifies SigV4 against KEYS."""
    svc = InProcess()
    svc.app.auth = SignatureVerifier(KEYS, clock)
    yield svc
    svc.close()


def client(svc, key="AKIDALPHA", secret=None, region="us-east-1", token=None):
    """A real boto3 client, signing with the given credentials, answered in-process."""
    secret = secret or KEYS[key].secret_access_key
    sm = boto3.session.Session().client(
        "sagemaker",
        region_name=region,
        endpoint_url=f"http://{HOST}",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}),
    )
    sm.meta.events.register("before-send.sagemaker", svc._send)
    return sm


def signed(
    key="AKIDALPHA",
    secret=None,
    body=b"{}",
    operation="ListImages",
    region="us-east-1",
    token=None,
    extra=None,
    date_header=False,
) -> dict[str, str]:
    """Headers of a request signed by botocore's client-side signer, as an SDK sends them (lower-cased)."""
    headers = {"Content-Type": JSON11, "X-Amz-Target": f"SageMaker.{operation}", "Host": HOST, **(extra or {})}
    if date_header:
        headers["Date"] = "placeholder"  # botocore then signs with an HTTP Date header instead of X-Amz-Date
    request = AWSRequest(method="POST", url=f"http://{HOST}/", data=body, headers=headers)
    secret = secret or KEYS[key].secret_access_key if key in KEYS else secret or "whatever"
    SigV4Auth(Credentials(key, secret, token), "sagemaker", region).add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


def post(svc, headers, body=b"{}"):
    response = svc.app.handle("POST", "/", headers, body)
    doc = json.loads(response.body)
    return response.status, doc.get("__type"), doc.get("message")


def stamp(headers) -> datetime:
    return datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def fmt(moment: float | datetime) -> str:
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ")


# ---- accepted requests -------------------------------------------------------------------------------------------


def test_boto3_with_a_listed_key_acts_in_the_files_account_and_the_scopes_region(authed):
    sm = client(authed, region="ap-south-1")
    assert (
        sm.create_image(ImageName="img", RoleArn=ROLE)["ImageArn"]
        == "arn:aws:sagemaker:ap-south-1:111111111111:image/img"
    )
    assert [i["ImageName"] for i in sm.list_images()["Images"]] == ["img"]


def test_the_account_is_the_files_even_when_the_key_id_is_twelve_digits(authed):
    arn = client(authed, key="123456789012").create_image(ImageName="img", RoleArn=ROLE)["ImageArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:333333333333:image/img"


def test_temporary_credentials_with_the_listed_session_token(authed):
    sm = client(authed, key="ASIATEMP", token="session-token-xyz")
    assert sm.create_image(ImageName="img", RoleArn=ROLE)["ImageArn"].split(":")[4] == "111111111111"
    # the same account as AKIDALPHA: both keys see one catalog
    assert [i["ImageName"] for i in client(authed).list_images()["Images"]] == ["img"]


def test_region_restricted_key(authed):
    assert client(authed, key="AKIDBRAVO", region="eu-west-1").list_images()["Images"] == []
    with pytest.raises(ClientError) as exc:
        client(authed, key="AKIDBRAVO", region="us-east-1").list_images()
    assert error_of(exc) == ("UnrecognizedClientException", UNKNOWN_KEY)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_date_header_instead_of_x_amz_date(authed):
    headers = signed(date_header=True)
    assert "x-amz-date" not in headers and "date" in headers
    assert post(authed, headers)[0] == 200


def test_headers_outside_signed_headers_may_change(authed):
    headers = signed(extra={"User-Agent": "one"})
    assert "user-agent" not in headers["authorization"]
    assert post(authed, {**headers, "user-agent": "two", "x-forwarded-for": "10.0.0.1"})[0] == 200


def test_a_declared_payload_hash_that_matches(authed):
    import hashlib

    body = b'{"MaxResults": 5}'
    headers = signed(body=body, extra={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    assert post(authed, headers, body)[0] == 200


def test_fifteen_minutes_of_skew_either_way_is_accepted(authed, clock):
    headers = signed()
    when = stamp(headers).timestamp()
    for now in (when + 15 * 60, when - 15 * 60):
        clock.offset = now - time.time()
        assert post(authed, headers)[0] == 200


# ---- refused requests: AWS's codes and texts ---------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "", "Basic dXNlcjpwYXNz", "Bearer abc", "AWS abc:def"])
def test_no_sigv4_authorization_header(authed, authorization):
    headers = {k: v for k, v in signed().items() if k != "authorization"}
    if authorization is not None:
        headers["authorization"] = authorization
    assert post(authed, headers) == (
        400,
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
    )


@pytest.mark.parametrize(
    "drop,expected",
    [
        ("Credential", "Authorization header requires 'Credential' parameter. "),
        ("Signature", "Authorization header requires 'Signature' parameter. "),
        ("SignedHeaders", "Authorization header requires 'SignedHeaders' parameter. "),
    ],
)
def test_authorization_missing_a_parameter(authed, drop, expected):
    headers = signed()
    algorithm, params = headers["authorization"].split(" ", 1)
    kept = ", ".join(p for p in params.split(", ") if not p.startswith(drop + "="))
    headers["authorization"] = f"{algorithm} {kept}"
    assert post(authed, headers) == (400, "IncompleteSignatureException", f"{expected}Authorization={algorithm} {kept}")


def test_authorization_missing_everything(authed):
    headers = {**signed(), "authorization": "AWS4-HMAC-SHA256"}
    del headers["x-amz-date"]
    message = (
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
        "parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires "
        "existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256"
    )
    assert post(authed, headers) == (400, "IncompleteSignatureException", message)


def test_authorization_piece_without_an_equal_sign(authed):
    headers = signed()
    headers["authorization"] = headers["authorization"].replace("SignedHeaders=", "SignedHeaders")
    piece = next(p for p in headers["authorization"].split(", ") if p.startswith("SignedHeaders"))
    assert post(authed, headers) == (
        400,
        "IncompleteSignatureException",
        f"'{piece}' not a valid key=value pair (missing equal-sign) in Authorization header: "
        f"'{headers['authorization']}'.",
    )


@pytest.mark.parametrize("date", ["2026-01-01T00:00:00Z", "20260101", "20261399T000000Z", "tomorrow", "0"])
def test_a_date_not_in_iso_basic_format(authed, date):
    headers = {**signed(), "x-amz-date": date}
    assert post(authed, headers) == (
        400,
        "IncompleteSignatureException",
        f"Date must be in ISO-8601 'basic format'. Got '{date}'. See http://en.wikipedia.org/wiki/ISO_8601",
    )


def test_signature_expired(authed, clock):
    headers = signed()
    now = stamp(headers).timestamp() + 15 * 60 + 1
    clock.offset = now - time.time()
    assert post(authed, headers) == (
        400,
        "InvalidSignatureException",
        f"Signature expired: {headers['x-amz-date']} is now earlier than {fmt(now - 900)} ({fmt(now)} - 15 min.)",
    )


def test_signature_not_yet_current(authed, clock):
    headers = signed()
    now = stamp(headers).timestamp() - 15 * 60 - 1
    clock.offset = now - time.time()
    assert post(authed, headers) == (
        400,
        "InvalidSignatureException",
        f"Signature not yet current: {headers['x-amz-date']} is still later than {fmt(now + 900)} "
        f"({fmt(now)} + 15 min.)",
    )


def test_an_old_request_replayed_later_is_expired(authed, clock):
    headers = signed()
    assert post(authed, headers)[0] == 200
    clock.offset = 16 * 60
    assert post(authed, headers)[2].startswith("Signature expired: ")


def test_host_must_be_signed(authed):
    headers = signed()
    headers["authorization"] = headers["authorization"].replace(
        "SignedHeaders=content-type;host;", "SignedHeaders=content-type;"
    )
    assert post(authed, headers) == (
        400,
        "InvalidSignatureException",
        "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    )


def test_unsupported_algorithm(authed):
    headers = signed()
    headers["authorization"] = headers["authorization"].replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")
    assert post(authed, headers) == (
        400,
        "IncompleteSignatureException",
        "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now). ",
    )


def test_credential_without_five_elements(authed):
    headers = signed()
    credential = headers["authorization"].split("Credential=")[1].split(",")[0]
    short = credential.rsplit("/", 1)[0]
    headers["authorization"] = headers["authorization"].replace(credential, short)
    assert post(authed, headers) == (
        400,
        "IncompleteSignatureException",
        f"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{short}'",
    )


def test_credential_with_a_trailing_slash_is_fine_until_the_signature(authed):
    headers = signed()
    headers["authorization"] = headers["authorization"].replace("aws4_request,", "aws4_request/,")
    assert post(authed, headers)[0] == 200


def test_credential_scope_for_another_service_region_terminator_and_day(authed):
    headers = signed()
    credential = headers["authorization"].split("Credential=")[1].split(",")[0]
    key, day = credential.split("/")[:2]
    headers["authorization"] = headers["authorization"].replace(credential, f"{key}/19990101/US_EAST/s3/aws4")
    assert post(authed, headers) == (
        400,
        "InvalidSignatureException",
        "Credential should be scoped to a valid region, not 'US_EAST'. "
        "Credential should be scoped to correct service: 'sagemaker'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'. "
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        f"'19990101' != '{day}', from '{headers['x-amz-date']}'.",
    )


def test_unknown_access_key(authed):
    with pytest.raises(ClientError) as exc:
        client(authed, key="AKIDNOBODY", secret="x").list_images()
    assert error_of(exc) == ("UnrecognizedClientException", UNKNOWN_KEY)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_wrong_secret(authed):
    with pytest.raises(ClientError) as exc:
        client(authed, secret="not-the-secret").create_image(ImageName="img", RoleArn=ROLE)
    assert error_of(exc) == ("InvalidSignatureException", MISMATCH)
    assert client(authed).list_images()["Images"] == []


@pytest.mark.parametrize("tamper", ["body", "target", "content-type", "method", "path", "signature", "date"])
def test_anything_signed_that_changes_breaks_the_signature(authed, tamper):
    body = json.dumps({"ImageName": "img", "RoleArn": ROLE}).encode()
    headers = signed(body=body, operation="CreateImage")
    method, path = "POST", "/"
    if tamper == "body":
        body = body.replace(b"img", b"evil")
    elif tamper == "target":
        headers["x-amz-target"] = "SageMaker.DeleteImage"
        body = b'{"ImageName": "img"}'
    elif tamper == "content-type":
        headers["content-type"] = "application/json"
    elif tamper == "method":
        method = "PUT"
    elif tamper == "path":
        path = "/other"
    elif tamper == "signature":
        sig = headers["authorization"][-64:]
        headers["authorization"] = headers["authorization"][:-64] + sig[::-1]
    elif tamper == "date":
        headers["x-amz-date"] = fmt(stamp(headers).timestamp() + 1)
    response = authed.app.handle(method, path, headers, body)
    doc = json.loads(response.body)
    assert (response.status, doc["__type"], doc["message"]) == (400, "InvalidSignatureException", MISMATCH)
    assert client(authed).list_images()["Images"] == []


@pytest.mark.parametrize("target", ["[x]", "*", "http://evil/", "/a b", "/%zz", "/?a=b"])
def test_a_request_target_other_than_the_signed_one_is_a_mismatch(authed, target):
    response = authed.app.handle("POST", target, signed(), b"{}")
    assert (response.status, json.loads(response.body)["message"]) == (400, MISMATCH)


def test_a_declared_payload_hash_must_be_the_bodys(authed):
    body = b'{"MaxResults": 5}'
    empty_body_hash = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"  # sha256(b"{}")
    headers = signed(body=b"{}", extra={"X-Amz-Content-SHA256": empty_body_hash})
    assert post(authed, headers, body) == (400, "InvalidSignatureException", MISMATCH)


def test_session_token_checks(authed):
    for key, token in (("ASIATEMP", "wrong-token"), ("ASIATEMP", None), ("AKIDALPHA", "unexpected-token")):
        with pytest.raises(ClientError) as exc:
            client(authed, key=key, token=token).list_images()
        assert error_of(exc) == ("UnrecognizedClientException", BAD_TOKEN), (key, token)


def test_order_of_checks_is_json_then_target_then_auth_then_validation(authed):
    unsigned = {"content-type": JSON11, "x-amz-target": "SageMaker.CreateImage", "host": HOST}
    assert post(authed, unsigned, b"{nope")[1] == "SerializationException"
    assert post(authed, {**unsigned, "x-amz-target": "SageMaker.Nope"})[1] == "UnknownOperationException"
    assert post(authed, unsigned, b'{"ImageName": "bad name"}')[1] == "MissingAuthenticationTokenException"
    body = b'{"ImageName": "bad name"}'
    assert post(authed, signed(body=body, operation="CreateImage"), body)[1] == "ValidationException"


def test_health_needs_no_signature(server_factory, tmp_path):
    path = write(tmp_path, CREDENTIALS_FILE)
    server = server_factory("--db", "sqlite://", "--auth", "sigv4", "--credentials-file", path).start()
    with urllib.request.urlopen(f"{server.url}/_smimages/health", timeout=5) as response:
        assert response.status == 200


def test_secrets_never_reach_logs_or_responses(authed, clock, caplog):
    caplog.set_level(logging.DEBUG)
    bodies = []
    attempts = [
        dict(),
        dict(secret="wrong"),
        dict(key="ASIATEMP", token="session-token-xyz"),
        dict(key="ASIATEMP", token="bad"),
        dict(key="AKIDBRAVO"),
        dict(key="AKIDNOBODY", secret="s"),
    ]
    for kwargs in attempts:
        sm = client(authed, **kwargs)
        sm.meta.events.register("after-call.sagemaker", lambda http_response, **_: bodies.append(http_response.content))
        try:
            sm.list_images()
        except ClientError as exc:
            bodies.append(json.dumps(exc.response).encode())
    clock.offset = 3600
    bodies.append(authed.app.handle("POST", "/", signed(key="ASIATEMP", token="session-token-xyz"), b"{}").body)
    server_side = [r for r in caplog.records if not r.name.startswith(("botocore", "boto3", "urllib3"))]
    text = "\n".join(record.getMessage() for record in server_side) + b"\n".join(bodies).decode()
    assert "smimages.request" in {record.name for record in caplog.records}
    for secret in SECRETS:
        assert secret not in text
    assert "secret" not in repr(KEYS["ASIATEMP"]) and "session-token" not in repr(KEYS["ASIATEMP"])


# ---- the credentials file ----------------------------------------------------------------------------------------


def write(tmp_path, text, mode=0o600, name="credentials"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return str(path)


def test_credentials_file_format(tmp_path):
    keys = load_credentials(write(tmp_path, CREDENTIALS_FILE))
    assert keys == {
        "AKIDALPHA": AccessKey("AKIDALPHA", "alpha-secret-0123456789", "111111111111"),
        "AKIDBRAVO": AccessKey(
            "AKIDBRAVO", "bravo-secret-0123456789", "222222222222", frozenset({"eu-west-1", "us-west-2"})
        ),
        "ASIATEMP": AccessKey("ASIATEMP", "temp-secret-0123456789", "111111111111", session_token="session-token-xyz"),
    }


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620])
def test_credentials_file_accessible_by_others_is_refused(tmp_path, mode):
    path = write(tmp_path, CREDENTIALS_FILE, mode)
    with pytest.raises(AuthConfigError) as exc:
        load_credentials(path)
    assert str(exc.value) == (
        f"credentials file {path} is accessible by other users (mode {mode:04o}); it holds secret keys, so smimages "
        f"refuses it. Make it private with: chmod 600 {path}"
    )


@pytest.mark.parametrize(
    "text,problem",
    [
        (
            "aws_secret_access_key = alpha-secret-0123456789\n",
            ", line 1: expected a [section] header before the first setting",
        ),
        (
            "[a]\naws_access_key_id = K\naws_secret_access_key = alpha-secret-0123456789\naws_secret_access_key = x\n"
            "account_id = 111111111111\n",
            ", line 4: 'aws_secret_access_key' appears twice in [a]",
        ),
        ("[a]\nalpha-secret-0123456789\n", ": cannot parse line 2 (expected 'name = value' or a [section] header)"),
        (
            "[a]\naws_access_key_id = K\naws_secret_access_key = alpha-secret-0123456789\naccount = 111111111111\n",
            " [a]: unknown setting 'account' (known: aws_access_key_id, aws_secret_access_key, account_id, regions, "
            "aws_session_token)",
        ),
        ("[a]\naws_access_key_id = K\naws_secret_access_key = alpha-secret-0123456789\n", " [a]: missing account_id"),
        ("[a]\naws_access_key_id = K\naccount_id = 111111111111\n", " [a]: missing aws_secret_access_key"),
        (
            "[a]\naws_access_key_id = K\naws_secret_access_key = alpha-secret-0123456789\naccount_id = 1234\n",
            " [a]: account_id must be 12 ASCII digits (0-9), not '1234'",
        ),
        (  # Arabic-Indic digits are digits to str.isdigit and \d, not to AWS
            "[a]\naws_access_key_id = K\naws_secret_access_key = alpha-secret-0123456789\naccount_id = ١٢٣٤٥٦٧٨٩٠١٢\n",
            " [a]: account_id must be 12 ASCII digits (0-9), not '١٢٣٤٥٦٧٨٩٠١٢'",
        ),
        (
            "[a]\naws_access_key_id = K/1\naws_secret_access_key = alpha-secret-0123456789\n"
            "account_id = 111111111111\n",
            " [a]: aws_access_key_id must be 1 to 128 letters, digits or _ . + -",
        ),
        (
            "[a]\naws_access_key_id = K\naws_secret_access_key = alpha-secret-0123456789\naccount_id = 111111111111\n"
            "regions = us-east-1 Mars\n",
            " [a]: 'Mars' is not a region name",
        ),
        (
            "[a]\naws_access_key_id = K\naws_secret_access_key = alpha-secret-0123456789\naccount_id = 111111111111\n"
            "[b]\naws_access_key_id = K\naws_secret_access_key = other\naccount_id = 111111111111\n",
            ": [a] and [b] have the same aws_access_key_id",
        ),
        ("# nothing yet\n", None),
    ],
)
def test_credentials_file_mistakes_are_named_without_quoting_secrets(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(AuthConfigError) as exc:
        load_credentials(path)
    expected = f"credentials file {path} defines no access keys" if problem is None else path + problem
    assert str(exc.value) == expected
    assert "alpha-secret" not in str(exc.value)


def test_missing_credentials_file(tmp_path):
    with pytest.raises(AuthConfigError) as exc:
        load_credentials(str(tmp_path / "nope"))
    assert str(exc.value) == f"cannot read credentials file {tmp_path / 'nope'}: No such file or directory"


# ---- startup policy ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host,loopback",
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.10", False),
        ("10.1.2.3", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_auth_defaults_to_off_on_loopback_and_sigv4_with_a_credentials_file(tmp_path):
    assert isinstance(configure(None, None, "127.0.0.1", False), Anonymous)
    verifier = configure(None, write(tmp_path, CREDENTIALS_FILE), "0.0.0.0", False)
    assert isinstance(verifier, SignatureVerifier) and set(verifier.keys) == {"AKIDALPHA", "AKIDBRAVO", "ASIATEMP"}


def test_anonymous_off_loopback_needs_the_insecure_flag_and_warns_every_time(caplog):
    for mode in (None, "off"):
        with pytest.raises(AuthConfigError) as exc:
            configure(mode, None, "0.0.0.0", False)
        assert str(exc.value).startswith(
            "refusing to serve without authentication on 0.0.0.0, which is not a loopback address"
        )
    caplog.set_level(logging.WARNING, "smimages.auth")
    assert isinstance(configure(None, None, "0.0.0.0", True), Anonymous)
    assert isinstance(configure("off", None, "192.0.2.10", True), Anonymous)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("WITHOUT authentication" in w for w in warnings)


def test_the_unauthenticated_admin_api_needs_loopback_or_the_insecure_flag(tmp_path, caplog):
    keys = write(tmp_path, CREDENTIALS_FILE)
    configure(None, None, "127.0.0.1", False, admin=True)
    refused = r"refusing to serve the unauthenticated --enable-admin API on 0\.0\.0\.0"
    with pytest.raises(AuthConfigError, match=refused):
        configure("sigv4", keys, "0.0.0.0", False, admin=True)
    caplog.set_level(logging.WARNING, "smimages.auth")
    assert isinstance(configure("sigv4", keys, "0.0.0.0", True, admin=True), SignatureVerifier)
    assert [r.getMessage() for r in caplog.records] == [
        "serving the unauthenticated admin API on 0.0.0.0 (--insecure-allow-anonymous)"
    ]


def test_inconsistent_auth_settings(tmp_path):
    with pytest.raises(AuthConfigError, match="--auth sigv4 needs --credentials-file"):
        configure("sigv4", None, "127.0.0.1", False)
    with pytest.raises(AuthConfigError, match="--credentials-file is only read with --auth sigv4"):
        configure("off", write(tmp_path, CREDENTIALS_FILE), "127.0.0.1", False)


# ---- over a socket -----------------------------------------------------------------------------------------------


def test_sigv4_server_over_a_socket(server_factory, tmp_path):
    path = write(tmp_path, CREDENTIALS_FILE)
    server = server_factory(
        "--db", "sqlite://", "--auth", "sigv4", "--credentials-file", path, "--log-level", "debug"
    ).start()

    def sm(key="AKIDALPHA", secret=None, region="us-east-1", token=None):
        return boto3.session.Session().client(
            "sagemaker",
            region_name=region,
            endpoint_url=server.url,
            aws_access_key_id=key,
            aws_secret_access_key=secret or KEYS[key].secret_access_key,
            aws_session_token=token,
            config=Config(retries={"max_attempts": 1}),
        )

    assert (
        sm().create_image(ImageName="img", RoleArn=ROLE)["ImageArn"]
        == "arn:aws:sagemaker:us-east-1:111111111111:image/img"
    )
    assert [i["ImageName"] for i in sm("ASIATEMP", token="session-token-xyz").list_images()["Images"]] == ["img"]
    assert sm("AKIDBRAVO", region="eu-west-1").list_images()["Images"] == []
    for kwargs, expected in (
        (dict(secret="wrong"), ("InvalidSignatureException", MISMATCH)),
        (dict(key="AKIDNOBODY", secret="x"), ("UnrecognizedClientException", UNKNOWN_KEY)),
        (dict(key="ASIATEMP", token="nope"), ("UnrecognizedClientException", BAD_TOKEN)),
    ):
        with pytest.raises(ClientError) as exc:
            sm(**kwargs).list_images()
        assert error_of(exc) == expected
    request = urllib.request.Request(
        server.url, data=b"{}", method="POST", headers={"Content-Type": JSON11, "X-Amz-Target": "SageMaker.ListImages"}
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=5)
    assert exc.value.code == 400 and json.loads(exc.value.read()) == {
        "__type": "MissingAuthenticationTokenException",
        "message": "Request is missing Authentication Token",
        "Message": "Request is missing Authentication Token",
    }
    out = server.stop()
    assert "authentication: SigV4, 3 access key(s) from" in out
    for secret in SECRETS:
        assert secret not in out


def run_serve(*args, timeout=30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "smimages", "serve", "--port", str(free_port()), "--db", "sqlite://", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_serve_refuses_a_public_address_without_authentication():
    result = run_serve("--host", "0.0.0.0")
    assert result.returncode != 0
    assert "refusing to serve without authentication on 0.0.0.0" in result.stderr
    assert "--insecure-allow-anonymous" in result.stderr


def test_serve_refuses_a_credentials_file_others_can_read(tmp_path):
    path = write(tmp_path, CREDENTIALS_FILE, 0o644)
    result = run_serve("--auth", "sigv4", "--credentials-file", path)
    assert result.returncode != 0 and "is accessible by other users (mode 0644)" in result.stderr
    assert "chmod 600" in result.stderr and "secret-0123456789" not in result.stderr + result.stdout


def test_insecure_allow_anonymous_starts_with_a_warning(server_factory):
    server = server_factory("--db", "sqlite://", "--host", "0.0.0.0", "--insecure-allow-anonymous").start()
    assert server.client().list_images()["Images"] == []
    out = server.stop()
    assert "WARNING smimages.auth: serving WITHOUT authentication on 0.0.0.0" in out
