"""The HTTP adapter: parse -> identify the caller -> validate -> dispatch -> serialize, as one socket-free call and as ASGI."""
import asyncio
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .context import RequestContext, caller_scope
from .errors import InternalFailure, ServiceError, UnknownOperationException
from .operations import dispatch
from .operations.service import Service
from .protocol.validate import validate
from .protocol.wire import CONTENT_TYPE, error_body, operation_name, parse_body, serialize
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

    def __init__(self, service: Service):
        self.service = service
        for name in SERVED_OPERATIONS:  # load the model now, not on the first request
            operation_model(name)
        # SQLite has one writer: one thread keeps its transactions from ever contending inside a process
        workers = 1 if service.store.dialect == "sqlite" else service.store.engine.pool.size()
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smimages")
        self.worker = TransitionWorker(service, self.executor)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        """Answers one request; headers are keyed in lower case."""
        if path == HEALTH_PATH:
            return Response(200, [("content-type", "application/json")], b'{"status":"ok"}')
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        name = operation_name(headers.get("x-amz-target"))
        try:
            status, payload = 200, self._call(name, headers, body, request_id)
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

    def _call(self, name: str | None, headers: dict[str, str], body: bytes, request_id: str) -> bytes:
        params = parse_body(body)
        model = operation_model(name) if name else None
        if model is None:
            raise UnknownOperationException()
        account, region = caller_scope(headers.get("authorization"))
        ctx = RequestContext(account, region, self.service.now(), request_id)
        result = dispatch(self.service, ctx, name, validate(model.input_shape, params))
        return serialize(model.output_shape, result)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        response = await asyncio.get_running_loop().run_in_executor(
            self.executor, self.handle, scope["method"], scope["path"], headers, b"".join(chunks))
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [(k.encode(), v.encode()) for k, v in response.headers]})
        await send({"type": "http.response.body", "body": response.body})

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.worker.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.worker.stop()
                self.executor.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return
