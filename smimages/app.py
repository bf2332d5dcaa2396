"""The HTTP adapter: parse -> identify the caller -> validate -> dispatch -> serialize, as one socket-free call and as ASGI."""
import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .admin import PREFIX as ADMIN_PREFIX
from .admin import AdminAPI, Control
from .auth import Anonymous, Authenticator
from .context import RequestContext, new_request_id
from .errors import INTERNAL_FAILURE, InternalFailure, ServiceError, UnknownOperationException
from .operations import dispatch
from .operations.service import Service
from .protocol.validate import validate
from .serial import SerialExecutor
from .protocol.wire import (
    CONTENT_TYPE, MAX_BODY_BYTES, error_body, operation_name, parse_body, serialize, too_large)
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

    def __init__(self, service: Service, auth: Authenticator | None = None, worker: bool = True,
                 admin: bool = False):
        self.service = service
        # the test-control API under /_smimages/ (smimages/admin.py); without it those paths are unknown paths
        self.admin = AdminAPI(Control(service)) if admin else None
        self.auth = auth or Anonymous()  # the one place that decides who is calling (smimages/auth.py)
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
        request_id = new_request_id()
        started = time.perf_counter()
        name = operation_name(headers.get("x-amz-target"))
        response_headers = [("content-type", CONTENT_TYPE), ("x-amzn-requestid", request_id)]
        error: ServiceError | None = None
        try:
            payload = self._call(name, method, target or path, headers, body)
        except ServiceError as exc:
            error = exc
        except Exception:
            log.exception("internal failure in %s (request %s)", name, request_id)
            error = InternalFailure(INTERNAL_FAILURE)
        status = 200 if error is None else error.status
        if error is not None:
            payload = error_body(error)
            response_headers.append(("x-amzn-errortype", error.code))
        # a served request is a debug line, a refused or failed one an info line
        log.log(logging.DEBUG if status == 200 else logging.INFO, "%s %d %.1fms", name or "-", status,
                (time.perf_counter() - started) * 1000)
        return Response(status, response_headers, payload)

    def _call(self, name: str | None, method: str, target: str, headers: dict[str, str], body: bytes) -> bytes:
        # Coral's order: JSON parse -> target -> authentication -> validation
        params = parse_body(body)
        model = operation_model(name) if name else None
        if model is None:
            raise UnknownOperationException()
        account, region = self.auth.authenticate(method, target, headers, body)
        ctx = RequestContext(account, region, self.service.now())
        result = dispatch(self.service, ctx, name, validate(model.input_shape, params))
        return serialize(model.output_shape, result)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return
        headers = _headers(scope["headers"])
        try:
            body = await _read_body(headers, receive)
        except ConnectionAbortedError:
            return  # the client left before its body was complete: nothing is answered or written
        except ServiceError as error:
            response = refusal(error)
        else:
            target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            if scope.get("query_string"):
                target += "?" + scope["query_string"].decode("latin-1")
            call = (self.handle, scope["method"], scope["path"], headers, body, target)
            response = (self.executor.run(*call) if isinstance(self.executor, SerialExecutor)
                        else await asyncio.get_running_loop().run_in_executor(self.executor, *call))
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [(k.encode(), v.encode()) for k, v in response.headers]
                    + [(b"content-length", str(len(response.body)).encode())]})
        await send({"type": "http.response.body", "body": response.body})

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


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers by (lower-case) name; a repeated header is one comma-joined value, as SigV4 signs it."""
    headers: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1")
        headers[name] = f"{headers[name]},{value.decode('latin-1')}" if name in headers else value.decode("latin-1")
    return headers


async def _read_body(headers: dict[str, str], receive) -> bytes:
    """The whole body, refused once it passes MAX_BODY_BYTES (the HTTP server bounds how long it may take)."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large()
    chunks, size, more = [], 0, True
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
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def refusal(error: ServiceError) -> Response:
    """An error answered before the request was read to its end; the connection is closed after it."""
    log.info("- %d %s", error.status, error.code)
    return Response(error.status, [("content-type", CONTENT_TYPE), ("x-amzn-requestid", new_request_id()),
                                   ("x-amzn-errortype", error.code), ("connection", "close")], error_body(error))
