"""Property-based fuzzing: requests generated from the model's input shapes, then mutated, never get a 5xx.

Every generated request goes through the in-process path (App.handle, the code a socket request runs) and must
get a 200 or an AWS-shaped 4xx; a refused request must leave the catalog exactly as it was (no partial write).

CI runs SMIMAGES_FUZZ_EXAMPLES=2100 requests (150 per operation) plus 600 fuzzed Authorization headers, with a
fixed seed. A longer, randomized run:

    SMIMAGES_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest tests/test_fuzz.py -q
"""

import json
import os
import string

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, select

from smimages.auth import AccessKey, SignatureVerifier
from smimages.operations import OPERATIONS
from smimages.spec import operation_model
from smimages.testing import InProcess
from support import BASE, ROLE

SERVED_OPERATIONS = tuple(OPERATIONS)

EXAMPLES = int(os.environ.get("SMIMAGES_FUZZ_EXAMPLES", "2100"))
LONG_RUN = "SMIMAGES_FUZZ_EXAMPLES" in os.environ
PER_OPERATION = -(-EXAMPLES // len(SERVED_OPERATIONS))
FUZZ = settings(
    deadline=None, database=None, derandomize=not LONG_RUN, print_blob=True, suppress_health_check=list(HealthCheck)
)
IMAGE_ARN = "arn:aws:sagemaker:us-east-1:000000000000:image/img"
CONFIG_ARN = "arn:aws:sagemaker:us-east-1:000000000000:app-image-config/cfg"
# Values that name what the seeded catalog holds, so generated requests reach the operations' own logic too.
SEEDS = {
    "ImageName": ["img", "other", "IMG", "missing"],
    "RoleArn": [ROLE],
    "ImageBaseImage": [BASE],
    "ClientToken": ["token-1", "token-2"],
    "SageMakerImageVersionAlias": ["latest", "stable", "v1"],
    "ResourceArn": [
        IMAGE_ARN,
        IMAGE_ARN.replace("000000000000", "111111111111"),
        "arn:aws:sagemaker:us-east-1:000000000000:image-version/img/1",
        CONFIG_ARN,
    ],
    "AppImageConfigName": ["cfg", "CFG", "missing"],
    "TagKey": ["team", "env"],
    "TagValue": ["a", ""],
    "MLFramework": ["PyTorch 2.1"],
    "ProgrammingLang": ["Python 3.10"],
    "ImageDeleteProperty": ["Description", "DisplayName"],
    "NextToken": ["eyJxIjoiMCIsInAiOlsxXX0=", "not a token"],
    "ImageVersionNumber": [1, 2, 0],
}
NAME_CHARS = string.ascii_letters + string.digits + "-._"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)


# ---- botocore shapes -> hypothesis strategies --------------------------------------------------------------------


def valid(shape):
    """Requests the model accepts, naming mostly what the seeded catalog holds."""
    kind, meta = shape.type_name, shape.metadata
    if kind == "structure":
        required = set(shape.required_members)
        return st.fixed_dictionaries(
            {name: valid(member) for name, member in shape.members.items() if name in required},
            optional={name: valid(member) for name, member in shape.members.items() if name not in required},
        )
    if kind == "list":
        return st.lists(valid(shape.member), min_size=meta.get("min", 0), max_size=min(meta.get("max", 3), 3))
    if kind == "map":
        return st.dictionaries(valid(shape.key), valid(shape.value), max_size=min(meta.get("max", 3), 3))
    if shape.name in SEEDS:
        return st.sampled_from(SEEDS[shape.name])
    if kind == "string":
        if shape.enum:
            return st.sampled_from(shape.enum)
        return st.text(
            string.ascii_letters + string.digits,
            min_size=max(meta.get("min", 0), 1),
            max_size=min(meta.get("max", 40), 40),
        )
    if kind in ("integer", "long"):
        low = meta.get("min", 0)
        return st.integers(low, meta.get("max", low + 100))
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.integers(1_700_000_000, 1_800_000_000) | st.floats(1.7e9, 1.8e9)
    raise AssertionError(f"unhandled shape type {kind}")


def anything(shape):
    """Requests of the right JSON types whose values are anything the types allow."""
    kind = shape.type_name
    if kind == "structure":
        required = set(shape.required_members)
        return st.fixed_dictionaries(
            {name: anything(member) for name, member in shape.members.items() if name in required},
            optional={name: anything(member) for name, member in shape.members.items() if name not in required},
        )
    if kind == "list":
        return st.lists(anything(shape.member), max_size=8)
    if kind == "map":
        return st.dictionaries(anything(shape.key), anything(shape.value), max_size=8)
    if kind == "string":
        return st.text(max_size=300) | st.text(NAME_CHARS, max_size=300) | valid(shape)
    if kind in ("integer", "long"):
        return st.integers() | valid(shape)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    raise AssertionError(f"unhandled shape type {kind}")


# ---- mutations ---------------------------------------------------------------------------------------------------


def slots(value) -> list[tuple]:
    """(container, key) of every member and element inside a request."""
    found = []
    stack = [value]
    while stack:
        node = stack.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else ()
        for key in keys:
            found.append((node, key))
            stack.append(node[key])
    return found


def replace_somewhere(data, params, value) -> None:
    places = slots(params)
    if places:
        container, key = data.draw(st.sampled_from(places), label="slot")
        container[key] = value
    else:
        params[data.draw(st.text(max_size=12), label="new member")] = value


def deep(levels: int):
    value = []
    for _ in range(levels):
        value = [value]
    return value


def mutated_body(data, shape, params: dict) -> bytes:
    kind = data.draw(
        st.sampled_from(
            [
                *["valid"] * 10,
                *["any values"] * 3,
                "wrong type",
                "null",
                "drop required",
                "extra members",
                "huge string",
                "long list",
                "big number",
                "deep",
                "random bytes",
                "truncated",
                "duplicate key",
                "bad utf-8",
                "lone surrogate",
                "control characters",
                "not an object",
                "empty",
            ]
        ),
        label="mutation",
    )
    if kind == "any values":
        params = data.draw(anything(shape), label="any values")
    elif kind == "wrong type":
        replace_somewhere(data, params, data.draw(JSON_VALUES, label="value"))
    elif kind == "null":
        replace_somewhere(data, params, None)
    elif kind == "drop required" and shape.required_members:
        params.pop(data.draw(st.sampled_from(shape.required_members)), None)
    elif kind == "extra members":
        targets = [params] + [node[key] for node, key in slots(params) if isinstance(node[key], dict)]
        target = data.draw(st.sampled_from(targets))
        target.update(data.draw(st.dictionaries(st.text(max_size=16), JSON_VALUES, min_size=1, max_size=5)))
    elif kind == "huge string":
        unit = data.draw(st.sampled_from(["x", "é", "😀", "a b", "\u2028", "%s"]))
        replace_somewhere(data, params, unit * data.draw(st.integers(1_000, 250_000), label="repeat"))
    elif kind == "long list":
        item = data.draw(JSON_VALUES | st.sampled_from(SEEDS["SageMakerImageVersionAlias"]))
        replace_somewhere(data, params, [item] * data.draw(st.integers(50, 20_000), label="length"))
    elif kind == "big number":
        replace_somewhere(
            data,
            params,
            data.draw(
                st.sampled_from([2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 2**64, 10**400, -(10**4000), 0, -1])
                | st.integers()
                | st.floats(allow_nan=False, allow_infinity=False)
            ),
        )
    elif kind == "deep":
        replace_somewhere(data, params, deep(data.draw(st.integers(1, 60), label="levels")))
    elif kind == "random bytes":
        return data.draw(st.binary(max_size=600))
    elif kind == "not an object":
        return json.dumps(data.draw(JSON_VALUES.filter(lambda v: not isinstance(v, dict)))).encode()
    elif kind == "empty":
        return data.draw(st.sampled_from([b"", b" ", b"{}", b"\n"]))
    elif kind == "lone surrogate":
        replace_somewhere(data, params, data.draw(st.sampled_from(["\ud800", "x\udfff", "\ude00\ud83d"])))
    elif kind == "control characters":
        replace_somewhere(
            data, params, data.draw(st.text(alphabet="\x00\x01\x1f\x7f\x85\u2028\u2029\r\n\t", min_size=1, max_size=5))
        )
    text = json.dumps(params, ensure_ascii=data.draw(st.booleans(), label="ascii"))
    if kind == "truncated":
        return text[: data.draw(st.integers(0, max(len(text) - 1, 0)), label="cut")].encode()
    if kind == "duplicate key" and params:
        key = data.draw(st.sampled_from(sorted(params)))
        return ("{" + json.dumps(key) + ": " + json.dumps(data.draw(JSON_VALUES)) + ", " + text[1:]).encode()
    if kind == "bad utf-8":
        raw = text.encode("utf-8", "surrogatepass")
        at = data.draw(st.integers(0, len(raw)), label="at")
        junk = data.draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"]))
        return raw[:at] + junk + raw[at:]
    return text.encode("utf-8", "surrogatepass")


def request_headers(data, operation: str) -> dict[str, str]:
    target = data.draw(
        st.sampled_from(
            [f"SageMaker.{operation}"] * 20
            + [
                f"SageMaker.{data.draw(st.sampled_from(SERVED_OPERATIONS))}",
                "SageMaker.",
                "SageMaker.CreateTrainingJob",
                data.draw(st.text(max_size=30)),
                None,
            ]
        ),
        label="target",
    )
    headers = {"content-type": data.draw(st.sampled_from(["application/x-amz-json-1.1", "application/json", ""]))}
    if target is not None:
        headers["x-amz-target"] = target
    authorization = data.draw(
        st.sampled_from(
            [
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sagemaker/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=00",
                None,
                "garbage",
                "AWS4-HMAC-SHA256 Credential=123456789012/x/eu-west-1/s/aws4_request",
            ]
        )
        | st.text(max_size=60)
    )
    if authorization is not None:
        headers["authorization"] = authorization
    return headers


# ---- the catalog, read straight from the database ----------------------------------------------------------------


class Fixture:
    """A seeded in-process service and a raw view of every stored row."""

    def __init__(self):
        self.service = InProcess()
        self.engine = self.service.service.store.engine
        self.tables = MetaData()
        self.tables.reflect(self.engine)

    def call(self, operation: str, params: dict):
        return self.service.app.handle(
            "POST", "/", {"x-amz-target": f"SageMaker.{operation}"}, json.dumps(params).encode()
        )

    def reseed(self) -> None:
        if self.call("DescribeAppImageConfig", {"AppImageConfigName": "cfg"}).status != 200:
            kernel = {"KernelSpecs": [{"Name": "python3"}]}
            self.call(
                "CreateAppImageConfig",
                {
                    "AppImageConfigName": "cfg",
                    "KernelGatewayImageConfig": kernel,
                    "Tags": [{"Key": "team", "Value": "a"}],
                },
            )
        if self.call("DescribeImage", {"ImageName": "other"}).status != 200:
            self.call("CreateImage", {"ImageName": "other", "RoleArn": ROLE})
        if self.call("DescribeImage", {"ImageName": "img"}).status != 200:
            self.call("CreateImage", {"ImageName": "img", "RoleArn": ROLE, "Tags": [{"Key": "team", "Value": "a"}]})
            self.call(
                "CreateImageVersion",
                {"ImageName": "img", "BaseImage": BASE, "ClientToken": "token-1", "Aliases": ["latest"]},
            )
            self.call(
                "CreateImageVersion",
                {"ImageName": "img", "BaseImage": BASE, "ClientToken": "token-2", "Aliases": ["stable"]},
            )

    def rows(self) -> dict:
        with self.engine.connect() as conn:
            return {
                name: sorted(map(repr, conn.execute(select(table)).all()))
                for name, table in self.tables.tables.items()
                if name != "alembic_version"
            }


def check(response, before, after) -> None:
    assert response.status in (200, 400, 413), (response.status, response.body[:500])
    doc = json.loads(response.body)
    headers = dict(response.headers)
    assert isinstance(doc, dict) and headers["x-amzn-requestid"]
    if response.status != 200:
        assert doc["__type"] == headers["x-amzn-errortype"] and set(doc) <= {"__type", "message", "Message"}
        assert after == before, "a refused request changed the catalog"


@pytest.fixture(scope="module")
def fuzzed():
    fixture = Fixture()
    yield fixture
    fixture.service.close()


@pytest.mark.parametrize("operation", SERVED_OPERATIONS)
def test_generated_requests_never_get_a_5xx_nor_write_when_refused(fuzzed, operation):
    shape = operation_model(operation).input_shape

    @settings(FUZZ, max_examples=PER_OPERATION)
    @given(data=st.data())
    def run(data):
        fuzzed.reseed()
        params = data.draw(valid(shape), label="params")
        body = mutated_body(data, shape, params)
        headers = request_headers(data, operation)
        before = fuzzed.rows()
        response = fuzzed.service.app.handle("POST", "/", headers, body)
        check(response, before, fuzzed.rows() if response.status != 200 else before)

    run()


# ---- Authorization headers ---------------------------------------------------------------------------------------


def authorization_parts():
    credential = st.lists(
        st.sampled_from(["AKIDALPHA", "20260101", "us-east-1", "sagemaker", "aws4_request", "", "x/y"])
        | st.text(max_size=12),
        max_size=7,
    ).map("/".join)
    signed = st.lists(
        st.sampled_from(["host", "x-amz-date", "content-type", "x-amz-target", "Host", ""]) | st.text(max_size=8),
        max_size=6,
    ).map(";".join)
    pieces = st.lists(
        st.one_of(
            credential.map("Credential={}".format),
            signed.map("SignedHeaders={}".format),
            st.text("0123456789abcdef", max_size=64).map("Signature={}".format),
            st.text(max_size=10),
        ),
        max_size=5,
    )
    algorithm = st.sampled_from(["AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", "AWS4-", "AWS4"]) | st.text(max_size=10)
    separator = st.sampled_from([", ", ",", " ", ",,", "\t"])
    return st.tuples(algorithm, pieces, separator).map(lambda t: t[0] + " " + t[2].join(t[1]))


DATES = st.sampled_from(
    [
        "20260101T000000Z",
        "00000101T000000Z",
        "99991231T235959Z",
        "20261340T256199Z",
        "Thu, 01 Jan 2026 00:00:00 GMT",
        "Thu, 01 Jan 99999 00:00:00 GMT",
        "Mon, 99 Foo 2026",
        "",
        "0",
    ]
) | st.text(max_size=30)


def freshly_signed() -> dict[str, str]:
    """Headers botocore signs now for AKIDALPHA's temporary credentials."""
    request = AWSRequest(
        method="POST",
        url="http://h/",
        data=b"{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.ListImages", "Host": "h"},
    )
    SigV4Auth(Credentials("AKIDALPHA", "secret", "token"), "sagemaker", "us-east-1").add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()}


def test_fuzzed_authorization_headers_never_get_a_5xx():
    service = InProcess()
    service.app.auth = SignatureVerifier(
        {"AKIDALPHA": AccessKey("AKIDALPHA", "secret", "111111111111", session_token="token")}
    )
    answers = {
        "MissingAuthenticationTokenException",
        "IncompleteSignatureException",
        "InvalidSignatureException",
        "UnrecognizedClientException",
    }
    try:

        @settings(FUZZ, max_examples=300)
        @given(
            authorization=authorization_parts(),
            date=st.none() | DATES,
            http_date=st.none() | DATES,
            token=st.none() | st.text(max_size=10),
            sha=st.none() | st.text(max_size=70),
            target=st.sampled_from(["/", "", "*", "//", "/?a=b"]) | st.text(max_size=20),
        )
        def from_pieces(authorization, date, http_date, token, sha, target):
            headers = {"x-amz-target": "SageMaker.ListImages", "host": "h", "authorization": authorization}
            for name, value in (
                ("x-amz-date", date),
                ("date", http_date),
                ("x-amz-security-token", token),
                ("x-amz-content-sha256", sha),
            ):
                if value is not None:
                    headers[name] = value
            response = service.app.handle("POST", target, headers, b"{}")
            assert response.status == 400, response.body
            assert json.loads(response.body)["__type"] in answers

        @settings(FUZZ, max_examples=300)
        @given(data=st.data())
        def from_a_valid_request(data):
            headers = freshly_signed()
            for _ in range(data.draw(st.integers(1, 3), label="edits")):
                name = data.draw(st.sampled_from(sorted(headers)) | st.text(max_size=8), label="header")
                value = headers.get(name, "")
                edit = data.draw(st.sampled_from(["replace", "insert", "delete", "drop", "truncate"]), label="edit")
                at = data.draw(st.integers(0, len(value)), label="at")
                if edit == "replace":
                    headers[name] = data.draw(st.text(max_size=40), label="value")
                elif edit == "insert":
                    headers[name] = value[:at] + data.draw(st.text(min_size=1, max_size=3)) + value[at:]
                elif edit == "delete":
                    headers[name] = value[:at] + value[at + 1 :]
                elif edit == "truncate":
                    headers[name] = value[:at]
                else:
                    headers.pop(name, None)
            target = data.draw(st.sampled_from(["/"] * 5 + ["", "*", "/x", "[x]", "/?a"]), label="target")
            response = service.app.handle("POST", target, headers, b"{}")
            assert response.status in (200, 400), response.body
            assert response.status == 200 or json.loads(response.body)["__type"] in {
                *answers,
                "UnknownOperationException",
            }  # the target is checked before the signature

        from_pieces()
        from_a_valid_request()
    finally:
        service.close()
