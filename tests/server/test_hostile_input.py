"""Hostile input: every malformed, oversized or slow request gets an AWS-shaped 4xx and changes nothing.

In-process tests cover what the app decides from a whole request; socket tests cover what only a real
connection shows (declared and streamed body size, slow and vanishing clients, header floods, connection limits)."""

import json
import socket
import time

import botocore.session
import pytest

from smimages.operations import OPERATIONS
from smimages.protocol.wire import MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_JSON_DEPTH
from smimages.spec import operation_model
from support import BASE, ROLE, ServerProcess

SERVED_OPERATIONS = tuple(OPERATIONS)

JSON11 = "application/x-amz-json-1.1"


def call(service, operation: str, body, headers=None):
    """(status, error code or None, message, document) for one request answered in-process."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = service.app.handle(
        "POST", "/", {"content-type": JSON11, "x-amz-target": f"SageMaker.{operation}", **(headers or {})}, raw
    )
    assert response.status < 500, response.body
    doc = json.loads(response.body)
    assert dict(response.headers).get("x-amzn-errortype") == doc.get("__type")
    return response.status, doc.get("__type"), doc.get("message"), doc


def catalog(service) -> dict:
    """Everything stored, read through the API (account 000000000000, us-east-1)."""
    images = call(service, "ListImages", {"MaxResults": 100})[3]["Images"]
    view = {"images": images}
    for image in images:
        name = image["ImageName"]
        view[name] = call(service, "ListImageVersions", {"ImageName": name, "MaxResults": 100})[3]
        view[name + " aliases"] = call(service, "ListAliases", {"ImageName": name, "MaxResults": 100})[3]
        view[name + " tags"] = call(service, "ListTags", {"ResourceArn": image["ImageArn"]})[3]
    return view


@pytest.fixture
def seeded(service):
    call(service, "CreateImage", {"ImageName": "img", "RoleArn": ROLE, "Tags": [{"Key": "k", "Value": "v"}]})
    call(
        service,
        "CreateImageVersion",
        {"ImageName": "img", "BaseImage": BASE, "ClientToken": "t", "Aliases": ["latest"]},
    )
    return service


# ---- body size, nesting, encoding, duplicates, numbers -----------------------------------------------------------


def test_a_body_over_the_limit_is_413(service):
    body = b'{"NameContains": "' + b"a" * MAX_BODY_BYTES + b'"}'
    status, code, message, _ = call(service, "ListImages", body)
    assert (status, code, message) == (
        413,
        "RequestEntityTooLargeException",
        f"Request must be smaller than {MAX_BODY_BYTES} bytes.",
    )


def test_a_body_of_exactly_the_limit_is_read(service):
    body = b"{}".ljust(MAX_BODY_BYTES)
    assert call(service, "ListImages", body)[:2] == (200, None)


def nested(levels: int) -> bytes:
    return b'{"Unknown": ' + b"[" * levels + b"]" * levels + b"}"


def test_nesting_depth(service):
    assert call(service, "ListImages", nested(MAX_JSON_DEPTH - 1))[0] == 200  # the body object is level 1
    assert call(service, "ListImages", nested(MAX_JSON_DEPTH))[1:3] == (
        "SerializationException",
        f"JSON nesting is deeper than {MAX_JSON_DEPTH} levels",
    )
    objects = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    for body in (nested(200_000), objects):
        assert call(service, "ListImages", body)[1] == "SerializationException"


@pytest.mark.parametrize(
    "body",
    [
        b'{"ImageName": "caf\xe9"}',
        b'{"ImageName": "\xff\xfe"}',
        b'{"ImageName": "a\xc3"}',
        b'{"ImageName": "\xed\xa0\x80"}',  # an encoded surrogate is not UTF-8
        '{"ImageName": "x"}'.encode("utf-16"),
        b"\x00\x00\x00{",
    ],
)
def test_invalid_utf8(service, body):
    assert call(service, "DescribeImage", body)[1] == "SerializationException"


def test_unicode_beyond_the_bmp_round_trips_but_lone_surrogates_do_not(service):
    body = b'{"ImageName": "img", "RoleArn": "%s", "Description": "\\ud83d\\ude00 \xf0\x9f\x9a\x80"}' % ROLE.encode()
    assert call(service, "CreateImage", body)[0] == 200
    assert call(service, "DescribeImage", {"ImageName": "img"})[3]["Description"] == "\U0001f600 \U0001f680"
    for text in (b"\\ud800", b"\\udfff", b"\\ude00\\ud83d"):
        body = b'{"ImageName": "img", "Description": "x' + text + b'"}'
        assert call(service, "UpdateImage", body)[1] == "SerializationException"
    assert call(service, "DescribeImage", {"ImageName": "img"})[3]["Description"] == "\U0001f600 \U0001f680"


@pytest.mark.parametrize(
    "body,field",
    [
        (b'{"ImageName": "a", "RoleArn": "%s", "ImageName": "b"}' % ROLE.encode(), "ImageName"),
        (
            b'{"ImageName": "a", "RoleArn": "%s", "Tags": [{"Key": "k", "Value": "1", "Value": "2"}]}' % ROLE.encode(),
            "Value",
        ),
        (b'{"ImageName": "a", "RoleArn": "%s", "Extra": {"x": 1, "x": 1}}' % ROLE.encode(), "x"),
    ],
)
def test_duplicate_keys_are_refused_and_nothing_is_created(service, body, field):
    assert call(service, "CreateImage", body)[1:3] == ("SerializationException", f"Duplicate field '{field}'")
    assert catalog(service) == {"images": []}


@pytest.mark.parametrize(
    "member,number",
    [
        ("MaxResults", b"1e999"),
        ("MaxResults", b"-1e999"),
        ("MaxResults", b"1" + b"0" * 5000),
        ("MaxResults", b"9" * 400),
        ("MaxResults", b"2147483648"),
        ("MaxResults", b"-9223372036854775809"),
        ("MaxResults", b"1.5"),
        ("MaxResults", b"1e2"),
        ("MaxResults", b"NaN"),
        ("MaxResults", b"Infinity"),
        ("CreationTimeAfter", b"1e999"),
        ("CreationTimeAfter", b"9" * 400),
        ("CreationTimeAfter", b"-" + b"9" * 4000),
        ("CreationTimeAfter", b"1e308"),
        ("CreationTimeAfter", b"-1e308"),
        ("CreationTimeAfter", b"1e-400"),
        ("LastModifiedTimeBefore", b"18446744073709551616"),
    ],
)
def test_huge_and_odd_numbers_are_a_4xx(seeded, member, number):
    status, code, _, doc = call(seeded, "ListImages", b'{"%s": %s}' % (member.encode(), number))
    assert status in (200, 400), doc
    if number in (b"1e999", b"-1e999", b"NaN", b"Infinity", b"1.5", b"1e2") and member == "MaxResults":
        assert code == "SerializationException"


# ---- every member with every wrong JSON type ---------------------------------------------------------------------

WRONG = {
    "string": [5, 1.5, True, [], {}],
    "integer": ["1", 1.5, True, [], {}],
    "long": ["1", 1.5, False, [], {}],
    "boolean": ["true", 1, [], {}],
    "timestamp": ["2024-01-01T00:00:00Z", True, [], {}],
    "list": ["x", 5, {}, True],
    "structure": ["x", 5, [], True],
    "map": ["x", 5, [], True],
}


def example(shape):
    kind = shape.type_name
    if kind == "structure":
        return {name: example(member) for name, member in shape.members.items()}
    if kind == "list":
        return [example(shape.member)]
    if kind == "map":
        return {"k": example(shape.value)}
    if kind == "string":
        return shape.enum[0] if shape.enum else "a"
    return {"integer": 1, "long": 1, "boolean": True, "timestamp": 1_700_000_000}[kind]


def member_paths(shape, path=()):
    """(path, shape) of every member, list element and nested member of an input shape."""
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            yield (*path, name), member
            yield from member_paths(member, (*path, name))
    elif shape.type_name == "list":
        yield (*path, 0), shape.member
        yield from member_paths(shape.member, (*path, 0))
    elif shape.type_name == "map":
        yield (*path, "k"), shape.value


def replaced(doc, path, value):
    doc = json.loads(json.dumps(doc))
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


WRONG_TYPE_CASES = [
    (op, path, bad)
    for op in SERVED_OPERATIONS
    for path, shape in member_paths(operation_model(op).input_shape)
    for bad in WRONG[shape.type_name]
]


def test_every_member_of_every_operation_with_every_wrong_type(seeded):
    assert len(WRONG_TYPE_CASES) > 250
    before = catalog(seeded)
    for op, path, bad in WRONG_TYPE_CASES:
        body = replaced(example(operation_model(op).input_shape), path, bad)
        status, code, message, _ = call(seeded, op, body)
        assert (status, code) == (400, "SerializationException"), (op, path, bad, message)
    assert catalog(seeded) == before


def test_every_member_null_is_absent_never_a_5xx(seeded):
    for op in SERVED_OPERATIONS:
        for path, _ in member_paths(operation_model(op).input_shape):
            status, _code, _, doc = call(seeded, op, replaced(example(operation_model(op).input_shape), path, None))
            assert status in (200, 400), (op, path, doc)


def test_the_body_must_be_an_object(service):
    for body in (b"[]", b'"text"', b"42", b"null", b"true"):
        assert call(service, "ListImages", body)[1:3] == (
            "SerializationException",
            "Request body must be a JSON object",
        )


# ---- list caps and no partial writes -----------------------------------------------------------------------------


def test_alias_lists_are_capped_at_100(seeded):
    aliases = [f"a{i}" for i in range(101)]
    status, code, message, _ = call(
        seeded, "CreateImageVersion", {"ImageName": "img", "BaseImage": BASE, "ClientToken": "c", "Aliases": aliases}
    )
    assert (status, code) == (400, "ValidationException")
    assert message.endswith(
        "at 'aliases' failed to satisfy constraint: Member must have length less than or equal to 100"
    )
    for member in ("AliasesToAdd", "AliasesToDelete"):
        assert (
            call(seeded, "UpdateImageVersion", {"ImageName": "img", "Version": 1, member: aliases})[1]
            == "ValidationException"
        )
    before = catalog(seeded)
    assert (
        call(
            seeded,
            "CreateImageVersion",
            {"ImageName": "img", "BaseImage": BASE, "ClientToken": "d", "Aliases": aliases[:100]},
        )[0]
        == 200
    )
    assert (
        len(
            call(seeded, "ListAliases", {"ImageName": "img", "Version": 2, "MaxResults": 100})[3][
                "SageMakerImageVersionAliases"
            ]
        )
        == 100
    )
    assert before != catalog(seeded)


@pytest.mark.parametrize(
    "operation,body",
    [
        (
            "CreateImage",
            {"ImageName": "new", "RoleArn": ROLE, "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]},
        ),
        (
            "CreateImage",
            {"ImageName": "new", "RoleArn": ROLE, "Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]},
        ),
        (
            "CreateImage",
            {"ImageName": "new", "RoleArn": ROLE, "Tags": [{"Key": "k", "Value": "v"}, {"Key": "k\u0000"}]},
        ),
        ("CreateImageVersion", {"ImageName": "img", "BaseImage": BASE, "ClientToken": "n", "Aliases": ["ok", "-bad"]}),
        ("CreateImageVersion", {"ImageName": "img", "BaseImage": BASE, "ClientToken": "n", "Aliases": ["latest"]}),
        ("UpdateImageVersion", {"ImageName": "img", "Version": 1, "AliasesToAdd": ["fine", "x" * 129]}),
        ("UpdateImageVersion", {"ImageName": "img", "Version": 1, "AliasesToAdd": ["fine"], "JobType": "NOPE"}),
        ("UpdateImage", {"ImageName": "img", "Description": "changed", "DisplayName": " padded "}),
        (
            "AddTags",
            {
                "ResourceArn": "arn:aws:sagemaker:us-east-1:000000000000:image/img",
                "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(50)],
            },
        ),
        (
            "AddTags",
            {
                "ResourceArn": "arn:aws:sagemaker:us-east-1:000000000000:image/img",
                "Tags": [{"Key": "new", "Value": "v"}, {"Key": "bad", "Value": 5}],
            },
        ),
        (
            "DeleteTags",
            {"ResourceArn": "arn:aws:sagemaker:us-east-1:000000000000:image/img", "TagKeys": ["k"] + ["x"] * 50},
        ),
    ],
)
def test_a_refused_request_writes_nothing(seeded, operation, body):
    before = catalog(seeded)
    status, code, _, doc = call(seeded, operation, body)
    assert status == 400 and code in ("ValidationException", "SerializationException", "ResourceInUse"), doc
    assert catalog(seeded) == before


# ---- over a real socket ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    server = ServerProcess("--db", "sqlite://", "--request-timeout", "1", "--max-connections", "20").start()
    yield server
    server.stop()


def connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def head(server, length=None, extra=b"", target=b"SageMaker.ListImages") -> bytes:
    lines = [
        b"POST / HTTP/1.1",
        b"Host: 127.0.0.1:%d" % server.port,
        b"Content-Type: " + JSON11.encode(),
        b"X-Amz-Target: " + target,
    ]
    if length is not None:
        lines.append(b"Content-Length: %d" % length)
    return b"\r\n".join(lines) + b"\r\n" + extra + b"\r\n"


def read_response(sock, probe_close: bool = True) -> tuple[int, dict, bytes, bool]:
    """(status, headers, body, whether the server then closed the connection: probed unless probe_close=False)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    header_block, _, body = data.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    if not probe_close:
        return status, headers, body, False
    try:
        closed = sock.recv(1) == b""
    except (TimeoutError, ConnectionResetError):
        closed = True
    return status, headers, body, closed


def still_serving(server) -> None:
    sm = server.client()
    assert sm.list_images()["Images"] == []


def test_a_declared_oversize_body_is_refused_before_it_is_sent(server):
    with connect(server) as sock:
        sock.sendall(head(server, length=MAX_BODY_BYTES + 1))
        status, headers, body, closed = read_response(sock)
    assert status == 413 and closed and headers["connection"] == "close"
    assert headers["x-amzn-errortype"] == "RequestEntityTooLargeException" and headers["x-amzn-requestid"]
    assert json.loads(body)["message"] == f"Request must be smaller than {MAX_BODY_BYTES} bytes."
    still_serving(server)


def test_a_streamed_body_is_cut_off_at_the_limit(server):
    with connect(server) as sock:
        sock.sendall(head(server, extra=b"Transfer-Encoding: chunked\r\n"))
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        try:
            for _ in range(MAX_BODY_BYTES // 65536 + 8):
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _headers, body, _ = read_response(sock)
    assert (status, json.loads(body)["__type"]) == (413, "RequestEntityTooLargeException")
    still_serving(server)


def test_a_body_sent_too_slowly_gets_408_and_is_never_run(server):
    body = json.dumps({"ImageName": "slow", "RoleArn": ROLE}).encode()
    with connect(server) as sock:
        sock.sendall(head(server, length=len(body), target=b"SageMaker.CreateImage"))
        started = time.monotonic()
        for byte in body[:4]:  # a byte every 0.2 s (never idle long) until just before the 1 s deadline
            sock.sendall(bytes([byte]))
            time.sleep(0.2)
        status, _headers, doc, closed = read_response(sock)
    assert time.monotonic() - started < 5
    assert (status, json.loads(doc)["__type"], closed) == (408, "RequestTimeout", True)
    assert json.loads(doc)["message"].startswith("Your socket connection to the server was not read from")
    still_serving(server)


def test_a_client_that_vanishes_mid_body_writes_nothing(server):
    body = json.dumps({"ImageName": "gone", "RoleArn": ROLE}).encode()
    with connect(server) as sock:
        sock.sendall(head(server, length=len(body) + 10, target=b"SageMaker.CreateImage") + body)
        time.sleep(0.2)
    time.sleep(0.3)
    still_serving(server)


def head_refusal(sock) -> None:
    """Reads the answer to a request head over the limits: AWS-shaped, and the connection closed."""
    status, headers, doc, closed = read_response(sock)
    assert (status, closed, headers["x-amzn-errortype"]) == (400, True, "RequestHeaderSectionTooLarge")
    assert json.loads(doc)["message"] == "Your request header section exceeds the maximum allowed size."


def send_all(sock, data: bytes, piece: int | None = None) -> None:
    """Sends data (in pieces of `piece` bytes, a little apart), ignoring a server that already hung up."""
    piece = piece or len(data)
    try:
        for start in range(0, len(data), piece):
            sock.sendall(data[start : start + piece])
            if piece < len(data):
                time.sleep(0.01)
    except (BrokenPipeError, ConnectionResetError):
        pass


@pytest.mark.parametrize("piece", [None, 1000], ids=["whole", "in-pieces"])
def test_a_header_flood_is_refused_and_the_connection_closed(server, piece):
    floods = [
        b"".join(b"X-Flood-%d: %s\r\n" % (i, b"v" * 40) for i in range(MAX_HEADER_BYTES // 40)),
        b"X-Huge: " + b"v" * (MAX_HEADER_BYTES + 1) + b"\r\n",
    ]
    for extra in floods:
        with connect(server) as sock:
            send_all(sock, head(server, length=2, extra=extra) + b"{}", piece)
            head_refusal(sock)
    with connect(server) as sock:  # a header that never ends is not buffered without bound
        send_all(sock, head(server, length=2)[:-2] + b"X-Unfinished: " + b"v" * (4 * MAX_HEADER_BYTES), piece)
        head_refusal(sock)
    with connect(server) as sock:  # a long request line counts too
        send_all(sock, b"POST /" + b"a" * MAX_HEADER_BYTES + b" HTTP/1.1\r\nHost: x\r\n\r\n", piece)
        head_refusal(sock)
    still_serving(server)


def test_a_head_sent_too_slowly_gets_408(server):
    with connect(server) as sock:
        started = time.monotonic()
        for line in head(server, length=2).split(b"\r\n")[:4]:  # a header line every 0.3 s, never finishing
            sock.sendall(line + b"\r\n")
            time.sleep(0.3)
        status, headers, _doc, closed = read_response(sock)
    assert time.monotonic() - started < 5
    assert (status, headers["x-amzn-errortype"], closed) == (408, "RequestTimeout", True)
    still_serving(server)


def test_keep_alive_and_pipelined_requests_outlive_the_request_timeout(server):
    """The deadline covers receiving one request, not the life of a connection (the timeout is 1 s here)."""
    request = head(server, length=2) + b"{}"
    with connect(server) as sock:
        for _ in range(3):
            sock.sendall(request)
            assert read_response(sock, probe_close=False)[0] == 200
            time.sleep(0.6)
        sock.sendall(request * 3)
        answers = b""
        while answers.count(b'"Images":[]') < 3:
            answers += sock.recv(65536)
        assert answers.count(b"HTTP/1.1 200 OK") == 3


def test_too_many_headers(server):
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(100))
    with connect(server) as sock:
        sock.sendall(head(server, length=2, extra=many) + b"{}")
        status, _headers, doc, closed = read_response(sock)
    assert (status, closed, json.loads(doc)) == (
        400,
        True,
        {
            "__type": "RequestHeaderSectionTooLarge",
            "message": "Your request header section exceeds the maximum allowed size.",
            "Message": "Your request header section exceeds the maximum allowed size.",
        },
    )
    still_serving(server)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
        b"GET\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_http_is_a_400(server, garbage):
    with connect(server) as sock:
        sock.sendall(garbage)
        assert read_response(sock)[0] == 400
    still_serving(server)


def test_signed_request_json_errors_over_a_socket_are_aws_shaped(server):
    with connect(server) as sock:
        body = b'{"ImageName": "a", "ImageName": "b"}'
        sock.sendall(head(server, length=len(body), target=b"SageMaker.DescribeImage") + body)
        status, headers, doc, _ = read_response(sock)
    assert (status, headers["x-amzn-errortype"], json.loads(doc)["message"]) == (
        400,
        "SerializationException",
        "Duplicate field 'ImageName'",
    )


def test_connections_beyond_the_limit_get_503_until_others_close(server_factory):
    server = server_factory("--db", "sqlite://", "--max-connections", "3").start()
    idle = [connect(server) for _ in range(3)]
    time.sleep(0.2)
    try:
        with connect(server) as sock:
            sock.sendall(head(server, length=2) + b"{}")
            assert read_response(sock)[0] == 503
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.2)
    assert server.client().list_images()["Images"] == []


def test_the_botocore_model_used_by_clients_is_not_patched():
    """The alias cap is the server's choice; SDKs keep validating against their own, unlimited, model."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    assert "max" not in model.shape_for("SageMakerImageVersionAliases").metadata
    assert operation_model("CreateImageVersion").input_shape.members["Aliases"].metadata["max"] == 100
