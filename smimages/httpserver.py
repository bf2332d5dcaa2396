"""The HTTP server: uvicorn on httptools, with the request-head limits and read deadline, and asyncio's own loop."""

import asyncio
import functools
import gc
from collections.abc import Callable
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from .app import refusal
from .errors import RequestHeaderSectionTooLarge, RequestTimeout, ServiceError
from .protocol.wire import MAX_HEADER_BYTES, MAX_HEADER_COUNT

DEFAULT_REQUEST_TIMEOUT = 20.0


def _head_too_large() -> RequestHeaderSectionTooLarge:
    """The refusal of a request head over the limits."""
    return RequestHeaderSectionTooLarge("Your request header section exceeds the maximum allowed size.")


class Protocol(HttpToolsProtocol):
    """One client connection, as uvicorn serves it, refusing in AWS's error shape (and closing) a request whose
    head passes MAX_HEADER_BYTES or MAX_HEADER_COUNT, or that is not wholly received within `request_timeout`.

    It extends uvicorn's parser callbacks and request cycle, which are not a public API:
    tests/server/test_hostile_input.py drives every limit over a socket, so an uvicorn release that changes them
    fails there."""

    _deadline: asyncio.TimerHandle | None

    def __init__(self, *args: Any, request_timeout: float = DEFAULT_REQUEST_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout
        # when the request now arriving began, and the timer that answers 408 unless it is all here in time (armed
        # only for a request still incomplete when a chunk has been read: most arrive whole in one)
        self._began, self._deadline = 0.0, None
        # The head's size, two ways: what the parser has handed over (exact), and the bytes received while inside
        # the head, which bounds what the parser buffers of a header that never ends (it counts the chunk the
        # request began in only when the request began at the start of it).
        self._head_bytes: int | None = None  # None outside a request head
        self._head_count = self._unparsed = self._chunk = 0
        self._in_message, self._fresh = False, False

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        self._fresh, self._chunk = not self._in_message, len(data)
        if self._head_bytes is not None:
            self._unparsed += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, ServiceError):
                raise
            self._refuse(exc.__context__)
        except httptools.HttpParserError:
            self.send_400_response("Invalid HTTP request received.")
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()
        else:
            if self._head_bytes is not None and self._unparsed > MAX_HEADER_BYTES:
                self._refuse(_head_too_large())
            elif self._in_message and self._deadline is None:
                self._deadline = self.loop.call_at(self._began + self.request_timeout, self._too_slow)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_message, self._head_bytes, self._head_count = True, 0, 0
        self._unparsed = self._chunk if self._fresh else 0
        self._began = self.loop.time()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)  # type: ignore[operator]  # an int inside a request head (on_message_begin)
        if self._head_bytes > MAX_HEADER_BYTES:
            raise _head_too_large()
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_count += 1
        self._head_bytes += len(name) + len(value) + 4  # type: ignore[operator]  # an int inside a request head
        if self._head_bytes > MAX_HEADER_BYTES or self._head_count > MAX_HEADER_COUNT:
            raise _head_too_large()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        super().on_headers_complete()
        _OneWrite(self.transport, self.cycle)

    def on_message_complete(self) -> None:
        self._in_message = self._fresh = False
        self._cancel_deadline()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        """The request is not all here in time: the app (if it is waiting for the body) sees the client leave."""
        self._deadline = None
        cycle = self.cycle if self._head_bytes is None else None  # None: the app has not seen this request yet
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()
            if cycle.response_started:
                self.transport.close()
                return
        self._refuse(
            RequestTimeout(
                "Your socket connection to the server was not read from or written to within "
                "the timeout period. Idle connections will be closed."
            )
        )

    def _refuse(self, error: ServiceError) -> None:
        """Answers the error and closes the connection, whatever else the client has sent."""
        response = refusal(error)
        lines = [
            STATUS_LINE[response.status],
            *(f"{name}: {value}\r\n".encode() for name, value in response.headers),
            b"content-length: %d\r\n\r\n" % len(response.body),
            response.body,
        ]
        self.transport.write(b"".join(lines))
        self.transport.close()


class _OneWrite:
    """A response's view of its connection: what it writes once started leaves in one write when it completes
    (uvicorn writes the status line and headers, then the body: a system call, and a packet, each)."""

    _held: list[bytes]

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self._transport, self._cycle, self._held, self._completed = transport, cycle, [], cycle.on_response
        # it stands in for the transport: the cycle calls only write, is_closing and close, which it has
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


def run(app: Callable[..., Any], request_timeout: float = DEFAULT_REQUEST_TIMEOUT, **config: Any) -> None:
    """uvicorn.run(app, **config) with options(request_timeout).

    What was built before it (the botocore model, SQLAlchemy's statements, the imported modules) lives as long as the
    server, so it is first left out of the garbage collector's full passes, which would otherwise walk it again and
    again (about 5 % of a Describe's instructions)."""
    gc.collect()
    gc.freeze()
    uvicorn.run(app, **config, **options(request_timeout))
