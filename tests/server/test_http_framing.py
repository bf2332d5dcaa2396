"""HTTP framing and connection deadlines, over real sockets against real server processes: every connection is bounded
in time from its acceptance, every framing RFC 9112 refuses is answered in AWS's error shape, and a property-based
test sends generated raw requests (valid and broken heads, chunked bodies with and without trailers, pipelines,
truncation anywhere, bad transfer codings, missing Host, conflicting lengths) and checks that each gets one complete
response or a clean close, that the server logs no traceback, and that it keeps serving.

CI runs SMIMAGES_HTTP_FUZZ_EXAMPLES=250 generated connections with a fixed seed. A longer, randomized run:

    SMIMAGES_HTTP_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_http_framing.py -q -k fuzz
"""

import json
import os
import re
import socket
import time
from dataclasses import dataclass, field, replace

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from smimages.protocol.wire import MAX_HEADER_BYTES, MAX_HEADER_COUNT
from support import ROLE, Log, ServerProcess, assert_no_traceback

JSON11 = "application/x-amz-json-1.1"
TIMEOUT = 1.0  # --request-timeout of the servers below
KEEP_ALIVE = 5.0  # uvicorn's timeout_keep_alive as `smimages serve` sets it
NOT_IMPLEMENTED = "A header you provided implies functionality that is not implemented"


# ---- a client that reads raw responses ---------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def doc(self) -> dict:
        return json.loads(self.body)


def parse(data: bytes) -> list[Answer]:
    """The final responses in `data`, which must be whole HTTP/1.1 responses back to back (1xx ones are skipped)."""
    answers = []
    while data:
        head, blank, rest = data.partition(b"\r\n\r\n")
        assert blank, f"an incomplete response head: {data[:300]!r}"
        status_line, *lines = head.decode("latin-1").split("\r\n")
        match = re.fullmatch(r"HTTP/1\.1 (\d{3}) [A-Za-z -]*", status_line)
        assert match, f"not a status line: {status_line!r}"
        headers = {}
        for line in lines:
            name, colon, value = line.partition(":")
            assert colon and name.strip() == name and name.lower() not in headers, f"a bad header line: {line!r}"
            headers[name.lower()] = value.strip()
        status = int(match.group(1))
        if status < 200:
            assert not headers, headers
            data = rest
            continue
        assert "transfer-encoding" not in headers and headers["content-length"].isdigit(), headers
        length = int(headers["content-length"])
        assert len(rest) >= length, f"a response cut short: {data[:300]!r}"
        answers.append(Answer(status, headers, rest[:length]))
        data = rest[length:]
    return answers


def exchange(server, data: bytes, *, half_close: bool = False, wait: float = TIMEOUT + 4) -> tuple[list[Answer], float]:
    """Sends `data` on a new connection and reads until the server closes it: (the responses, seconds to the close).
    The server must close it within `wait` seconds. (A server that answers and closes before it has read all that
    was sent makes the client's TCP see a reset after the answer: that is a close too.)"""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        started = time.monotonic()
        try:
            if data:
                sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise AssertionError(
                    f"the connection was neither answered nor closed in {wait}s: {received[:300]!r}"
                ) from None
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return parse(received), time.monotonic() - started


def request(
    target: str = "ListImages",
    body: bytes = b"{}",
    *,
    host: bytes | None = b"127.0.0.1",
    extra: bytes = b"",
    version: bytes = b"HTTP/1.1",
    length: bool = True,
) -> bytes:
    """One request's bytes: a JSON 1.1 call with `extra` header lines; Content-Length unless length=False."""
    lines = [b"POST / " + version]
    if host is not None:
        lines.append(b"Host: " + host)
    lines += [b"Content-Type: " + JSON11.encode(), b"X-Amz-Target: SageMaker." + target.encode()]
    if length:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n" + extra + b"\r\n" + body


def chunked(body: bytes, *pieces: int, trailers: bytes = b"") -> bytes:
    """`body` in the chunked coding, cut into chunks of the given sizes (then the rest), with trailer field lines."""
    out, at = b"", 0
    for size in [*pieces, len(body)]:
        if body[at : at + size]:
            out += b"%x\r\n%s\r\n" % (len(body[at : at + size]), body[at : at + size])
            at += size
    return out + b"0\r\n" + trailers + b"\r\n"


CHUNKED = b"Transfer-Encoding: chunked\r\n"
CLOSE = b"Connection: close\r\n"


def assert_refused(answer: Answer, status: int, code: str, message: str | None = None) -> None:
    """An AWS-shaped refusal, after which the connection is closed."""
    assert (answer.status, answer.headers["x-amzn-errortype"], answer.doc["__type"]) == (status, code, code), answer
    assert answer.headers["content-type"] == JSON11 and answer.headers["x-amzn-requestid"]
    assert answer.headers["connection"] == "close"
    assert answer.doc["message"] == answer.doc["Message"]
    if message is not None:
        assert answer.doc["message"] == message, answer.doc


def assert_served(answer: Answer) -> None:
    assert (answer.status, answer.doc) == (200, {"Images": []}), answer


@pytest.fixture(scope="module")
def server():
    server = ServerProcess("--db", "sqlite://", "--request-timeout", str(TIMEOUT)).start()
    log = Log(server)
    yield server
    assert server.client().list_images()["Images"] == []
    log.new()
    server.stop()
    assert_no_traceback(log.text)


# ---- every connection is bounded in time -------------------------------------------------------------------------


def test_silent_sockets_at_twice_the_limit_are_closed_and_lock_no_one_out(server_factory):
    limit = 3
    server = server_factory(
        "--db", "sqlite://", "--request-timeout", str(TIMEOUT), "--max-connections", str(limit)
    ).start()
    opened = time.monotonic()
    silent = [socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT + 3) for _ in range(2 * limit)]
    try:
        time.sleep(0.1)
        # over the limit: an AWS-shaped 503 that SDKs retry, then the connection is closed
        answers, _ = exchange(server, request())
        assert len(answers) == 1
        assert_refused(
            answers[0], 503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."
        )
        assert answers[0].headers["retry-after"] == "1"
        # the silent sockets are closed request-timeout after they were accepted, without a byte, so a client
        # retrying is served within request-timeout + 1 s of them being opened
        while True:
            (answer,), _ = exchange(server, request(extra=CLOSE))
            if answer.status == 200:
                break
            assert answer.status == 503
            time.sleep(0.05)
        assert time.monotonic() - opened < TIMEOUT + 1
        for sock in silent:
            assert sock.recv(100) == b""
        assert TIMEOUT - 0.1 < time.monotonic() - opened < TIMEOUT + 1
    finally:
        for sock in silent:
            sock.close()
    assert server.client().list_images()["Images"] == []


def blank_lines_until_closed(sock, limit: float) -> float:
    """Sends an empty line every 0.2 s until the server closes the connection (without a byte): seconds it took."""
    started = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - started < limit:
        try:
            sock.sendall(b"\r\n")
            if sock.recv(100) == b"":
                break
        except TimeoutError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            break
    return time.monotonic() - started


def test_only_blank_lines_are_no_request(server):
    """Empty lines before a request are allowed (RFC 9112 section 2.2) but start no request and no timer of their
    own: a connection that sends only those is closed request-timeout after it was accepted, without an answer."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        closed = blank_lines_until_closed(sock, TIMEOUT + 3)
    assert TIMEOUT - 0.1 < closed < TIMEOUT + 1


def test_part_of_a_first_request_is_timed_from_the_connection_being_accepted(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT + 3) as sock:
        started = time.monotonic()
        time.sleep(TIMEOUT / 2)
        sock.sendall(b"POST / HT")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        elapsed = time.monotonic() - started
    (answer,) = parse(data)
    assert_refused(answer, 408, "RequestTimeout")
    assert TIMEOUT - 0.1 < elapsed < TIMEOUT + 1


def test_idle_keep_alive_is_closed_after_5_seconds_blank_lines_or_not(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=KEEP_ALIVE + 3) as sock:
        for pause in (0, TIMEOUT + 0.5):  # longer than the request timeout between requests is fine
            time.sleep(pause)
            sock.sendall(request())
            data = b""
            while b'{"Images":[]}' not in data:
                data += sock.recv(65536)
        closed = blank_lines_until_closed(sock, KEEP_ALIVE + 3)
    assert KEEP_ALIVE - 0.1 < closed < KEEP_ALIVE + 1


def test_a_client_that_reads_no_responses_is_dropped(server_factory):
    """A client that pipelines requests and reads none of the responses holds its connection (and the server's
    buffers) only until the server has waited request-timeout to write more."""
    server = server_factory("--db", "sqlite://", "--request-timeout", str(TIMEOUT)).start()
    log = Log(server)
    sm = server.client()
    for i in range(100):
        sm.create_image(ImageName=f"image-{i}", RoleArn=ROLE, Description="d" * 512)
    body = b'{"MaxResults": 100}'  # about 80 KB a response, and 100 of them
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(request(body=body) * 100)
        deadline = time.monotonic() + TIMEOUT + 5
        while "dropping a connection" not in log.text and time.monotonic() < deadline:
            time.sleep(0.1)
            log.new()
        assert "dropping a connection whose responses were not read within 1s" in log.text
        received = b""
        try:
            while chunk := sock.recv(1 << 20):
                received += chunk
        except ConnectionResetError:
            pass
        assert 0 < received.count(b"HTTP/1.1 200 OK") < 100
    assert sm.list_images(MaxResults=1)["Images"]


# ---- framing (RFC 9112) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pieces,trailers",
    [
        ((), b""),
        ((), b"X-Checksum: abc\r\n"),
        ((1,), b"X-One: 1\r\nx-two:2\r\nX-Empty:\r\n"),
        ((1, 1), b"X-Trailer: " + b"v" * 1000 + b"\r\n"),
    ],
    ids=["no-trailers", "one", "three", "long"],
)
def test_trailer_fields_are_read_and_ignored(server, pieces, trailers):
    body = chunked(b'{"MaxResults": 5}', *pieces, trailers=trailers)
    answers, _ = exchange(server, request(body=body, length=False, extra=CHUNKED) + request(extra=CLOSE))
    assert len(answers) == 2
    for answer in answers:
        assert_served(answer)


def piecemeal(server, data: bytes, piece: int = 1000) -> list[Answer]:
    """Sends `data` in pieces a little apart (a server that has answered and closed stops it), then reads to the end."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT + 4) as sock:
        try:
            for start in range(0, len(data), piece):
                sock.sendall(data[start : start + piece])
                time.sleep(0.005)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return parse(received)


@pytest.mark.parametrize(
    "trailers",
    [
        b"".join(b"X-T-%d: %s\r\n" % (i, b"v" * 40) for i in range(MAX_HEADER_BYTES // 40)),
        b"".join(b"X-T-%d: v\r\n" % i for i in range(MAX_HEADER_COUNT + 1)),
        b"X-Unfinished: " + b"v" * (4 * MAX_HEADER_BYTES),
    ],
    ids=["too-large", "too-many", "never-ending"],
)
def test_trailer_sections_have_the_head_limits(server, trailers):
    head = request(body=b"", length=False, extra=CHUNKED)
    (answer,) = piecemeal(server, head + b"2\r\n{}\r\n0\r\n" + trailers + b"\r\n")
    assert_refused(
        answer, 400, "RequestHeaderSectionTooLarge", "Your request header section exceeds the maximum allowed size."
    )


SMUGGLED = chunked(request(target="CreateImage", body=json.dumps({"ImageName": "smuggled", "RoleArn": ROLE}).encode()))


@pytest.mark.parametrize(
    "codings",
    [
        b"gzip, chunked",
        b"identity",
        b"gzip",
        b"br",
        b"x-unknown",
        b"chunked;q=1",
        b"deflate,chunked",
        b"chunked\t",
        b'"chunked"',
        b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked",
    ],
)
def test_transfer_codings_other_than_chunked_are_501(server, codings):
    """Only `chunked` is decoded: a body in any other coding (`gzip, chunked` included) is refused before a byte
    of it is read, so what it holds is never taken for a request."""
    extra = codings if codings.startswith(b"Transfer-Encoding:") else b"Transfer-Encoding: " + codings
    answers, _ = exchange(server, request(body=SMUGGLED, length=False, extra=extra + b"\r\n"))
    assert len(answers) == 1
    assert_refused(answers[0], 501, "NotImplemented", f"{NOT_IMPLEMENTED} (Transfer-Encoding: only chunked is).")
    assert server.client().list_images()["Images"] == []


@pytest.mark.parametrize(
    "codings",
    [
        b"chunked, gzip",
        b"chunked, chunked",
        b"chunked,",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
    ],
)
def test_chunked_before_another_coding_is_400(server, codings):
    """RFC 9112 section 6.3: when chunked is not the last coding the body's length cannot be known."""
    extra = codings if codings.startswith(b"Transfer-Encoding:") else b"Transfer-Encoding: " + codings
    answers, _ = exchange(server, request(body=SMUGGLED, length=False, extra=extra + b"\r\n"))
    assert len(answers) == 1
    assert_refused(
        answers[0], 400, "BadRequest", "The HTTP request is malformed: Invalid `Transfer-Encoding` header value."
    )
    assert server.client().list_images()["Images"] == []


def test_chunked_is_matched_without_regard_to_case_or_surrounding_spaces(server):
    for codings in (b"Chunked", b"CHUNKED", b"  chunked  "):
        extra = b"Transfer-Encoding: " + codings + b"\r\n" + CLOSE
        answers, _ = exchange(server, request(body=chunked(b"{}"), length=False, extra=extra))
        assert len(answers) == 1
        assert_served(answers[0])


def test_transfer_encoding_in_an_http10_request_is_400(server):
    answers, _ = exchange(server, request(body=chunked(b"{}"), length=False, extra=CHUNKED, version=b"HTTP/1.0"))
    assert_refused(answers[0], 400, "BadRequest", "Transfer-Encoding is not allowed in an HTTP/1.0 request.")


def test_a_request_without_host_is_400_but_http10_needs_none(server):
    answers, _ = exchange(server, request(host=None))
    assert len(answers) == 1
    assert_refused(answers[0], 400, "BadRequest", "The request has no Host header.")
    answers, _ = exchange(server, request(extra=b"Host: other\r\n"))
    assert_refused(answers[0], 400, "BadRequest", "The request has more than one Host header.")
    answers, _ = exchange(server, request(host=None, version=b"HTTP/1.0"))
    assert_served(answers[0])


@pytest.mark.parametrize(
    "extra,reason",
    [
        (
            b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",
            "Content-Length can't be present with Transfer-Encoding",
        ),
        (
            b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding can't be present with Content-Length",
        ),
        (b"Content-Length: 2\r\nContent-Length: 3\r\n", "Duplicate Content-Length"),
        (b"Content-Length: 2\r\nContent-Length: 2\r\n", "Duplicate Content-Length"),
        (b"Content-Length: -2\r\n", "Invalid character in Content-Length"),
        (b"Content-Length: 2, 2\r\n", "Invalid character in Content-Length"),
        (b"Content-Length: abc\r\n", "Invalid character in Content-Length"),
        (b"Content-Length: \r\n", "Empty Content-Length"),
        (b"Content-Length: 99999999999999999999999\r\n", "Content-Length overflow"),
    ],
    ids=["cl-te", "te-cl", "two-lengths", "same-length-twice", "negative", "list", "letters", "empty", "overflow"],
)
def test_conflicting_or_invalid_lengths_are_400(server, extra, reason):
    answers, _ = exchange(server, request(length=False, extra=extra, body=b"{}"))
    assert len(answers) == 1
    assert_refused(answers[0], 400, "BadRequest", f"The HTTP request is malformed: {reason}.")


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # a TLS ClientHello
        b"GET\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"POST / HTTP/1.2\r\nHost: x\r\n\r\n",
        b"POST /\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST http://x:99999/ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\n folded: y\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nX :y\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 20 + b"\r\n",
    ],
)
def test_malformed_http_is_an_aws_shaped_400(server, garbage):
    answers, _ = exchange(server, garbage)
    assert len(answers) == 1
    assert_refused(answers[0], 400, "BadRequest")
    assert answers[0].doc["message"].startswith("The HTTP request is malformed: ")


def test_a_protocol_switch_is_501_and_connect_is_answered_once(server):
    upgrade = b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
    answers, _ = exchange(server, request(extra=upgrade) + request())  # what `curl --http2 -d '{}' http://...` sends
    assert len(answers) == 1
    assert_refused(answers[0], 501, "NotImplemented", f"{NOT_IMPLEMENTED} (Upgrade: no protocol switch).")
    answers, _ = exchange(server, b"CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n" + request())
    assert [(a.status, a.headers["connection"]) for a in answers] == [(400, "close")]
    assert answers[0].doc["__type"] == "UnknownOperationException"


def test_a_refusal_follows_the_answers_to_the_requests_before_it(server):
    """Pipelined requests are answered in order, so a refusal must wait for the responses before it: written at once,
    it would be read as the answer to the first request."""
    for broken in (
        b"GARBAGE\r\n\r\n",
        request(host=None),
        request(length=False, extra=b"Transfer-Encoding: gzip\r\n"),
        request(extra=b"X-Huge: " + b"v" * (MAX_HEADER_BYTES + 1) + b"\r\n"),
    ):
        answers, _ = exchange(server, request() * 3 + broken + request())
        assert [answer.status for answer in answers][:3] == [200, 200, 200]
        assert len(answers) == 4 and answers[3].status in (400, 501), answers[3:]
        assert_refused(answers[3], answers[3].status, answers[3].doc["__type"])


def test_a_request_cut_short_by_the_client_is_not_run(server):
    create = request(target="CreateImage", body=json.dumps({"ImageName": "cut", "RoleArn": ROLE}).encode())
    for end in (20, len(create) - 30, len(create) - 1):
        answers, _ = exchange(server, create[:end], half_close=True)
        assert answers == []
    answers, _ = exchange(server, create[:-1])
    assert_refused(answers[0], 408, "RequestTimeout")
    assert server.client().list_images()["Images"] == []


# ---- property: whatever bytes arrive, whole responses or a clean close -------------------------------------------

EXAMPLES = int(os.environ.get("SMIMAGES_HTTP_FUZZ_EXAMPLES", "250"))
LONG_RUN = "SMIMAGES_HTTP_FUZZ_EXAMPLES" in os.environ
FUZZ_TIMEOUT = 0.5
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not LONG_RUN,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class Req:
    """A request to render as bytes, each part replaceable by a mutation."""

    method: bytes = b"POST"
    target: bytes = b"/"
    version: bytes = b"HTTP/1.1"
    lines: list[bytes] = field(default_factory=list)  # header field lines, without line ends
    body: bytes = b""  # as sent (already in the chunked coding for a chunked request)
    eol: bytes = b"\r\n"
    closes: bool = False  # the server closes the connection after answering it (HTTP/1.0, Connection: close)

    def render(self) -> bytes:
        start = self.method + b" " + self.target + b" " + self.version
        return self.eol.join([start, *self.lines]) + self.eol + self.eol + self.body


@dataclass
class Unit:
    data: bytes
    valid: bool  # a request every server must answer 200 (or close after, if `closes`)
    closes: bool = False


def name_case(name: bytes, style: int) -> bytes:
    return (name, name.lower(), name.upper())[style]


@st.composite
def chunk_coding(draw, body: bytes, trailers: bool = True) -> bytes:
    """`body` in the chunked coding: random chunk sizes, hex case, leading zeros, extensions, trailer fields."""
    out, at = b"", 0
    while at < len(body):
        size = draw(st.integers(1, len(body) - at))
        digits = b"%x" % size if draw(st.booleans()) else b"%X" % size
        ext = draw(st.sampled_from([b"", b"", b";a=b", b";name", b';q="x y"']))
        out += b"0" * draw(st.integers(0, 2)) + digits + ext + b"\r\n" + body[at : at + size] + b"\r\n"
        at += size
    fields = (
        draw(
            st.lists(
                st.sampled_from([b"X-Trailer: 1", b"x-amz-checksum-crc32: AAAAAA==", b"Empty:", b"X-Spaces:  a b  "]),
                max_size=3,
            )
        )
        if trailers
        else []
    )
    return out + b"0\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n"


@st.composite
def valid_requests(draw) -> Req:
    """Requests a server must answer 200, written in the many ways HTTP allows."""
    style = draw(st.integers(0, 2))
    ows = draw(st.sampled_from([b" ", b"", b"\t", b"  "]))

    def line(name: bytes, value: bytes) -> bytes:
        # (llhttp reads a Transfer-Encoding ending in a tab as some other coding: see test_transfer_codings_...)
        after = [b"", b"", b" "] if name == b"Transfer-Encoding" else [b"", b"", b" ", b"\t"]
        return name_case(name, style) + b":" + ows + value + draw(st.sampled_from(after))

    host = line(b"Host", draw(st.sampled_from([b"127.0.0.1", b"localhost:8080", b"sagemaker.us-east-1.amazonaws.com"])))
    extras = [
        line(n, v)
        for n, v in draw(
            st.lists(
                st.sampled_from(
                    [
                        (b"User-Agent", b"fuzz/1.0"),
                        (b"Accept-Encoding", b"identity"),
                        (b"X-Amz-Date", b"20260101T000000Z"),
                        (b"Expect", b"100-continue"),
                        (b"X-Empty", b""),
                        (b"Accept", b"*/*"),
                        (b"Connection", b"keep-alive"),
                    ]
                ),
                max_size=3,
                unique=True,
            )
        )
    ]
    if draw(st.integers(0, 5)) == 0:  # the health check: a bodiless GET
        return Req(method=b"GET", target=b"/_smimages/health", lines=draw(st.permutations([host, *extras])))
    body = draw(st.sampled_from([b"{}", b'{"MaxResults": 5}', b'{"NameContains": "img"}', b"{ }"]))
    lines = [host, line(b"Content-Type", JSON11.encode()), line(b"X-Amz-Target", b"SageMaker.ListImages"), *extras]
    version, closes = b"HTTP/1.1", False
    if draw(st.integers(0, 7)) == 0:
        version, closes = b"HTTP/1.0", True
    elif draw(st.integers(0, 7)) == 0:
        lines.append(line(b"Connection", b"close"))
        closes = True
    if version == b"HTTP/1.1" and draw(st.booleans()):
        lines.append(line(b"Transfer-Encoding", draw(st.sampled_from([b"chunked", b"Chunked", b"CHUNKED"]))))
        body = draw(chunk_coding(body))
    else:
        lines.append(line(b"Content-Length", b"%d" % len(body)))
    return Req(version=version, lines=draw(st.permutations(lines)), body=body, closes=closes)


def _without(req: Req, name: bytes) -> list[bytes]:
    return [line for line in req.lines if not line.lower().startswith(name + b":")]


def _framed(req: Req, *headers: bytes, body: bytes | None = None) -> Req:
    """req with its framing headers replaced by `headers` and its body by `body` (default: the JSON unframed)."""
    lines = [line for line in _without(req, b"content-length") if not line.lower().startswith(b"transfer-encoding:")]
    return replace(req, lines=lines + list(headers), body=b"{}" if body is None else body)


# each mutation: (draw, a valid request) -> the bytes of a request some rule refuses (or that a server may take)
MUTATIONS = {
    "no host": lambda draw, r: replace(r, lines=_without(r, b"host")).render(),
    "two hosts": lambda draw, r: replace(r, lines=[*r.lines, b"Host: other"]).render(),
    "transfer coding": lambda draw, r: _framed(
        r,
        b"Transfer-Encoding: "
        + draw(
            st.sampled_from(
                [
                    b"gzip, chunked",
                    b"identity",
                    b"gzip",
                    b"chunked, gzip",
                    b"chunked;q=1",
                    b"",
                    b"x",
                    b",chunked",
                    b"chunked ,",
                    b'"chunked"',
                    b"chunked chunked",
                    b"deflate",
                    b"chunked\t",
                    b"\tchunked",
                    b"chunked\t ",
                    b"chunked,",
                ]
            )
        ),
        body=draw(chunk_coding(b"{}")),
    ).render(),
    "two transfer-encodings": lambda draw, r: _framed(
        r,
        b"Transfer-Encoding: chunked",
        b"Transfer-Encoding: " + draw(st.sampled_from([b"chunked", b"gzip", b"identity"])),
        body=draw(chunk_coding(b"{}")),
    ).render(),
    "length and coding": lambda draw, r: _framed(
        r,
        *draw(st.permutations([b"Content-Length: 2", b"Transfer-Encoding: chunked"])),
        body=draw(st.sampled_from([b"{}", chunked(b"{}")])),
    ).render(),
    "two lengths": lambda draw, r: _framed(
        r, b"Content-Length: 2", b"Content-Length: " + draw(st.sampled_from([b"2", b"3", b"0"]))
    ).render(),
    "bad length": lambda draw, r: _framed(
        r,
        b"Content-Length: "
        + draw(st.sampled_from([b"-1", b"abc", b"1 2", b"+2", b"0x2", b"99999999999999999999", b"", b"2,2", b"2.0"])),
    ).render(),
    "wrong length": lambda draw, r: _framed(r, b"Content-Length: %d" % draw(st.integers(0, 40))).render(),
    "version": lambda draw, r: replace(
        r,
        version=draw(
            st.sampled_from(
                [
                    b"HTTP/1.2",
                    b"HTTP/2.0",
                    b"HTTP/0.9",
                    b"HTTP/1",
                    b"HTTP/11",
                    b"http/1.1",
                    b"HTTP/1.1 ",
                    b"HTTP/3.0",
                    b"ICE/1.0",
                    b"RTSP/1.0",
                ]
            )
        ),
    ).render(),
    "http/1.0 chunked": lambda draw, r: _framed(
        replace(r, version=b"HTTP/1.0"), b"Transfer-Encoding: chunked", body=chunked(b"{}")
    ).render(),
    "method": lambda draw, r: replace(
        r,
        method=draw(
            st.sampled_from(
                [
                    b"GET",
                    b"PUT",
                    b"DELETE",
                    b"OPTIONS",
                    b"PATCH",
                    b"CONNECT",
                    b"PRI",
                    b"G ET",
                    b"",
                    b"\x00",
                    b"post",
                    b"TRACE",
                    b"M-SEARCH",
                ]
            )
        ),
    ).render(),
    "target": lambda draw, r: replace(
        r,
        target=draw(
            st.sampled_from(
                [
                    b"*",
                    b"http://x:99999/",
                    b"http://[::1/",
                    b"/\xff",
                    b"/a b",
                    b"?x",
                    b"//",
                    b"/%zz",
                    b"http://a:b/",
                    b"",
                    b"http://h/p?q#f",
                    b"/" + b"a" * (MAX_HEADER_BYTES + 10),
                    b"example.com:443",
                    b"/\x7f",
                    b"/a\tb",
                ]
            )
        ),
    ).render(),
    "line ends": lambda draw, r: replace(r, eol=draw(st.sampled_from([b"\n", b"\r", b"\r\r\n", b"\n\r"]))).render(),
    "header syntax": lambda draw, r: replace(
        r,
        lines=[
            *r.lines,
            draw(
                st.sampled_from(
                    [
                        b"No colon",
                        b"Sp ace: x",
                        b"X: a\x00b",
                        b" folded: y",
                        b"\tfolded: y",
                        b"X :y",
                        b"X: \x7f",
                        b": v",
                        b"X\x01: y",
                        b"X: caf\xc3\xa9",
                        b"X: \xff",
                        b"(x): y",
                    ]
                )
            ),
        ],
    ).render(),
    "upgrade": lambda draw, r: replace(
        r,
        lines=[
            *r.lines,
            b"Connection: " + draw(st.sampled_from([b"Upgrade", b"upgrade, keep-alive", b"keep-alive"])),
            b"Upgrade: " + draw(st.sampled_from([b"h2c", b"websocket", b"TLS/1.0"])),
        ],
    ).render(),
    "huge header": lambda draw, r: replace(
        r, lines=[*r.lines, b"X-Huge: " + b"v" * draw(st.sampled_from([MAX_HEADER_BYTES - 400, MAX_HEADER_BYTES + 1]))]
    ).render(),
    "many headers": lambda draw, r: replace(
        r,
        lines=r.lines
        + [
            b"X-H%d: v" % i
            for i in range(draw(st.sampled_from([MAX_HEADER_COUNT - len(r.lines), MAX_HEADER_COUNT + 1])))
        ],
    ).render(),
    "chunk syntax": lambda draw, r: _framed(
        r,
        b"Transfer-Encoding: chunked",
        body=draw(
            st.sampled_from(
                [
                    b"zz\r\n{}\r\n0\r\n\r\n",
                    b"f" * 20 + b"\r\n",
                    b"-1\r\n",
                    b"2 \r\n{}\r\n0\r\n\r\n",
                    b"2\r\n{}XX0\r\n\r\n",
                    b"1\r\n{}\r\n0\r\n\r\n",
                    b"0x2\r\n{}\r\n0\r\n\r\n",
                    b"2\r\n{}\r\n0\r\nBad trailer\r\n\r\n",
                    b"2\r\n{}\r\n0\r\n" + b"X-T: " + b"v" * (MAX_HEADER_BYTES + 100) + b"\r\n\r\n",
                    b"2\n{}\n0\n\n",
                    b"2;" + b"e" * 3000 + b"\r\n{}\r\n0\r\n\r\n",
                    b"2\r\n{}\r\n0\r\n" + b"T: v\r\n" * (MAX_HEADER_COUNT + 1) + b"\r\n",
                ]
            )
        ),
    ).render(),
    "random bytes": lambda draw, r: draw(st.binary(min_size=1, max_size=80)),
    "mangled bytes": lambda draw, r: _mangle(draw, r.render()),
    "constant": lambda draw, r: draw(
        st.sampled_from(
            [
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
                b"GET\r\n\r\n",
                b"\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            ]
        )
    ),
}


def _mangle(draw, data: bytes) -> bytes:
    """data with a few bytes replaced, inserted or deleted."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.integers(0, 2))
        if op == 0:
            data[at] = draw(st.integers(0, 255))
        elif op == 1:
            data[at:at] = draw(st.binary(min_size=1, max_size=3))
        else:
            del data[at]
    return bytes(data)


@st.composite
def units(draw) -> Unit:
    req = draw(valid_requests())
    blank = b"\r\n" * draw(st.sampled_from([0, 0, 0, 1, 2]))  # empty lines before a request are allowed
    if draw(st.integers(0, 2)) == 0:
        return Unit(blank + req.render(), valid=True, closes=req.closes)
    mutation = draw(st.sampled_from(sorted(MUTATIONS)))
    return Unit(blank + MUTATIONS[mutation](draw, req), valid=False)


@st.composite
def connections(draw) -> tuple[list[Unit], bytes, str]:
    """(the requests, the bytes sent, how the client ends: "close" after a last Connection: close request,
    "half-close" after (a prefix of) the bytes, or "wait" for the server after a prefix ending inside a request)."""
    sent = draw(st.lists(units(), min_size=1, max_size=4))
    data = b"".join(unit.data for unit in sent)
    ending = draw(st.sampled_from(["close", "half-close", "wait"]))
    if ending == "close":
        return sent, data + request(extra=CLOSE), ending
    if ending == "half-close":
        return sent, data[: draw(st.integers(0, len(data)))], ending
    # inside a valid request (past its empty lines), so that the server is reading a request when the client stops
    valid = [i for i, unit in enumerate(sent) if unit.valid]
    if not valid:
        return sent, data[: draw(st.integers(0, len(data)))], "half-close"
    last = draw(st.sampled_from(valid))
    start = sum(len(unit.data) for unit in sent[:last])
    unit = sent[last].data
    blank = len(unit) - len(unit.lstrip(b"\r\n"))
    return sent[:last], data[: start + blank + draw(st.integers(1, len(unit) - blank - 1))], ending


@pytest.fixture(scope="module")
def fuzz_server():
    server = ServerProcess("--db", "sqlite://", "--request-timeout", str(FUZZ_TIMEOUT)).start()
    server.log = Log(server)
    yield server
    server.stop()


@FUZZ
@given(connection=connections())
def test_fuzz_every_connection_gets_whole_responses_or_a_clean_close(fuzz_server, connection):
    sent, data, ending = connection
    # (a server may keep a connection whose requests were all complete for the keep-alive time)
    answers, seconds = exchange(fuzz_server, data, half_close=ending == "half-close", wait=KEEP_ALIVE + 2)
    event(f"{ending}: " + " ".join(str(answer.status) for answer in answers[-2:]))
    event("slow" if seconds > 1 else "fast")
    for i, answer in enumerate(answers):
        assert answer.status in (200, 400, 408, 413, 501), answer
        if answer.status != 200:
            assert answer.headers["content-type"] == JSON11 and answer.headers["x-amzn-requestid"], answer
            assert answer.headers["x-amzn-errortype"] == answer.doc["__type"], answer
            assert "message" in answer.doc or answer.doc["__type"] in (
                "UnknownOperationException",
                "SerializationException",
            ), answer
        if answer.headers.get("connection") == "close":
            assert i == len(answers) - 1, "a response after one that closed the connection"
    # the requests before the first that is not a plain valid one are all answered 200, in order (when the client
    # half-closes, the server may close before answering the last of them: a clean close)
    served = 0
    for unit in sent:
        if not unit.valid:
            break
        served += 1
        if unit.closes:
            break
    if ending == "half-close":
        served = min(served, len(answers))
    assert len(answers) >= served and all(answer.status == 200 for answer in answers[:served]), answers
    if ending == "close" and served == len(sent) and not any(unit.closes for unit in sent):
        assert len(answers) == served + 1 and answers[-1].status == 200, answers
    assert_no_traceback(fuzz_server.log.new())


def test_after_the_fuzz_the_server_still_serves(fuzz_server):
    assert fuzz_server.client().list_images()["Images"] == []
    assert_no_traceback(fuzz_server.log.new())
