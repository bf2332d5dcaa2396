"""The HTTP adapter: parse -> identify the caller -> validate -> dispatch -> serialize, as one socket-free call and as ASGI."""
import asyncio
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .admin import PREFIX as ADMIN_PREFIX
from .admin import AdminAPI, Control
from .auth import Anonymous, Authenticator
from .context import RequestContext
from .errors import (
    InternalFailure, RequestHeaderSectionTooLarge, RequestTimeout, ServiceError, UnknownOperationException)
from .operations import dispatch
from .operations.service import Service
from .protocol.validate import validate
from .serial import SerialExecutor
from .protocol.wire import (
    CONTENT_TYPE, MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_HEADER_COUNT, error_body, operation_name, parse_body,
    serialize, too_large)
from .spec import SERVED_OPERATIONS, operation_model
from .worker import TransitionWorker

log = logging.getLogger("smimages.request")
HEALTH_PATH = "/_smimages/health"


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class App:
    """Answers SageMaker image API requests for one Service; also an ASGI application."""

    def __init__(self, service: Service, auth: Authenticator | None = None, body_timeout: float = 20.0,
                 worker: bool = True, admin: bool = False):
        self.service = service
        # the test-control API under /_smimages/ (smimages/admin.py); without it those paths are unknown paths
        self.admin = AdminAPI(Control(service)) if admin else None
        self.auth = auth or Anonymous()  # the one place that decides who is calling (smimages/auth.py)
        self.body_timeout = body_timeout  # seconds a client has to send its whole body over a socket
        for name in SERVED_OPERATIONS:  # load the model now, not on the first request
            operation_model(name)
        # SQLite answers in microseconds and has one writer: its requests run inline on the event loop, one at a
        # time (a thread hop would cost more than the query); PostgreSQL's run on a pool as large as the engine's
        self.executor = (SerialExecutor() if service.store.dialect == "sqlite" else ThreadPoolExecutor(
            max_workers=service.store.engine.pool.size(), thread_name_prefix="smimages"))
        # background jobs run in this process unless a separate `smimages worker` runs them (serve --no-worker)
        self.worker = TransitionWorker(service, self.executor) if worker else None

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes,
               target: str | None = None) -> Response:
        """Answers one request; headers are keyed in lower case; target is the raw request-target (default path)."""
        if path == HEALTH_PATH:
            return Response(200, [("content-type", "application/json")], b'{"status":"ok"}')
        if self.admin is not None and path.startswith(ADMIN_PREFIX):
            status, document = self.admin.handle(method, path, body)
            log.info("admin %s %s %d", method, path, status)
            return Response(status, [("content-type", "application/json")], json.dumps(document).encode())
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        name = operation_name(headers.get("x-amz-target"))
        try:
            status, payload = 200, self._call(name, method, target or path, headers, body, request_id)
        except ServiceError as error:
            status, payload = error.status, error_body(error)
            extra = [("x-amzn-errortype", error.code)]
        except Exception:
            log.exception("internal failure in %s (request %s)", name, request_id)
            error = InternalFailure("We encountered an internal error. Please try again.")
            status, payload = error.status, error_body(error)
            extra = [("x-amzn-errortype", error.code)]
        else:
            extra = []
        log.info("%s %d %.1fms", name or "-", status, (time.perf_counter() - started) * 1000)
        return Response(status, [("content-type", CONTENT_TYPE), ("x-amzn-requestid", request_id), *extra], payload)

    def _call(self, name: str | None, method: str, target: str, headers: dict[str, str], body: bytes,
              request_id: str) -> bytes:
        # Coral's order: JSON parse -> target -> authentication -> validation
        params = parse_body(body)
        model = operation_model(name) if name else None
        if model is None:
            raise UnknownOperationException()
        account, region = self.auth.authenticate(method, target, headers, body)
        ctx = RequestContext(account, region, self.service.now(), request_id)
        result = dispatch(self.service, ctx, name, validate(model.input_shape, params))
        return serialize(model.output_shape, result)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            response = await self._respond(scope, receive)
        except ConnectionAbortedError:
            return  # the client left before its body was complete: nothing is answered or written
        await _send(send, response)

    async def _respond(self, scope, receive) -> Response:
        if _head_size(scope) > MAX_HEADER_BYTES or len(scope["headers"]) > MAX_HEADER_COUNT:
            return _refusal(RequestHeaderSectionTooLarge(
                "Your request header section exceeds the maximum allowed size."))
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:  # a repeated header is one comma-joined value, as SigV4 signs it
            name, text = key.decode("latin-1").lower(), value.decode("latin-1")
            headers[name] = f"{headers[name]},{text}" if name in headers else text
        try:
            body = await self._read_body(headers, receive)
        except ServiceError as error:
            return _refusal(error)
        target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        call = (self.handle, scope["method"], scope["path"], headers, body, target)
        if isinstance(self.executor, SerialExecutor):
            return self.executor.run(*call)
        return await asyncio.get_running_loop().run_in_executor(self.executor, *call)

    async def _read_body(self, headers: dict[str, str], receive) -> bytes:
        """The whole body, refused once it passes MAX_BODY_BYTES or takes longer than body_timeout to arrive."""
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise too_large()
        chunks, size, more = [], 0, True
        try:
            async with asyncio.timeout(self.body_timeout):
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ConnectionAbortedError()
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise too_large()
                    chunks.append(chunk)
                    more = message.get("more_body", False)
        except TimeoutError:
            raise RequestTimeout("Your socket connection to the server was not read from or written to within "
                                 "the timeout period. Idle connections will be closed.") from None
        return b"".join(chunks)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.worker:
                    self.worker.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.worker:
                    self.worker.stop()
                self.executor.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _head_size(scope) -> int:
    """Bytes of the request target and headers, as they came over the wire."""
    return (len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            + sum(len(key) + len(value) + 4 for key, value in scope["headers"]))


async def _send(send, response: Response) -> None:
    await send({"type": "http.response.start", "status": response.status,
                "headers": [(k.encode(), v.encode()) for k, v in response.headers]
                + [(b"content-length", str(len(response.body)).encode())]})
    await send({"type": "http.response.body", "body": response.body})


def _refusal(error: ServiceError) -> Response:
    """An error answered before the request was read to its end; the connection is closed after it."""
    log.info("- %d %s", error.status, error.code)
    return Response(error.status, [("content-type", CONTENT_TYPE), ("x-amzn-requestid", str(uuid.uuid4())),
                                   ("x-amzn-errortype", error.code), ("connection", "close")], error_body(error))
