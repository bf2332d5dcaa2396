"""The composition root of a serving smimages: the store's executor, the App, the worker, the console and (for test
servers) the test controls, as one ASGI application that routes health checks, the console, the admin API and AWS
requests."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from .admin import PREFIX as ADMIN_PREFIX
from .admin import AdminAPI, Control
from .app import App, Forward, Response, Upstream, refusal
from .auth import Authenticator
from .console import Console
from .errors import ServiceError
from .faults import Faults
from .operations.service import Service
from .protocol.wire import MAX_BODY_BYTES, too_large
from .serial import SerialExecutor
from .store import CatalogStore
from .worker import TransitionWorker

log = logging.getLogger("smimages.request")
HEALTH_PATH = "/_smimages/health"
T = TypeVar("T")
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def executor_for(store: CatalogStore) -> Executor:
    """Where requests run. SQLite answers in microseconds and has one writer: its requests run inline on the event
    loop, one at a time (a thread hop would cost more than the query); PostgreSQL's run on a pool as large as the
    store's."""
    if store.serial:
        return SerialExecutor()
    return ThreadPoolExecutor(max_workers=store.connections, thread_name_prefix="smimages")


class Server:
    """One serving smimages as an ASGI application: GET /_smimages/health, the web console (`console`: under
    /_smimages/console/, and a browser's GET /), the admin API under /_smimages/ when test controls are on
    (`serve --enable-admin`, ServerThread), and every other request as an AWS request. Its lifespan runs the
    background worker (unless `worker` is off: `smimages worker` runs it instead). With an `upstream`, the
    SageMaker calls smimages does not serve are answered by it, on threads of their own (never the event loop: an
    upstream may take seconds)."""

    def __init__(
        self,
        service: Service,
        auth: Authenticator | None = None,
        *,
        worker: bool = True,
        test_controls: bool = False,
        upstream: Upstream | None = None,
        console: bool = False,
    ):
        self.service = service
        self.executor = executor_for(service.store)
        faults = Faults() if test_controls else None
        self.app = App(service, auth, policy=faults, upstream=upstream)
        self.forwarder = (
            None
            if upstream is None
            else ThreadPoolExecutor(max_workers=upstream.connections, thread_name_prefix="smimages-upstream")
        )
        self.control = None if faults is None else Control(service, faults, self.in_turn)
        self.admin = None if self.control is None else AdminAPI(self.control)
        self.console = Console(service, self.app.auth, self.in_turn, faults, self.admin) if console else None
        self.worker = TransitionWorker(service, self.executor) if worker else None

    def in_turn(self, fn: Callable[[], T]) -> T:
        """Runs fn on the request executor, in turn with requests."""
        return self.executor.submit(fn).result()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = _headers(scope["headers"])
        path = scope["path"]
        try:
            body = await _read_body(headers, receive)
        except ConnectionAbortedError:
            return  # the client left before its body was complete: nothing is answered or written
        except ServiceError as error:
            response = refusal(error)
        else:
            if path == HEALTH_PATH:
                response = Response(200, [("content-type", "application/json")], b'{"status":"ok"}')
            elif self.console is not None and self.console.serves(scope["method"], path, headers):
                response = await asyncio.to_thread(self.console.handle, scope["method"], path, headers, body)
            elif self.admin is not None and path.startswith(ADMIN_PREFIX):
                response = await asyncio.to_thread(self._admin, scope["method"], path, body)
            else:  # an AWS request (inline here: a coroutine of its own costs on every request)
                target = (scope.get("raw_path") or path.encode()).decode("latin-1")
                if scope.get("query_string"):
                    target += "?" + scope["query_string"].decode("latin-1")
                call = (scope["method"], target, headers, body)
                if isinstance(self.executor, SerialExecutor):
                    answer = self.executor.run(self.app.answer, *call)
                else:
                    answer = await asyncio.get_running_loop().run_in_executor(self.executor, self.app.answer, *call)
                if isinstance(answer, Forward):  # the upstream's to answer, on a thread of the forwarder
                    loop = asyncio.get_running_loop()
                    response = await loop.run_in_executor(self.forwarder, self.app.forward, answer)
                else:
                    response = answer
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
                + [(b"content-length", str(len(response.body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    def _admin(self, method: str, path: str, body: bytes) -> Response:
        assert self.admin is not None
        status, document = self.admin.handle(method, path, body)
        log.info("admin %s %s %d", method, path, status)
        return Response(status, [("content-type", "application/json")], json.dumps(document).encode())

    async def _lifespan(self, receive: Receive, send: Send) -> None:
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
                if self.forwarder is not None and self.app.upstream is not None:
                    self.forwarder.shutdown(wait=True)
                    self.app.upstream.close()
                logging.getLogger("smimages").info("stopped: every request answered")
                await send({"type": "lifespan.shutdown.complete"})
                return


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers by (lower-case) name; a repeated header is one comma-joined value, as SigV4 signs it."""
    headers: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1")
        headers[name] = f"{headers[name]},{value.decode('latin-1')}" if name in headers else value.decode("latin-1")
    return headers


async def _read_body(headers: dict[str, str], receive: Receive) -> bytes:
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
