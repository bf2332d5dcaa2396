"""The HTTP server: uvicorn on httptools, with RFC 9112 framing, head limits and connection deadlines, on asyncio."""

import asyncio
import contextlib
import functools
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Generator
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from .app import refusal
from .errors import (
    INTERNAL_FAILURE,
    TEMPORARY_FAILURE,
    BadRequest,
    FunctionalityNotImplemented,
    InternalFailure,
    RequestHeaderSectionTooLarge,
    RequestTimeout,
    ServiceError,
    ServiceUnavailable,
)
from .protocol.wire import MAX_HEADER_BYTES, MAX_HEADER_COUNT

DEFAULT_REQUEST_TIMEOUT = 20.0
log = logging.getLogger("smimages.http")
# the header fields on_header looks at beyond storing them; Content-Length is llhttp's to check (one, digits only,
# never with Transfer-Encoding), and Connection is looked at through llhttp's verdict (should_upgrade)
_WATCHED = frozenset((b"host", b"transfer-encoding", b"expect", b"upgrade"))
_NOT_IMPLEMENTED = "A header you provided implies functionality that is not implemented"  # S3's text


def _head_too_large() -> RequestHeaderSectionTooLarge:
    """The refusal of a request head (or trailer section) over the limits."""
    return RequestHeaderSectionTooLarge("Your request header section exceeds the maximum allowed size.")


def _malformed(reason: object) -> BadRequest:
    """The refusal of a request llhttp cannot read, with its reason ("Invalid header value char", ...)."""
    return BadRequest(f"The HTTP request is malformed: {reason}.")


class Protocol(HttpToolsProtocol):
    """One client connection, as uvicorn serves it, answering in AWS's error shape, then closing, whatever it will not
    read: a head past MAX_HEADER_BYTES or MAX_HEADER_COUNT, a request not wholly received in time, framing RFC 9112
    refuses (no Host, conflicting lengths, an unknown transfer coding), a request over the connection limit.

    Every connection is bounded in time: its first request must arrive within `request_timeout` of its acceptance
    (one that sends nothing is closed without an answer), each later one within `request_timeout` of its first byte,
    the time between them is uvicorn's keep-alive timeout, and one whose client leaves its responses unread for
    `request_timeout` is dropped.

    It extends uvicorn's parser callbacks and request cycle, which are not a public API:
    tests/server/test_hostile_input.py and tests/server/test_http_framing.py drive every rule over a socket, so an
    uvicorn release that changes them fails there."""

    def __init__(self, *args: Any, request_timeout: float = DEFAULT_REQUEST_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout
        # over the limit a request is answered 503 here, in AWS's shape, rather than by uvicorn in plain text; the
        # connection making the request counts, so `limit` connections are served
        self._limit = self.limit_concurrency or sys.maxsize
        self.limit_concurrency = None
        # when the request now arriving began, and the timer that answers 408 unless it is all here in time (armed
        # at acceptance for the first request, then only for a request still incomplete when a chunk has been read:
        # most arrive whole in one)
        self._began = 0.0
        self._deadline: asyncio.TimerHandle | None = None
        # the timer that drops a client leaving its responses unread (armed when writes pause)
        self._unread: asyncio.TimerHandle | None = None
        # The size of the head (or of a chunked body's trailer section) two ways: what the parser has handed over
        # (exact), and the bytes received while inside it, which bounds what the parser buffers of a field that
        # never ends (it counts the chunk the section began in only when a request began at the start of it).
        self._head_bytes: int | None = None  # None outside a head or trailer section
        self._head_count = self._unparsed = self._chunk = 0
        self._in_message = self._fresh = False
        self._after_head = False  # this request's head is complete and the app has it: a field now is a trailer
        # what on_header saw that on_headers_complete must look at: Host fields, Transfer-Encoding, Upgrade
        self._hosts, self._unusual = 0, False
        self._codings: bytes | None = None
        self._refused = False

    # ---- the connection -------------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._began = self.loop.time()
        self._deadline = self.loop.call_at(self._began + self.request_timeout, self._too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        if self._unread is not None:
            self._unread.cancel()
            self._unread = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # (uvicorn cancels the keep-alive timer here; on_message_begin does, so bytes that begin no request, blank
        # lines, leave it running)
        self._fresh, self._chunk = not self._in_message, len(data)
        if self._head_bytes is not None:
            self._unparsed += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:  # a callback raised: the error is its context
            self._refuse(self._callback_error(exc.__context__))
        except httptools.HttpParserError as exc:
            self._refuse(_malformed(exc))
        except httptools.HttpParserUpgrade:  # CONNECT (a switch by Upgrade is refused by on_headers_complete)
            self._close_after_response()
        else:
            if self._head_bytes is not None and self._unparsed > MAX_HEADER_BYTES:
                self._refuse(_head_too_large())
            elif self._in_message and self._deadline is None:
                self._deadline = self.loop.call_at(self._began + self.request_timeout, self._too_slow)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._unread is None:
            self._unread = self.loop.call_later(self.request_timeout, self._not_read)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._unread is not None:
            self._unread.cancel()
            self._unread = None

    # ---- parser callbacks -----------------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._unset_keepalive_if_required()
        super().on_message_begin()
        self._in_message, self._after_head, self._head_bytes, self._head_count = True, False, 0, 0
        self._hosts, self._codings, self._unusual = 0, None, False
        self._unparsed = self._chunk if self._fresh else 0
        self._began = self.loop.time()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)  # type: ignore[operator]  # an int inside a request head (on_message_begin)
        if self._head_bytes > MAX_HEADER_BYTES:
            raise _head_too_large()
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_count += 1
        self._head_bytes += len(name) + len(value) + 4  # type: ignore[operator]  # an int inside a head
        if self._head_bytes > MAX_HEADER_BYTES or self._head_count > MAX_HEADER_COUNT:
            raise _head_too_large()
        if self._after_head:  # a trailer field, after a chunked body: read and dropped (RFC 9112 section 7.1.2)
            return
        # uvicorn's on_header, inline: llhttp keeps trailing whitespace, which RFC 9110 section 5.5 excludes
        name = name.lower()
        stripped = value.rstrip(b" \t")
        if name in _WATCHED:
            if name == b"host":
                self._hosts += 1
            elif name == b"transfer-encoding":  # as llhttp has it (it reads `chunked<tab>` as another coding)
                self._codings = value if self._codings is None else self._codings + b", " + value
                self._unusual = True
            elif name == b"upgrade":
                self._unusual = True
            elif stripped.lower() == b"100-continue":
                self.expect_100_continue = True
        self.headers.append((name, stripped))

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        if self._hosts != 1 or self._unusual or len(self.connections) > self._limit or len(self.tasks) >= self._limit:
            self._check_head()
        super().on_headers_complete()
        self._after_head = True
        _OneWrite(self.transport, self.cycle)

    def on_chunk_header(self) -> None:
        """A chunk of a chunked body begins. After the last (empty) one come the trailer fields, which httptools
        buffers whole: until the chunk's data arrives (on_body) they are counted as a head is."""
        self._head_bytes, self._head_count, self._unparsed = 0, 0, 0

    def on_body(self, body: bytes) -> None:
        self._head_bytes = None  # (chunk) data, so not a trailer section
        super().on_body(body)

    def on_chunk_complete(self) -> None:
        self._head_bytes = None

    def on_message_complete(self) -> None:
        self._in_message = self._fresh = False
        self._cancel_deadline()
        super().on_message_complete()

    # ---- refusals -------------------------------------------------------------------------------------------------

    def _check_head(self) -> None:
        """Raises the refusal of a complete request head that on_headers_complete's quick test flagged, in RFC 9112's
        order of concerns (framing before anything else); returns for one that is fine (HTTP/1.0 without Host)."""
        version = self.parser.get_http_version()
        if self._hosts > 1:
            raise BadRequest("The request has more than one Host header.")
        if self._hosts == 0 and version not in ("1.0", "0.9"):  # RFC 9112 section 3.2
            raise BadRequest("The request has no Host header.")
        if self._codings is not None:
            if version != "1.1":  # HTTP/1.1 introduced it: in an older request the framing is faulty (section 6.1)
                raise BadRequest(f"Transfer-Encoding is not allowed in an HTTP/{version} request.")
            # llhttp has refused `chunked` followed by another coding (400: section 6.3), and refuses after this
            # any value it does not read as chunked: what it reads as chunked but is not just that is refused here
            if self._codings.rstrip(b" ").lower() != b"chunked":
                raise FunctionalityNotImplemented(f"{_NOT_IMPLEMENTED} (Transfer-Encoding: only chunked is).")
        if self._unusual and self.parser.should_upgrade():  # llhttp would skip the body and stop reading
            raise FunctionalityNotImplemented(f"{_NOT_IMPLEMENTED} (Upgrade: no protocol switch).")
        if len(self.connections) > self._limit or len(self.tasks) >= self._limit:
            raise ServiceUnavailable(TEMPORARY_FAILURE)

    def _callback_error(self, error: BaseException | None) -> ServiceError:
        """The answer to an exception a parser callback raised."""
        if isinstance(error, ServiceError):
            return error
        if isinstance(error, httptools.HttpParserInvalidURLError):  # uvicorn's parse of the request target
            return _malformed("Invalid request target")
        if isinstance(error, httptools.HttpParserError):  # httptools' own checks
            return _malformed(error)
        log.error("unexpected error reading a request", exc_info=error)
        return InternalFailure(INTERNAL_FAILURE)

    def _too_slow(self) -> None:
        """The deadline of the request arriving (or of the connection's first) has passed."""
        self._deadline = None
        if not self._in_message:  # nothing (or only blank lines) since the connection was accepted: no answer
            log.debug("closing a connection that sent no request within %gs", self.request_timeout)
            self.transport.close()
        elif self.flow.read_paused:  # the server is not reading (earlier responses are pending): not the client's delay
            self._deadline = self.loop.call_later(self.request_timeout, self._too_slow)
        else:
            self._refuse(
                RequestTimeout(
                    "Your socket connection to the server was not read from or written to "
                    "within the timeout period. Idle connections will be closed."
                )
            )

    def _not_read(self) -> None:
        """The client has left its responses unread for request_timeout: the connection is dropped."""
        self._unread = None
        log.info("dropping a connection whose responses were not read within %gs", self.request_timeout)
        self.transport.abort()

    def _refuse(self, error: ServiceError) -> None:
        """Answers `error` to the request being received and closes the connection; nothing more the client sends is
        read. If the answers to earlier (pipelined) requests are still to be sent, it follows them, so that every
        answer reaches the request it is for."""
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self._cancel_deadline()
        self._unset_keepalive_if_required()
        self.parser = _DISCARD  # type: ignore[assignment]  # it answers feed_data, all that is called now
        owed = bool(self.pipeline) or (self.cycle is not None and not self.cycle.response_complete)
        if self._in_message and self._after_head:  # the app has this request: it sees the client leave
            cycle = self.cycle
            queued = [entry for entry in self.pipeline if entry[0] is cycle]
            for entry in queued:
                self.pipeline.remove(entry)
            owed = bool(queued)  # queued behind an earlier request's response, else nothing is owed before it
            if not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()
                if cycle.response_started:  # its answer is partly written: nothing can follow it
                    self.transport.close()
                    return
        self._in_message, self._head_bytes = False, None
        response = refusal(error)
        lines = [STATUS_LINE[response.status], *(f"{name}: {value}\r\n".encode() for name, value in response.headers)]
        lines += [b"content-length: %d\r\n\r\n" % len(response.body), response.body]
        if owed:  # uvicorn starts it once the responses before it are sent (on_response_complete)
            self.pipeline.appendleft((_Answer(self.transport, b"".join(lines)), None))  # type: ignore[arg-type]
        else:
            self.transport.write(b"".join(lines))
            self.transport.close()

    def _close_after_response(self) -> None:
        """llhttp reads nothing after a CONNECT request (the app has it): the connection closes once it is answered."""
        self._cancel_deadline()
        self.parser = _DISCARD  # type: ignore[assignment]  # it answers feed_data, all that is called now
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
        else:
            self.cycle.keep_alive = False

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


class _Discard:
    """The parser of a connection whose last request was refused: what the client still sends is dropped."""

    @staticmethod
    def feed_data(data: bytes) -> None:
        pass


_DISCARD = _Discard()


class _Answer:
    """A refusal waiting in uvicorn's pipeline of requests for the responses before it, as a request cycle would."""

    def __init__(self, transport: asyncio.Transport, data: bytes) -> None:
        self._transport, self._data = transport, data

    async def run_asgi(self, app: object) -> None:
        if not self._transport.is_closing():
            self._transport.write(self._data)
            self._transport.close()


class _OneWrite:
    """A response's view of its connection: what it writes once started leaves in one write when it completes
    (uvicorn writes the status line and headers, then the body: a system call, and a packet, each)."""

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self._transport, self._cycle, self._completed = transport, cycle, cycle.on_response
        self._held: list[bytes] = []
        # it stands in for the cycle's transport: the cycle only calls write, is_closing and close, which it has
        cycle.transport, cycle.on_response = self, self._complete  # type: ignore[assignment]

    def write(self, data: bytes) -> None:
        if self._cycle.response_started:
            self._held.append(data)
        else:  # an interim "100 Continue" goes out at once
            self._transport.write(data)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def _complete(self) -> None:
        self._flush()
        self._completed()

    def _flush(self) -> None:
        if self._held:
            self._transport.write(b"".join(self._held))
            self._held = []


def options(request_timeout: float = DEFAULT_REQUEST_TIMEOUT) -> dict[str, Any]:
    """The uvicorn.run / uvicorn.Config arguments that serve an app with Protocol, without uvicorn's access log
    (smimages logs requests itself) or its `server: uvicorn` header.

    The loop is asyncio's, even where uvloop is installed: with requests run inline on the loop (SQLite), uvloop
    served some connections late under load (ListImageVersions at 64 connections: p99 22 x p50, against 1.05 x on
    asyncio's loop; docs/benchmarks/README.md), for about 10 % more Describe throughput."""
    return {
        "http": functools.partial(Protocol, request_timeout=request_timeout),
        "ws": "none",
        "loop": "asyncio",
        "proxy_headers": False,
        "log_config": None,
        "access_log": False,
        "server_header": False,
    }


def listen(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A TCP socket bound to host:port (0: a free port) and listening, as uvicorn would make it; the OSError of a
    port in use, an address not of this machine or an unresolvable name is the caller's to explain."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


_STOPPING = (signal.SIGTERM, signal.SIGINT)


class _Server(uvicorn.Server):
    """uvicorn's server, taking the stop signals held back since run() began once its handlers are in place: one that
    came earlier (a Ctrl-C as the server starts) then stops it gracefully, instead of reaching asyncio's own handler,
    whose cancellation of the starting server can be lost, leaving it running."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        with super().capture_signals():
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
            yield


def hold_stop_signals() -> None:
    """Holds SIGINT and SIGTERM pending, from the moment a server says it serves until its handlers are in place
    (run, run_processes): neither the default action nor a disposition of SIG_IGN (a background job of a script) may
    end or ignore a stop meant for it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)


def run(
    app: Callable[..., Any], sock: socket.socket, request_timeout: float = DEFAULT_REQUEST_TIMEOUT, **config: Any
) -> None:
    """Serves `app` with uvicorn (uvicorn.Config(app, **config) and options(request_timeout)) on a listening socket
    (listen()), until SIGINT or SIGTERM; uvicorn re-raises the signal once it has shut down gracefully, and the
    KeyboardInterrupt of a SIGINT is the normal end then. One that comes while it starts is held until it can stop
    gracefully (_Server).

    What was built before it (the botocore model, SQLAlchemy's statements, the imported modules) lives as long as the
    server, so it is first left out of the garbage collector's full passes, which would otherwise walk it again and
    again (about 5 % of a Describe's instructions)."""
    hold_stop_signals()  # until uvicorn handles them (_Server)
    try:
        gc.collect()
        gc.freeze()
        server = _Server(uvicorn.Config(app, **config, **options(request_timeout)))
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            if not server.started:
                raise
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)


def run_processes(
    build: Callable[[int], tuple[Callable[..., Any], Callable[[], None]]],
    sock: socket.socket,
    processes: int,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    **config: Any,
) -> None:
    """Serves with `processes` forked processes sharing the listening socket (the kernel spreads connections among
    them). Each builds its own app with build(index) -> (app, close), after the fork, since database connections and
    threads cannot cross one, and serves it with run(). Each is in a process group of its own, so that a Ctrl-C
    reaches this parent only; SIGINT or SIGTERM to it is passed on to them as SIGTERM (one graceful stop each). A
    process that dies while they serve is started again."""
    children: dict[int, int] = {}  # pid -> index
    stopping = False

    def spawn(index: int) -> None:
        # A stop signal must not end the child before uvicorn handles it: the child starts with them blocked (held
        # pending) and _Server unblocks them once uvicorn's handlers are installed.
        hold_stop_signals()
        pid = os.fork()
        if pid:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
            children[pid] = index
            return
        code = 0
        try:  # the child: in a process group of its own (stop signals come from the parent), default dispositions
            os.setpgid(0, 0)
            for signum in _STOPPING:
                signal.signal(signum, signal.SIG_DFL)
            app, close = build(index)
            try:
                run(app, sock, request_timeout, **config)
            finally:
                close()
        except KeyboardInterrupt:
            pass
        except BaseException:
            log.exception("server process %d failed", index)
            code = 1
        finally:
            os._exit(code)

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {signum: signal.signal(signum, stop) for signum in _STOPPING}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
    try:
        for number in range(processes):
            if not stopping:  # a stop held since the server said it serves
                spawn(number)
        while children:
            pid, status = os.wait()
            ended = children.pop(pid) if pid in children else None
            if ended is not None and not stopping:
                log.error(
                    "server process %d (pid %d) ended with status %d; starting it again",
                    ended,
                    pid,
                    os.waitstatus_to_exitcode(status),
                )
                time.sleep(1)
                spawn(ended)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
